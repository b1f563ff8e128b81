//! A running lab as observed from the kernel: what `lvslab status` prints and
//! what `status --json` serializes (schema: `assets/schemas/status.schema.json`).
//! Built from one [`Observation`] by a pure function.

use crate::lab::model::hosts;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::merge::{self, MergedDest, MergedService, Origin};
use super::observation::Observation;
use crate::lab::model::{Dataplane, HostRole};
use crate::lab::record::{LabState, Phase};
use crate::lab::table::forward_word;
use crate::monitor::observation::LinkInfo;
use lvslab_ipvs::ServiceKey;

/// The version of the `status --json` document.
pub const SCHEMA_VERSION: u32 = 2;

/// `status --json`, version [`SCHEMA_VERSION`].
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
    /// Director failover (HA labs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha: Option<HaStatus>,
}

/// An HA lab's two directors as VRRP left them.
#[derive(Debug, Clone, Serialize)]
pub struct HaStatus {
    /// The director holding the VIP (VRRP MASTER); `None` while neither does.
    pub master: Option<String>,
    /// Whether the directors synchronise IPVS connections (lvs_sync_daemon).
    pub sync: bool,
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
    /// `lab` (the preset, with lvslab's live edits) or `outside` (added in
    /// the director by hand or by another tool).
    pub origin: Origin,
    /// `tcp`, `udp`, `sctp`; `null` for a fwmark service (the mark matches any).
    pub proto: Option<String>,
    /// Virtual IP (the unspecified address for a fwmark service).
    pub vip: IpAddr,
    /// Virtual port.
    pub port: u16,
    /// Scheduler.
    pub scheduler: String,
    /// Its flags as ipvsadm -Ln names them (`mh-port`), from the kernel's
    /// bits once the service is programmed.
    pub scheduler_flags: Vec<String>,
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
    /// Host name (the address when it is no host of the lab).
    pub name: String,
    /// `lab` or `outside`, as for services.
    pub origin: Origin,
    /// Whether the destination is in the director's IPVS table.
    pub programmed: bool,
    /// Address (RIP).
    pub addr: IpAddr,
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

/// The status of lab `state` as `seen`.
pub fn status(state: &LabState, seen: &Observation) -> LabStatus {
    let spec = &state.spec;
    let hosts = seen
        .hosts
        .iter()
        .map(|h| HostStatus {
            name: h.name.clone(),
            role: role_name(h.role),
            netns: spec.netns(&h.name),
            present: h.present,
            interfaces: h.interfaces.clone(),
            default_gateway: h.gateway,
            // Each director's own (an HA lab's failed director shows off).
            ip_forward: h.ip_forward,
            http_servers: state
                .processes
                .iter()
                .zip(&seen.processes_running)
                .filter(|(p, _)| p.host == h.name)
                .map(|(p, &running)| HttpServerStatus { port: p.port, pid: p.pid, running })
                .collect(),
        })
        .collect();
    let services = merge::merge(spec, seen.ipvs.table()).iter().map(service_status).collect();
    LabStatus {
        schema_version: SCHEMA_VERSION,
        lab: spec.name.to_string(),
        description: spec.description.clone(),
        origin: state.origin.clone(),
        dataplane: state.dataplane,
        phase: state.phase,
        created_unix: state.created_unix,
        hosts,
        services,
        ha: spec.ha.map(|ha| HaStatus {
            master: seen.holder_of(spec.director.vip).map(str::to_string),
            // The sync daemon is IPVS's: without IPVS there is none.
            sync: ha.sync && state.dataplane == Dataplane::Ipvs,
        }),
    }
}

fn role_name(role: HostRole) -> &'static str {
    match role {
        HostRole::Client => hosts::CLIENT,
        HostRole::Director => hosts::DIRECTOR,
        HostRole::RealServer => "real-server",
        HostRole::Router => hosts::ROUTER,
        HostRole::Switch => hosts::SWITCH,
    }
}

fn service_status(m: &MergedService) -> ServiceStatus {
    let svc = m.current();
    let (proto, vip, port, fwmark) = match svc.key {
        ServiceKey::Addr { proto, addr, port } => (Some(proto.to_string()), addr, port, None),
        ServiceKey::Fwmark { mark, .. } => (None, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, Some(mark)),
    };
    ServiceStatus {
        origin: m.origin,
        proto,
        vip,
        port,
        scheduler: svc.scheduler.clone(),
        scheduler_flags: svc.flags.sched_flag_names(&svc.scheduler),
        persistence: svc.flags.persistent.then_some(svc.persistence_timeout),
        fwmark,
        programmed: m.programmed(),
        real_servers: m.dests.iter().map(dest_status).collect(),
    }
}

fn dest_status(d: &MergedDest) -> RealServerStatus {
    let current = d.current();
    let kernel = d.kernel.as_ref();
    RealServerStatus {
        name: d.name.clone(),
        origin: d.origin,
        programmed: d.programmed(),
        addr: current.addr,
        port: current.port,
        weight: current.weight,
        forward: forward_word(current.forward).to_string(),
        active_conns: kernel.map(|k| k.active_conns),
        inactive_conns: kernel.map(|k| k.inactive_conns),
        conns: kernel.map(|k| k.stats.conns),
        in_pkts: kernel.map(|k| k.stats.in_pkts),
        out_pkts: kernel.map(|k| k.stats.out_pkts),
        in_bytes: kernel.map(|k| k.stats.in_bytes),
        out_bytes: kernel.map(|k| k.stats.out_bytes),
        cps: kernel.map(|k| k.stats.cps),
    }
}

/// A host's links as `lvslab status` lists them, one phrase each: a link
/// with its addresses (`br0 198.51.100.1/24`), a bridge's ports after it
/// (`ports rs1 rs2`), never as addresses of their own; `lo` and the
/// kernel's link-local IPv6 addresses left out. Escaped for the terminal.
pub fn links_text(interfaces: &[LinkInfo]) -> String {
    let shown = crate::lab::text::shown;
    let ports = |bridge: &str| -> Vec<String> {
        interfaces
            .iter()
            .filter(|l| l.master.as_deref() == Some(bridge))
            .map(|l| format!("{}{}", shown(&l.name), if l.up { "" } else { "(down)" }))
            .collect()
    };
    interfaces
        .iter()
        .filter(|l| l.name != "lo" && l.master.is_none())
        .map(|l| {
            let addrs: Vec<&str> = l
                .addresses
                .iter()
                .map(String::as_str)
                .filter(|a| !a.starts_with("fe80:"))
                .collect();
            let mut phrase = format!("{}{}", shown(&l.name), if l.up { "" } else { "(down)" });
            if !addrs.is_empty() {
                phrase = format!("{phrase} {}", shown(&addrs.join(" ")));
            }
            let ports = ports(&l.name);
            if !ports.is_empty() {
                phrase = format!("{phrase} (ports {})", ports.join(" "));
            }
            phrase
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, addresses: &[&str], master: Option<&str>) -> LinkInfo {
        LinkInfo {
            name: name.into(),
            up: true,
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            master: master.map(str::to_string),
        }
    }

    #[test]
    fn a_bridges_ports_are_listed_as_its_ports_not_as_addresses() {
        let director = [
            link("lo", &["127.0.0.1/8"], None),
            link("eth0", &["192.0.2.1/24", "fe80::1/64"], None),
            link("br0", &["198.51.100.1/24"], None),
            link("rs1", &[], Some("br0")),
            link("rs2", &["fe80::2/64"], Some("br0")),
        ];
        assert_eq!(links_text(&director), "eth0 192.0.2.1/24, br0 198.51.100.1/24 (ports rs1 rs2)");
    }

    #[test]
    fn a_link_without_addresses_has_no_trailing_space_and_down_is_said() {
        let mut tunl0 = link("tunl0", &[], None);
        tunl0.up = false;
        assert_eq!(
            links_text(&[tunl0, link("eth0", &["198.51.100.11/24"], None)]),
            "tunl0(down), eth0 198.51.100.11/24"
        );
    }
}
