//! The classic lab: one director between the client's network and the
//! real servers' bridge, forwarding by NAT (or by DR/TUN on the same wires
//! when the lab has no router).

use crate::lab::model::hosts;
use std::net::Ipv4Addr;

use super::model::{LabSpec, links};
use super::step::{Step, addr, namespaces};

/// The topology of a one-director lab without a router: namespaces, links,
/// addresses, routes and forwarding.
pub fn topology(spec: &LabSpec) -> Vec<Step> {
    let client = spec.netns(hosts::CLIENT);
    let director = spec.netns(hosts::DIRECTOR);
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
        steps.extend(server_steps(spec, &rs.name, rs.addr));
    }

    steps.push(Step::Sysctl { netns: director, key: s("net.ipv4.ip_forward"), value: s("1") });
    steps
}

/// The steps that wire one real server to the director's bridge: a veth from
/// its eth0 to a port of br0 named after it, its RIP, and its gateway, the DIP
/// (in an HA lab the switch's bridge is theirs instead: [`super::ha::server_steps`]).
pub fn server_steps(spec: &LabSpec, name: &str, rip: Ipv4Addr) -> Vec<Step> {
    let director = spec.netns(hosts::DIRECTOR);
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
