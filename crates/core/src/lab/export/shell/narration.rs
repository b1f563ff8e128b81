//! The script's narration: what each topology step teaches, said once
//! before the first step of its kind, for the NAT, HA and routed (DR/TUN)
//! labs. Kept apart from the assembly of the script in `shell.rs` because
//! it is prose keyed by step, read and edited on its own.

use std::collections::HashSet;
use std::fmt::Write;

use crate::lab::ha;
use crate::lab::model::{HA_DIRECTORS, LabSpec, hosts};
use crate::lab::plan::Plan;
use crate::lab::roles::Roles;
use crate::lab::step::Step;
use crate::lab::text::clip;

use super::MAX_COMMENT;

/// What the comments ask of every step, gathered once (asking the spec
/// for each step scanned every server and member: quadratic).
struct Context<'a> {
    spec: &'a LabSpec,
    roles: Roles<'a>,
    /// The real servers' namespaces.
    server_netns: HashSet<String>,
}

pub(super) fn topology(out: &mut String, spec: &LabSpec) {
    let mut said_lo = false;
    let cx = Context {
        spec,
        roles: spec.roles(),
        server_netns: spec.real_servers.iter().map(|rs| spec.netns(&rs.name)).collect(),
    };
    for step in Plan::topology(spec).steps {
        if let Some(comment) = comment(&cx, &step, &mut said_lo) {
            out.push('\n');
            for line in comment.lines() {
                let _ = writeln!(out, "    # {line}");
            }
        }
        let _ = writeln!(out, "    {step}");
    }
}

/// What a step teaches, said before it (only for the first of a kind).
fn comment(cx: &Context<'_>, step: &Step, said_lo: &mut bool) -> Option<String> {
    let spec = cx.spec;
    let client = spec.netns(hosts::CLIENT);
    if spec.ha.is_some() {
        return ha_comment(cx, step, said_lo);
    }
    match step {
        Step::AddNetns { netns } if *netns == client => Some(
            "1. One network namespace per host: each has its own links, addresses,\n\
             routes and IPVS table, like a separate machine."
                .into(),
        ),
        Step::LinkUp { link, .. } if link == "lo" && !*said_lo => {
            *said_lo = true;
            Some("Every host needs its loopback up (local sockets use it).".into())
        }
        Step::AddVeth { netns, .. } if *netns == client && spec.router.is_some() => Some(
            "2. The client side. A veth pair is a virtual cable: eth0 in the client,\n\
             eth0 in the router, the client's gateway (DR/TUN replies come back by it)."
                .into(),
        ),
        Step::AddVeth { netns, .. } if *netns == client => Some(
            "2. The client side. A veth pair is a virtual cable: eth0 in the client,\n\
             eth0 in the director. The director's end holds the VIP."
                .into(),
        ),
        Step::DefaultRoute { netns, .. } if *netns == client && spec.router.is_some() => {
            Some("The client reaches everything through the router.".into())
        }
        Step::DefaultRoute { netns, .. } if *netns == client => {
            Some("The client reaches everything through the director.".into())
        }
        Step::AddBridge { netns, .. } if *netns == spec.netns(hosts::ROUTER) => Some(
            "The remote network: a bridge in the router is the switch the real servers\n\
             behind it plug into; the router's remote address, their gateway, sits on it."
                .into(),
        ),
        Step::AddBridge { .. } => Some(
            "3. The servers' side. A bridge in the director is the switch the real\n\
             servers plug into; the DIP sits on it. It gets a MAC address of its own:\n\
             left to itself, a bridge takes its lowest port's, which changes when a\n\
             server comes or goes, and the servers would send to the old one."
                .into(),
        ),
        Step::AddVeth { netns, .. }
            if spec.router.is_some() && *netns == spec.netns(hosts::ROUTER) =>
        {
            Some(
                "The router's inside leg plugs into the director's bridge: the servers'\n\
                 segment, where the director, the real servers and the router meet."
                    .into(),
            )
        }
        step => routed_comment(cx, step),
    }
}

/// What the steps of a lab with two directors teach (`[ha]`).
fn ha_comment(cx: &Context<'_>, step: &Step, said_lo: &mut bool) -> Option<String> {
    let spec = cx.spec;
    let client = spec.netns(hosts::CLIENT);
    let first = spec.netns(HA_DIRECTORS[0]);
    match step {
        Step::AddNetns { netns } if *netns == client => Some(
            "1. One network namespace per host: each has its own links, addresses,\n\
             routes and IPVS table, like a separate machine. Two directors, and a\n\
             switch of their own, so that neither director's failure takes a\n\
             network down with it."
                .into(),
        ),
        Step::LinkUp { link, .. } if link == "lo" && !*said_lo => {
            *said_lo = true;
            Some("Every host needs its loopback up (local sockets use it).".into())
        }
        Step::AddBridge { name, .. } if name == ha::CLIENT_BRIDGE => Some(
            "2. The switch: a bridge for the client's network (brc) and one for the\n\
             servers' (brs). Every host plugs into them with a veth pair, a virtual\n\
             cable whose far end is a port of the bridge."
                .into(),
        ),
        Step::DefaultRoute { netns, .. } if *netns == client => Some(
            "The client's gateway is the VIP, on whichever director VRRP makes MASTER\n\
             (found by ARP: the new MASTER announces it when it takes over)."
                .into(),
        ),
        Step::AddVeth { netns, .. } if *netns == first => Some(
            "3. Each director: eth0 on the client's bridge, eth1 on the servers',\n\
             with addresses of its own only. The VIP and the DIP are keepalived's\n\
             to place, on the MASTER."
                .into(),
        ),
        Step::AddVeth { netns, peer, .. } if cx.server_netns.contains(netns) => {
            let peer = clip(peer, MAX_COMMENT);
            Some(format!(
                "Real server {peer}: a cable to the servers' bridge. Its gateway is the\n\
                 DIP, so its replies cross whichever director is MASTER, which rewrites\n\
                 their source back to the VIP."
            ))
        }
        Step::Sysctl { key, netns, .. } if key == "net.ipv4.ip_forward" && *netns == first => {
            Some("Both directors route between the two networks.".into())
        }
        _ => None,
    }
}

/// What the steps only a lab with a router has teach (DR/TUN).
fn routed_comment(cx: &Context<'_>, step: &Step) -> Option<String> {
    let spec = cx.spec;
    let director = spec.netns(hosts::DIRECTOR);
    let router = spec.netns(hosts::ROUTER);
    match step {
        Step::AddVeth { netns, peer, peer_netns, .. } if *peer_netns == router => {
            let peer = clip(peer, MAX_COMMENT);
            Some(format!(
                "Real server {peer}, on the remote network: a cable to the router's bridge.\n\
             The director reaches it only by routing, through the router: TUN's\n\
             IP-in-IP packets get there, DR's frames (by MAC address) could not.\n\
             It answers the client through the router too."
            ))
        }
        Step::Sysctl { netns, key, .. } if *netns == router && key.ends_with(".rp_filter") => {
            key.starts_with("net.ipv4.conf.all.").then(|| {
                "The remote servers' replies come from the VIP, an address of the\n\
                 segment, yet arrive from the remote network: a strict reverse-path\n\
                 filter on the router would drop them all."
                    .into()
            })
        }
        Step::Sysctl { key, .. } if key == "net.ipv4.conf.all.rp_filter" => Some(
            "tunl0 unwraps requests from the client, whose route leaves by eth0: a\n\
             strict reverse-path filter (rp_filter=1) would drop them, so it is off."
                .into(),
        ),
        Step::AddVeth { netns, peer, .. }
            if *netns != director && spec.router.is_some() && !cx.roles.serves_nat(peer) =>
        {
            let peer = clip(peer, MAX_COMMENT);
            Some(format!(
                "Real server {peer}: a cable from its eth0 to a bridge port named {peer}.\n\
             Its default gateway is the router, not the director: it answers DR/TUN\n\
             requests itself, from the VIP, straight to the client."
            ))
        }
        Step::AddVeth { netns, peer, .. } if *netns != director => {
            let peer = clip(peer, MAX_COMMENT);
            Some(format!(
                "Real server {peer}: a cable from its eth0 to a bridge port named {peer}.\n\
             Its default gateway is the DIP: in LVS-NAT the replies must cross the\n\
             director, which rewrites their source back to the VIP."
            ))
        }
        Step::Sysctl { key, .. } if key == "net.ipv4.ip_forward" && spec.router.is_none() => Some(
            "The director routes between its two networks (the kernel's default is off).".into(),
        ),
        Step::Sysctl { key, .. } if key == "net.ipv4.conf.all.send_redirects" => Some(
            "NAT replies reach the director from the segment and leave on it again\n\
             (to the router): it must not redirect the real servers to the router,\n\
             or their NAT replies would skip the rewrite back to the VIP."
                .into(),
        ),
        Step::Modprobe { .. } => Some(
            "IP tunnelling: the ipip module gives every namespace the tunnel device\n\
             tunl0, which unwraps the director's IP-in-IP packets."
                .into(),
        ),
        Step::Sysctl { key, .. } if key == "net.ipv4.conf.all.arp_ignore" => Some(
            "The ARP problem: this real server holds a VIP, so it must not answer ARP\n\
             for it, or the router would send it the clients' packets directly.\n\
             arp_ignore=1: answer only for addresses of the incoming interface;\n\
             arp_announce=2: never announce the VIP as the source of its own ARP."
                .into(),
        ),
        Step::Rule { .. } => Some(
            "Replies sent from the DR/TUN VIP go to the router (table 100); replies\n\
             to NAT requests keep the default route through the director."
                .into(),
        ),
        _ => None,
    }
}
