//! The topology of a lab with a router (one using DR or TUN): the plan's
//! steps when [`LabSpec::router`] is set.
//!
//! ```text
//!  client ── eth0 ── router ── eth1 ─┐ br0 in the director: the servers' segment
//!                    (gateway)       ├── director  DIP, and the VIPs (/32)
//!                                    ├── rs1       RIP; VIP on lo (DR) or tunl0 (TUN)
//!                                    └── rs2
//! ```
//! With a remote network (`[networks] remote`), the router has a third
//! leg, a bridge of its own, and the real servers on that network hang off
//! it: the director's tunnelled requests reach them through the router, and
//! their replies go from there straight to the client.
//!
//! The client reaches the VIPs through the router; the router finds the
//! director on the segment by ARP, since only the director answers ARP for
//! a VIP (the real servers hold theirs on interfaces they do not answer
//! for: `arp_ignore=1`, `arp_announce=2`). DR and TUN replies leave each
//! real server straight to the router; NAT replies go back through the
//! director (a real server in both kinds of service sends the replies from
//! its DR/TUN VIPs to the router by a source rule, the rest to the DIP).

use super::model::{Forward, LabSpec, links};
use super::nat;
use super::roles::Roles;
use super::step::{Step, addr, namespaces};
use crate::lab::model::hosts;

/// The routing table a real server in both NAT and DR/TUN services uses
/// for replies sent from a DR/TUN VIP.
pub const DIRECT_REPLY_TABLE: u32 = 100;
/// The director's bridge port that the router plugs into.
pub const ROUTER_PORT: &str = hosts::ROUTER;
/// The router's link on the servers' segment.
pub const ROUTER_INSIDE: &str = "eth1";
/// The IPIP fallback device each namespace has once `ipip` is loaded.
pub const TUNNEL: &str = "tunl0";

/// The steps, in an order that always works.
pub fn topology(spec: &LabSpec) -> Vec<Step> {
    let Some(router) = spec.router else { return Vec::new() };
    let s = |v: &str| v.to_string();
    let client = spec.netns(hosts::CLIENT);
    let director = spec.netns(hosts::DIRECTOR);
    let router_ns = spec.netns(hosts::ROUTER);
    let (pc, ps) = (spec.client_prefix(), spec.servers_prefix());
    let mut steps = namespaces(spec);

    // The client side: the client and the router's outside.
    steps.push(Step::AddVeth {
        netns: client.clone(),
        name: s(links::UPLINK),
        peer_netns: router_ns.clone(),
        peer: s(links::UPLINK),
    });
    steps.push(addr(&router_ns, links::UPLINK, router.outside, pc));
    steps.push(Step::LinkUp { netns: router_ns.clone(), link: s(links::UPLINK) });
    steps.push(addr(&client, links::UPLINK, spec.client, pc));
    steps.push(Step::LinkUp { netns: client.clone(), link: s(links::UPLINK) });
    steps.push(Step::DefaultRoute { netns: client, via: router.outside });

    // The servers' segment: the director's bridge with the DIP and the VIPs.
    steps.push(Step::AddBridge { netns: director.clone(), name: s(links::BRIDGE) });
    steps.push(addr(&director, links::BRIDGE, spec.director.dip, ps));
    for vip in std::iter::once(spec.director.vip).chain(spec.extra_vips()) {
        steps.push(addr(&director, links::BRIDGE, vip, 32));
    }
    steps.push(Step::LinkUp { netns: director.clone(), link: s(links::BRIDGE) });
    steps.push(Step::AddVeth {
        netns: router_ns.clone(),
        name: s(ROUTER_INSIDE),
        peer_netns: director.clone(),
        peer: s(ROUTER_PORT),
    });
    steps.push(Step::SetMaster {
        netns: director.clone(),
        link: s(ROUTER_PORT),
        bridge: s(links::BRIDGE),
    });
    steps.push(Step::LinkUp { netns: director.clone(), link: s(ROUTER_PORT) });
    steps.push(addr(&router_ns, ROUTER_INSIDE, router.inside, ps));
    steps.push(Step::LinkUp { netns: router_ns.clone(), link: s(ROUTER_INSIDE) });
    steps.push(Step::Sysctl {
        netns: router_ns.clone(),
        key: s("net.ipv4.ip_forward"),
        value: s("1"),
    });
    if let (Some(remote), Some(net)) = (router.remote, spec.remote_net) {
        // The remote network: a bridge in the router holding its address.
        steps.push(Step::AddBridge { netns: router_ns.clone(), name: s(links::BRIDGE) });
        steps.push(addr(&router_ns, links::BRIDGE, remote, net.prefix_len()));
        steps.push(Step::LinkUp { netns: router_ns.clone(), link: s(links::BRIDGE) });
        // Replies from the remote servers carry the VIP as source, and the
        // VIP's network is the segment, not the remote network: a strict
        // reverse-path filter (the kernel applies the larger of `all` and
        // the link's) would drop every reply. Real routers in front of TUN
        // servers need the same exception.
        for key in ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.br0.rp_filter"] {
            steps.push(Step::Sysctl { netns: router_ns.clone(), key: s(key), value: s("0") });
        }
    }

    let mut tunnel_module = false;
    let roles = spec.roles();
    for rs in &spec.real_servers {
        steps.extend(steps_of(spec, &roles, &rs.name, rs.addr, &mut tunnel_module));
    }

    // The director answers NAT connections through the router. NAT replies
    // reach it from the segment and leave on the same segment; it must not
    // tell the real servers (by ICMP redirect) to use the router directly,
    // or their NAT replies would skip the rewrite back to the VIP.
    steps.push(Step::DefaultRoute { netns: director.clone(), via: router.inside });
    for key in ["net.ipv4.conf.all.send_redirects", "net.ipv4.conf.br0.send_redirects"] {
        steps.push(Step::Sysctl { netns: director.clone(), key: s(key), value: s("0") });
    }
    steps.push(Step::Sysctl { netns: director, key: s("net.ipv4.ip_forward"), value: s("1") });
    steps
}

/// Real server `name` of a routed lab, at `rip`, as its memberships in
/// `spec` make it: wired to the segment (or to the router's remote
/// network), its default route (the DIP for NAT, else the router), its
/// DR VIPs on lo and TUN VIPs on tunl0 with their sysctls, and the source
/// rule a server in both NAT and DR/TUN services replies by. `ipip` is
/// loaded once (`tunnel_module` says whether an earlier step did). At `up`,
/// and for a server added to a running lab.
pub fn server_steps(
    spec: &LabSpec,
    name: &str,
    rip: std::net::Ipv4Addr,
    tunnel_module: &mut bool,
) -> Vec<Step> {
    steps_of(spec, &spec.roles(), name, rip, tunnel_module)
}

/// [`server_steps`] with the servers' roles gathered once for all of them.
fn steps_of(
    spec: &LabSpec,
    roles: &Roles<'_>,
    name: &str,
    rip: std::net::Ipv4Addr,
    tunnel_module: &mut bool,
) -> Vec<Step> {
    let Some(router) = spec.router else { return nat::server_steps(spec, name, rip) };
    let s = |v: &str| v.to_string();
    let mut steps = Vec::new();
    let netns = spec.netns(name);
    let remote = roles.is_remote(name);
    let mut wired = if remote {
        remote_server_steps(spec, roles, name, rip)
    } else {
        nat::server_steps(spec, name, rip)
    };
    // Its default route: through the director for NAT (replies must be
    // rewritten back), else straight to the router (spec.placement).
    let nat = roles.serves_nat(name);
    wired.retain(|step| !matches!(step, Step::DefaultRoute { .. }));
    wired.push(Step::DefaultRoute { netns: netns.clone(), via: roles.placement(name).1 });
    steps.extend(wired);
    let dr = roles.vips_held_by(name, Forward::Dr);
    let tun = roles.vips_held_by(name, Forward::Tun);
    for vip in dr {
        steps.push(addr(&netns, "lo", *vip, 32));
    }
    if !tun.is_empty() && !*tunnel_module {
        *tunnel_module = true;
        steps.push(Step::Modprobe { module: s("ipip") });
    }
    for vip in tun {
        steps.push(addr(&netns, TUNNEL, *vip, 32));
    }
    if !tun.is_empty() {
        steps.push(Step::LinkUp { netns: netns.clone(), link: s(TUNNEL) });
        for key in ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.tunl0.rp_filter"] {
            steps.push(Step::Sysctl { netns: netns.clone(), key: s(key), value: s("0") });
        }
    }
    // Off the segment, nobody asks a remote server for the VIP by ARP.
    if (dr.is_empty() && tun.is_empty()) || remote {
        return steps;
    }
    for (key, value) in
        [("net.ipv4.conf.all.arp_ignore", "1"), ("net.ipv4.conf.all.arp_announce", "2")]
    {
        steps.push(Step::Sysctl { netns: netns.clone(), key: s(key), value: s(value) });
    }
    if nat {
        for vip in dr.iter().chain(tun) {
            steps.push(Step::Rule { netns: netns.clone(), from: *vip, table: DIRECT_REPLY_TABLE });
        }
        steps.push(Step::TableDefaultRoute {
            netns: netns.clone(),
            via: router.inside,
            table: DIRECT_REPLY_TABLE,
        });
    }
    steps
}

/// The steps that wire a real server on the remote network to the
/// router's bridge: a veth from its eth0 to a port named after it.
fn remote_server_steps(
    spec: &LabSpec,
    roles: &Roles<'_>,
    name: &str,
    rip: std::net::Ipv4Addr,
) -> Vec<Step> {
    let router = spec.netns(hosts::ROUTER);
    let netns = spec.netns(name);
    let (prefix, _) = roles.placement(name);
    vec![
        Step::AddVeth {
            netns: netns.clone(),
            name: links::UPLINK.to_string(),
            peer_netns: router.clone(),
            peer: name.to_string(),
        },
        Step::SetMaster {
            netns: router.clone(),
            link: name.to_string(),
            bridge: links::BRIDGE.to_string(),
        },
        Step::LinkUp { netns: router, link: name.to_string() },
        addr(&netns, links::UPLINK, rip, prefix),
        Step::LinkUp { netns, link: links::UPLINK.to_string() },
    ]
}

#[cfg(test)]
mod tests {
    use crate::lab::plan::Plan;
    use crate::lab::presets;

    fn shell(preset: &str) -> Vec<String> {
        let spec = presets::load(preset).unwrap().spec;
        Plan::topology(&spec).steps.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn dr_real_servers_hold_the_vip_on_lo_and_answer_through_the_router() {
        let plan = shell("dr");
        for line in [
            "ip -n lvs-dr-client route add default via 192.0.2.254",
            "ip -n lvs-dr-rs1 route add default via 198.51.100.254",
            "ip -n lvs-dr-rs1 addr add 198.51.100.100/32 dev lo",
            "ip netns exec lvs-dr-rs2 sysctl -qw net.ipv4.conf.all.arp_ignore=1",
            "ip netns exec lvs-dr-rs2 sysctl -qw net.ipv4.conf.all.arp_announce=2",
            "ip -n lvs-dr-director addr add 198.51.100.100/32 dev br0",
            "ip netns exec lvs-dr-router sysctl -qw net.ipv4.ip_forward=1",
        ] {
            assert!(plan.iter().any(|l| l == line), "missing {line}:\n{}", plan.join("\n"));
        }
        assert!(!plan.iter().any(|l| l.contains("rs1 route add default via 198.51.100.1")));
        assert!(!plan.iter().any(|l| l.contains("modprobe") || l.contains("rule")));
    }

    #[test]
    fn tun_real_servers_get_tunl0_with_the_vip_and_rp_filter_off() {
        let plan = shell("tun");
        let modprobe = plan.iter().position(|l| l == "modprobe ipip").expect("modprobe ipip");
        let first_tunl = plan.iter().position(|l| l.contains("dev tunl0")).unwrap();
        assert!(modprobe < first_tunl, "ipip is loaded before tunl0 is used");
        for line in [
            "ip -n lvs-tun-rs1 addr add 198.51.100.100/32 dev tunl0",
            "ip -n lvs-tun-rs1 link set tunl0 up",
            "ip netns exec lvs-tun-rs1 sysctl -qw net.ipv4.conf.tunl0.rp_filter=0",
            "ip netns exec lvs-tun-rs1 sysctl -qw net.ipv4.conf.all.rp_filter=0",
        ] {
            assert!(plan.iter().any(|l| l == line), "missing {line}:\n{}", plan.join("\n"));
        }
    }

    #[test]
    fn a_server_in_nat_and_dr_services_routes_by_source() {
        let plan = shell("nat-vs-dr");
        for line in [
            "ip -n lvs-nat-vs-dr-rs1 route add default via 198.51.100.1",
            "ip -n lvs-nat-vs-dr-rs1 rule add from 198.51.100.101 table 100",
            "ip -n lvs-nat-vs-dr-rs1 route add default via 198.51.100.254 table 100",
            "ip netns exec lvs-nat-vs-dr-director sysctl -qw net.ipv4.conf.br0.send_redirects=0",
        ] {
            assert!(plan.iter().any(|l| l == line), "missing {line}:\n{}", plan.join("\n"));
        }
        // The NAT VIP stays the director's alone.
        assert!(!plan.iter().any(|l| l.contains("198.51.100.100/32 dev lo")));
    }
}
