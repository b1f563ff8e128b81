//! Doing, undoing and observing the guide's steps on a live lab. Blocking
//! (netlink, sysctl, HTTP): the dashboard's backend calls it on a blocking
//! thread, never on the render path. Every call works on the kernel as it
//! is, so the guide also follows changes made from another shell.

use lvslab_core::lab::model::hosts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use super::steps::{ARP_QUIET, Action, Status, Step, rp_filter_strict, rp_filters_relaxed, status};
use crate::monitor::{KernelObserver, Observation};
use crate::net::rtnl::{self, Rtnl};
use crate::net::{counters, sysctl};
use crate::ops::state::LabState;
use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::routed::TUNNEL;
use lvslab_core::lab::table;
use lvslab_ipvs::{self as ipvs, IpvsClient};
use lvslab_sys::netns;
use lvslab_traffic::{self as traffic, ErrorKind};

/// Requests the curl step sends: with weights 3:2, one full wrr round.
pub const CURL_REQUESTS: usize = 5;
/// How long one request may take before the step says it failed.
pub const CURL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the ARP announcement is given to reach the router.
const ANNOUNCE_SETTLE: Duration = Duration::from_millis(300);

/// How long IPVS may take to show a new connection in its counters
/// (`ipvsadm -Ln --stats`): the estimator folds them in every 2 s.
pub const STATS_LAG: Duration = Duration::from_millis(2600);

type Outcome = Result<Vec<String>, String>;

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
    let before = status(step, &state.spec, &observe(state));
    if let Status::Unavailable(why) = &before {
        return Err(format!("{}: {why}", step.title));
    }
    if undo && !step.action.changes_lab() {
        return Err(format!("nothing to undo: '{}' changes nothing", step.title));
    }
    let wanted = if undo { Status::Todo } else { Status::Done };
    let mut lines = Vec::new();
    // The ARP fix is always redone: part of it (the router's neighbour
    // flush) is not observed.
    let redo = !undo && step.action.always_redone();
    if step.action.changes_lab() && before == wanted && !redo {
        lines.push(if undo { "already not in place".into() } else { "already in place".into() });
    } else if step.action.changes_lab() {
        change(&step.action, state, direction)?;
    }
    lines.extend(effect(&step.action, state)?);
    Ok(lines)
}

fn change(action: &Action, state: &LabState, direction: Direction) -> Result<(), String> {
    let undo = direction == Direction::Undo;
    match action {
        Action::RsGateway => gateways(state, undo),
        Action::IpForward => {
            let value = if undo { "0" } else { "1" };
            sysctl::write(&state.spec.netns(hosts::DIRECTOR), "net.ipv4.ip_forward", value)
                .map_err(|e| e.to_string())
        }
        Action::IpvsService => service(state, undo),
        Action::IpvsRealServer(name) => destination(state, name, undo),
        Action::RsArp => {
            for rs in &state.spec.real_servers {
                arp_sysctls(state, &rs.name, if undo { (0, 0) } else { ARP_QUIET })?;
            }
            Ok(())
        }
        Action::RsVip => vips_on_lo(state, undo),
        Action::ArpProblem(name) if !undo => arp_break(state, name),
        Action::ArpFix(name) if undo => arp_break(state, name),
        Action::ArpProblem(name) | Action::ArpFix(name) => arp_fix(state, name),
        Action::RsTunnel => vips_on_tunnel(state, undo),
        // The trap and the fix are one switch, thrown opposite ways.
        Action::RpFilterTrap => rp_filters(state, if undo { RP_RELAXED } else { RP_STRICT }),
        Action::RpFilter => rp_filters(state, if undo { RP_STRICT } else { RP_RELAXED }),
        Action::Explain | Action::ShowTable | Action::Curl | Action::SaveRules => Ok(()),
    }
}

/// Real server `name`'s `arp_ignore` and `arp_announce` (the `all` values).
fn arp_sysctls(state: &LabState, name: &str, (ignore, announce): (u8, u8)) -> Result<(), String> {
    let ns = state.spec.netns(name);
    sysctl::write(&ns, "net.ipv4.conf.all.arp_ignore", &ignore.to_string())
        .and_then(|()| sysctl::write(&ns, "net.ipv4.conf.all.arp_announce", &announce.to_string()))
        .map_err(|e| e.to_string())
}

/// `rp_filter` when the trap is set: strict (RFC 3704 strict reverse path,
/// a common hardening setting), where a packet is dropped unless the route
/// back to its source leaves by the interface it came in on.
const RP_STRICT: u8 = 1;
/// `rp_filter` once relaxed: no reverse-path check.
const RP_RELAXED: u8 = 0;

/// `rp_filter` on `all` and `tunl0` of every real server (the kernel
/// applies the larger, so both are set).
fn rp_filters(state: &LabState, value: u8) -> Result<(), String> {
    for rs in &state.spec.real_servers {
        let ns = state.spec.netns(&rs.name);
        for link in ["all", TUNNEL] {
            sysctl::write(&ns, &format!("net.ipv4.conf.{link}.rp_filter"), &value.to_string())
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The VIP/32 on every real server's `tunl0` and the link up; or the
/// address off and the link down.
fn vips_on_tunnel(state: &LabState, undo: bool) -> Result<(), String> {
    let vip = vip(state);
    for (ns, holds) in holding_vip(state, TUNNEL) {
        if undo {
            if holds {
                ip(&["-n", &ns, "addr", "del", &format!("{vip}/32"), "dev", TUNNEL])?;
            }
            ip(&["-n", &ns, "link", "set", TUNNEL, "down"])?;
        } else {
            rtnl::block_on(async {
                let mut conn = Rtnl::connect(&ns)?;
                if !holds {
                    conn.add_address(TUNNEL, IpAddr::V4(vip), 32).await?;
                }
                conn.set_up(TUNNEL).await
            })
            .map_err(|e| format!("{e} (is the ipip module loaded? `modprobe ipip` makes tunl0)"))?;
        }
    }
    Ok(())
}

/// Each real server's namespace, and whether the observer sees the VIP/32
/// on its `link`.
fn holding_vip(state: &LabState, link: &str) -> Vec<(String, bool)> {
    let spec = &state.spec;
    let vip32 = format!("{}/32", vip(state));
    let seen = observe(state);
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

/// `ip ARGS`, for what lvslab's netlink layer does not do (deleting an
/// address, flushing neighbour entries); fails with ip's own words.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The VIP/32 on every real server's `lo`, or off it.
fn vips_on_lo(state: &LabState, undo: bool) -> Result<(), String> {
    let vip = vip(state);
    for (ns, holds) in holding_vip(state, "lo") {
        match (undo, holds) {
            (false, false) => rtnl::block_on(async {
                Rtnl::connect(&ns)?.add_address("lo", IpAddr::V4(vip), 32).await
            })
            .map_err(|e| e.to_string())?,
            (true, true) => ip(&["-n", &ns, "addr", "del", &format!("{vip}/32"), "dev", "lo"])?,
            _ => {}
        }
    }
    Ok(())
}

/// The ARP problem on real server `name`: its ARP sysctls back to the
/// kernel's 0, then one datagram from the VIP to the router after its
/// neighbour entry for the router is flushed, so its ARP request carries
/// the VIP as sender address; the router takes that as the VIP's MAC.
fn arp_break(state: &LabState, name: &str) -> Result<(), String> {
    let spec = &state.spec;
    let router = spec.router.ok_or("this lab has no router")?.inside;
    let ns = spec.netns(name);
    arp_sysctls(state, name, (0, 0))?;
    ip(&["-n", &ns, "neigh", "flush", "to", &router.to_string()])?;
    let vip = vip(state);
    netns::run_in(&ns, || {
        let socket = UdpSocket::bind((vip, 0))?;
        // The discard port: nothing needs to answer, the ARP request is the point.
        socket.send_to(b"lvslab tutorial: who answers for the VIP?", (router, 9)).map(|_| ())
    })
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("send from {vip} in {name}: {e}"))?;
    // The request and the router's reply take a moment.
    std::thread::sleep(ANNOUNCE_SETTLE);
    Ok(())
}

/// The fix: `name`'s ARP sysctls restored, then the router's neighbour
/// entry for the VIP flushed so its next ARP request is answered by the
/// director alone.
fn arp_fix(state: &LabState, name: &str) -> Result<(), String> {
    let spec = &state.spec;
    arp_sysctls(state, name, ARP_QUIET)?;
    if spec.router.is_some() {
        ip(&["-n", &spec.netns(hosts::ROUTER), "neigh", "flush", "to", &vip(state).to_string()])?;
    }
    Ok(())
}

/// Every real server's default route: via the DIP, or none.
fn gateways(state: &LabState, undo: bool) -> Result<(), String> {
    let spec = &state.spec;
    rtnl::block_on(async {
        for rs in &spec.real_servers {
            let mut conn = Rtnl::connect(&spec.netns(&rs.name))?;
            match (undo, conn.default_gateway().await?) {
                (false, None) => conn.add_default_route(spec.director.dip).await?,
                (true, Some(gw)) => conn.del_default_route(gw).await?,
                _ => {}
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// The first service, empty (`ipvsadm -A`), or removed (`ipvsadm -D`).
fn service(state: &LabState, undo: bool) -> Result<(), String> {
    let svc = state.spec.services.first().ok_or("this lab has no virtual service")?;
    let mut client = director_ipvs(state)?;
    if undo {
        client.del_service(&table::key(svc))
    } else {
        let mut empty = svc.clone();
        empty.members.clear();
        client.add_service(&table::service(&empty))
    }
    .map_err(|e| e.to_string())
}

/// Real server `name` in the first service (`ipvsadm -a ... -m -w`), or out of it.
fn destination(state: &LabState, name: &str, undo: bool) -> Result<(), String> {
    let spec = &state.spec;
    let svc = spec.services.first().ok_or("this lab has no virtual service")?;
    let member = svc
        .members
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| format!("{name} is not a real server of the service"))?;
    let dest = table::destination(spec, member).ok_or("unknown real server")?;
    let mut client = director_ipvs(state)?;
    if undo {
        client.del_destination(&table::key(svc), dest.addr, dest.port)
    } else {
        client.add_destination(&table::key(svc), &dest)
    }
    .map_err(|e| match e {
        ipvs::Error::NoSuchService { .. } if !undo => {
            format!("{e} (do the virtual service step first)")
        }
        other => other.to_string(),
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
            let value = sysctl::read(&spec.netns(hosts::DIRECTOR), "net.ipv4.ip_forward")
                .map_err(|e| e.to_string())?;
            Ok(vec![format!("net.ipv4.ip_forward = {value}")])
        }
        Action::IpvsService | Action::IpvsRealServer(_) | Action::ShowTable => {
            let mut client = director_ipvs(state)?;
            let info = client.info().map_err(|e| e.to_string())?;
            let table = client.table().map_err(|e| e.to_string())?;
            Ok(ipvs::format::list(&info, &table).lines().map(str::to_string).collect())
        }
        Action::SaveRules => {
            let table = director_ipvs(state)?.table().map_err(|e| e.to_string())?;
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

/// What a real server's kernel counted: packets `tunl0` received, and
/// packets the reverse-path filter dropped (`nstat`'s `TcpExtIPReversePathFilter`).
fn tunnel_counts(state: &LabState, name: &str) -> Result<(u64, u64), String> {
    let ns = state.spec.netns(name);
    let dev = counters::dev(&ns).map_err(|e| e.to_string())?;
    let netstat = counters::netstat(&ns).map_err(|e| e.to_string())?;
    let received = counters::rx_packets(&dev, TUNNEL)
        .ok_or_else(|| format!("{name} has no {TUNNEL} (the ipip module is not loaded)"))?;
    let dropped = counters::netstat_counter(&netstat, "TcpExt", "IPReversePathFilter")
        .ok_or_else(|| format!("{name}: no IPReversePathFilter counter in /proc/net/netstat"))?;
    Ok((received, dropped))
}

/// The trap's effect: one request from the client, and what each real
/// server's kernel counted meanwhile: with a strict filter the request
/// arrives through the tunnel and is dropped, and the client times out.
fn trap(state: &LabState) -> Outcome {
    let names: Vec<&str> = state.spec.real_servers.iter().map(|r| r.name.as_str()).collect();
    let before =
        names.iter().map(|n| tunnel_counts(state, n)).collect::<Result<Vec<_>, String>>()?;
    let target = http_target(state)?;
    let client = state.spec.netns(hosts::CLIENT);
    let answer = netns::run_in(&client, || get(target)).map_err(|e| e.to_string())?;
    let mut lines = rp_filter_lines(state);
    lines.push(match answer {
        Ok(server) => format!("GET http://{target}/ -> answered by {server}"),
        Err(e) => format!("GET http://{target}/ -> {e}"),
    });
    for (name, (rx, drops)) in names.iter().zip(before) {
        let (rx_after, drops_after) = tunnel_counts(state, name)?;
        lines.push(format!(
            "{name}: {TUNNEL} received +{} packets, reverse-path filter dropped +{}",
            rx_after.saturating_sub(rx),
            drops_after.saturating_sub(drops)
        ));
    }
    Ok(lines)
}

/// The director's connection counter for the first service
/// (`ipvsadm -Ln --stats`, Conns).
pub fn director_conns(state: &LabState) -> Result<u64, String> {
    let svc = state.spec.services.first().ok_or("this lab has no virtual service")?;
    let key = table::key(svc);
    let table = director_ipvs(state)?.table().map_err(|e| e.to_string())?;
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
    let client = state.spec.netns(hosts::CLIENT);
    let mut lines = Vec::new();
    for _ in 0..CURL_REQUESTS {
        match netns::run_in(&client, || get(target)).map_err(|e| e.to_string())? {
            Ok(server) => lines.push(format!("GET http://{target}/ -> answered by {server}")),
            Err(e) => {
                lines.push(format!("GET http://{target}/ -> {e}"));
                return Err(format!(
                    "{}; is every earlier step done (gateways, forwarding, service)?",
                    lines.join("; ")
                ));
            }
        }
    }
    Ok(lines)
}

/// Where the client sends: the VIP, or without IPVS the first real server.
fn http_target(state: &LabState) -> Result<SocketAddr, String> {
    let spec = &state.spec;
    let svc = spec.services.first().ok_or("this lab has no virtual service")?;
    Ok(match state.dataplane {
        Dataplane::Ipvs | Dataplane::Nft => SocketAddr::from((svc.vip, svc.port)),
        Dataplane::None => {
            let member = svc.members.first().ok_or("the service has no real server")?;
            let rs = spec.real_server(&member.name).ok_or("unknown real server")?;
            SocketAddr::from((rs.addr, member.port))
        }
    })
}

/// One request from the calling thread's namespace, with [`CURL_TIMEOUT`];
/// the name of the real server that answered, or what went wrong.
fn get(target: SocketAddr) -> Result<String, String> {
    // The timer must be made inside the runtime: build the future in block_on.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = runtime
        .block_on(async { tokio::time::timeout(CURL_TIMEOUT, traffic::one_request(target)).await });
    match answer {
        Ok(Ok(server)) => Ok(server),
        Ok(Err(ErrorKind::Refused)) => Err("no connection (refused)".into()),
        Ok(Err(ErrorKind::Reset)) => Err("connection reset before a full answer".into()),
        Ok(Err(ErrorKind::Timeout)) | Err(_) => {
            Err(format!("no answer within {} s", CURL_TIMEOUT.as_secs()))
        }
        Ok(Err(ErrorKind::Other)) => Err("an answer that is not a real server's".into()),
    }
}

fn director_ipvs(state: &LabState) -> Result<IpvsClient, String> {
    if state.dataplane != Dataplane::Ipvs {
        return Err("needs IPVS (this lab runs with dataplane none)".into());
    }
    IpvsClient::open_in(&state.spec.netns(hosts::DIRECTOR)).map_err(|e| e.to_string())
}
