//! The lab's services in the director's IPVS table: programming them from the
//! spec, reading their counters back, and clearing them. Every call opens its
//! socket inside the director's namespace, so the host's table is never seen.

use std::net::IpAddr;

use super::error::LabError;
use super::model::{Forward, LabSpec, Service};
use super::status::ServiceStatus;
use crate::ipvs::{self, Destination, IpvsClient, ServiceKey};

/// Fails with [`ipvs::Error::Unavailable`] if the kernel has no IPVS. Only
/// resolves the generic netlink family: no table is read or changed.
pub fn probe() -> Result<(), ipvs::Error> {
    IpvsClient::open().map(drop)
}

/// The IPVS key of a lab service.
pub fn key(svc: &Service) -> ServiceKey {
    match svc.fwmark {
        Some(mark) => ServiceKey::Fwmark { af: ipvs::AddressFamily::Inet, mark },
        None => ServiceKey::Addr { proto: svc.protocol, addr: IpAddr::V4(svc.vip), port: svc.port },
    }
}

/// The IPVS service for a lab service.
pub fn service(svc: &Service) -> ipvs::Service {
    let mut out = ipvs::Service::new(key(svc), svc.scheduler.clone());
    if let Some(timeout) = svc.persistence {
        out.flags.persistent = true;
        out.persistence_timeout = timeout;
        if let Some(mask) = svc.persistence_netmask {
            out.netmask = u32::from(mask);
        }
    }
    out
}

/// The IPVS destination for member `name` of a lab service.
pub fn destination(spec: &LabSpec, member: &super::model::Member) -> Option<Destination> {
    let rs = spec.real_server(&member.name)?;
    let forward = match member.forward {
        Forward::Nat => ipvs::Forward::Masq,
    };
    Some(Destination::new(IpAddr::V4(rs.addr), member.port, forward).with_weight(member.weight))
}

/// Adds every service of `spec` with its real servers to the director's table.
pub fn program(spec: &LabSpec) -> Result<(), LabError> {
    let mut client = IpvsClient::open_in(&spec.netns("director"))?;
    for svc in &spec.services {
        client.add_service(&service(svc))?;
        let dests: Vec<Destination> =
            svc.members.iter().filter_map(|m| destination(spec, m)).collect();
        client.add_destinations(&key(svc), &dests)?;
    }
    Ok(())
}

/// Removes every service from the director's table (the namespace's
/// deletion would too; this is the explicit path, and it is tested).
pub fn clear(spec: &LabSpec) -> Result<(), LabError> {
    Ok(IpvsClient::open_in(&spec.netns("director"))?.flush()?)
}

/// Fills the kernel's view into `services` (planned from the spec, one per
/// spec service and in its order): the scheduler and weights as they are
/// now, and each real server's counters.
pub fn observe(spec: &LabSpec, services: &mut [ServiceStatus]) -> Result<(), LabError> {
    let mut client = IpvsClient::open_in(&spec.netns("director"))?;
    let table = client.table()?;
    for (planned, status) in spec.services.iter().zip(services.iter_mut()) {
        let wanted = key(planned);
        let Some((svc, dests)) = table.iter().find(|(svc, _)| svc.key == wanted) else {
            continue;
        };
        status.programmed = true;
        status.scheduler = svc.scheduler.clone();
        for rs in &mut status.real_servers {
            let Some(d) = dests.iter().find(|d| d.addr == IpAddr::V4(rs.addr) && d.port == rs.port)
            else {
                continue;
            };
            rs.weight = d.weight;
            rs.forward = forward_word(d.forward).to_string();
            rs.active_conns = Some(d.active_conns);
            rs.inactive_conns = Some(d.inactive_conns);
            rs.conns = Some(d.stats.conns);
            rs.in_pkts = Some(d.stats.in_pkts);
            rs.out_pkts = Some(d.stats.out_pkts);
            rs.in_bytes = Some(d.stats.in_bytes);
            rs.out_bytes = Some(d.stats.out_bytes);
            rs.cps = Some(d.stats.cps);
        }
    }
    Ok(())
}

/// The preset's word for a forwarding method (`nat`, not ipvsadm's `Masq`).
pub fn forward_word(forward: ipvs::Forward) -> &'static str {
    match forward {
        ipvs::Forward::Masq => "nat",
        ipvs::Forward::Route => "dr",
        ipvs::Forward::Tunnel => "tun",
        ipvs::Forward::Local => "local",
        ipvs::Forward::Bypass => "bypass",
    }
}
