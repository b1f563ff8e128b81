//! Changes to a running lab, as `lvslab set` and the dashboard make them:
//! scheduler, weights, drain, adding and removing real servers, zeroing
//! counters. Each change goes to the kernel first and is recorded in the
//! state file only once the kernel accepted it, so the record never claims
//! what the kernel refused.

use std::net::{IpAddr, Ipv4Addr};

use super::build::Builder;
use super::error::LabError;
use super::keepalived;
use super::servers;
use super::state::{self, LabState, Stored};
use lvslab_core::lab::model::{Control, Dataplane, SchedFlag, Scheduler};
use lvslab_core::lab::model::{Forward, LabName, Member, RealServer};
use lvslab_core::lab::plan::Plan;
use lvslab_core::lab::{ranges, table, validate};
use lvslab_ipvs::IpvsClient;
use lvslab_sys::netns;

fn refuse<T>(why: impl Into<String>) -> Result<T, LabError> {
    Err(LabError::Refused(why.into()))
}

/// Whether keepalived owns the lab's table: then an edit changes the spec,
/// rewrites keepalived.conf and reloads keepalived (SIGHUP), and lvslab
/// never writes the table itself, so the two never fight.
pub fn by_keepalived(state: &LabState) -> bool {
    state.spec.control == Control::Keepalived && state.dataplane == Dataplane::Ipvs
}

/// On the nft dataplane, applies `change` to a copy of the spec, replaces
/// the director's table in one transaction, then keeps the copy. `None` on
/// other dataplanes (the caller edits IPVS).
fn nft_edit(
    state: &mut LabState,
    change: impl FnOnce(&mut lvslab_core::lab::model::LabSpec),
) -> Option<Result<(), LabError>> {
    if state.dataplane != Dataplane::Nft {
        return None;
    }
    let mut next = state.spec.clone();
    change(&mut next);
    Some(super::nft::replace(&state.spec, &next).map(|()| state.spec = next))
}

fn ipvs_client(state: &LabState) -> Result<IpvsClient, LabError> {
    if state.dataplane != Dataplane::Ipvs {
        return refuse(format!(
            "lab '{}' has no IPVS (dataplane none): there is no scheduler or weight to change",
            state.spec.name
        ));
    }
    // In an HA lab: the MASTER's table, the one that balances.
    let director = super::vrrp::master(&state.spec).unwrap_or_else(|| state.spec.directors()[0]);
    Ok(IpvsClient::open_in(&state.spec.netns(director))?)
}

/// Runs one edit of lab `state` as a read-modify-write under the lab's lock:
/// `state` is first replaced by the record as it is now (another writer,
/// `lvslab set` or a dashboard, may have changed it), then `edit` changes
/// the kernel and `state`, then the record is written. Two writers never
/// lose each other's edits.
pub fn locked<T>(
    state: &mut LabState,
    edit: impl FnOnce(&mut LabState) -> Result<T, LabError>,
) -> Result<T, LabError> {
    let name = state.spec.name.clone();
    let _lock = state::lock(&name).map_err(record_error)?;
    *state = reload(&name)?;
    let out = edit(state)?;
    state.save().map_err(record_error)?;
    Ok(out)
}

fn record_error(e: std::io::Error) -> LabError {
    LabError::Record(e.to_string())
}

fn reload(name: &LabName) -> Result<LabState, LabError> {
    LabState::load(name)
        .map_err(record_error)?
        .ok_or_else(|| LabError::Refused(format!("lab '{name}' has no record any more")))
}

/// Sets the scheduler of every service. A service keeps the scheduler
/// flags the new scheduler reads and drops the others, which it returns
/// (once each), so the caller can say so.
pub fn set_scheduler(
    state: &mut LabState,
    scheduler: Scheduler,
) -> Result<Vec<SchedFlag>, LabError> {
    if state.dataplane == Dataplane::Ipvs {
        super::program::require_scheduler(scheduler)?;
    }
    let mut dropped = Vec::new();
    for svc in &state.spec.services {
        for flag in svc.scheduler_flags.iter().filter(|f| f.scheduler() != scheduler) {
            if !dropped.contains(flag) {
                dropped.push(*flag);
            }
        }
    }
    edit_services(state, |svc| {
        svc.scheduler = scheduler;
        svc.scheduler_flags.retain(|f| f.scheduler() == scheduler);
    })?;
    Ok(dropped)
}

/// Sets the scheduler flags (ipvsadm -b) of every service; each must be
/// one its scheduler reads.
pub fn set_scheduler_flags(state: &mut LabState, flags: &[SchedFlag]) -> Result<(), LabError> {
    if state.dataplane == Dataplane::Nft && !flags.is_empty() {
        return refuse(format!(
            "lab '{}' runs on nftables, whose jhash hashes the address alone: scheduler flags \
             are bits of an IPVS service (a lab with dataplane = \"ipvs\" takes them)",
            state.spec.name
        ));
    }
    for svc in &state.spec.services {
        if let Err((why, _)) = SchedFlag::check(svc.scheduler, flags) {
            let want = flags.first().map_or(svc.scheduler, |f| f.scheduler());
            return refuse(format!(
                "{why} (service {}): set both, `--scheduler {want} --scheduler-flags {}`",
                svc.label(),
                SchedFlag::list(flags)
            ));
        }
    }
    edit_services(state, |svc| svc.scheduler_flags = flags.to_vec())
}

/// Changes every service with `change`: in keepalived.conf, the nftables
/// table or the kernel's IPVS table, then the record.
fn edit_services(
    state: &mut LabState,
    change: impl Fn(&mut lvslab_core::lab::model::Service),
) -> Result<(), LabError> {
    locked(state, |state| {
        if by_keepalived(state) {
            state.spec.services.iter_mut().for_each(&change);
            return keepalived::reload(state);
        }
        let to_all = |spec: &mut lvslab_core::lab::model::LabSpec| {
            spec.services.iter_mut().for_each(&change)
        };
        if let Some(done) = nft_edit(state, to_all) {
            return done;
        }
        let mut client = ipvs_client(state)?;
        for svc in &mut state.spec.services {
            let mut next = svc.clone();
            change(&mut next);
            client.edit_service(&table::service(&next))?;
            *svc = next;
        }
        Ok(())
    })
}

/// Sets the weight of real server `server` in every service it belongs to
/// (weight 0 drains it: no new connections, existing ones finish).
pub fn set_weight(state: &mut LabState, server: &str, weight: u32) -> Result<(), LabError> {
    ranges::WEIGHT.checked::<u32>(weight.into()).map_err(LabError::Refused)?;
    locked(state, |state| {
        if state.spec.real_server(server).is_none() {
            return refuse(format!("lab '{}' has no real server '{server}'", state.spec.name));
        }
        if by_keepalived(state) {
            for svc in &mut state.spec.services {
                for member in svc.members.iter_mut().filter(|m| m.name == server) {
                    member.weight = weight;
                }
            }
            return keepalived::reload(state);
        }
        let reweigh = |spec: &mut lvslab_core::lab::model::LabSpec| {
            let members = spec.services.iter_mut().flat_map(|s| s.members.iter_mut());
            members.filter(|m| m.name == server).for_each(|m| m.weight = weight);
        };
        if let Some(done) = nft_edit(state, reweigh) {
            return done;
        }
        let mut client = ipvs_client(state)?;
        let spec = state.spec.clone();
        for svc in &mut state.spec.services {
            let key = table::key(svc);
            for member in svc.members.iter_mut().filter(|m| m.name == server) {
                let mut next = member.clone();
                next.weight = weight;
                let dest = table::destination(&spec, &next).expect("member of the lab");
                client.edit_destination(&key, &dest)?;
                *member = next;
            }
        }
        Ok(())
    })
}

/// Zeroes the counters of every service.
pub fn zero(state: &LabState) -> Result<(), LabError> {
    if state.dataplane == Dataplane::Nft {
        return super::nft::zero(&state.spec);
    }
    ipvs_client(state)?.zero(None)?;
    Ok(())
}

/// Adds real server `name` at `addr`: a new namespace wired like the lab's
/// other real servers (to the director's bridge, an HA lab's switch, or a
/// routed lab's segment or remote network), its HTTP server, and a
/// destination on `port` with `weight` in every service, forwarded as that
/// service's members are (DR in a DR service, TUN in a TUN one; NAT where
/// they mix). An existing real server is only added to the services it is
/// missing from.
pub async fn add_real_server(
    state: &mut LabState,
    name: &str,
    addr: Ipv4Addr,
    port: u16,
    weight: u32,
) -> Result<(), LabError> {
    ranges::WEIGHT.checked::<u32>(weight.into()).map_err(LabError::Refused)?;
    ranges::PORT.checked::<u16>(port.into()).map_err(LabError::Refused)?;
    // The lock is held across the awaits below: callers run this future on
    // one thread (block_on), which is what the re-entrant lock needs.
    let lab = state.spec.name.clone();
    let _lock = state::lock(&lab).map_err(record_error)?;
    *state = reload(&lab)?;
    let spec = state.spec.clone();
    let new_host = match spec.real_server(name) {
        Some(rs) if rs.addr != addr => {
            return refuse(format!("real server '{name}' exists with address {}", rs.addr));
        }
        Some(_) => false,
        None => {
            check_new_host(state, name, addr)?;
            true
        }
    };
    let mut next = spec.clone();
    if new_host {
        next.real_servers.push(RealServer { name: name.to_string(), addr, delay_ms: 0 });
    }
    for svc in &mut next.services {
        if svc.members.iter().any(|m| m.name == name && m.port == port) {
            continue;
        }
        let forward = method_of(svc);
        svc.members.push(Member { name: name.to_string(), port, weight, forward });
    }
    if next.is_remote(name)
        && next
            .services
            .iter()
            .flat_map(|s| &s.members)
            .any(|m| m.name == name && m.forward != Forward::Tun)
    {
        return refuse(format!(
            "{addr} is on the remote network {}, which only TUN services reach (NAT needs the \
             DIP as gateway, DR the director's segment): give an address of the servers' \
             network {}",
            spec.remote_net.map_or_else(String::new, |n| n.to_string()),
            spec.servers_net
        ));
    }
    if new_host && lvslab_core::lab::leaves::in_use(&Plan::topology(&next).steps) {
        // Past one bridge's ports the servers sit on leaf bridges, and which
        // leaf has room depends on the servers removed since `up`.
        return refuse(format!(
            "lab '{}' would have {} real servers, more than one bridge's ports: such a lab is \
             built on leaf bridges by `up`; add '{name}' to its preset and bring it up again",
            spec.name,
            next.real_servers.len()
        ));
    }
    if new_host {
        let mut builder = Builder::new();
        let steps = [
            lvslab_core::lab::step::Step::AddNetns { netns: spec.netns(name) },
            lvslab_core::lab::step::Step::LinkUp { netns: spec.netns(name), link: "lo".into() },
        ]
        .into_iter()
        .chain(lvslab_core::lab::plan::server_steps(&next, name, addr, &mut false))
        .collect();
        if let Err(e) = builder.run(&Plan { steps }, |_, _, _| {}).await {
            let _ = netns::delete(&spec.netns(name));
            state::unmark_netns(&spec.netns(name));
            return Err(e.into());
        }
    }
    state.spec = next;
    servers::start_missing(state)?;
    if state.dataplane == Dataplane::Nft {
        super::nft::replace(&spec, &state.spec)?;
    }
    if by_keepalived(state) {
        keepalived::reload(state)?;
    } else if state.dataplane == Dataplane::Ipvs {
        let mut client = ipvs_client(state)?;
        for svc in &state.spec.services {
            let Some(member) = svc.members.iter().find(|m| m.name == name && m.port == port) else {
                continue;
            };
            let dest = table::destination(&state.spec, member).expect("added above");
            let present = client
                .destinations(&table::key(svc))?
                .iter()
                .any(|d| d.addr == dest.addr && d.port == dest.port);
            if !present {
                client.add_destination(&table::key(svc), &dest)?;
            }
        }
    }
    state.save().map_err(|e| LabError::Record(e.to_string()))
}

/// How a new member of `svc` is forwarded: as all its members are, or NAT
/// when they mix (or there are none).
fn method_of(svc: &lvslab_core::lab::model::Service) -> Forward {
    let mut methods = svc.members.iter().map(|m| m.forward);
    match methods.next() {
        Some(first) if methods.all(|m| m == first) => first,
        _ => Forward::Nat,
    }
}

/// Stops the HTTP process(es) of real server `name`, leaving its namespace
/// and its destinations: a failed server. Returns how many were stopped.
pub fn stop_server(state: &mut LabState, name: &str) -> Result<usize, LabError> {
    locked(state, |state| {
        if state.spec.real_server(name).is_none() {
            return refuse(format!("lab '{}' has no real server '{name}'", state.spec.name));
        }
        Ok(servers::stop_host(state, name))
    })
}

/// Starts the HTTP process(es) of real server `name` again (and any other
/// that died). Returns how many were started.
pub fn start_server(state: &mut LabState, name: &str) -> Result<usize, LabError> {
    if LabState::load(&state.spec.name)
        .ok()
        .flatten()
        .is_some_and(|s| s.spec.real_server(name).is_none())
    {
        return refuse(format!("lab '{}' has no real server '{name}'", state.spec.name));
    }
    // start_missing takes the lock itself to record each server it starts.
    *state = reload(&state.spec.name)?;
    servers::start_missing(state)
}

/// Removes real server `name`: its destinations, its process, its namespace.
pub fn remove_real_server(state: &mut LabState, name: &str) -> Result<(), LabError> {
    locked(state, |state| remove_real_server_locked(state, name))
}

fn remove_real_server_locked(state: &mut LabState, name: &str) -> Result<(), LabError> {
    let Some(rs) = state.spec.real_server(name).cloned() else {
        return refuse(format!("lab '{}' has no real server '{name}'", state.spec.name));
    };
    if state.spec.real_servers.len() == 1 {
        return refuse(format!(
            "'{name}' is the last real server of lab '{}'; `lvslab down` removes the lab",
            state.spec.name
        ));
    }
    if state.dataplane == Dataplane::Nft {
        let mut next = state.spec.clone();
        next.services.iter_mut().for_each(|svc| svc.members.retain(|m| m.name != name));
        super::nft::replace(&state.spec, &next)?;
    }
    if by_keepalived(state) {
        let mut next = state.spec.clone();
        for svc in &mut next.services {
            svc.members.retain(|m| m.name != name);
        }
        let mut without = state.clone();
        without.spec = next;
        keepalived::reload(&without)?;
    } else if state.dataplane == Dataplane::Ipvs {
        let mut client = ipvs_client(state)?;
        for svc in &state.spec.services {
            for m in svc.members.iter().filter(|m| m.name == name) {
                client.del_destination(&table::key(svc), IpAddr::V4(rs.addr), m.port)?;
            }
        }
    }
    servers::stop_host(state, name);
    netns::delete(&state.spec.netns(name))?;
    state::unmark_netns(&state.spec.netns(name));
    state.spec.real_servers.retain(|r| r.name != name);
    for svc in &mut state.spec.services {
        svc.members.retain(|m| m.name != name);
    }
    Ok(())
}

/// Undoes an [`add_real_server`] that a signal stopped mid-way, for a
/// server that did not exist before: removes it if the record got as far
/// as naming it, else the namespace it was given (only if lvslab marked it
/// as its own) with lvslab's processes inside. Nothing else of the lab is
/// touched.
pub fn abandon_new_server(lab: &LabName, name: &str) -> Result<(), LabError> {
    let mut state = reload(lab)?;
    if state.spec.real_server(name).is_some() {
        return remove_real_server(&mut state, name);
    }
    let _lock = state::lock(lab).map_err(record_error)?;
    let ns = state.spec.netns(name);
    let inode = netns::inode(&ns).ok();
    if inode.is_some() && state::netns_is_marked(&ns, inode) {
        let inside: Vec<_> = super::process::in_namespaces(&inode.into_iter().collect::<Vec<_>>())
            .into_iter()
            .filter(|(_, found)| found.is_lvslab && found.pid != std::process::id())
            .map(|(_, found)| found.target())
            .collect();
        super::process::stop_all(&inside);
        netns::delete(&ns)?;
    }
    state::unmark_netns(&ns);
    Ok(())
}

/// The checks the preset validator makes, for a host added live.
fn check_new_host(state: &LabState, name: &str, addr: Ipv4Addr) -> Result<(), LabError> {
    let spec = &state.spec;
    if let Err((what, fix)) = validate::host_name(name) {
        return refuse(format!("{what}: {fix}"));
    }
    let host_of = |net: ipnet::Ipv4Net| {
        net.contains(&addr) && addr != net.network() && addr != net.broadcast()
    };
    if !host_of(spec.servers_net) && !spec.remote_net.is_some_and(host_of) {
        let remote = spec
            .remote_net
            .map(|n| format!(" (or, for TUN, the remote network {n})"))
            .unwrap_or_default();
        return refuse(format!(
            "{addr} is not a host address of the servers' network {}{remote}: a real server \
             shares the DIP's subnet",
            spec.servers_net
        ));
    }
    // The directors of an HA lab and a routed lab's router have their own
    // addresses there too.
    let a_directors = spec.ha.as_ref().is_some_and(|ha| ha.own.iter().any(|(_, own)| *own == addr));
    let the_routers = spec.router.is_some_and(|r| r.inside == addr || r.remote == Some(addr));
    let taken = addr == spec.director.dip
        || a_directors
        || the_routers
        || spec.real_servers.iter().any(|r| r.addr == addr);
    if taken {
        return refuse(format!("{addr} is already used in lab '{}'", spec.name));
    }
    if netns::exists(&spec.netns(name)) || LabName::of_netns(&spec.netns(name)).is_none() {
        return refuse(format!("namespace {} already exists", spec.netns(name)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvslab_core::lab::presets;

    fn state() -> LabState {
        let preset = presets::load("tutorial").unwrap();
        LabState::new(preset.spec, preset.origin, Dataplane::Ipvs)
    }

    /// Live edits check the same ranges as the preset and the command line,
    /// before the kernel or the record is touched (no root needed to see it).
    /// (A scheduler is a `Scheduler`: an unknown one never gets this far.)
    #[test]
    fn out_of_range_numbers_are_refused_first() {
        let mut lab = state();
        let err = set_weight(&mut lab, "rs1", 70_000).unwrap_err().to_string();
        assert!(err.contains("weight 70000 is out of range") && err.contains("65535"), "{err}");
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let addr = "198.51.100.13".parse().unwrap();
        let err = rt.block_on(add_real_server(&mut lab, "rs3", addr, 80, 65_536)).unwrap_err();
        assert!(err.to_string().contains("weight 65536 is out of range"), "{err}");
        assert_eq!(lab.spec, state().spec, "nothing was recorded");
    }
}
