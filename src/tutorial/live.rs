//! Doing, undoing and observing the guide's steps on a live lab. Blocking
//! (netlink, sysctl, HTTP): the dashboard's backend calls it on a blocking
//! thread, never on the render path. Every call works on the kernel as it
//! is, so the guide also follows changes made from another shell.
//!
//! It decides and words; it touches nothing itself: every change goes
//! through [`crate::ops`] (plan steps, the IPVS table, the few changes of
//! [`crate::ops::step`]), every read through the one observer ([`KernelObserver`]).

use lvslab_core::lab::model::hosts;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::steps::{ARP_QUIET, Action, Status, Step, rp_filter_strict, rp_filters_relaxed, status};
use crate::monitor::observe::ReadError;
use crate::monitor::{KernelObserver, Observation};
use crate::ops::state::LabState;
use crate::ops::{LabError, program, step};
use lvslab_core::lab::model::{Dataplane, Service};
use lvslab_core::lab::routed::TUNNEL;
use lvslab_core::lab::step::Step as Change;
use lvslab_ipvs as ipvs;
use lvslab_traffic::ErrorKind;

/// Why a step could not be done or undone, or its effect not shown. Shown
/// as text only in the guide's report to the dashboard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The step cannot run on this lab; its status says why.
    #[error("{step}: {why}")]
    Unavailable {
        /// The step's title.
        step: String,
        /// Its status.
        why: String,
    },
    /// Undoing a step that only explains or reads.
    #[error("nothing to undo: '{0}' changes nothing")]
    NothingToUndo(String),
    /// The lab lacks what the step works on.
    #[error("this lab has no {0}")]
    Missing(&'static str),
    /// The step names a real server its service does not have.
    #[error("{0} is not a real server of the service")]
    NotAMember(String),
    /// The service names a real server the lab does not have.
    #[error("{0} is not a real server of this lab")]
    UnknownServer(String),
    /// An IPVS step on a lab without IPVS.
    #[error("needs IPVS (this lab runs with dataplane {0})")]
    NeedsIpvs(Dataplane),
    /// The kernel (or a process lvslab runs) refused the change.
    #[error(transparent)]
    Change(#[from] LabError),
    /// The tunnel step's change failed, most likely for want of `tunl0`.
    #[error("{0} (is the ipip module loaded? `modprobe ipip` makes tunl0)")]
    NoTunnel(#[source] LabError),
    /// A real server added before its service exists.
    #[error("{0} (do the virtual service step first)")]
    NoService(#[source] LabError),
    /// A read of the lab failed.
    #[error("cannot read {what}: {source}")]
    Read {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        source: ReadError,
    },
    /// The observer could not read a value the step shows.
    #[error("{0} cannot be read")]
    Unread(&'static str),
    /// One of the step's requests failed: the answers up to it, the last
    /// saying what went wrong.
    #[error("{}; is every earlier step done (gateways, forwarding, service)?", .0.join("; "))]
    Unanswered(Vec<String>),
}

/// `map_err` for a read of `what`.
fn read(what: &'static str) -> impl FnOnce(ReadError) -> Error {
    move |source| Error::Read { what, source }
}

/// Requests the curl step sends: with weights 3:2, one full wrr round.
pub const CURL_REQUESTS: usize = 5;
/// How long one request may take before the step says it failed.
pub const CURL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the ARP announcement is given to reach the router.
const ANNOUNCE_SETTLE: Duration = Duration::from_millis(300);

/// How long IPVS may take to show a new connection in its counters
/// (`ipvsadm -Ln --stats`): the estimator folds them in every 2 s.
pub const STATS_LAG: Duration = Duration::from_millis(2600);

type Outcome = Result<Vec<String>, Error>;

/// Whether a step is being done or undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Put the step's change in place.
    Do,
    /// Take it out again.
    Undo,
}

/// What the lab looks like now, through the one observer.
fn observe(state: &LabState) -> Observation {
    KernelObserver::once(state)
}

/// Each step's status now.
pub fn statuses(steps: &[Step], state: &LabState) -> Vec<Status> {
    let seen = observe(state);
    steps.iter().map(|s| status(s, &state.spec, &seen)).collect()
}

/// Does or undoes `step` and returns the effect to show: the route lines,
/// the sysctl, the IPVS table, the answers.
pub fn perform(step: &Step, state: &LabState, direction: Direction) -> Outcome {
    let undo = direction == Direction::Undo;
    let seen = observe(state);
    let before = status(step, &state.spec, &seen);
    if let Status::Unavailable(why) = &before {
        return Err(Error::Unavailable { step: step.title.clone(), why: why.clone() });
    }
    if undo && !step.action.changes_lab() {
        return Err(Error::NothingToUndo(step.title.clone()));
    }
    let wanted = if undo { Status::Todo } else { Status::Done };
    let mut lines = Vec::new();
    // The ARP fix is always redone: part of it (the router's neighbour
    // flush) is not observed.
    let redo = !undo && step.action.always_redone();
    if step.action.changes_lab() && before == wanted && !redo {
        lines.push(if undo { "already not in place".into() } else { "already in place".into() });
    } else if step.action.changes_lab() {
        change(&step.action, state, &seen, direction)?;
    }
    lines.extend(effect(&step.action, state)?);
    Ok(lines)
}

/// Makes `action`'s change, deciding from `seen` (the lab just before)
/// what is still missing or still there.
fn change(
    action: &Action,
    state: &LabState,
    seen: &Observation,
    direction: Direction,
) -> Result<(), Error> {
    let undo = direction == Direction::Undo;
    let spec = &state.spec;
    match action {
        Action::RsGateway => gateways(state, seen, undo),
        Action::IpForward => {
            let value = if undo { "0" } else { "1" };
            let ns = spec.netns(hosts::DIRECTOR);
            Ok(step::apply(&[sysctl(ns, "net.ipv4.ip_forward", value)])?)
        }
        Action::IpvsService => service(state, undo),
        Action::IpvsRealServer(name) => destination(state, name, undo),
        Action::RsArp => {
            let values = if undo { (0, 0) } else { ARP_QUIET };
            let steps =
                spec.real_servers.iter().flat_map(|rs| arp_sysctls(state, &rs.name, values));
            Ok(step::apply(&steps.collect::<Vec<_>>())?)
        }
        Action::RsVip => vips_on_lo(state, seen, undo),
        Action::ArpProblem(name) if !undo => arp_break(state, name),
        Action::ArpFix(name) if undo => arp_break(state, name),
        Action::ArpProblem(name) | Action::ArpFix(name) => arp_fix(state, name),
        Action::RsTunnel => vips_on_tunnel(state, seen, undo),
        // The trap and the fix are one switch, thrown opposite ways.
        Action::RpFilterTrap => rp_filters(state, if undo { RP_RELAXED } else { RP_STRICT }),
        Action::RpFilter => rp_filters(state, if undo { RP_STRICT } else { RP_RELAXED }),
        Action::Explain | Action::ShowTable | Action::Curl | Action::SaveRules => Ok(()),
    }
}

/// The plan step that sets `key` to `value` in namespace `netns`.
fn sysctl(netns: String, key: &str, value: impl ToString) -> Change {
    Change::Sysctl { netns, key: key.into(), value: value.to_string() }
}

/// Real server `name`'s `arp_ignore` and `arp_announce` (the `all` values).
fn arp_sysctls(state: &LabState, name: &str, (ignore, announce): (u8, u8)) -> [Change; 2] {
    let ns = state.spec.netns(name);
    [
        sysctl(ns.clone(), "net.ipv4.conf.all.arp_ignore", ignore),
        sysctl(ns, "net.ipv4.conf.all.arp_announce", announce),
    ]
}

/// `rp_filter` when the trap is set: strict (RFC 3704 strict reverse path,
/// a common hardening setting), where a packet is dropped unless the route
/// back to its source leaves by the interface it came in on.
const RP_STRICT: u8 = 1;
/// `rp_filter` once relaxed: no reverse-path check.
const RP_RELAXED: u8 = 0;

/// `rp_filter` on `all` and `tunl0` of every real server (the kernel
/// applies the larger, so both are set).
fn rp_filters(state: &LabState, value: u8) -> Result<(), Error> {
    let steps: Vec<Change> = state
        .spec
        .real_servers
        .iter()
        .flat_map(|rs| {
            let ns = state.spec.netns(&rs.name);
            ["all", TUNNEL]
                .map(|link| sysctl(ns.clone(), &format!("net.ipv4.conf.{link}.rp_filter"), value))
        })
        .collect();
    Ok(step::apply(&steps)?)
}

/// The VIP/32 on every real server's `tunl0` and the link up; or the
/// address off and the link down.
fn vips_on_tunnel(state: &LabState, seen: &Observation, undo: bool) -> Result<(), Error> {
    let vip = vip(state);
    for (ns, holds) in holding_vip(state, seen, TUNNEL) {
        if undo {
            if holds {
                step::del_address(&ns, TUNNEL, vip, 32)?;
            }
            step::link_down(&ns, TUNNEL)?;
        } else {
            let add = Change::AddAddress {
                netns: ns.clone(),
                link: TUNNEL.into(),
                addr: vip,
                prefix: 32,
            };
            let up = Change::LinkUp { netns: ns, link: TUNNEL.into() };
            let steps = if holds { vec![up] } else { vec![add, up] };
            step::apply(&steps).map_err(Error::NoTunnel)?;
        }
    }
    Ok(())
}

/// Each real server's namespace, and whether `seen` has the VIP/32 on its
/// `link`.
fn holding_vip(state: &LabState, seen: &Observation, link: &str) -> Vec<(String, bool)> {
    let spec = &state.spec;
    let vip32 = format!("{}/32", vip(state));
    spec.real_servers
        .iter()
        .map(|rs| {
            let holds = seen.host(&rs.name).is_some_and(|h| {
                h.interfaces.iter().any(|l| l.name == link && l.addresses.contains(&vip32))
            });
            (spec.netns(&rs.name), holds)
        })
        .collect()
}

/// The first service's VIP.
fn vip(state: &LabState) -> Ipv4Addr {
    state.spec.services.first().map_or(state.spec.director.vip, |s| s.vip)
}

/// The VIP/32 on every real server's `lo`, or off it.
fn vips_on_lo(state: &LabState, seen: &Observation, undo: bool) -> Result<(), Error> {
    let vip = vip(state);
    for (ns, holds) in holding_vip(state, seen, "lo") {
        match (undo, holds) {
            (false, false) => step::apply(&[Change::AddAddress {
                netns: ns,
                link: "lo".into(),
                addr: vip,
                prefix: 32,
            }])?,
            (true, true) => step::del_address(&ns, "lo", vip, 32)?,
            _ => {}
        }
    }
    Ok(())
}

/// The ARP problem on real server `name`: its ARP sysctls back to the
/// kernel's 0, then one datagram from the VIP to the router after its
/// neighbour entry for the router is flushed, so its ARP request carries
/// the VIP as sender address; the router takes that as the VIP's MAC.
fn arp_break(state: &LabState, name: &str) -> Result<(), Error> {
    let spec = &state.spec;
    let router = spec.router.ok_or(Error::Missing("router"))?.inside;
    let ns = spec.netns(name);
    step::apply(&arp_sysctls(state, name, (0, 0)))?;
    step::flush_neighbour(&ns, router)?;
    step::announce(&ns, vip(state), router)?;
    // The request and the router's reply take a moment.
    std::thread::sleep(ANNOUNCE_SETTLE);
    Ok(())
}

/// The fix: `name`'s ARP sysctls restored, then the router's neighbour
/// entry for the VIP flushed so its next ARP request is answered by the
/// director alone.
fn arp_fix(state: &LabState, name: &str) -> Result<(), Error> {
    let spec = &state.spec;
    step::apply(&arp_sysctls(state, name, ARP_QUIET))?;
    if spec.router.is_some() {
        step::flush_neighbour(&spec.netns(hosts::ROUTER), vip(state))?;
    }
    Ok(())
}

/// Every real server's default route: via the DIP, or none.
fn gateways(state: &LabState, seen: &Observation, undo: bool) -> Result<(), Error> {
    let spec = &state.spec;
    for rs in &spec.real_servers {
        let netns = spec.netns(&rs.name);
        match (undo, seen.gateway(&rs.name)) {
            (false, None) => {
                step::apply(&[Change::DefaultRoute { netns, via: spec.director.dip }])?
            }
            (true, Some(gw)) => step::del_default_route(&netns, gw)?,
            _ => {}
        }
    }
    Ok(())
}

/// The lab's first service, the one the walk builds.
fn first_service(state: &LabState) -> Result<&Service, Error> {
    state.spec.services.first().ok_or(Error::Missing("virtual service"))
}

/// Fails unless the lab balances with IPVS.
fn needs_ipvs(state: &LabState) -> Result<(), Error> {
    match state.dataplane {
        Dataplane::Ipvs => Ok(()),
        other => Err(Error::NeedsIpvs(other)),
    }
}

/// The first service, empty (`ipvsadm -A`), or removed (`ipvsadm -D`).
fn service(state: &LabState, undo: bool) -> Result<(), Error> {
    let svc = first_service(state)?;
    needs_ipvs(state)?;
    if undo {
        program::remove_service(&state.spec, svc)?;
    } else {
        program::add_service(&state.spec, svc)?;
    }
    Ok(())
}

/// Real server `name` in the first service (`ipvsadm -a ... -m -w`), or out of it.
fn destination(state: &LabState, name: &str, undo: bool) -> Result<(), Error> {
    let spec = &state.spec;
    let svc = first_service(state)?;
    let member = svc
        .members
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| Error::NotAMember(name.to_string()))?;
    needs_ipvs(state)?;
    if undo {
        return Ok(program::remove_member(spec, svc, member)?);
    }
    program::add_member(spec, svc, member).map_err(|e| match e {
        e @ LabError::Ipvs(ipvs::Error::NoSuchService { .. }) => Error::NoService(e),
        other => Error::Change(other),
    })
}

/// What to show after a step: the state it is about, read back.
fn effect(action: &Action, state: &LabState) -> Outcome {
    let spec = &state.spec;
    match action {
        Action::Explain => Ok(Vec::new()),
        Action::RsGateway => {
            let seen = observe(state);
            Ok(spec
                .real_servers
                .iter()
                .map(|rs| match seen.gateway(&rs.name) {
                    Some(gw) => format!("{}: default via {gw} dev eth0", rs.name),
                    None => format!("{}: no default route", rs.name),
                })
                .collect())
        }
        Action::IpForward => {
            let on = observe(state).forwarding.ok_or(Error::Unread("net.ipv4.ip_forward"))?;
            Ok(vec![format!("net.ipv4.ip_forward = {}", u8::from(on))])
        }
        Action::IpvsService | Action::IpvsRealServer(_) | Action::ShowTable => {
            needs_ipvs(state)?;
            let info = KernelObserver::read_info_of(state).map_err(read("the IPVS version"))?;
            let table = KernelObserver::read_table_of(state).map_err(read("the IPVS table"))?;
            Ok(ipvs::format::list(&info, &table).lines().map(str::to_string).collect())
        }
        Action::SaveRules => {
            needs_ipvs(state)?;
            let table = KernelObserver::read_table_of(state).map_err(read("the IPVS table"))?;
            let rules = ipvs::rules::save(&table);
            Ok(if rules.is_empty() {
                vec!["(the table is empty)".into()]
            } else {
                rules.lines().map(str::to_string).collect()
            })
        }
        Action::Curl => curl(state),
        Action::RsArp => {
            let seen = observe(state);
            Ok(spec
                .real_servers
                .iter()
                .map(|rs| match seen.host(&rs.name).and_then(|h| h.arp) {
                    Some((i, a)) => format!("{}: arp_ignore = {i}, arp_announce = {a}", rs.name),
                    None => format!("{}: the ARP sysctls cannot be read", rs.name),
                })
                .collect())
        }
        Action::RsVip => {
            let seen = observe(state);
            Ok(spec
                .real_servers
                .iter()
                .map(|rs| {
                    let lo = seen
                        .host(&rs.name)
                        .and_then(|h| h.interfaces.iter().find(|l| l.name == "lo"))
                        .map_or_else(String::new, |l| l.addresses.join(" "));
                    format!("{}: lo {lo}", rs.name)
                })
                .collect())
        }
        Action::ArpProblem(_) | Action::ArpFix(_) => bypass(state),
        Action::RsTunnel => {
            let seen = observe(state);
            Ok(spec
                .real_servers
                .iter()
                .map(|rs| {
                    match seen
                        .host(&rs.name)
                        .and_then(|h| h.interfaces.iter().find(|l| l.name == TUNNEL))
                    {
                        Some(l) => format!(
                            "{}: {TUNNEL} {} {}",
                            rs.name,
                            if l.up { "UP" } else { "DOWN" },
                            l.addresses.join(" ")
                        ),
                        None => format!("{}: no {TUNNEL} (the ipip module is not loaded)", rs.name),
                    }
                })
                .collect())
        }
        Action::RpFilterTrap => trap(state),
        // Done, the requests must be answered; undone, the trap is back and
        // shows as the trap step does.
        Action::RpFilter if rp_filters_relaxed(spec, &observe(state)) => {
            let mut lines = rp_filter_lines(state);
            lines.extend(curl(state)?);
            Ok(lines)
        }
        Action::RpFilter => trap(state),
    }
}

/// Each real server's `rp_filter`, as `sysctl` prints it.
fn rp_filter_lines(state: &LabState) -> Vec<String> {
    let seen = observe(state);
    state
        .spec
        .real_servers
        .iter()
        .map(|rs| match seen.host(&rs.name).and_then(|h| h.rp_filter) {
            Some(f @ (all, tunnel)) => format!(
                "{}: all.rp_filter = {all}, {TUNNEL}.rp_filter = {tunnel} ({})",
                rs.name,
                if rp_filter_strict(f) { "strict: drops what tunl0 unwraps" } else { "no drop" }
            ),
            None => format!("{}: rp_filter cannot be read", rs.name),
        })
        .collect()
}

/// The trap's effect: one request from the client, and what each real
/// server's kernel counted meanwhile: with a strict filter the request
/// arrives through the tunnel and is dropped, and the client times out.
fn trap(state: &LabState) -> Outcome {
    let names: Vec<&str> = state.spec.real_servers.iter().map(|r| r.name.as_str()).collect();
    let counts = |name: &str| {
        KernelObserver::tunnel_counts_of(state, name).map_err(read("the tunnel's counters"))
    };
    let before = names.iter().map(|n| counts(n)).collect::<Result<Vec<_>, Error>>()?;
    let target = http_target(state)?;
    let answer = get(state, target)?;
    let mut lines = rp_filter_lines(state);
    lines.push(match answer {
        Ok(server) => format!("GET http://{target}/ -> answered by {server}"),
        Err(e) => format!("GET http://{target}/ -> {e}"),
    });
    for (name, before) in names.iter().zip(before) {
        let after = counts(name)?;
        lines.push(format!(
            "{name}: {TUNNEL} received +{} packets, reverse-path filter dropped +{}",
            after.received.saturating_sub(before.received),
            after.rp_dropped.saturating_sub(before.rp_dropped)
        ));
    }
    Ok(lines)
}

/// The director's connection counter for the first service
/// (`ipvsadm -Ln --stats`, Conns).
pub fn director_conns(state: &LabState) -> Result<u64, Error> {
    let key = lvslab_core::lab::table::key(first_service(state)?);
    needs_ipvs(state)?;
    let table = KernelObserver::read_table_of(state).map_err(read("the IPVS table"))?;
    Ok(table.iter().filter(|(s, _)| s.key == key).map(|(s, _)| s.stats.conns).sum())
}

/// The ARP steps' effect: the client's requests, who answered them, and
/// whether they went through the director (its Conns counter before and after).
fn bypass(state: &LabState) -> Outcome {
    let before = director_conns(state)?;
    let mut lines = curl(state)?;
    // The kernel folds its per-CPU counters into what ipvsadm reads every
    // 2 s (the rate estimator): wait for all the requests, or that long.
    let deadline = std::time::Instant::now() + STATS_LAG;
    let mut after = director_conns(state)?;
    while after < before + CURL_REQUESTS as u64 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        after = director_conns(state)?;
    }
    let through = after.saturating_sub(before);
    lines.push(format!(
        "director's IPVS Conns: {before} -> {after} (+{through} of {CURL_REQUESTS} requests{})",
        if through == 0 { ": all bypassed the director" } else { "" }
    ));
    Ok(lines)
}

/// A few requests from the client, each on a new connection; stops at the
/// first failure and says what it means.
fn curl(state: &LabState) -> Outcome {
    let target = http_target(state)?;
    let mut lines = Vec::new();
    for _ in 0..CURL_REQUESTS {
        match get(state, target)? {
            Ok(server) => lines.push(format!("GET http://{target}/ -> answered by {server}")),
            Err(e) => {
                lines.push(format!("GET http://{target}/ -> {e}"));
                return Err(Error::Unanswered(lines));
            }
        }
    }
    Ok(lines)
}

/// Where the client sends: the VIP, or without IPVS the first real server.
fn http_target(state: &LabState) -> Result<SocketAddr, Error> {
    let spec = &state.spec;
    let svc = first_service(state)?;
    Ok(match state.dataplane {
        Dataplane::Ipvs | Dataplane::Nft => SocketAddr::from((svc.vip, svc.port)),
        Dataplane::None => {
            let member =
                svc.members.first().ok_or(Error::Missing("real server in its first service"))?;
            let rs = spec
                .real_server(&member.name)
                .ok_or_else(|| Error::UnknownServer(member.name.clone()))?;
            SocketAddr::from((rs.addr, member.port))
        }
    })
}

/// One request from the client with [`CURL_TIMEOUT`]: the name of the
/// real server that answered, or what went wrong, in words.
fn get(state: &LabState, target: SocketAddr) -> Result<Result<String, String>, Error> {
    let client = state.spec.netns(hosts::CLIENT);
    Ok(step::request(&client, target, CURL_TIMEOUT)?.map_err(|kind| match kind {
        ErrorKind::Refused => "no connection (refused)".into(),
        ErrorKind::Reset => "connection reset before a full answer".into(),
        ErrorKind::Timeout => format!("no answer within {} s", CURL_TIMEOUT.as_secs()),
        ErrorKind::Other => "an answer that is not a real server's".into(),
    }))
}
