//! The topology of an HA lab (`[ha]`): the plan's steps when
//! [`LabSpec::ha`] is set.
//!
//! ```text
//!  client ── eth0 ─┐ brc (switch) ┌─ eth0 director1 eth1 ─┐ brs (switch) ┌─ eth0 rs1
//!                  └──────────────┴─ eth0 director2 eth1 ─┴──────────────┴─ eth0 rs2
//! ```
//! Both directors hang off two bridges in a namespace of their own, the
//! switch, so neither director's failure takes a network down with it. Each
//! director gets only its own addresses here; the VIP and the DIP are
//! keepalived's (VRRP `virtual_ipaddress`), added to the MASTER's eth0 and
//! eth1. The client's and the real servers' gateways (VIP, DIP) are
//! therefore wherever the MASTER is, found by ARP (keepalived sends
//! gratuitous ARP when it takes over).

use crate::lab::model::hosts;
use std::net::Ipv4Addr;

use super::model::{HA_DIRECTORS, LabSpec, links};
use super::step::{Step, addr, namespaces};

/// The switch's bridge on the client network.
pub const CLIENT_BRIDGE: &str = "brc";
/// The switch's bridge on the servers' network.
pub const SERVERS_BRIDGE: &str = "brs";
/// A director's link on the servers' network (eth0 is its client side).
pub const SERVERS_LINK: &str = "eth1";
/// VRRP's router id for the lab's one instance (both directors share it).
pub const VIRTUAL_ROUTER_ID: u8 = 51;
/// Seconds between VRRP adverts: keepalived's smallest whole value, so a
/// stopped MASTER is replaced within about a second (it sends a last
/// priority-0 advert) and a silent one within about 3 s (3 adverts + skew).
pub const ADVERT_INT_S: u32 = 1;
/// VRRP priorities, in [`HA_DIRECTORS`] order: director1 is MASTER.
pub const PRIORITIES: [u8; 2] = [150, 100];

/// The switch's port for `host`'s link to `bridge`.
pub fn port(host: &str, bridge: &str) -> String {
    if bridge == CLIENT_BRIDGE && host != hosts::CLIENT {
        format!("{host}-c")
    } else if bridge == SERVERS_BRIDGE && HA_DIRECTORS.contains(&host) {
        format!("{host}-s")
    } else {
        host.to_string()
    }
}

/// A director's two ports on the switch (client side, servers' side):
/// pulling its cables (`set --cut`) takes both down.
pub fn director_ports(director: &str) -> [String; 2] {
    [port(director, CLIENT_BRIDGE), port(director, SERVERS_BRIDGE)]
}

/// The steps, in an order that always works (empty without `[ha]`).
pub fn topology(spec: &LabSpec) -> Vec<Step> {
    let Some(ha) = spec.ha else { return Vec::new() };
    let s = |v: &str| v.to_string();
    let switch = spec.netns(hosts::SWITCH);
    let (pc, ps) = (spec.client_prefix(), spec.servers_prefix());
    let mut steps = namespaces(spec);
    for bridge in [CLIENT_BRIDGE, SERVERS_BRIDGE] {
        steps.push(Step::AddBridge { netns: switch.clone(), name: s(bridge) });
        steps.push(Step::LinkUp { netns: switch.clone(), link: s(bridge) });
    }
    // One veth from `host`'s `link` to a port of `bridge` in the switch.
    let wire = |steps: &mut Vec<Step>, host: &str, link: &str, bridge: &str| {
        let p = port(host, bridge);
        steps.push(Step::AddVeth {
            netns: spec.netns(host),
            name: s(link),
            peer_netns: switch.clone(),
            peer: p.clone(),
        });
        steps.push(Step::SetMaster { netns: switch.clone(), link: p.clone(), bridge: s(bridge) });
        steps.push(Step::LinkUp { netns: switch.clone(), link: p });
    };

    let client = spec.netns(hosts::CLIENT);
    wire(&mut steps, hosts::CLIENT, links::UPLINK, CLIENT_BRIDGE);
    for a in spec.client_addrs() {
        steps.push(addr(&client, links::UPLINK, a, pc));
    }
    steps.push(Step::LinkUp { netns: client.clone(), link: s(links::UPLINK) });
    steps.push(Step::DefaultRoute { netns: client, via: spec.director.vip });

    for (host, (own_client, own_servers)) in HA_DIRECTORS.into_iter().zip(ha.own) {
        let ns = spec.netns(host);
        wire(&mut steps, host, links::UPLINK, CLIENT_BRIDGE);
        steps.push(addr(&ns, links::UPLINK, own_client, pc));
        steps.push(Step::LinkUp { netns: ns.clone(), link: s(links::UPLINK) });
        wire(&mut steps, host, SERVERS_LINK, SERVERS_BRIDGE);
        steps.push(addr(&ns, SERVERS_LINK, own_servers, ps));
        steps.push(Step::LinkUp { netns: ns.clone(), link: s(SERVERS_LINK) });
        steps.push(Step::Sysctl { netns: ns, key: s("net.ipv4.ip_forward"), value: s("1") });
    }

    for rs in &spec.real_servers {
        steps.extend(server_steps(spec, &rs.name, rs.addr));
    }
    steps
}

/// Real server `name` (its namespace made) wired to the switch's servers'
/// bridge with address `rip`, its gateway the DIP (on whichever director
/// is MASTER): at `up`, and for a server added to a running lab.
pub fn server_steps(spec: &LabSpec, name: &str, rip: Ipv4Addr) -> Vec<Step> {
    let (ns, switch, port) =
        (spec.netns(name), spec.netns(hosts::SWITCH), port(name, SERVERS_BRIDGE));
    vec![
        Step::AddVeth {
            netns: ns.clone(),
            name: links::UPLINK.to_string(),
            peer_netns: switch.clone(),
            peer: port.clone(),
        },
        Step::SetMaster {
            netns: switch.clone(),
            link: port.clone(),
            bridge: SERVERS_BRIDGE.into(),
        },
        Step::LinkUp { netns: switch, link: port },
        addr(&ns, links::UPLINK, rip, spec.servers_prefix()),
        Step::LinkUp { netns: ns.clone(), link: links::UPLINK.to_string() },
        Step::DefaultRoute { netns: ns, via: spec.director.dip },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::plan::Plan;
    use crate::lab::presets;

    #[test]
    fn both_directors_are_on_both_bridges_and_hold_no_floating_address() {
        let spec = presets::load("ha").unwrap().spec;
        let shell = Plan::topology(&spec).to_shell();
        for d in HA_DIRECTORS {
            assert!(
                shell.contains(&format!(
                    "ip -n lvs-ha-{d} link add eth0 type veth peer name {d}-c netns lvs-ha-switch"
                )),
                "{shell}"
            );
            assert!(
                shell.contains(&format!("ip -n lvs-ha-switch link set {d}-s master brs")),
                "{shell}"
            );
            assert!(
                shell.contains(&format!(
                    "ip netns exec lvs-ha-{d} sysctl -qw net.ipv4.ip_forward=1"
                )),
                "{shell}"
            );
        }
        // The VIP and DIP are keepalived's to place, never the plan's.
        assert!(!shell.contains("192.0.2.1/24"), "{shell}");
        assert!(!shell.contains("198.51.100.1/24"), "{shell}");
        assert!(shell.contains("ip -n lvs-ha-rs1 route add default via 198.51.100.1"), "{shell}");
        assert!(shell.contains("ip -n lvs-ha-client route add default via 192.0.2.1"), "{shell}");
        let hosts: Vec<&str> = spec.hosts().map(|(h, _)| h).collect();
        assert_eq!(hosts, ["client", "switch", "director1", "director2", "rs1", "rs2"]);
    }
}
