//! A lab as an ordered list of steps, each one kernel change.
//!
//! The same plan is executed over netlink by the binary's `ops::build` and
//! printed as the equivalent `ip`/`sysctl` commands ([`Plan::to_shell`]), so
//! the shell script a learner would type is always exactly what lvslab does
//! (and is what the bring-up benchmark runs side by side). Which topology a
//! lab gets is decided here; each is its own module ([`super::nat`],
//! [`super::routed`], [`super::ha`]), written in [`super::step`]s.

use crate::lab::model::hosts;
use std::net::Ipv4Addr;

use super::model::LabSpec;
use super::step::Step;

/// The steps that build a lab's topology, in an order that always works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Plans the topology of `spec`: namespaces, links, addresses, routes and
    /// forwarding. (IPVS services and real-server processes come after it.)
    pub fn topology(spec: &LabSpec) -> Self {
        let steps = if spec.router.is_some() {
            super::routed::topology(spec)
        } else if spec.ha.is_some() {
            super::ha::topology(spec)
        } else {
            super::nat::topology(spec)
        };
        Self { steps: super::leaves::split(spec, steps) }
    }

    /// The topology without what makes it forward: no real server has a
    /// default route and the director does not forward. What `lvslab
    /// tutorial` starts from, so the learner adds those steps one by one.
    ///
    /// A lab with a router (DR/TUN) keeps its routes and forwarding (the
    /// router and the replies' path are the architecture, not a step); what
    /// it lacks is what each real server needs to accept the VIP: the VIP
    /// on its loopback (DR) or on an up tunl0 (TUN), and the ARP sysctls
    /// (left at the kernel's 0). A TUN server's reverse-path filter is set
    /// strict instead of off, whatever the host's default: the walk shows
    /// the requests it drops, then relaxes it.
    pub fn bare(spec: &LabSpec) -> Self {
        let client = spec.netns(hosts::CLIENT);
        let mut plan = Self::topology(spec);
        if spec.router.is_some() {
            let servers: std::collections::HashSet<String> =
                spec.real_servers.iter().map(|r| spec.netns(&r.name)).collect();
            let tunnel = super::routed::TUNNEL;
            plan.steps.retain(|step| match step {
                Step::AddAddress { netns, link, .. } => {
                    !((link == "lo" || link == tunnel) && servers.contains(netns))
                }
                Step::LinkUp { netns, link } => !(link == tunnel && servers.contains(netns)),
                Step::Sysctl { netns, key, .. } => {
                    !(servers.contains(netns) && key.starts_with("net.ipv4.conf.all.arp_"))
                }
                _ => true,
            });
            for step in &mut plan.steps {
                if let Step::Sysctl { netns, key, value } = step
                    && servers.contains(netns)
                    && key.ends_with(".rp_filter")
                {
                    *value = "1".into();
                }
            }
            return plan;
        }
        plan.steps.retain(|step| match step {
            Step::DefaultRoute { netns, .. } => *netns == client,
            Step::Sysctl { key, .. } => key != "net.ipv4.ip_forward",
            _ => true,
        });
        plan
    }

    /// The plan as a shell script of `ip` and `sysctl` commands.
    pub fn to_shell(&self) -> String {
        let mut out = String::from("#!/bin/sh\nset -e\n");
        for step in &self.steps {
            out.push_str(&step.to_string());
            out.push('\n');
        }
        out
    }
}

/// The steps that wire one real server into its lab, at `up` and for a
/// server added to a running lab: to the director's bridge, to an HA lab's
/// switch, or behind a DR/TUN lab's router (`tunnel_module` says whether an
/// earlier step loaded `ipip`).
pub fn server_steps(
    spec: &LabSpec,
    name: &str,
    rip: Ipv4Addr,
    tunnel_module: &mut bool,
) -> Vec<Step> {
    if spec.router.is_some() {
        super::routed::server_steps(spec, name, rip, tunnel_module)
    } else if spec.ha.is_some() {
        super::ha::server_steps(spec, name, rip)
    } else {
        super::nat::server_steps(spec, name, rip)
    }
}

pub use super::leaves::{BridgePorts, MAX_BRIDGE_PORTS};

impl Plan {
    /// Every bridge the plan attaches ports to, with those ports: what the
    /// kernel's per-bridge limit ([`MAX_BRIDGE_PORTS`]) is checked against.
    pub fn bridge_ports(&self) -> Vec<BridgePorts> {
        super::leaves::bridge_ports_of(&self.steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;

    #[test]
    fn tutorial_plan_reads_as_the_tutorial_commands() {
        let spec = presets::load("tutorial").unwrap().spec;
        let shell = Plan::topology(&spec).to_shell();
        insta::assert_snapshot!(shell);
    }

    #[test]
    fn bare_plan_lacks_only_the_gateways_and_forwarding() {
        let spec = presets::load("tutorial").unwrap().spec;
        let full = Plan::topology(&spec).steps;
        let bare = Plan::bare(&spec).steps;
        let missing: Vec<String> =
            full.iter().filter(|s| !bare.contains(s)).map(ToString::to_string).collect();
        assert_eq!(
            missing,
            [
                "ip -n lvs-tutorial-rs1 route add default via 198.51.100.1",
                "ip -n lvs-tutorial-rs2 route add default via 198.51.100.1",
                "ip netns exec lvs-tutorial-director sysctl -qw net.ipv4.ip_forward=1",
            ]
        );
        assert_eq!(bare.len() + 3, full.len());
        assert!(bare.contains(&Step::DefaultRoute {
            netns: "lvs-tutorial-client".into(),
            via: spec.director.vip
        }));
    }

    #[test]
    fn a_bare_dr_lab_lacks_only_the_vip_on_lo_and_the_arp_sysctls() {
        let spec = presets::load("dr").unwrap().spec;
        let full = Plan::topology(&spec).steps;
        let bare = Plan::bare(&spec).steps;
        let missing: Vec<String> =
            full.iter().filter(|s| !bare.contains(s)).map(ToString::to_string).collect();
        assert_eq!(
            missing,
            [
                "ip -n lvs-dr-rs1 addr add 198.51.100.100/32 dev lo",
                "ip netns exec lvs-dr-rs1 sysctl -qw net.ipv4.conf.all.arp_ignore=1",
                "ip netns exec lvs-dr-rs1 sysctl -qw net.ipv4.conf.all.arp_announce=2",
                "ip -n lvs-dr-rs2 addr add 198.51.100.100/32 dev lo",
                "ip netns exec lvs-dr-rs2 sysctl -qw net.ipv4.conf.all.arp_ignore=1",
                "ip netns exec lvs-dr-rs2 sysctl -qw net.ipv4.conf.all.arp_announce=2",
            ]
        );
    }

    #[test]
    fn a_bare_tun_lab_has_no_vip_on_tunl0_and_a_strict_rp_filter() {
        let spec = presets::load("tun").unwrap().spec;
        let shell =
            |plan: Plan| -> Vec<String> { plan.steps.iter().map(ToString::to_string).collect() };
        let full = shell(Plan::topology(&spec));
        let bare = shell(Plan::bare(&spec));
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|s| !b.contains(s)).cloned().collect()
        };
        let mut missing = Vec::new();
        let mut strict = Vec::new();
        for rs in ["rs1", "rs2"] {
            missing.extend([
                format!("ip -n lvs-tun-{rs} addr add 198.51.100.100/32 dev tunl0"),
                format!("ip -n lvs-tun-{rs} link set tunl0 up"),
            ]);
            for key in ["all", "tunl0"] {
                let set =
                    format!("ip netns exec lvs-tun-{rs} sysctl -qw net.ipv4.conf.{key}.rp_filter=");
                missing.push(format!("{set}0"));
                strict.push(format!("{set}1"));
            }
            missing.extend([
                format!("ip netns exec lvs-tun-{rs} sysctl -qw net.ipv4.conf.all.arp_ignore=1"),
                format!("ip netns exec lvs-tun-{rs} sysctl -qw net.ipv4.conf.all.arp_announce=2"),
            ]);
        }
        let mut gone = only(&full, &bare);
        gone.sort();
        missing.sort();
        assert_eq!(gone, missing);
        let mut added = only(&bare, &full);
        added.sort();
        strict.sort();
        assert_eq!(added, strict);
        assert!(bare.contains(&"modprobe ipip".to_string()), "tunl0 exists for the walk to use");
    }

    #[test]
    fn each_topology_counts_the_ports_of_the_bridge_its_servers_share() {
        let count = |preset: &str| -> Vec<(String, String, usize)> {
            let spec = presets::load(preset).unwrap().spec;
            Plan::topology(&spec)
                .bridge_ports()
                .into_iter()
                .map(|b| (b.netns, b.bridge, b.ports.len()))
                .collect()
        };
        let one = |ns: &str, br: &str, n| (ns.to_string(), br.to_string(), n);
        // NAT: the two servers on the director's br0.
        assert_eq!(count("tutorial"), [one("lvs-tutorial-director", "br0", 2)]);
        // DR: the router's port beside the servers.
        assert_eq!(count("dr"), [one("lvs-dr-director", "br0", 3)]);
        // HA: both directors beside the servers on the switch's brs.
        assert_eq!(count("ha"), [one("lvs-ha-switch", "brc", 3), one("lvs-ha-switch", "brs", 4)]);
        // TUN with a remote network: the remote servers on the router's br0.
        assert_eq!(
            count("tun-remote"),
            [one("lvs-tun-remote-director", "br0", 1), one("lvs-tun-remote-router", "br0", 2)]
        );
    }
}
