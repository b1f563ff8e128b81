//! A running lab as observed from the kernel: what `lvslab status` prints and
//! what `status --json` serializes (schema: `assets/schemas/status.schema.json`).

use std::net::Ipv4Addr;

use serde::Serialize;

use super::error::LabError;
use super::model::{HostRole, LabSpec};
use super::state::{Dataplane, LabState, Phase};
use super::{dataplane, servers};
use crate::net::{self, netns, rtnl::LinkInfo, rtnl::Rtnl, sysctl};

/// `status --json`, version 1.
#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    /// Schema version of this document.
    pub schema_version: u32,
    /// Lab name.
    pub lab: String,
    /// What the lab shows.
    pub description: String,
    /// Preset it was built from.
    pub origin: String,
    /// `ipvs` or `none`.
    pub dataplane: Dataplane,
    /// `building` or `up`.
    pub phase: Phase,
    /// Seconds since the epoch when it was brought up.
    pub created_unix: u64,
    /// One entry per namespace.
    pub hosts: Vec<HostStatus>,
    /// Virtual services.
    pub services: Vec<ServiceStatus>,
}

/// One host (namespace).
#[derive(Debug, Clone, Serialize)]
pub struct HostStatus {
    /// Host name.
    pub name: String,
    /// `client`, `director` or `real-server`.
    pub role: &'static str,
    /// Namespace name (for `ip netns exec`).
    pub netns: String,
    /// Whether the namespace exists.
    pub present: bool,
    /// Links and their addresses.
    pub interfaces: Vec<LinkInfo>,
    /// IPv4 default gateway.
    pub default_gateway: Option<Ipv4Addr>,
    /// net.ipv4.ip_forward (director only).
    pub ip_forward: Option<bool>,
    /// The lab's HTTP server processes on this host (real servers only).
    pub http_servers: Vec<HttpServerStatus>,
}

/// One real-server HTTP process.
#[derive(Debug, Clone, Serialize)]
pub struct HttpServerStatus {
    /// Listening port.
    pub port: Option<u16>,
    /// Process id.
    pub pid: u32,
    /// Whether that process is still running.
    pub running: bool,
}

/// One virtual service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    /// `tcp`, `udp`, `sctp`.
    pub proto: String,
    /// Virtual IP.
    pub vip: Ipv4Addr,
    /// Virtual port.
    pub port: u16,
    /// Scheduler.
    pub scheduler: String,
    /// Persistence timeout in seconds.
    pub persistence: Option<u32>,
    /// The firewall mark of a fwmark service (then `vip`/`port` are not its key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// Whether the service is in the director's IPVS table.
    pub programmed: bool,
    /// Its real servers.
    pub real_servers: Vec<RealServerStatus>,
}

/// One real server of a service. Counters are `null` when the lab has no
/// IPVS (dataplane `none`) or the kernel did not report them.
#[derive(Debug, Clone, Serialize)]
pub struct RealServerStatus {
    /// Host name.
    pub name: String,
    /// Address (RIP).
    pub addr: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// Weight.
    pub weight: u32,
    /// Forwarding method.
    pub forward: String,
    /// IPVS ActiveConn.
    pub active_conns: Option<u32>,
    /// IPVS InActConn.
    pub inactive_conns: Option<u32>,
    /// Connections scheduled since the counters were zeroed.
    pub conns: Option<u64>,
    /// Packets in.
    pub in_pkts: Option<u64>,
    /// Packets out.
    pub out_pkts: Option<u64>,
    /// Bytes in.
    pub in_bytes: Option<u64>,
    /// Bytes out.
    pub out_bytes: Option<u64>,
    /// Connections per second (kernel estimator, ~2 s average).
    pub cps: Option<u64>,
}

/// Observes lab `state` in the kernel. Must run inside a tokio runtime.
pub async fn observe(state: &LabState) -> Result<LabStatus, LabError> {
    let spec = &state.spec;
    let mut hosts = Vec::new();
    for (name, role) in spec.hosts() {
        let mut host = observe_host(spec, name, role).await?;
        host.http_servers = state
            .processes
            .iter()
            .filter(|p| p.host == name)
            .map(|p| HttpServerStatus { port: p.port, pid: p.pid, running: servers::is_running(p) })
            .collect();
        hosts.push(host);
    }
    let mut services = planned_services(spec);
    if state.dataplane == Dataplane::Ipvs && netns::exists(&spec.netns("director")) {
        dataplane::observe(spec, &mut services)?;
    }
    Ok(LabStatus {
        schema_version: 1,
        lab: spec.name.clone(),
        description: spec.description.clone(),
        origin: state.origin.clone(),
        dataplane: state.dataplane,
        phase: state.phase,
        created_unix: state.created_unix,
        hosts,
        services,
    })
}

async fn observe_host(
    spec: &LabSpec,
    name: &str,
    role: HostRole,
) -> Result<HostStatus, net::Error> {
    let ns = spec.netns(name);
    let role_name = match role {
        HostRole::Client => "client",
        HostRole::Director => "director",
        HostRole::RealServer => "real-server",
    };
    let mut host = HostStatus {
        name: name.to_string(),
        role: role_name,
        netns: ns.clone(),
        present: netns::exists(&ns),
        interfaces: Vec::new(),
        default_gateway: None,
        ip_forward: None,
        http_servers: Vec::new(),
    };
    if !host.present {
        return Ok(host);
    }
    let mut rtnl = Rtnl::connect(&ns)?;
    host.interfaces = rtnl.links().await?;
    host.default_gateway = rtnl.default_gateway().await?;
    if role == HostRole::Director {
        host.ip_forward = Some(sysctl::read(&ns, "net.ipv4.ip_forward")? == "1");
    }
    Ok(host)
}

/// The services as the spec defines them, with no kernel counters yet.
pub fn planned_services(spec: &LabSpec) -> Vec<ServiceStatus> {
    spec.services
        .iter()
        .map(|svc| ServiceStatus {
            proto: svc.protocol.to_string(),
            vip: svc.vip,
            port: svc.port,
            scheduler: svc.scheduler.clone(),
            persistence: svc.persistence,
            fwmark: svc.fwmark,
            programmed: false,
            real_servers: svc
                .members
                .iter()
                .map(|m| RealServerStatus {
                    name: m.name.clone(),
                    addr: spec.real_server(&m.name).map_or(Ipv4Addr::UNSPECIFIED, |rs| rs.addr),
                    port: m.port,
                    weight: m.weight,
                    forward: m.forward.to_string(),
                    active_conns: None,
                    inactive_conns: None,
                    conns: None,
                    in_pkts: None,
                    out_pkts: None,
                    in_bytes: None,
                    out_bytes: None,
                    cps: None,
                })
                .collect(),
        })
        .collect()
}
