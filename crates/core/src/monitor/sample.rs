//! Synthetic snapshots of the tutorial lab, for tests, benchmarks and
//! screenshots: fixed values, so anything drawn from them is reproducible.

use crate::lab::model::hosts;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use super::snapshot::{
    ConnMode, DestView, DirectorView, Forward, HostStats, HostView, LabView, Origin,
    RealServerView, ServiceView, Snapshot, TrafficView,
};
use crate::lab::model::Dataplane;

/// 2026-11-24 12:00:00 UTC, the fixed clock of synthetic snapshots.
pub const EPOCH_SECS: u64 = 1_795_521_600;

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// The tutorial lab (rs1 weight 3, rs2 weight 2, TCP 192.0.2.1:80 wrr) after
/// `tick` tenths of a second of 50 req/s short-connection traffic.
pub fn tutorial(tick: u32) -> Snapshot {
    with_servers(&[3, 2], tick)
}

/// The `ha` preset's lab at `tick` tenths of a second: the tutorial's
/// servers and traffic behind two directors under keepalived, with
/// `master` holding the VIP (`None`: neither does).
pub fn ha(tick: u32, master: Option<&str>) -> Snapshot {
    let mut s = with_servers(&[1, 1], tick);
    s.lab.name = "ha".into();
    s.lab.control = crate::lab::model::Control::Keepalived;
    s.lab.director.vrrp =
        Some(super::snapshot::VrrpView { master: master.map(str::to_string), failed: Vec::new() });
    s
}

/// A lab shaped like the tutorial with one real server per weight
/// (`rs1`, `rs2`, … on 198.51.100.11 onwards), at `tick` tenths of a second.
pub fn with_servers(weights: &[u32], tick: u32) -> Snapshot {
    let total_weight: u64 = weights.iter().map(|&w| u64::from(w)).sum::<u64>().max(1);
    let requests = u64::from(tick) * 5;
    let dests: Vec<DestView> = weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| dest(i, weight, requests * u64::from(weight) / total_weight, tick))
        .collect();
    let by_server = dests.iter().map(|d| (d.name.clone(), d.conns)).collect::<BTreeMap<_, _>>();
    let dests_for_conns = dests.clone();
    Snapshot {
        at: SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS) + tick_duration(tick),
        lab: lab(&dests),
        services: vec![ServiceView {
            proto: "TCP".into(),
            vip: IpAddr::V4(VIP),
            port: 80,
            fwmark: None,
            origin: Origin::Lab,
            programmed: true,
            scheduler: "wrr".into(),
            persistent: None,
            real_servers: dests,
        }],
        traffic: Some(TrafficView {
            running: true,
            mode: ConnMode::Short,
            rate: 50,
            in_flight: 8,
            ended: false,
            requests,
            ok: requests,
            errors: 0,
            by_server,
            p50_ms: (requests > 0).then_some(1.8),
            p99_ms: (requests > 0).then_some(6.4),
            answered: requests,
            recent: Vec::new(),
        }),
        host: HostStats { cpu_percent: 12.5, mem_used: 1_610_612_736, mem_total: 8_589_934_592 },
        conns: Some(conns(&dests_for_conns, tick)),
        prediction: Some(prediction(&dests_for_conns, requests)),
    }
}

/// What the dashboard's prediction shows after `requests` answers under
/// wrr: every one predicted after the first two cycles, the weights'
/// shares expected, and the servers in wrr's order ahead.
fn prediction(dests: &[DestView], requests: u64) -> super::forecast::PredictionView {
    let total: u64 = dests.iter().map(|d| u64::from(d.weight)).sum::<u64>().max(1);
    #[expect(clippy::cast_precision_loss, reason = "small weights")]
    let expected =
        dests.iter().map(|d| (d.name.clone(), d.weight as f64 * 100.0 / total as f64)).collect();
    let compared = requests.saturating_sub(12);
    let next = (0..super::forecast::AHEAD)
        .filter_map(|i| dests.get(i % dests.len().max(1)).map(|d| d.name.clone()))
        .collect();
    super::forecast::PredictionView { next, compared, agreed: compared, expected }
}

/// The connection table matching `dests`: each server's ActiveConn as
/// ESTABLISHED entries and a few closed ones in TIME_WAIT, from the client
/// 192.0.2.2 on ports that move with `tick`.
pub fn conns(dests: &[DestView], tick: u32) -> super::conns::ConnTable {
    use std::net::SocketAddr;
    let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let mut entries = Vec::new();
    let mut port = 40_000 + u16::try_from(tick % 1000).unwrap_or(0) * 10;
    for d in dests {
        let closed = d.weight.min(3);
        for i in 0..d.active_conns + closed {
            port = port.wrapping_add(1);
            let established = i < d.active_conns;
            entries.push(lvslab_ipvs::conns::Conn {
                proto: "TCP".into(),
                client: SocketAddr::new(client, port),
                vip: SocketAddr::new(IpAddr::V4(VIP), 80),
                dest: SocketAddr::new(d.addr, d.port),
                state: if established { "ESTABLISHED" } else { "TIME_WAIT" }.into(),
                expires_s: if established { 900 - i } else { 120 - i },
                pe: None,
            });
        }
    }
    let names: Vec<String> = dests.iter().map(|d| d.name.clone()).collect();
    super::conns::table_named("tutorial", names, &entries, None, |ip| {
        dests.iter().find(|d| d.addr == ip).map_or_else(|| ip.to_string(), |d| d.name.clone())
    })
}

fn tick_duration(tick: u32) -> Duration {
    Duration::from_millis(u64::from(tick) * 100)
}

fn rip(index: usize) -> IpAddr {
    let n = u32::try_from(index).unwrap_or(0) + 11;
    // 198.51.100.11 onwards, spilling into the next octets for big labs.
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 51, 100, 0)) + n))
}

fn dest(index: usize, weight: u32, conns: u64, tick: u32) -> DestView {
    // Counters as the estimator shows them: refreshed every 2 s (20 ticks).
    let refreshed = conns - conns % 10;
    // ActiveConn steps slowly with the weight, so charts show distinct lines.
    let wobble = (tick / 10 + u32::try_from(index % 3).unwrap_or(0)) % 3;
    let active = if weight == 0 { 0 } else { weight * 2 + wobble };
    DestView {
        name: format!("rs{}", index + 1),
        addr: rip(index),
        port: 80,
        forward: Forward::Masq,
        origin: Origin::Lab,
        weight,
        active_conns: active,
        inactive_conns: u32::try_from((conns / 2).min(u64::from(u32::MAX))).unwrap_or(0),
        conns: refreshed,
        cps: if tick > 20 { u64::from(weight) * 10 } else { 0 },
        in_bytes: refreshed * 420,
        out_bytes: refreshed * 1_310,
        in_bps: u64::from(weight) * 4_200,
        out_bps: u64::from(weight) * 13_100,
        in_pkts: refreshed * 6,
        out_pkts: refreshed * 5,
    }
}

fn lab(dests: &[DestView]) -> LabView {
    LabView {
        name: "tutorial".into(),
        dataplane: Dataplane::Ipvs,
        control: crate::lab::model::Control::Lvslab,
        client: HostView {
            name: hosts::CLIENT.into(),
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        },
        director: DirectorView {
            vip: IpAddr::V4(VIP),
            dip: IpAddr::V4(DIP),
            forwarding: true,
            vrrp: None,
        },
        real_servers: dests
            .iter()
            .map(|d| RealServerView {
                name: d.name.clone(),
                addr: d.addr,
                gateway: Some(IpAddr::V4(DIP)),
                expected_gateway: IpAddr::V4(DIP),
                up: true,
            })
            .collect(),
    }
}
