//! Checks of the real servers' side (a lab only): what each needs for the
//! forwarding methods its destinations use. The VIPs a server must hold
//! are the table's (the services that send it traffic by DR or TUN), so a
//! server added by hand is checked like the preset's.

use super::Finding;
use super::catalogue as c;
use super::evidence::{Evidence, RealServer};
use crate::lab::model::Forward;
use crate::lab::routed::TUNNEL;

pub(super) fn run(e: &Evidence, out: &mut Vec<Finding>) {
    let Some(servers) = &e.real_servers else { return };
    for rs in servers {
        gateway(e, rs, out);
        dr_vip(e, rs, out);
        arp(e, rs, out);
        tunnel(e, rs, out);
    }
}

fn gateway(e: &Evidence, rs: &RealServer, out: &mut Vec<Finding>) {
    let nat = e
        .services
        .iter()
        .flat_map(|s| &s.dests)
        .any(|d| d.addr == rs.rip && d.forward == Forward::Nat);
    let Some(dip) = e.dip else { return };
    if !nat || rs.node.gateway == Some(dip) {
        return;
    }
    let now = rs.node.gateway.map_or("none".to_string(), |g| g.to_string());
    out.push(c::NAT_GATEWAY_NOT_DIP.found(
        rs.node.name.clone(),
        vec![format!("default gateway {now}, DIP {dip}")],
        vec![format!("{}ip route replace default via {dip}", rs.node.exec())],
    ));
}

fn dr_vip(e: &Evidence, rs: &RealServer, out: &mut Vec<Finding>) {
    for vip in e.vips_of(rs.rip, Forward::Dr) {
        let holders = rs.node.holders(vip);
        if holders.iter().any(|l| l.noarp) {
            continue;
        }
        let on: Vec<&str> = holders.iter().map(|l| l.name.as_str()).collect();
        let evidence = if on.is_empty() {
            format!("VIP {vip} is on no interface")
        } else {
            format!("VIP {vip} only on {} (which answers ARP)", on.join(", "))
        };
        out.push(c::DR_VIP_MISSING.found(
            rs.node.name.clone(),
            vec![evidence],
            vec![format!("{}ip addr add {vip}/32 dev lo", rs.node.exec())],
        ));
    }
}

fn arp(e: &Evidence, rs: &RealServer, out: &mut Vec<Finding>) {
    let held: Vec<_> = [Forward::Dr, Forward::Tun]
        .into_iter()
        .flat_map(|f| e.vips_of(rs.rip, f))
        .filter(|vip| !rs.node.holders(*vip).is_empty())
        .collect();
    let Some(net) = e.servers_net else { return };
    if held.is_empty() || !rs.on_segment {
        return;
    }
    let mut evidence = Vec::new();
    for link in rs.node.on_net(net) {
        for (key, needed) in [("arp_ignore", 1), ("arp_announce", 2)] {
            if let Some((value, from)) = rs.node.conf_max(&link.name, key)
                && value < needed
            {
                evidence
                    .push(format!("{key} on {} is {value} ({from}), needs {needed}", link.name));
            }
        }
    }
    if evidence.is_empty() {
        return;
    }
    let vips: Vec<String> = held.iter().map(ToString::to_string).collect();
    evidence.push(format!("holds VIP {}", vips.join(", ")));
    let x = rs.node.exec();
    out.push(c::DR_ARP_IGNORE.found(
        rs.node.name.clone(),
        evidence,
        vec![
            format!("{x}sysctl -w net.ipv4.conf.all.arp_ignore=1"),
            format!("{x}sysctl -w net.ipv4.conf.all.arp_announce=2"),
        ],
    ));
}

fn tunnel(e: &Evidence, rs: &RealServer, out: &mut Vec<Finding>) {
    let vips = e.vips_of(rs.rip, Forward::Tun);
    if vips.is_empty() {
        return;
    }
    let x = rs.node.exec();
    let Some(tunl) = rs.node.links.iter().find(|l| l.name == TUNNEL) else {
        out.push(
            c::TUN_DEVICE_MISSING.found(
                rs.node.name.clone(),
                vec![format!("no {TUNNEL} (is the ipip module loaded?)")],
                std::iter::once("modprobe ipip".to_string())
                    .chain(vips.iter().map(|v| format!("{x}ip addr add {v}/32 dev {TUNNEL}")))
                    .chain(std::iter::once(format!("{x}ip link set {TUNNEL} up")))
                    .collect(),
            ),
        );
        return;
    };
    let missing: Vec<_> =
        vips.iter().filter(|v| !tunl.addrs.iter().any(|a| a.addr() == **v)).collect();
    if !tunl.up || !missing.is_empty() {
        let mut evidence = Vec::new();
        let mut fix = Vec::new();
        for v in &missing {
            evidence.push(format!("VIP {v} not on {TUNNEL}"));
            fix.push(format!("{x}ip addr add {v}/32 dev {TUNNEL}"));
        }
        if !tunl.up {
            evidence.push(format!("{TUNNEL} is down"));
            fix.push(format!("{x}ip link set {TUNNEL} up"));
        }
        out.push(c::TUN_DEVICE_MISSING.found(rs.node.name.clone(), evidence, fix));
    }
    if let Some((1, from)) = rs.node.conf_max(TUNNEL, "rp_filter") {
        out.push(c::TUN_RP_FILTER.found(
            rs.node.name.clone(),
            vec![format!("rp_filter on {TUNNEL} is 1, strict ({from})")],
            vec![
                format!("{x}sysctl -w net.ipv4.conf.{TUNNEL}.rp_filter=0"),
                format!("{x}sysctl -w net.ipv4.conf.all.rp_filter=0"),
            ],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::diagnose::run;
    use crate::lab::model::Forward;

    fn set(e: &mut crate::diagnose::Evidence, server: usize, key: &str, value: &str) {
        e.real_servers.as_mut().unwrap()[server].node.sysctls.insert(key.into(), value.into());
    }

    #[test]
    fn a_nat_server_whose_gateway_is_not_the_dip_is_named() {
        let mut e = lab(Forward::Nat);
        e.real_servers.as_mut().unwrap()[1].node.gateway = Some(ip("198.51.100.254"));
        let found = run(&e);
        assert_eq!(ids(&e), ["nat-gateway-not-dip"]);
        assert_eq!(found[0].subject, "rs2");
        assert_eq!(found[0].evidence, ["default gateway 198.51.100.254, DIP 198.51.100.1"]);
        assert_eq!(
            found[0].fix,
            ["ip netns exec lvs-t-rs2 ip route replace default via 198.51.100.1"]
        );
        e.real_servers.as_mut().unwrap()[1].node.gateway = None;
        assert!(run(&e)[0].evidence[0].starts_with("default gateway none"));
    }

    #[test]
    fn a_dr_server_without_the_vip_on_lo_is_named_and_an_arp_device_does_not_count() {
        let mut e = lab(Forward::Dr);
        e.real_servers.as_mut().unwrap()[0].node.links[0].addrs.pop();
        assert_eq!(ids(&e), ["dr-vip-missing"]);
        assert_eq!(run(&e)[0].evidence, ["VIP 198.51.100.100 is on no interface"]);
        let eth0 = &mut e.real_servers.as_mut().unwrap()[0].node.links[1];
        eth0.addrs.push("198.51.100.100/32".parse().unwrap());
        let found = run(&e);
        assert_eq!(found[0].id, "dr-vip-missing");
        assert!(found[0].evidence[0].contains("only on eth0"), "{:?}", found[0].evidence);
    }

    #[test]
    fn arp_sysctls_take_the_larger_of_all_and_the_interface() {
        let mut e = lab(Forward::Dr);
        set(&mut e, 0, "net.ipv4.conf.all.arp_ignore", "0");
        let found = run(&e);
        assert_eq!(ids(&e), ["dr-arp-ignore"]);
        assert_eq!(found[0].evidence[0], "arp_ignore on eth0 is 0 (all=0, eth0=0), needs 1");
        assert!(found[0].fix[0].starts_with("ip netns exec lvs-t-rs1 sysctl -w"));
        // The interface's own value is enough (the kernel takes the larger).
        set(&mut e, 0, "net.ipv4.conf.eth0.arp_ignore", "1");
        assert!(ids(&e).is_empty());
        set(&mut e, 1, "net.ipv4.conf.all.arp_announce", "1");
        assert_eq!(ids(&e), ["dr-arp-ignore"]);
        // A server off the segment (behind the router) is nobody's ARP neighbour.
        e.real_servers.as_mut().unwrap()[1].on_segment = false;
        assert!(ids(&e).is_empty());
    }

    #[test]
    fn the_arp_check_waits_for_the_vip_and_ignores_nat() {
        // No VIP held: dr-vip-missing says so; the ARP settings do not matter yet.
        let mut e = lab(Forward::Dr);
        e.real_servers.as_mut().unwrap()[0].node.links[0].addrs.pop();
        set(&mut e, 0, "net.ipv4.conf.all.arp_ignore", "0");
        assert_eq!(ids(&e), ["dr-vip-missing"]);
        let mut e = lab(Forward::Nat);
        set(&mut e, 0, "net.ipv4.conf.all.arp_ignore", "0");
        assert!(ids(&e).is_empty());
    }

    #[test]
    fn tun_needs_an_up_tunl0_with_the_vip_and_no_strict_rp_filter() {
        let mut e = lab(Forward::Tun);
        set(&mut e, 0, "net.ipv4.conf.all.rp_filter", "1");
        let found = run(&e);
        assert_eq!(ids(&e), ["tun-rp-filter"]);
        assert_eq!(found[0].evidence, ["rp_filter on tunl0 is 1, strict (all=1, tunl0=0)"]);
        set(&mut e, 0, "net.ipv4.conf.all.rp_filter", "2");
        assert!(ids(&e).is_empty(), "loose (2) lets them through");
        set(&mut e, 1, "net.ipv4.conf.tunl0.rp_filter", "1");
        assert_eq!(ids(&e), ["tun-rp-filter"]);

        let mut e = lab(Forward::Tun);
        e.real_servers.as_mut().unwrap()[0].node.links[2].up = false;
        assert_eq!(ids(&e), ["tun-device-missing"]);
        assert_eq!(run(&e)[0].evidence, ["tunl0 is down"]);
        e.real_servers.as_mut().unwrap()[0].node.links.pop();
        let found = run(&e);
        assert_eq!(found[0].id, "tun-device-missing");
        assert_eq!(found[0].fix[0], "modprobe ipip");
        assert!(found[0].evidence[0].starts_with("no tunl0"));
    }
}
