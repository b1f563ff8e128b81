//! A lab as an ordered list of steps, each one kernel change.
//!
//! The same plan is executed over netlink by [`super::build`] and printed as
//! the equivalent `ip`/`sysctl` commands ([`Plan::to_shell`]), so the shell
//! script a learner would type is always exactly what lvslab does (and is what
//! the bring-up benchmark runs side by side).

use std::fmt;
use std::net::Ipv4Addr;

use super::model::{LabSpec, links};
use super::text::shell_word;

/// One kernel change, in one namespace.
/// The MAC address of bridge `name` in namespace `netns`, fixed when the
/// bridge is made. Left to itself, a Linux bridge takes the lowest MAC of
/// its ports and changes it when that port goes: removing or adding a real
/// server live then moved the DIP to a new MAC, and the other servers' replies
/// went to the old one (their ARP cache) for about 5 s, until they asked
/// again. A bridge given its address keeps it. Derived from the names (FNV-1a),
/// so a lab's bridges always get the same one; locally administered, unicast.
pub fn bridge_mac(netns: &str, name: &str) -> [u8; 6] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in netns.bytes().chain(std::iter::once(b'/')).chain(name.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let h = hash.to_be_bytes();
    [0x02, h[0], h[1], h[2], h[3], h[4]]
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ip netns add NETNS`.
    AddNetns {
        /// Namespace.
        netns: String,
    },
    /// `ip -n NETNS link add NAME address MAC type bridge`, the MAC from
    /// [`bridge_mac`].
    AddBridge {
        /// Namespace.
        netns: String,
        /// Bridge name.
        name: String,
    },
    /// `ip -n NETNS link add NAME type veth peer name PEER netns PEER_NETNS`.
    AddVeth {
        /// Namespace of the first end.
        netns: String,
        /// First end.
        name: String,
        /// Namespace of the peer end.
        peer_netns: String,
        /// Peer end.
        peer: String,
    },
    /// `ip -n NETNS link set LINK master BRIDGE`.
    SetMaster {
        /// Namespace.
        netns: String,
        /// Port link.
        link: String,
        /// Bridge.
        bridge: String,
    },
    /// `ip -n NETNS addr add ADDR/PREFIX dev LINK`.
    AddAddress {
        /// Namespace.
        netns: String,
        /// Link.
        link: String,
        /// Address.
        addr: Ipv4Addr,
        /// Prefix length.
        prefix: u8,
    },
    /// `ip -n NETNS link set LINK up`.
    LinkUp {
        /// Namespace.
        netns: String,
        /// Link.
        link: String,
    },
    /// `ip -n NETNS route add default via GATEWAY`.
    DefaultRoute {
        /// Namespace.
        netns: String,
        /// Gateway.
        via: Ipv4Addr,
    },
    /// `ip -n NETNS route add default via GATEWAY table TABLE`: a second
    /// routing table, used only by the packets a [`Step::Rule`] sends to it.
    TableDefaultRoute {
        /// Namespace.
        netns: String,
        /// Gateway.
        via: Ipv4Addr,
        /// Routing table id.
        table: u32,
    },
    /// `ip -n NETNS rule add from ADDR table TABLE`: packets sent from ADDR
    /// (a VIP a real server answers for by DR/TUN) use table TABLE.
    Rule {
        /// Namespace.
        netns: String,
        /// Source address.
        from: Ipv4Addr,
        /// Routing table id.
        table: u32,
    },
    /// `modprobe MODULE`: a kernel module the lab needs (ipip, for the
    /// tunnel interface `tunl0` that every namespace then has).
    Modprobe {
        /// Module name.
        module: String,
    },
    /// `ip netns exec NETNS sysctl -qw KEY=VALUE`.
    Sysctl {
        /// Namespace.
        netns: String,
        /// Dotted key.
        key: String,
        /// Value.
        value: String,
    },
}

/// A step as the `ip`/`sysctl` command that does it, every name quoted as
/// one shell word (names are validated, but a record can be edited by hand).
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |s: &str| shell_word(s).into_owned();
        match self {
            Self::AddNetns { netns } => write!(f, "ip netns add {}", q(netns)),
            Self::AddBridge { netns, name } => {
                let mac = bridge_mac(netns, name).map(|b| format!("{b:02x}")).join(":");
                write!(f, "ip -n {} link add {} address {mac} type bridge", q(netns), q(name))
            }
            Self::AddVeth { netns, name, peer_netns, peer } => {
                write!(
                    f,
                    "ip -n {} link add {} type veth peer name {} netns {}",
                    q(netns),
                    q(name),
                    q(peer),
                    q(peer_netns)
                )
            }
            Self::SetMaster { netns, link, bridge } => {
                write!(f, "ip -n {} link set {} master {}", q(netns), q(link), q(bridge))
            }
            Self::AddAddress { netns, link, addr, prefix } => {
                write!(f, "ip -n {} addr add {addr}/{prefix} dev {}", q(netns), q(link))
            }
            Self::LinkUp { netns, link } => write!(f, "ip -n {} link set {} up", q(netns), q(link)),
            Self::DefaultRoute { netns, via } => {
                write!(f, "ip -n {} route add default via {via}", q(netns))
            }
            Self::TableDefaultRoute { netns, via, table } => {
                write!(f, "ip -n {} route add default via {via} table {table}", q(netns))
            }
            Self::Rule { netns, from, table } => {
                write!(f, "ip -n {} rule add from {from} table {table}", q(netns))
            }
            Self::Modprobe { module } => write!(f, "modprobe {}", q(module)),
            Self::Sysctl { netns, key, value } => {
                write!(
                    f,
                    "ip netns exec {} sysctl -qw {}={}",
                    q(netns),
                    q(key),
                    q(&value.to_string())
                )
            }
        }
    }
}

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
        if spec.router.is_some() {
            return Self { steps: super::routed::topology(spec) };
        }
        if spec.ha.is_some() {
            return Self { steps: super::ha::topology(spec) };
        }
        let client = spec.netns("client");
        let director = spec.netns("director");
        let s = |v: &str| v.to_string();
        let mut steps = namespaces(spec);

        // Client side: one veth, eth0 at both ends; the VIP on the director's.
        steps.push(Step::AddVeth {
            netns: client.clone(),
            name: s(links::UPLINK),
            peer_netns: director.clone(),
            peer: s(links::UPLINK),
        });
        steps.push(addr(&director, links::UPLINK, spec.director.vip, spec.client_prefix()));
        for vip in spec.extra_vips() {
            steps.push(addr(&director, links::UPLINK, vip, spec.client_prefix()));
        }
        steps.push(Step::LinkUp { netns: director.clone(), link: s(links::UPLINK) });
        for a in spec.client_addrs() {
            // The first is the client's own (the source the kernel picks);
            // the rest are more clients, bound by `traffic --clients`.
            steps.push(addr(&client, links::UPLINK, a, spec.client_prefix()));
        }
        steps.push(Step::LinkUp { netns: client.clone(), link: s(links::UPLINK) });
        steps.push(Step::DefaultRoute { netns: client, via: spec.director.vip });

        // Server side: a bridge in the director holding the DIP.
        steps.push(Step::AddBridge { netns: director.clone(), name: s(links::BRIDGE) });
        steps.push(addr(&director, links::BRIDGE, spec.director.dip, spec.servers_prefix()));
        steps.push(Step::LinkUp { netns: director.clone(), link: s(links::BRIDGE) });
        for rs in &spec.real_servers {
            steps.extend(real_server_steps(spec, &rs.name, rs.addr));
        }

        steps.push(Step::Sysctl { netns: director, key: s("net.ipv4.ip_forward"), value: s("1") });
        Self { steps }
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
        let client = spec.netns("client");
        let mut plan = Self::topology(spec);
        if spec.router.is_some() {
            let servers: Vec<String> =
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

/// The steps that wire one real server to the director's bridge: a veth from
/// its eth0 to a port of br0 named after it, its RIP, and its gateway, the DIP
/// (in an HA lab, to the switch's bridge instead: [`super::ha::real_server_steps`]).
pub fn real_server_steps(spec: &LabSpec, name: &str, rip: Ipv4Addr) -> Vec<Step> {
    if spec.ha.is_some() {
        return super::ha::real_server_steps(spec, name, rip);
    }
    let director = spec.netns("director");
    let netns = spec.netns(name);
    vec![
        Step::AddVeth {
            netns: netns.clone(),
            name: links::UPLINK.to_string(),
            peer_netns: director.clone(),
            peer: name.to_string(),
        },
        Step::SetMaster {
            netns: director.clone(),
            link: name.to_string(),
            bridge: links::BRIDGE.to_string(),
        },
        Step::LinkUp { netns: director, link: name.to_string() },
        addr(&netns, links::UPLINK, rip, spec.servers_prefix()),
        Step::LinkUp { netns: netns.clone(), link: links::UPLINK.to_string() },
        Step::DefaultRoute { netns, via: spec.director.dip },
    ]
}

pub(super) fn addr(netns: &str, link: &str, addr: Ipv4Addr, prefix: u8) -> Step {
    Step::AddAddress { netns: netns.to_string(), link: link.to_string(), addr, prefix }
}

/// The first steps of every lab: each host's namespace, with its loopback up.
pub(crate) fn namespaces(spec: &LabSpec) -> Vec<Step> {
    let mut steps: Vec<Step> =
        spec.hosts().map(|(host, _)| Step::AddNetns { netns: spec.netns(host) }).collect();
    for (host, _) in spec.hosts() {
        steps.push(Step::LinkUp { netns: spec.netns(host), link: "lo".to_string() });
    }
    steps
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
}
