//! A `keepalived.conf` read as the table it makes keepalived program: its
//! `virtual_server` blocks and their `real_server`s, into the same
//! [`Table`] the ipvsadm reader fills (so the same refusals apply).
//!
//! What a lab cannot rebuild is refused with the file, the line and why:
//! `include` (the file alone is not the whole configuration), virtual-server
//! groups, sorry servers, direct routing and tunnels, options a preset has
//! no word for. What only concerns keepalived itself (VRRP, global
//! settings, health checks and their timing, notify scripts) is left out,
//! and the preset says so; health checks make the preset's control plane
//! keepalived, whose checks the lab writes itself.

use std::net::{IpAddr, Ipv4Addr};

pub(crate) mod syntax;

use super::{At, Field, Places, Refusal, Refused, Table, add_dest, add_service};
use crate::lab::error::SpecError;
use crate::lab::ranges;
use crate::lab::schedulers::{SchedFlag, Scheduler};
use crate::lab::text;
use lvslab_ipvs::{self as ipvs, Protocol, ServiceKey};
use syntax::{Next, Reader, Stmt, strip_comment};

/// What reading a keepalived.conf gives besides the table.
pub(crate) struct Read {
    /// The services and real servers.
    pub(crate) table: Table,
    /// Whether any real server had a health check.
    pub(crate) checked: bool,
    /// Top-level blocks left out (VRRP, global_defs), by keyword, each once.
    pub(crate) left_out: Vec<String>,
}

/// Whether `text` looks like a keepalived configuration rather than
/// `ipvsadm -S` rules: its first statement is a keepalived keyword.
pub fn looks_like(text: &str) -> bool {
    let first = text
        .lines()
        .map(|l| strip_comment(l).trim())
        .find(|l| !l.is_empty())
        .and_then(|l| l.split_whitespace().next());
    matches!(
        first,
        Some(
            "global_defs"
                | "virtual_server"
                | "virtual_server_group"
                | "vrrp_instance"
                | "vrrp_sync_group"
                | "vrrp_script"
                | "static_ipaddress"
                | "static_routes"
                | "include"
                | "linkbeat_interfaces"
        )
    )
}

/// Keywords of a `virtual_server` that only concern keepalived's checking
/// and notifications: left out (the lab's keepalived writes its own).
const VS_IGNORED: &[&str] = &[
    "delay_loop",
    "retry",
    "delay_before_retry",
    "warmup",
    "ha_suspend",
    "virtualhost",
    "alpha",
    "omega",
    "quorum",
    "quorum_up",
    "quorum_down",
    "hysteresis",
    "inhibit_on_failure",
    "connect_timeout",
    "smtp_alert",
];

/// Keywords of a `real_server` left out, besides health checks.
const RS_IGNORED: &[&str] = &[
    "inhibit_on_failure",
    "notify_up",
    "notify_down",
    "alpha",
    "retry",
    "delay_before_retry",
    "connect_timeout",
    "delay_loop",
    "warmup",
    "smtp_alert",
    "virtualhost",
];

/// Health checkers keepalived knows.
pub(crate) const CHECKS: &[&str] = &[
    "HTTP_GET",
    "SSL_GET",
    "TCP_CHECK",
    "MISC_CHECK",
    "SMTP_CHECK",
    "DNS_CHECK",
    "BFD_CHECK",
    "FILE_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
];

/// Top-level blocks that only concern keepalived itself.
const TOP_IGNORED: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_sync_group",
    "vrrp_script",
    "vrrp_track_file",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "linkbeat_interfaces",
    "bfd_instance",
];

/// Reads `text` (from `file`) into a table, one statement at a time.
pub(crate) fn read(file: &str, text: &str) -> Result<Read, SpecError> {
    let mut reader = Reader::new(file, text);
    let mut out = Read { table: Table::new(), checked: false, left_out: Vec::new() };
    let word = |s: &str| text::shown(s).into_owned();
    loop {
        let stmt = match reader.next()? {
            Next::Stmt(stmt) => stmt,
            Next::Close(at) => {
                return Err(reader.error(at, "`}` closes no block".into(), "remove it"));
            }
            Next::End => break,
        };
        let refusal = match stmt.keyword {
            "virtual_server" => {
                virtual_server(&mut reader, &stmt, &mut out)?;
                continue;
            }
            k if TOP_IGNORED.contains(&k) => {
                if !out.left_out.iter().any(|x| x == k) {
                    out.left_out.push(k.to_string());
                }
                reader.skip(&stmt, 0)?;
                continue;
            }
            "include" => (
                "`include` names other files, which import does not read".into(),
                "import the whole configuration as one file: paste the included virtual_server \
                 blocks in",
            ),
            "virtual_server_group" => (
                "virtual_server_group: a lab service is one address and port".into(),
                "write one virtual_server per address and port instead of the group",
            ),
            other => (
                format!("`{}` is no keepalived block import knows", word(other)),
                "import reads virtual_server blocks (and skips global_defs and vrrp_*)",
            ),
        };
        return Err(refuse(&reader, (stmt.at, refusal)));
    }
    if out.table.services.is_empty() {
        return Err(SpecError {
            file: file.to_string(),
            line: 0,
            col: 0,
            message: "no virtual_server in the configuration".into(),
            help: Some("a lab needs at least one virtual_server block".into()),
        });
    }
    if out.table.rips.is_empty() {
        return Err(SpecError {
            file: file.to_string(),
            line: 0,
            col: 0,
            message: "no real_server in the configuration".into(),
            help: Some("add a real_server to a virtual_server".into()),
        });
    }
    Ok(out)
}

type LineRefusal = (At, Refusal);

/// A refusal as the error at its place in the file.
fn refuse(reader: &Reader<'_>, (at, (message, help)): LineRefusal) -> SpecError {
    reader.error(at, message, help)
}

fn one_arg<'a>(stmt: &Stmt<'a>, what: &'static str) -> Result<&'a str, LineRefusal> {
    match (stmt.args.as_slice(), stmt.more_args) {
        ([(_, one)], 0) => Ok(one),
        _ => Err((stmt.at, (format!("`{}` takes one value", text::shown(stmt.keyword)), what))),
    }
}

fn number<T: std::str::FromStr>(stmt: &Stmt<'_>, help: &'static str) -> Result<T, LineRefusal> {
    let value = one_arg(stmt, help)?;
    value.parse().map_err(|_| {
        (
            stmt.arg(0),
            (
                format!(
                    "{} '{}' is not a number it can be",
                    text::shown(stmt.keyword),
                    text::shown(value)
                ),
                help,
            ),
        )
    })
}

/// The service a `virtual_server` statement names.
fn service_key(vs: &Stmt<'_>, proto: Protocol) -> Result<ServiceKey, LineRefusal> {
    match vs.all_args().as_deref() {
        Some(["fwmark", mark]) => {
            let mark: u32 = mark.parse().map_err(|_| {
                (vs.arg(1), (format!("fwmark '{}' is not a number", text::shown(mark)), "fwmark N"))
            })?;
            Ok(ServiceKey::Fwmark { af: ipvs::AddressFamily::Inet, mark })
        }
        Some(["group", _]) => Err((
            vs.arg(0),
            (
                "virtual_server group: a lab service is one address and port".into(),
                "write one virtual_server per address and port",
            ),
        )),
        Some([addr, port]) => {
            let addr: Ipv4Addr = addr.parse().map_err(|_| {
                (
                    vs.arg(0),
                    (
                        format!("'{}' is no IPv4 address", text::shown(addr)),
                        "lvslab labs are IPv4: virtual_server A.B.C.D PORT",
                    ),
                )
            })?;
            let port: u16 = port.parse().map_err(|_| {
                (vs.arg(1), (format!("port '{}' is not a port", text::shown(port)), "1-65535"))
            })?;
            Ok(ServiceKey::Addr { proto, addr: IpAddr::V4(addr), port })
        }
        _ => Err((
            vs.at,
            (
                "virtual_server takes an address and a port, or fwmark N".into(),
                "virtual_server 192.0.2.1 80 { ... }",
            ),
        )),
    }
}

/// A real server as read, added once its virtual server's block is done
/// (its scheduler and protocol may come after it).
struct Pending {
    dest: ipvs::Destination,
    places: Places,
}

/// Reads a `virtual_server` statement and its block into the table.
fn virtual_server(reader: &mut Reader<'_>, vs: &Stmt<'_>, out: &mut Read) -> Result<(), SpecError> {
    let mut scheduler = Scheduler::DEFAULT.to_string(); // keepalived's default, as the kernel's
    let mut proto = Protocol::Tcp;
    let mut persistence = None;
    let mut netmask = None;
    let mut flags = ipvs::ServiceFlags::default();
    // The service is its address (or mark); each value is where it was set.
    let service_at = if vs.args.first().is_some_and(|(_, a)| *a == "fwmark") { 1 } else { 0 };
    let mut places = Places { rule: vs.at, values: vec![(Field::Service, vs.arg(service_at))] };
    let mut pending: Vec<Pending> = Vec::new();
    while let Some(n) = reader.inside(vs)? {
        let set = match n.keyword {
            "lb_algo" | "lvs_sched" => one_arg(&n, "lb_algo wrr").map(|s| {
                scheduler = s.to_string();
                places.set(Field::Scheduler, n.arg(0));
            }),
            "lb_kind" | "lvs_method" => match one_arg(&n, "lb_kind NAT") {
                Ok("NAT") => Ok(()),
                Ok(other) => Err((
                    n.arg(0),
                    (
                        format!("lb_kind {} is not NAT", text::shown(other)),
                        "lvslab labs are LVS-NAT: write lb_kind NAT",
                    ),
                )),
                Err(e) => Err(e),
            },
            "protocol" => match one_arg(&n, "protocol TCP") {
                Ok("TCP") => Ok(Protocol::Tcp),
                Ok("UDP") => Ok(Protocol::Udp),
                Ok("SCTP") => Ok(Protocol::Sctp),
                Ok(other) => Err((
                    n.arg(0),
                    (format!("protocol {} is unknown", text::shown(other)), "TCP, UDP or SCTP"),
                )),
                Err(e) => Err(e),
            }
            .map(|p| proto = p),
            "persistence_timeout" => number::<u32>(&n, "persistence_timeout SECONDS").map(|t| {
                persistence = Some(t);
                places.set(Field::Persistence, n.arg(0));
            }),
            "persistence_granularity" => one_arg(&n, "persistence_granularity 255.255.255.0")
                .and_then(|mask| {
                    let parsed = mask.parse::<Ipv4Addr>().map_err(|_| {
                        (
                            n.arg(0),
                            (
                                format!("'{}' is no netmask", text::shown(mask)),
                                "persistence_granularity 255.255.255.0",
                            ),
                        )
                    })?;
                    netmask = Some(parsed);
                    places.set(Field::Netmask, n.arg(0));
                    Ok(())
                }),
            k if SchedFlag::named(k).is_some() => sched_flag(&n, &scheduler).map(|flag| {
                flags.set_sched_flag(flag.name());
                places.set(Field::SchedFlags, n.at);
            }),
            "real_server" => {
                let cap = ranges::MEMBERS;
                if cap.exceeded_by(out.table.members.len() + pending.len() + 1) {
                    let what = format!("real_server at line {}", n.at.0);
                    return Err(refuse(reader, (n.at, (cap.message(&what), cap.help))));
                }
                pending.push(real_server(reader, &n, out)?);
                continue;
            }
            k if VS_IGNORED.contains(&k) => Ok(()),
            other => Err((
                n.at,
                (
                    format!(
                        "`{}` in a virtual_server is nothing a lab can rebuild",
                        text::shown(other)
                    ),
                    "remove it: a lab keeps lb_algo, its sh-/mh- flags, lb_kind NAT, protocol, \
                     persistence and the real servers (sorry_server, ops, flag-N and groups it \
                     cannot)",
                ),
            )),
        };
        set.map_err(|r| refuse(reader, r))?;
        reader.skip(&n, 1)?;
    }
    let key = service_key(vs, proto).map_err(|r| refuse(reader, r))?;
    let mut svc = ipvs::Service::new(key, scheduler);
    svc.flags = flags;
    if let Some(timeout) = persistence {
        svc.flags.persistent = true;
        svc.persistence_timeout = timeout;
        if let Some(mask) = netmask {
            svc.netmask = u32::from(mask);
        }
    }
    add_service(&mut out.table, svc, places.clone())
        .map_err(|r| refuse(reader, refused(r, &places)))?;
    for Pending { dest, places } in pending {
        add_dest(&mut out.table, key, &dest, places.clone())
            .map_err(|r| refuse(reader, refused(r, &places)))?;
    }
    Ok(())
}

/// Reads a `real_server` statement and its block (its checks skipped).
fn real_server(
    reader: &mut Reader<'_>,
    rs: &Stmt<'_>,
    out: &mut Read,
) -> Result<Pending, SpecError> {
    let Some([addr, port]) = rs.all_args().as_deref().and_then(|a| <[&str; 2]>::try_from(a).ok())
    else {
        return Err(refuse(
            reader,
            (
                rs.at,
                (
                    "real_server takes an address and a port".into(),
                    "real_server 198.51.100.11 80 { ... }",
                ),
            ),
        ));
    };
    let rip: Ipv4Addr = addr.parse().map_err(|_| {
        let message = format!("'{}' is no IPv4 address", text::shown(addr));
        refuse(reader, (rs.arg(0), (message, "lvslab labs are IPv4")))
    })?;
    let port: u16 = port.parse().map_err(|_| {
        let message = format!("port '{}' is not a port", text::shown(port));
        refuse(reader, (rs.arg(1), (message, "0-65535")))
    })?;
    let mut places = Places {
        rule: rs.at,
        values: vec![(Field::RealServer, rs.arg(0)), (Field::RealPort, rs.arg(1))],
    };
    let mut weight = 1u32;
    while let Some(m) = reader.inside(rs)? {
        let set = match m.keyword {
            "weight" => number::<u32>(&m, "weight N (0-65535)").map(|w| {
                weight = w;
                places.set(Field::Weight, m.arg(0));
            }),
            "lb_kind" | "lvs_method" if m.args.first().map(|(_, a)| *a) != Some("NAT") => Err((
                m.arg(0),
                ("this real server is not forwarded by NAT".into(), "lvslab labs are LVS-NAT"),
            )),
            "lb_kind" | "lvs_method" => Ok(()),
            k if CHECKS.contains(&k) => {
                out.checked = true;
                Ok(())
            }
            k if RS_IGNORED.contains(&k) => Ok(()),
            other => Err((
                m.at,
                (
                    format!(
                        "`{}` in a real_server is nothing a lab can rebuild",
                        text::shown(other)
                    ),
                    "remove it: a lab keeps each real server's weight (and runs its own checks)",
                ),
            )),
        };
        set.map_err(|r| refuse(reader, r))?;
        reader.skip(&m, 2)?;
    }
    let dest =
        ipvs::Destination::new(IpAddr::V4(rip), port, ipvs::Forward::Masq).with_weight(weight);
    Ok(Pending { dest, places })
}

/// A shared refusal at its place in the keepalived.conf.
/// A scheduler-flag keyword (`mh-port`), which keepalived honours only when
/// the `lb_algo` before it names the flag's scheduler (it ignores it
/// otherwise, so the lab would not be what keepalived builds).
fn sched_flag(stmt: &Stmt<'_>, scheduler_so_far: &str) -> Result<SchedFlag, LineRefusal> {
    let flag = SchedFlag::named(stmt.keyword).expect("a flag keyword");
    if !stmt.args.is_empty() {
        return Err((stmt.arg(0), (format!("`{flag}` takes no value"), "write the keyword alone")));
    }
    if scheduler_so_far != flag.scheduler().name() {
        return Err((
            stmt.at,
            (
                format!(
                    "`{flag}` follows lb_algo {}: keepalived reads it only after lb_algo {}, \
                     and ignores it here",
                    text::shown(scheduler_so_far),
                    flag.scheduler()
                ),
                "write the flag after its scheduler's lb_algo line (lb_algo mh, then mh-port), \
                 or remove it",
            ),
        ));
    }
    Ok(flag)
}

fn refused(r: Refused, places: &Places) -> LineRefusal {
    (places.of(r.field), (r.message, r.help))
}

#[cfg(test)]
mod tests;
