//! Arbitrary valid labs for property tests: names, descriptions (with the
//! characters shell and keepalived treat specially), addresses, weights,
//! schedulers, persistence, fwmark services, 1..N services and servers, in
//! each topology: NAT (one director), DR/TUN behind a router (with a remote
//! network of TUN servers), and HA (two directors under keepalived).
//! Valid by construction; the tests assert the validator agrees.
//!
//! Shared by lvslab-core's property tests and the root crate's keepalived
//! config test (`#[path]`).

#![allow(dead_code)] // each test target uses a different part

use std::net::Ipv4Addr;

use lvslab_core::lab::model::{
    Control, Director, FailedCheck, Forward, Ha, LabSpec, Member, Protocol, RealServer, Router,
    Scheduler, Service, TrafficProfile,
};
use proptest::prelude::*;

/// Which topology a generated lab has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nat,
    Routed,
    RoutedRemote,
    Ha,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Nat), Just(Kind::Routed), Just(Kind::RoutedRemote), Just(Kind::Ha)]
}

/// One printable line: ASCII with every shell and keepalived metacharacter,
/// and a few multi-byte characters.
fn description() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        "[ -~é✓‘’]{0,40}",
        Just("$(touch /tmp/x) `id` \"q\" 'a' \\".to_string()),
        Just("} virtual_server 10.9.9.9 1 { lb_kind NAT # ! \\".to_string()),
    ]
}

fn lab_name() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,10}[a-z0-9])?"
}

/// Real server `i`'s name: `s<i>` then a few letters, digits or `_` (so
/// never reserved, always at most 15 bytes, always distinct).
fn server_name(i: usize, tail: &str) -> String {
    format!("s{i}{tail}")
}

/// A service before it is placed: protocol, port, fwmark, scheduler,
/// persistence, and its members as (server index, port, weight, method pick).
#[derive(Debug, Clone)]
struct ServiceDraft {
    protocol: Protocol,
    port: u16,
    fwmark: Option<u32>,
    vip_pick: usize,
    scheduler: Scheduler,
    persistence: Option<(u32, Option<u8>)>,
    members: Vec<(usize, u16, u32, u8)>,
}

fn service_draft(servers: usize) -> impl Strategy<Value = ServiceDraft> {
    let protocol = prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp), Just(Protocol::Sctp)];
    let members = proptest::collection::vec(
        (0..servers, 1u16..=65535, prop_oneof![Just(0u32), 1u32..=10, Just(65535)], 0u8..3),
        0..=servers,
    );
    (
        protocol,
        1u16..=65535,
        proptest::option::weighted(0.2, 1u32..=u32::MAX),
        0usize..3,
        proptest::sample::select(Scheduler::ALL.to_vec()),
        proptest::option::weighted(
            0.3,
            (1u32..=2_678_400, proptest::option::of(prop_oneof![Just(24u8), Just(16u8)])),
        ),
        members,
    )
        .prop_map(|(protocol, port, fwmark, vip_pick, scheduler, persistence, members)| {
            ServiceDraft { protocol, port, fwmark, vip_pick, scheduler, persistence, members }
        })
}

/// An arbitrary valid lab.
pub fn spec() -> impl Strategy<Value = LabSpec> {
    (kind(), 1usize..=6)
        .prop_flat_map(|(kind, servers)| {
            (
                Just(kind),
                lab_name(),
                description(),
                proptest::collection::vec("[a-z0-9_]{0,8}", servers),
                proptest::collection::vec(service_draft(servers), 1..=4),
                1u32..=4,
                any::<bool>(),
                any::<bool>(),
                proptest::collection::vec(0u64..=60_000, servers),
            )
        })
        .prop_map(
            |(kind, name, description, tails, drafts, clients, keepalived, weight0, delays)| {
                build(
                    kind,
                    name,
                    description,
                    &tails,
                    drafts,
                    clients,
                    keepalived,
                    weight0,
                    &delays,
                )
            },
        )
}

fn ip(net: [u8; 3], host: u8) -> Ipv4Addr {
    Ipv4Addr::new(net[0], net[1], net[2], host)
}

#[allow(clippy::too_many_arguments)]
fn build(
    kind: Kind,
    name: String,
    description: String,
    tails: &[String],
    drafts: Vec<ServiceDraft>,
    clients: u32,
    keepalived: bool,
    weight0: bool,
    delays: &[u64],
) -> LabSpec {
    const CLIENT: [u8; 3] = [192, 0, 2];
    const SERVERS: [u8; 3] = [198, 51, 100];
    const REMOTE: [u8; 3] = [203, 0, 113];
    let routed = matches!(kind, Kind::Routed | Kind::RoutedRemote);
    let remote = kind == Kind::RoutedRemote;
    // Half the servers of a lab with a remote network sit on it (TUN only).
    let is_remote = |i: usize| remote && i % 2 == 1;
    let real_servers: Vec<RealServer> = tails
        .iter()
        .enumerate()
        .map(|(i, tail)| RealServer {
            name: server_name(i, tail),
            addr: if is_remote(i) { ip(REMOTE, 10 + i as u8) } else { ip(SERVERS, 10 + i as u8) },
            delay_ms: delays[i],
        })
        .collect();
    // VIPs: on the client network, or the servers' segment behind a router.
    let vip_net = if routed { SERVERS } else { CLIENT };
    let vips = [ip(vip_net, 100), ip(vip_net, 101), ip(vip_net, 102)];
    let mut services: Vec<Service> = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for d in drafts {
        let vip = vips[d.vip_pick];
        let key = match d.fwmark {
            Some(mark) => (None, vip, 0, Some(mark)),
            None => (Some(d.protocol), vip, d.port, None),
        };
        if !keys.insert((key.0, if key.3.is_some() { vips[0] } else { key.1 }, key.2, key.3)) {
            continue;
        }
        let port = if d.fwmark.is_some() { 0 } else { d.port };
        let mut seen = std::collections::HashSet::new();
        let members = d
            .members
            .iter()
            .filter_map(|&(i, member_port, weight, pick)| {
                let forward = match kind {
                    Kind::Nat | Kind::Ha => Forward::Nat,
                    _ if is_remote(i) => Forward::Tun,
                    _ => [Forward::Nat, Forward::Dr, Forward::Tun][pick as usize],
                };
                // DR and TUN keep the service's port; a fwmark member may keep
                // the packet's (0).
                let member_port = match (forward, d.fwmark) {
                    (_, Some(_)) if pick == 0 => 0,
                    (Forward::Nat, _) => member_port,
                    (_, Some(_)) => member_port,
                    _ => port,
                };
                seen.insert((i, member_port)).then(|| Member {
                    name: real_servers[i].name.clone(),
                    port: member_port,
                    weight,
                    forward,
                })
            })
            .collect();
        services.push(Service {
            protocol: if d.fwmark.is_some() { Protocol::Tcp } else { d.protocol },
            vip: if d.fwmark.is_some() { vips[0] } else { vip },
            port,
            scheduler: d.scheduler,
            // sh's and mh's flags: none, one or both, by the port drawn.
            scheduler_flags: lvslab_core::lab::model::SchedFlag::of(d.scheduler)
                .into_iter()
                .take(usize::from(d.port % 3))
                .collect(),
            persistence: d.persistence.map(|(t, _)| t),
            persistence_netmask: d.persistence.and_then(|(_, mask)| {
                mask.map(|len| Ipv4Addr::from(u32::MAX << (32 - u32::from(len))))
            }),
            fwmark: d.fwmark,
            members,
        });
    }
    let router = routed.then(|| Router {
        outside: ip(CLIENT, 254),
        inside: ip(SERVERS, 254),
        remote: remote.then(|| ip(REMOTE, 254)),
    });
    let ha = (kind == Kind::Ha).then(|| Ha {
        own: [(ip(CLIENT, 2), ip(SERVERS, 2)), (ip(CLIENT, 3), ip(SERVERS, 3))],
        sync: keepalived,
    });
    LabSpec {
        name: lvslab_core::lab::model::LabName::new(&name).expect("the generator makes lab names"),
        description,
        dataplane: None,
        client_net: "192.0.2.0/24".parse().unwrap(),
        servers_net: "198.51.100.0/24".parse().unwrap(),
        client: ip(CLIENT, 200),
        client_addresses: clients,
        director: Director { vip: vips[0], dip: ip(SERVERS, 1), sysctl: Default::default() },
        real_servers,
        services,
        traffic: TrafficProfile::default(),
        control: if kind == Kind::Ha || keepalived { Control::Keepalived } else { Control::Lvslab },
        failed_check: if weight0 { FailedCheck::WeightZero } else { FailedCheck::Remove },
        router,
        remote_net: remote.then(|| "203.0.113.0/24".parse().unwrap()),
        ha,
    }
}

/// Text with any characters at all, control characters included: for the
/// fields of a record edited by hand, which nothing validated.
pub fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{2028}\\u{202e} -~]{0,40}",
        Just("x\nLVSLAB_KEEPALIVED_CONF\ntouch /tmp/pwned\n".to_string()),
        Just("\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n}\nvirtual_server 10.9.9.9 1 {\\".to_string()),
    ]
}
