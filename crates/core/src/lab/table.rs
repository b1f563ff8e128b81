//! The IPVS table a lab describes: each service's key, the service and its
//! destinations as the IPVS layer types them. Pure: programming the table is
//! `ops::program`, reading it back is the monitor's.

use std::net::IpAddr;

use super::model::{Forward, LabSpec, Service};
use lvslab_ipvs::{self as ipvs, Destination, ServiceKey};

/// The IPVS key of a lab service.
pub fn key(svc: &Service) -> ServiceKey {
    match svc.fwmark {
        Some(mark) => ServiceKey::Fwmark { af: ipvs::AddressFamily::Inet, mark },
        None => ServiceKey::Addr { proto: svc.protocol, addr: IpAddr::V4(svc.vip), port: svc.port },
    }
}

/// The IPVS service for a lab service.
pub fn service(svc: &Service) -> ipvs::Service {
    let mut out = ipvs::Service::new(key(svc), svc.scheduler.name());
    for flag in &svc.scheduler_flags {
        if flag.is_fallback() {
            out.flags.sched_flag_1 = true;
        } else {
            out.flags.sched_flag_2 = true;
        }
    }
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
    destination_of(spec.real_server(&member.name)?, member)
}

fn destination_of(
    rs: &super::model::RealServer,
    member: &super::model::Member,
) -> Option<Destination> {
    let forward = member.forward.to_ipvs();
    Some(Destination::new(IpAddr::V4(rs.addr), member.port, forward).with_weight(member.weight))
}

/// The preset's word for a forwarding method (`nat`, not ipvsadm's `Masq`).
pub fn forward_word(forward: ipvs::Forward) -> &'static str {
    match Forward::from_ipvs(forward) {
        Some(Forward::Nat) => "nat",
        Some(Forward::Dr) => "dr",
        Some(Forward::Tun) => "tun",
        None if forward == ipvs::Forward::Local => "local",
        None => "bypass",
    }
}

/// The whole table `lvslab up` programs for `spec`, in the spec's order.
pub fn table(spec: &LabSpec) -> Vec<(ipvs::Service, Vec<Destination>)> {
    let roles = spec.roles();
    spec.services
        .iter()
        .map(|svc| {
            let dests =
                svc.members.iter().filter_map(|m| destination_of(roles.real_server(&m.name)?, m));
            (service(svc), dests.collect())
        })
        .collect()
}
