//! The dashboard's poll: one [`Snapshot`] of a running lab per call, from an
//! [`Observe`]r (the kernel, in production) plus the machine's load. The
//! observation becomes a snapshot through [`snapshot`], a pure function.
//! Blocking; the session runs it on a thread of its own, never on the
//! render path.

use lvslab_core::lab::model::hosts;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::forecast::{Forecast, PredictionView};
use super::merge::{self, MergedDest};
use super::observe::{HOSTS_REFRESH, KernelObserver};
use super::predict;
use super::snapshot::{
    DestView, DirectorView, HostStats, HostView, LabView, RealServerView, ServiceView, Snapshot,
    TrafficView,
};
use super::{IpvsRead, Observation, Observe};
use crate::ops::state::LabState;
use lvslab_ipvs::ServiceKey;

/// sysinfo needs time between two CPU readings to compute a usage.
const HOST_REFRESH: Duration = Duration::from_millis(500);

/// Reads a lab into snapshots through an observer that keeps its sockets open.
pub struct Poller<O: Observe = KernelObserver> {
    observer: O,
    system: sysinfo::System,
    host: HostStats,
    host_at: Option<Instant>,
    forecast: Forecast,
}

impl Poller {
    /// A poller over the kernel.
    pub fn new() -> Self {
        Self::with_observer(KernelObserver::new(HOSTS_REFRESH).with_conns())
    }
}

impl Default for Poller {
    fn default() -> Self {
        Self::new()
    }
}

impl<O: Observe> Poller<O> {
    /// A poller over any observer (tests pass a fixed observation).
    pub fn with_observer(observer: O) -> Self {
        Self {
            observer,
            system: sysinfo::System::new(),
            host: HostStats { cpu_percent: 0.0, mem_used: 0, mem_total: 0 },
            host_at: None,
            forecast: Forecast::default(),
        }
    }

    /// One snapshot. A failed IPVS read shows the lab's services as not
    /// programmed, not an error: the dashboard keeps running and the next
    /// poll tries again.
    pub fn poll(&mut self, state: &LabState, traffic: Option<TrafficView>) -> Snapshot {
        let seen = self.observer.observe(state);
        if let IpvsRead::Failed(e) = &seen.ipvs {
            tracing::warn!("IPVS poll failed: {e}");
        }
        let mut snap = snapshot(state, &seen, traffic, self.host_stats());
        snap.prediction = prediction(state, &seen, snap.traffic.as_ref(), &mut self.forecast);
        snap
    }

    fn host_stats(&mut self) -> HostStats {
        if self.host_at.is_none_or(|at| at.elapsed() >= HOST_REFRESH) {
            self.system.refresh_cpu_usage();
            self.system.refresh_memory();
            self.host = HostStats {
                cpu_percent: self.system.global_cpu_usage(),
                mem_used: self.system.used_memory(),
                mem_total: self.system.total_memory(),
            };
            self.host_at = Some(Instant::now());
        }
        self.host
    }
}

/// The dashboard's snapshot of lab `state` as `seen`.
pub fn snapshot(
    state: &LabState,
    seen: &Observation,
    traffic: Option<TrafficView>,
    host: HostStats,
) -> Snapshot {
    let spec = &state.spec;
    let real_servers = spec
        .real_servers
        .iter()
        .map(|rs| RealServerView {
            name: rs.name.clone(),
            addr: IpAddr::V4(rs.addr),
            gateway: seen.gateway(&rs.name).map(IpAddr::V4),
            expected_gateway: IpAddr::V4(spec.placement(&rs.name).1),
            up: state
                .processes
                .iter()
                .zip(&seen.processes_running)
                .any(|(p, &running)| p.host == rs.name && running),
        })
        .collect();
    let lab = LabView {
        name: spec.name.to_string(),
        dataplane: state.dataplane,
        control: if crate::ops::live::by_keepalived(state) {
            lvslab_core::lab::model::Control::Keepalived
        } else {
            lvslab_core::lab::model::Control::Lvslab
        },
        client: HostView { name: hosts::CLIENT.into(), addr: IpAddr::V4(spec.client) },
        director: DirectorView {
            vip: IpAddr::V4(spec.director.vip),
            dip: IpAddr::V4(spec.director.dip),
            forwarding: seen.forwarding.unwrap_or(false),
            vrrp: spec.ha.map(|_| super::snapshot::VrrpView {
                master: seen.holder_of(spec.director.vip).map(str::to_string),
                failed: failed_directors(state, seen),
            }),
        },
        real_servers,
    };
    // With a table in hand, a destination the kernel lacks is not shown: the
    // pane is the kernel's table. Without one (no IPVS, or a failed read),
    // the lab's real servers are shown with empty counters.
    let kernel_read = seen.ipvs.table().is_some();
    let services = merge::merge(spec, seen.ipvs.table())
        .iter()
        .map(|m| {
            let svc = m.current();
            let (proto, vip, port, fwmark) = match svc.key {
                ServiceKey::Addr { proto, addr, port } => (proto, addr, port, None),
                ServiceKey::Fwmark { mark, .. } => {
                    let planned = spec.services.iter().find(|s| s.fwmark == Some(mark));
                    let proto = planned.map_or(lvslab_ipvs::Protocol::Tcp, |s| s.protocol);
                    let vip = planned
                        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |s| IpAddr::V4(s.vip));
                    (proto, vip, planned.map_or(0, |s| s.port), Some(mark))
                }
            };
            ServiceView {
                proto: proto.to_string().to_uppercase(),
                vip,
                port,
                fwmark,
                scheduler: svc.scheduler.clone(),
                persistent: svc.flags.persistent.then_some(svc.persistence_timeout),
                origin: m.origin,
                programmed: m.programmed(),
                real_servers: m
                    .dests
                    .iter()
                    .filter(|d| d.programmed() || !kernel_read)
                    .map(dest_view)
                    .collect(),
            }
        })
        .collect();
    let conns = seen.conns.parsed().map(|read| {
        let mut table = super::conns::table_read(spec, read, None);
        table.connections.truncate(super::snapshot::CONN_ROWS);
        table
    });
    Snapshot { at: seen.at, lab, services, traffic, host, conns, prediction: None }
}

/// The main service's running prediction, checked against the answers the
/// dashboard's traffic got; `None` off IPVS, without a table, without
/// traffic, or for a scheduler that cannot be predicted.
pub fn prediction(
    state: &LabState,
    seen: &Observation,
    traffic: Option<&TrafficView>,
    forecast: &mut Forecast,
) -> Option<PredictionView> {
    // On nftables the table is built from its counters, but the choice is
    // numgen's: IPVS's order would be a wrong prediction.
    predict::on_dataplane(state.dataplane).ok()?;
    let spec = &state.spec;
    let table = seen.ipvs.table()?;
    let traffic = traffic?;
    let svc = spec.services.iter().find(|s| s.addressable())?;
    let key = ServiceKey::Addr { proto: svc.protocol, addr: IpAddr::V4(svc.vip), port: svc.port };
    let conns = seen.conns.table().unwrap_or_default();
    let predictor = predict::for_service(table, &key, conns, |ip| merge::name_of(spec, ip)).ok()?;
    // What starts the count over: the scheduler, persistence and weights.
    let (service, dests) = table.iter().find(|(s, _)| s.key == key)?;
    let weights: Vec<String> = dests.iter().map(|d| format!("{}:{}", d.addr, d.weight)).collect();
    let config = format!(
        "{} {} {} {}",
        service.scheduler,
        service.flags.persistent,
        service.persistence_timeout,
        weights.join(",")
    );
    Some(forecast.update(predictor, &config, traffic.answered, &traffic.recent, spec.client))
}

/// The HA directors that failed: stopped (their recorded keepalived does
/// not run) or cut off (a port of theirs on the switch is down).
fn failed_directors(state: &LabState, seen: &Observation) -> Vec<String> {
    let runs = |host: &str| {
        state.processes.iter().zip(&seen.processes_running).any(|(p, &running)| {
            running && p.host == host && p.role == crate::ops::keepalived::ROLE
        })
    };
    let cut = |host: &str| {
        let ports = lvslab_core::lab::ha::director_ports(host);
        seen.host(hosts::SWITCH).is_some_and(|switch| {
            switch.interfaces.iter().any(|l| ports.contains(&l.name) && !l.up)
        })
    };
    state.spec.directors().into_iter().filter(|d| !runs(d) || cut(d)).map(str::to_string).collect()
}

fn dest_view(d: &MergedDest) -> DestView {
    let current = d.current();
    let stats = d.kernel.as_ref().map(|k| k.stats).unwrap_or_default();
    DestView {
        name: d.name.clone(),
        addr: current.addr,
        port: current.port,
        forward: current.forward,
        origin: d.origin,
        weight: current.weight,
        active_conns: d.kernel.as_ref().map_or(0, |k| k.active_conns),
        inactive_conns: d.kernel.as_ref().map_or(0, |k| k.inactive_conns),
        conns: stats.conns,
        cps: stats.cps,
        in_bytes: stats.in_bytes,
        out_bytes: stats.out_bytes,
        in_bps: stats.in_bps,
        out_bps: stats.out_bps,
        in_pkts: stats.in_pkts,
        out_pkts: stats.out_pkts,
    }
}
