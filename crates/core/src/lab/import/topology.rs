//! The topology a set of saved rules implies. `ipvsadm -S` holds no netmask
//! and no host but the VIPs and RIPs, so lvslab picks, for the two sides of
//! the director, the largest networks (a /24 at most) that each hold their
//! addresses and keep the two sides apart, then a free DIP and client address.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{At, Table};
use crate::lab::error::SpecError;
use crate::lab::model::{Forward, Router};

/// Longest prefix considered: a /30 still holds two hosts.
const LONGEST: u8 = 30;
/// The usual lab network; wider only if the addresses need it.
const USUAL: u8 = 24;
/// VIP for a table of firewall-mark services only (documentation ranges).
const FALLBACK_VIPS: [Ipv4Addr; 3] =
    [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(203, 0, 113, 1), Ipv4Addr::new(198, 51, 100, 1)];

/// The implied networks and addresses.
pub(crate) struct Topology {
    pub(crate) client_net: Ipv4Net,
    pub(crate) servers_net: Ipv4Net,
    pub(crate) vip: Ipv4Addr,
    pub(crate) dip: Ipv4Addr,
    pub(crate) client: Ipv4Addr,
}

pub(crate) fn infer(file: &str, table: &Table) -> Result<Topology, SpecError> {
    let rips: Vec<Ipv4Addr> = table.rips.iter().map(|(a, _)| *a).collect();
    let mut vips: Vec<Ipv4Addr> = table.vips.iter().map(|(a, _)| *a).collect();
    if vips.is_empty() {
        // Only fwmark services: any VIP away from the real servers will do.
        let free = FALLBACK_VIPS.iter().find(|v| {
            let net = Ipv4Net::new(**v, USUAL).expect("valid prefix").trunc();
            !rips.iter().any(|r| net.contains(r))
        });
        vips.push(*free.unwrap_or(&FALLBACK_VIPS[0]));
    }
    for &(rip, at) in &table.rips {
        if table.is_vip(rip) {
            return Err(error(
                file,
                at,
                format!("real server {rip} is also the VIP {rip}"),
                "a real server needs its own address on the servers' side of the director",
            ));
        }
    }
    // The widest pair of networks (smallest prefix lengths in sum) that fits;
    // on a tie, the wider client network.
    let used: HashSet<Ipv4Addr> = vips.iter().chain(&rips).copied().collect();
    let best = prefixes(&vips)
        .flat_map(|pc| prefixes(&rips).map(move |ps| (pc, ps)))
        .filter_map(|(pc, ps)| fit(&vips, &rips, &used, pc, ps).map(|t| (pc + ps, t)))
        .min_by_key(|(widths, _)| *widths)
        .map(|(_, t)| t);
    best.ok_or_else(|| apart_error(file, table, &vips))
}

/// The topology of a table with DR or TUN real servers (see
/// `lab::routed`): the VIPs, the real servers, the DIP and the router's
/// inside share one segment (the smallest usual network holding them all,
/// with two addresses free); the client and the router's outside sit on a
/// documentation network apart from it.
pub(crate) fn infer_routed(file: &str, table: &Table) -> Result<(Topology, Router), SpecError> {
    let (first, at, forward) = table.direct.expect("called for a table with DR/TUN members");
    let rips: Vec<Ipv4Addr> = table.rips.iter().map(|(a, _)| *a).collect();
    let mut all: Vec<Ipv4Addr> = table.vips.iter().map(|(a, _)| *a).chain(rips).collect();
    let segment = (USUAL..=LONGEST).find_map(|p| {
        let net = holding(&all, p)?;
        let free: Vec<Ipv4Addr> = net.hosts().filter(|h| !all.contains(h)).collect();
        // DIP, router inside, and a VIP if the table has only fwmark services.
        (free.len() >= 3).then_some((net, free))
    });
    let method = match forward {
        Forward::Tun => "tunnelling (-i)",
        _ => "direct routing (-g)",
    };
    let Some((servers_net, free)) = segment else {
        return Err(error(
            file,
            at,
            format!(
                "real server {first} uses {method}, but the VIPs and the real servers are not on one network of at most /{USUAL}"
            ),
            "a DR/TUN lab puts the director (VIPs), the real servers and a router on one segment, and DR forwards by MAC address on it: renumber the VIPs and RIPs into one subnet, e.g. 198.51.100.0/24, or change -g/-i to -m (masquerading)",
        ));
    };
    if table.vips.is_empty() {
        all.push(free[2]);
    }
    let client_net = FALLBACK_VIPS
        .iter()
        .map(|v| Ipv4Net::new(*v, USUAL).expect("valid prefix").trunc())
        .find(|net| !net.contains(&servers_net.network()) && !servers_net.contains(&net.network()))
        .expect("three disjoint /24s cannot all overlap one network of at most /24");
    let hosts: Vec<Ipv4Addr> = client_net.hosts().collect();
    let vip = table.vips.first().map_or(free[2], |(v, _)| *v);
    let topology = Topology { client_net, servers_net, vip, dip: free[0], client: hosts[1] };
    let router =
        Router { outside: hosts[hosts.len() - 1], inside: free[free.len() - 1], remote: None };
    Ok((topology, router))
}

/// Prefix lengths worth trying for `addrs`: from the usual /24 (or the
/// widest that covers them) to /30.
fn prefixes(addrs: &[Ipv4Addr]) -> impl Iterator<Item = u8> + use<> {
    covering(addrs).min(USUAL)..=LONGEST
}

/// The longest prefix whose network holds every address.
fn covering(addrs: &[Ipv4Addr]) -> u8 {
    let first = u32::from(addrs[0]);
    let differ = addrs.iter().fold(0u32, |acc, a| acc | (u32::from(*a) ^ first));
    differ.leading_zeros() as u8
}

/// The networks /`pc` (client side) and /`ps` (servers' side), if they hold
/// the VIPs and RIPs apart with a free host each; `used` is every address.
fn fit(
    vips: &[Ipv4Addr],
    rips: &[Ipv4Addr],
    used: &HashSet<Ipv4Addr>,
    pc: u8,
    ps: u8,
) -> Option<Topology> {
    let client_net = holding(vips, pc)?;
    let servers_net = holding(rips, ps)?;
    if client_net.contains(&servers_net.network()) || servers_net.contains(&client_net.network()) {
        return None;
    }
    let client = free_host(client_net, used)?;
    let dip = free_host(servers_net, used)?;
    Some(Topology { client_net, servers_net, vip: vips[0], dip, client })
}

/// The /`prefix` network of `addrs` if it holds them all as host addresses.
fn holding(addrs: &[Ipv4Addr], prefix: u8) -> Option<Ipv4Net> {
    let net = Ipv4Net::new(addrs[0], prefix).ok()?.trunc();
    let hosts_ok =
        addrs.iter().all(|a| net.contains(a) && *a != net.network() && *a != net.broadcast());
    hosts_ok.then_some(net)
}

fn free_host(net: Ipv4Net, used: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    net.hosts().find(|h| !used.contains(h))
}

/// Why no two networks fit: a real server among the VIPs, or the reverse.
fn apart_error(file: &str, table: &Table, vips: &[Ipv4Addr]) -> SpecError {
    let vip_span = Ipv4Net::new(vips[0], covering(vips)).expect("valid prefix").trunc();
    if let Some(&(rip, at)) = table.rips.iter().find(|(r, _)| vip_span.contains(r)) {
        return error(
            file,
            at,
            format!("real server {rip} is on the VIPs' network {vip_span}"),
            "an LVS-NAT lab keeps the VIPs (client side) and the RIPs (servers' side) on two \
             networks: renumber the real servers into a subnet of their own, e.g. 198.51.100.0/24",
        );
    }
    let rips: Vec<Ipv4Addr> = table.rips.iter().map(|(a, _)| *a).collect();
    // Apart, but one side holds no network that has its addresses as hosts.
    for (side, group, places) in
        [("real server", &rips[..], &table.rips), ("VIP", vips, &table.vips)]
    {
        if prefixes(group).any(|p| holding(group, p).is_some()) {
            continue;
        }
        let net = Ipv4Net::new(group[0], prefixes(group).next().unwrap_or(USUAL))
            .expect("valid prefix")
            .trunc();
        let bad = group.iter().find(|a| **a == net.network() || **a == net.broadcast());
        let addr = *bad.unwrap_or(&group[0]);
        let at = places.iter().find(|(a, _)| *a == addr).map_or((0, 0), |(_, at)| *at);
        return error(
            file,
            at,
            format!(
                "{side} {addr} is the network or broadcast address of every network that could \
                 hold the {side}s (from {net} to /{LONGEST})"
            ),
            "a lab's VIPs and real servers are host addresses: renumber it, e.g. to \
             198.51.100.11 for a real server or 192.0.2.1 for a VIP",
        );
    }
    let rip_span = Ipv4Net::new(rips[0], covering(&rips)).expect("valid prefix").trunc();
    let (vip, at) =
        table.vips.iter().find(|(v, _)| rip_span.contains(v)).copied().unwrap_or((vips[0], (0, 0)));
    error(
        file,
        at,
        format!("VIP {vip} is on the real servers' network {rip_span}"),
        "an LVS-NAT lab keeps the VIPs (client side) and the RIPs (servers' side) on two \
         networks: move the VIP out of the real servers' subnet, e.g. to 192.0.2.1",
    )
}

fn error(file: &str, (line, col): At, message: String, help: &str) -> SpecError {
    SpecError { file: file.to_string(), line, col, message, help: Some(help.to_string()) }
}
