//! The poll: one [`Snapshot`] of a running lab, from its record, the
//! director's IPVS table, its processes and the machine's load. Blocking
//! (netlink); the dashboard runs it on a thread of its own, never on the
//! render path.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use super::gateways::Gateways;
use super::snapshot::{
    Dataplane as ViewDataplane, DestView, DirectorView, HostStats, HostView, LabView,
    RealServerView, ServiceView, Snapshot, TrafficView,
};
use crate::ipvs::{self, IpvsClient};
use crate::lab::error::LabError;
use crate::lab::state::{Dataplane, LabState};
use crate::lab::{dataplane, servers};
use crate::net::sysctl;

/// sysinfo needs time between two CPU readings to compute a usage.
const HOST_REFRESH: Duration = Duration::from_millis(500);

/// Reads a lab's state into snapshots; keeps its IPVS socket open.
pub struct Poller {
    ipvs: Option<IpvsClient>,
    gateways: Gateways,
    system: sysinfo::System,
    host: HostStats,
    host_at: Option<Instant>,
}

impl Poller {
    /// Opens the director's IPVS socket (for the ipvs dataplane).
    pub fn new(state: &LabState) -> Result<Self, LabError> {
        let ipvs = match state.dataplane {
            Dataplane::Ipvs => Some(IpvsClient::open_in(&state.spec.netns("director"))?),
            Dataplane::None => None,
        };
        Ok(Self {
            ipvs,
            gateways: Gateways::new(),
            system: sysinfo::System::new(),
            host: HostStats { cpu_percent: 0.0, mem_used: 0, mem_total: 0 },
            host_at: None,
        })
    }

    /// One snapshot. A failed IPVS read shows as an empty table, not an error:
    /// the dashboard keeps running and the next poll tries again.
    pub fn poll(&mut self, state: &LabState, traffic: Option<TrafficView>) -> Snapshot {
        let spec = &state.spec;
        let forwarding =
            sysctl::read(&spec.netns("director"), "net.ipv4.ip_forward").is_ok_and(|v| v == "1");
        let real_servers = spec
            .real_servers
            .iter()
            .map(|rs| RealServerView {
                name: rs.name.clone(),
                addr: IpAddr::V4(rs.addr),
                gateway: self.gateways.of(spec, &rs.name).map(IpAddr::V4),
                up: state.processes.iter().any(|p| p.host == rs.name && servers::is_running(p)),
            })
            .collect();
        let lab = LabView {
            name: spec.name.clone(),
            dataplane: match state.dataplane {
                Dataplane::Ipvs => ViewDataplane::Ipvs,
                Dataplane::None => ViewDataplane::None,
            },
            client: HostView { name: "client".into(), addr: IpAddr::V4(spec.client) },
            director: DirectorView {
                vip: IpAddr::V4(spec.director.vip),
                dip: IpAddr::V4(spec.director.dip),
                forwarding,
            },
            real_servers,
        };
        let services = self.services(state);
        Snapshot { at: SystemTime::now(), lab, services, traffic, host: self.host_stats() }
    }

    fn services(&mut self, state: &LabState) -> Vec<ServiceView> {
        let spec = &state.spec;
        let table = self.ipvs.as_mut().and_then(|c| match c.table() {
            Ok(table) => Some(table),
            Err(e) => {
                tracing::warn!("IPVS poll failed: {e}");
                None
            }
        });
        spec.services
            .iter()
            .map(|svc| {
                let key = dataplane::key(svc);
                let dests = table.as_ref().and_then(|t| t.iter().find(|(s, _)| s.key == key));
                let real_servers = match dests {
                    // The kernel lists destinations newest first; show them in
                    // the lab's order, so rows (and the selection) stay put.
                    Some((_, dests)) => {
                        let mut views: Vec<DestView> =
                            dests.iter().map(|d| dest_view(d, name_of(spec, d.addr))).collect();
                        views.sort_by_key(|v| {
                            svc.members.iter().position(|m| m.name == v.name).unwrap_or(usize::MAX)
                        });
                        views
                    }
                    // The kernel was read and has no such service (the
                    // tutorial's bare lab, or one removed by hand): show
                    // what is there, nothing.
                    None if table.is_some() => Vec::new(),
                    None => svc
                        .members
                        .iter()
                        .filter_map(|m| {
                            dataplane::destination(spec, m).map(|d| dest_view(&d, m.name.clone()))
                        })
                        .collect(),
                };
                ServiceView {
                    proto: svc.protocol.to_string(),
                    vip: IpAddr::V4(svc.vip),
                    port: svc.port,
                    fwmark: svc.fwmark,
                    scheduler: dests
                        .map_or_else(|| svc.scheduler.clone(), |(s, _)| s.scheduler.clone()),
                    persistent: svc.persistence,
                    real_servers,
                }
            })
            .collect()
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

fn name_of(spec: &crate::lab::LabSpec, addr: IpAddr) -> String {
    spec.real_servers
        .iter()
        .find(|rs| IpAddr::V4(rs.addr) == addr)
        .map_or_else(|| addr.to_string(), |rs| rs.name.clone())
}

fn dest_view(d: &ipvs::Destination, name: String) -> DestView {
    DestView {
        name,
        addr: d.addr,
        port: d.port,
        forward: d.forward,
        weight: d.weight,
        active_conns: d.active_conns,
        inactive_conns: d.inactive_conns,
        conns: d.stats.conns,
        cps: d.stats.cps,
        in_bytes: d.stats.in_bytes,
        out_bytes: d.stats.out_bytes,
        in_bps: d.stats.in_bps,
        out_bps: d.stats.out_bps,
        in_pkts: d.stats.in_pkts,
        out_pkts: d.stats.out_pkts,
    }
}
