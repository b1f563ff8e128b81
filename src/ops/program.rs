//! The director's IPVS table, changed as a whole (programmed from the spec at
//! bring-up, flushed at teardown) or one service or real server at a time,
//! as the guided walk builds it. Every call opens its socket inside the
//! director's namespace, so the host's table is never touched.

use super::error::LabError;
use crate::net::sysctl;
use lvslab_core::lab::model::hosts;
use lvslab_core::lab::model::{Forward, LabSpec, Member, Scheduler, Service};
use lvslab_core::lab::table;
use lvslab_ipvs::probe::{self, SchedulerSupport};
use lvslab_ipvs::{self as ipvs, IpvsClient};

/// Fails with [`ipvs::Error::Unavailable`] if the kernel has no IPVS. Only
/// resolves the generic netlink family: no table is read or changed.
pub fn probe() -> Result<(), ipvs::Error> {
    IpvsClient::open().map(drop)
}

/// Refuses `scheduler` when this kernel cannot run it: its module is not
/// loaded, not built in and not installed (probed, not read from the
/// version: a kernel may be built without a scheduler, as Debian's 6.1 is
/// without `twos`). Unknown (nothing to read) passes: the kernel judges.
pub fn require_scheduler(scheduler: Scheduler) -> Result<(), LabError> {
    if probe::scheduler(scheduler.name()) != SchedulerSupport::Missing {
        return Ok(());
    }
    let since = match scheduler {
        Scheduler::Twos => {
            " (twos is in Linux since 5.12, but a kernel may be built without \
                            CONFIG_IP_VS_TWOS, as Debian's 6.1 is)"
        }
        _ => "",
    };
    Err(LabError::Refused(format!(
        "scheduler '{scheduler}' is not in this kernel ({}): no ip_vs_{scheduler} module is \
         installed or built in{since}; use another scheduler (e.g. scheduler = \"wlc\", the \
         least loaded by weight; `lvslab set LAB --scheduler wlc` on a running lab), or a \
         kernel that has it",
        probe::release()
    )))
}

/// Adds every service of `spec` with its real servers to the director's table.
pub fn program(spec: &LabSpec) -> Result<(), LabError> {
    let mut client = director(spec)?;
    for (service, dests) in table::table(spec) {
        client.add_service(&service)?;
        client.add_destinations(&service.key, &dests)?;
    }
    Ok(())
}

/// Service `svc` of `spec` without its real servers (`ipvsadm -A`).
pub fn add_service(spec: &LabSpec, svc: &Service) -> Result<(), LabError> {
    let mut empty = svc.clone();
    empty.members.clear();
    Ok(director(spec)?.add_service(&table::service(&empty))?)
}

/// Service `svc` out of the table, with its real servers (`ipvsadm -D`).
pub fn remove_service(spec: &LabSpec, svc: &Service) -> Result<(), LabError> {
    Ok(director(spec)?.del_service(&table::key(svc))?)
}

/// Real server `member` in service `svc` (`ipvsadm -a ... -m|-g|-i -w`).
pub fn add_member(spec: &LabSpec, svc: &Service, member: &Member) -> Result<(), LabError> {
    let dest = destination(spec, member)?;
    Ok(director(spec)?.add_destination(&table::key(svc), &dest)?)
}

/// Real server `member` out of service `svc` (`ipvsadm -d`).
pub fn remove_member(spec: &LabSpec, svc: &Service, member: &Member) -> Result<(), LabError> {
    let dest = destination(spec, member)?;
    Ok(director(spec)?.del_destination(&table::key(svc), dest.addr, dest.port)?)
}

fn destination(spec: &LabSpec, member: &Member) -> Result<ipvs::Destination, LabError> {
    table::destination(spec, member).ok_or_else(|| {
        LabError::Refused(format!("lab '{}' has no real server '{}'", spec.name, member.name))
    })
}

fn director(spec: &LabSpec) -> Result<IpvsClient, LabError> {
    Ok(IpvsClient::open_in(&spec.netns(hosts::DIRECTOR))?)
}

/// Removes every service from the director's table (the namespace's
/// deletion would too; this is the explicit path, and it is tested).
pub fn clear(spec: &LabSpec) -> Result<(), LabError> {
    clear_in(spec, hosts::DIRECTOR)
}

/// Removes every service from director `host`'s table.
pub fn clear_in(spec: &LabSpec, host: &str) -> Result<(), LabError> {
    Ok(IpvsClient::open_in(&spec.netns(host))?.flush()?)
}

/// IPVS's `conn_reuse_mode` with bit 2 set, in each director of a lab with
/// DR or TUN real servers. A director sees only the client's half of such a
/// connection, so the last state it knows is FIN_WAIT, and a new connection
/// from a client port used a moment earlier (ports come round again within
/// a thousand connections) would be taken up by the old entry, going to the
/// old server without a scheduling decision: 23 of 1,000 in the VM, which
/// turned wrr 3:2's 600/400 into 596/404. With bit 2 the kernel schedules
/// it anew, as it already does after TIME_WAIT under NAT (bit 1, the default).
pub fn reschedule_reused_ports(spec: &LabSpec) -> Result<(), LabError> {
    let routed = spec
        .services
        .iter()
        .flat_map(|s| &s.members)
        .any(|m| matches!(m.forward, Forward::Dr | Forward::Tun));
    if !routed {
        return Ok(());
    }
    for host in spec.directors() {
        sysctl::write(&spec.netns(host), REUSE_MODE, "3")?;
    }
    Ok(())
}

/// The sysctl of [`reschedule_reused_ports`] (IPVS's own, per namespace).
pub const REUSE_MODE: &str = "net.ipv4.vs.conn_reuse_mode";
