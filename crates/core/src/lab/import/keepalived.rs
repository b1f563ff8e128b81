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

use super::{Refusal, Table, add_dest, add_service};
use crate::lab::error::SpecError;
use crate::lab::schedulers::Scheduler;
use crate::lab::{ranges, text};
use lvslab_ipvs::{self as ipvs, Protocol, ServiceKey};

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

fn strip_comment(line: &str) -> &str {
    match line.find(['#', '!']) {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Deepest nesting read (keepalived's own is 4: virtual_server, real_server,
/// HTTP_GET, url); deeper input is refused rather than recursed into.
const MAX_DEPTH: usize = 16;

/// One piece of the text: a word, a brace, or the end of a line. Words are
/// slices of the text, so reading holds no copy of it (a tree of owned
/// tokens held ~60 times the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item<'a> {
    Word(usize, &'a str),
    Open(usize),
    Close(usize),
    EndOfLine,
}

/// The items of a keepalived.conf, in order, comments left out.
struct Lexer<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    /// 1-based number of the line being read.
    line: usize,
    /// What is left of it; `None` once its end was given.
    rest: Option<&'a str>,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self { lines: text.lines().enumerate(), line: 0, rest: None }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            let Some(rest) = self.rest else {
                let (i, line) = self.lines.next()?;
                self.line = i + 1;
                self.rest = Some(strip_comment(line));
                continue;
            };
            let rest = rest.trim_start();
            let Some(first) = rest.chars().next() else {
                self.rest = None;
                return Some(Item::EndOfLine);
            };
            let (item, len) = match first {
                '{' => (Item::Open(self.line), 1),
                '}' => (Item::Close(self.line), 1),
                _ => {
                    let len = rest
                        .find(|c: char| c.is_whitespace() || c == '{' || c == '}')
                        .unwrap_or(rest.len());
                    (Item::Word(self.line, &rest[..len]), len)
                }
            };
            self.rest = Some(&rest[len..]);
            return Some(item);
        }
    }
}

/// One statement: a keyword, its arguments, and whether it opened a block
/// (whose statements come next, up to its `}`).
#[derive(Debug)]
struct Stmt<'a> {
    line: usize,
    keyword: &'a str,
    args: Vec<&'a str>,
    block: bool,
}

fn syntax_error(file: &str, line: usize, message: &str, help: &str) -> SpecError {
    SpecError {
        file: file.to_string(),
        line,
        col: 1,
        message: message.to_string(),
        help: Some(help.to_string()),
    }
}

/// The structure alone, in one pass and constant memory: braces balance,
/// none opens without a keyword, nothing nests deeper than [`MAX_DEPTH`].
/// Run before reading any statement, so a broken file is refused for its
/// syntax whatever else is wrong in it.
fn check_syntax(file: &str, text: &str) -> Result<(), SpecError> {
    // The line of each open block (at most MAX_DEPTH + 1 of them).
    let mut open: Vec<usize> = Vec::new();
    let mut statement_line: Option<usize> = None;
    for item in Lexer::new(text) {
        match item {
            Item::Word(line, _) => {
                statement_line.get_or_insert(line);
            }
            Item::EndOfLine => statement_line = None,
            Item::Open(line) => {
                let Some(opened_at) = statement_line.take() else {
                    return Err(syntax_error(
                        file,
                        line,
                        "`{` without a keyword",
                        "a block opens after its keyword",
                    ));
                };
                if open.len() >= MAX_DEPTH {
                    return Err(syntax_error(
                        file,
                        opened_at,
                        &format!("blocks nested deeper than {MAX_DEPTH}"),
                        "keepalived.conf nests a few levels (virtual_server, real_server, check, url)",
                    ));
                }
                open.push(opened_at);
            }
            Item::Close(line) => {
                statement_line = None;
                if open.pop().is_none() {
                    return Err(syntax_error(file, line, "`}` closes no block", "remove it"));
                }
            }
        }
    }
    match open.last() {
        Some(&line) => {
            Err(syntax_error(file, line, "this block is never closed", "add the missing `}`"))
        }
        None => Ok(()),
    }
}

/// Statements read one at a time, each block as its reader wants it:
/// statement by statement, or skipped whole.
struct Parser<'a> {
    file: &'a str,
    items: std::iter::Peekable<Lexer<'a>>,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str, text: &'a str) -> Self {
        Self { file, items: Lexer::new(text).peekable() }
    }

    /// The next statement of the block opened at `opened_at` (`None`: the
    /// top level); `None` at the block's `}` (or the end of the text).
    fn statement(&mut self, opened_at: Option<usize>) -> Result<Option<Stmt<'a>>, SpecError> {
        let (line, keyword) = loop {
            match self.items.next() {
                None => {
                    return match opened_at {
                        None => Ok(None),
                        Some(line) => Err(syntax_error(
                            self.file,
                            line,
                            "this block is never closed",
                            "add the missing `}`",
                        )),
                    };
                }
                Some(Item::EndOfLine) => {}
                Some(Item::Close(_)) if opened_at.is_some() => return Ok(None),
                Some(Item::Close(line)) => {
                    return Err(syntax_error(self.file, line, "`}` closes no block", "remove it"));
                }
                Some(Item::Open(line)) => {
                    return Err(syntax_error(
                        self.file,
                        line,
                        "`{` without a keyword",
                        "a block opens after its keyword",
                    ));
                }
                Some(Item::Word(line, word)) => break (line, word),
            }
        };
        let mut stmt = Stmt { line, keyword, args: Vec::new(), block: false };
        loop {
            match self.items.peek() {
                Some(Item::Word(_, word)) => {
                    stmt.args.push(word);
                    self.items.next();
                }
                Some(Item::Open(_)) => {
                    self.items.next();
                    stmt.block = true;
                    break;
                }
                // `}` ends the enclosing block: left for its reader.
                Some(Item::Close(_)) | None => break,
                Some(Item::EndOfLine) => {
                    self.items.next();
                    break;
                }
            }
        }
        Ok(Some(stmt))
    }

    /// Passes over the rest of `stmt`'s block, if it opened one.
    fn skip(&mut self, stmt: &Stmt<'_>) -> Result<(), SpecError> {
        if !stmt.block {
            return Ok(());
        }
        let mut depth = 1usize;
        while depth > 0 {
            match self.items.next() {
                None => {
                    return Err(syntax_error(
                        self.file,
                        stmt.line,
                        "this block is never closed",
                        "add the missing `}`",
                    ));
                }
                Some(Item::Open(_)) => depth += 1,
                Some(Item::Close(_)) => depth -= 1,
                Some(_) => {}
            }
        }
        Ok(())
    }
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
const CHECKS: &[&str] = &[
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

/// Reads `text` (from `file`) into a table: the syntax first, then one
/// top-level block at a time, so what is held besides the text is the
/// table and the block being read, never a tree of the whole file.
pub(crate) fn read(file: &str, text: &str) -> Result<Read, SpecError> {
    check_syntax(file, text)?;
    let mut parser = Parser::new(file, text);
    let mut out = Read { table: Table::new(), checked: false, left_out: Vec::new() };
    let refuse = |line: usize, (message, help): Refusal| SpecError {
        file: file.to_string(),
        line,
        col: 1,
        message,
        help: Some(help.to_string()),
    };
    let word = |s: &str| text::shown(s).into_owned();
    while let Some(stmt) = parser.statement(None)? {
        match stmt.keyword {
            "virtual_server" => match virtual_server(&mut parser, &stmt, &mut out)? {
                Ok(()) => {}
                Err((line, refusal)) => return Err(refuse(line, refusal)),
            },
            k if TOP_IGNORED.contains(&k) => {
                if !out.left_out.iter().any(|x| x == k) {
                    out.left_out.push(k.to_string());
                }
                parser.skip(&stmt)?;
            }
            "include" => {
                return Err(refuse(
                    stmt.line,
                    (
                        "`include` names other files, which import does not read".into(),
                        "import the whole configuration as one file: paste the included \
                         virtual_server blocks in",
                    ),
                ));
            }
            "virtual_server_group" => {
                return Err(refuse(
                    stmt.line,
                    (
                        "virtual_server_group: a lab service is one address and port".into(),
                        "write one virtual_server per address and port instead of the group",
                    ),
                ));
            }
            other => {
                return Err(refuse(
                    stmt.line,
                    (
                        format!("`{}` is no keepalived block import knows", word(other)),
                        "import reads virtual_server blocks (and skips global_defs and vrrp_*)",
                    ),
                ));
            }
        }
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

type LineRefusal = (usize, Refusal);

fn one_arg<'a>(stmt: &Stmt<'a>, what: &'static str) -> Result<&'a str, LineRefusal> {
    match stmt.args.as_slice() {
        [one] => Ok(one),
        _ => Err((stmt.line, (format!("`{}` takes one value", text::shown(stmt.keyword)), what))),
    }
}

fn number<T: std::str::FromStr>(stmt: &Stmt<'_>, help: &'static str) -> Result<T, LineRefusal> {
    let value = one_arg(stmt, help)?;
    value.parse().map_err(|_| {
        (
            stmt.line,
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

/// A `real_server` as read inside its virtual server, checked once the
/// virtual server's own options (its protocol) are known.
struct RealServerDraft<'a> {
    line: usize,
    args: Vec<&'a str>,
    weight: u32,
    /// The first refusal inside its block, reported in file order after
    /// the virtual server's options.
    refused: Option<LineRefusal>,
}

/// Reads the block of `real_server` statement `stmt`: its weight, whether
/// it has a health check, what a lab cannot rebuild.
fn real_server<'a>(
    parser: &mut Parser<'a>,
    stmt: Stmt<'a>,
    checked: &mut bool,
) -> Result<RealServerDraft<'a>, SpecError> {
    let mut draft = RealServerDraft { line: stmt.line, args: stmt.args, weight: 1, refused: None };
    if !stmt.block {
        return Ok(draft);
    }
    while let Some(m) = parser.statement(Some(stmt.line))? {
        let refusal = match m.keyword {
            "weight" => match number::<u32>(&m, "weight N (0-65535)") {
                Ok(weight) => {
                    draft.weight = weight;
                    None
                }
                Err(e) => Some(e),
            },
            "lb_kind" | "lvs_method" if m.args.first().copied() != Some("NAT") => Some((
                m.line,
                ("this real server is not forwarded by NAT".into(), "lvslab labs are LVS-NAT"),
            )),
            "lb_kind" | "lvs_method" => None,
            k if CHECKS.contains(&k) => {
                *checked = true;
                None
            }
            k if RS_IGNORED.contains(&k) => None,
            other => Some((
                m.line,
                (
                    format!(
                        "`{}` in a real_server is nothing a lab can rebuild",
                        text::shown(other)
                    ),
                    "remove it: a lab keeps each real server's weight (and runs its own checks)",
                ),
            )),
        };
        if draft.refused.is_none() {
            draft.refused = refusal;
        }
        parser.skip(&m)?;
    }
    Ok(draft)
}

/// Reads virtual server `stmt` (its block next in `parser`) into
/// `out`: `Err` for a broken file, `Ok(Err)` for what a lab cannot rebuild.
fn virtual_server<'a>(
    parser: &mut Parser<'a>,
    stmt: &Stmt<'a>,
    out: &mut Read,
) -> Result<Result<(), LineRefusal>, SpecError> {
    let line = stmt.line;
    let mut scheduler = Scheduler::DEFAULT.to_string(); // keepalived's default, as the kernel's
    let mut proto = Protocol::Tcp;
    let mut persistence = None;
    let mut netmask = None;
    let mut refused: Option<LineRefusal> = None;
    let mut servers: Vec<RealServerDraft<'a>> = Vec::new();
    while stmt.block
        && let Some(n) = parser.statement(Some(line))?
    {
        if n.keyword == "real_server" {
            // Past the members' cap the rest would only be held to be refused.
            if servers.len() >= ranges::MEMBERS.max {
                let what = format!("real_server {}", text::shown(&n.args.join(" ")));
                return Ok(Err((n.line, (ranges::MEMBERS.message(&what), ranges::MEMBERS.help))));
            }
            servers.push(real_server(parser, n, &mut out.checked)?);
            continue;
        }
        let option = vs_option(&n, &mut scheduler, &mut proto, &mut persistence, &mut netmask);
        parser.skip(&n)?;
        if let (None, Err(e)) = (&refused, option) {
            refused = Some(e);
        }
    }
    if let Some(e) = refused {
        return Ok(Err(e));
    }
    Ok(add_virtual_server(stmt, scheduler, proto, persistence, netmask, servers, out))
}

/// One option of a virtual server's block.
fn vs_option(
    n: &Stmt<'_>,
    scheduler: &mut String,
    proto: &mut Protocol,
    persistence: &mut Option<u32>,
    netmask: &mut Option<Ipv4Addr>,
) -> Result<(), LineRefusal> {
    match n.keyword {
        "lb_algo" | "lvs_sched" => *scheduler = one_arg(n, "lb_algo wrr")?.to_string(),
        "lb_kind" | "lvs_method" => match one_arg(n, "lb_kind NAT")? {
            "NAT" => {}
            other => {
                return Err((
                    n.line,
                    (
                        format!("lb_kind {} is not NAT", text::shown(other)),
                        "lvslab labs are LVS-NAT: write lb_kind NAT",
                    ),
                ));
            }
        },
        "protocol" => {
            *proto = match one_arg(n, "protocol TCP")? {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                "SCTP" => Protocol::Sctp,
                other => {
                    return Err((
                        n.line,
                        (format!("protocol {} is unknown", text::shown(other)), "TCP, UDP or SCTP"),
                    ));
                }
            }
        }
        "persistence_timeout" => {
            *persistence = Some(number::<u32>(n, "persistence_timeout SECONDS")?);
        }
        "persistence_granularity" => {
            let mask = one_arg(n, "persistence_granularity 255.255.255.0")?;
            *netmask = Some(mask.parse::<Ipv4Addr>().map_err(|_| {
                (
                    n.line,
                    (
                        format!("'{}' is no netmask", text::shown(mask)),
                        "persistence_granularity 255.255.255.0",
                    ),
                )
            })?);
        }
        k if VS_IGNORED.contains(&k) => {}
        other => {
            return Err((
                n.line,
                (
                    format!(
                        "`{}` in a virtual_server is nothing a lab can rebuild",
                        text::shown(other)
                    ),
                    "remove it: a lab keeps lb_algo, lb_kind NAT, protocol, persistence \
                     and the real servers (sorry_server, ops, lb_flags and groups it cannot)",
                ),
            ));
        }
    }
    Ok(())
}

/// The service of virtual server `stmt` and its real servers, into the table.
fn add_virtual_server(
    stmt: &Stmt<'_>,
    scheduler: String,
    proto: Protocol,
    persistence: Option<u32>,
    netmask: Option<Ipv4Addr>,
    servers: Vec<RealServerDraft<'_>>,
    out: &mut Read,
) -> Result<(), LineRefusal> {
    let line = stmt.line;
    let key = match stmt.args.as_slice() {
        ["fwmark", mark] => {
            let mark: u32 = mark.parse().map_err(|_| {
                (line, (format!("fwmark '{}' is not a number", text::shown(mark)), "fwmark N"))
            })?;
            ServiceKey::Fwmark { af: ipvs::AddressFamily::Inet, mark }
        }
        ["group", _] => {
            return Err((
                line,
                (
                    "virtual_server group: a lab service is one address and port".into(),
                    "write one virtual_server per address and port",
                ),
            ));
        }
        [addr, port] => {
            let addr: Ipv4Addr = addr.parse().map_err(|_| {
                (
                    line,
                    (
                        format!("'{}' is no IPv4 address", text::shown(addr)),
                        "lvslab labs are IPv4: virtual_server A.B.C.D PORT",
                    ),
                )
            })?;
            let port: u16 = port.parse().map_err(|_| {
                (line, (format!("port '{}' is not a port", text::shown(port)), "1-65535"))
            })?;
            ServiceKey::Addr { proto, addr: IpAddr::V4(addr), port }
        }
        _ => {
            return Err((
                line,
                (
                    "virtual_server takes an address and a port, or fwmark N".into(),
                    "virtual_server 192.0.2.1 80 { ... }",
                ),
            ));
        }
    };
    let mut svc = ipvs::Service::new(key, scheduler);
    if let Some(timeout) = persistence {
        svc.flags.persistent = true;
        svc.persistence_timeout = timeout;
        if let Some(mask) = netmask {
            svc.netmask = u32::from(mask);
        }
    }
    add_service(&mut out.table, svc, line).map_err(|r| (line, r))?;
    for rs in servers {
        let (addr, port) = match rs.args.as_slice() {
            [a, p] => (a, p),
            _ => {
                return Err((
                    rs.line,
                    (
                        "real_server takes an address and a port".into(),
                        "real_server 198.51.100.11 80 { ... }",
                    ),
                ));
            }
        };
        let rip: Ipv4Addr = addr.parse().map_err(|_| {
            (
                rs.line,
                (format!("'{}' is no IPv4 address", text::shown(addr)), "lvslab labs are IPv4"),
            )
        })?;
        let port: u16 = port.parse().map_err(|_| {
            (rs.line, (format!("port '{}' is not a port", text::shown(port)), "0-65535"))
        })?;
        if let Some(refused) = rs.refused {
            return Err(refused);
        }
        let dest = ipvs::Destination::new(IpAddr::V4(rip), port, ipvs::Forward::Masq)
            .with_weight(rs.weight);
        add_dest(&mut out.table, key, &dest, rs.line).map_err(|r| (rs.line, r))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::import;
    use super::*;
    use crate::lab::export::keepalived::{Purpose, to_keepalived};
    use crate::lab::export::rules::from_spec;
    use crate::lab::model::Control;
    use crate::lab::presets;

    #[test]
    fn every_presets_export_imports_back_to_the_same_table() {
        for preset in presets::embedded() {
            let conf = to_keepalived(&preset.spec, Purpose::Export, &["x".into()]);
            assert!(looks_like(&conf), "{conf}");
            // DR/TUN presets export fine, but a lab is only imported from
            // LVS-NAT virtual servers: those are refused at their lb_kind.
            let nat = |m: &crate::lab::model::Member| m.forward == crate::lab::model::Forward::Nat;
            if !preset.spec.services.iter().all(|s| s.members.iter().all(nat)) {
                let err = import("keepalived.conf", &conf, &preset.spec.name).unwrap_err();
                assert!(err.to_string().contains("is not NAT"), "{}: {err}", preset.origin);
                continue;
            }
            let back = import("keepalived.conf", &conf, &preset.spec.name)
                .unwrap_or_else(|e| panic!("{}: {e}\n{conf}", preset.origin));
            assert_eq!(from_spec(&back.spec), from_spec(&preset.spec), "{}", preset.origin);
            assert_eq!(back.spec.control, Control::Keepalived, "health checks were there");
            assert!(back.toml.contains("Left out (keepalived's own): global_defs, vrrp_instance."));
        }
    }

    #[test]
    fn fwmark_persistence_udp_and_weights_are_kept() {
        let conf = "! Configuration File for keepalived\nvirtual_server fwmark 42 {\n  lb_algo sh\n  \
                    lb_kind NAT\n  persistence_timeout 300\n  persistence_granularity 255.255.255.0\n  \
                    real_server 198.51.100.11 0 { weight 4 }\n}\n\
                    virtual_server 192.0.2.1 53 {\n  protocol UDP\n  lb_algo rr\n  \
                    real_server 198.51.100.12 53 {\n  }\n}\n";
        let back = import("k.conf", conf, "k").unwrap();
        let rules = from_spec(&back.spec);
        assert!(rules.contains("-A -f 42 -s sh -p 300 -M 255.255.255.0"), "{rules}");
        assert!(rules.contains("-a -f 42 -r 198.51.100.11:0 -m -w 4"), "{rules}");
        assert!(rules.contains("-A -u 192.0.2.1:53 -s rr"), "{rules}");
        assert!(rules.contains("-a -u 192.0.2.1:53 -r 198.51.100.12:53 -m -w 1"), "{rules}");
        assert_eq!(back.spec.control, Control::Lvslab, "no health checks");
    }

    fn refused(conf: &str) -> SpecError {
        let mut errors = import("k.conf", conf, "k").unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    #[test]
    fn what_a_lab_cannot_rebuild_is_refused_with_its_line() {
        let vs = |body: &str| {
            format!(
                "global_defs {{\n  router_id x\n}}\nvirtual_server 192.0.2.1 80 {{\n{body}\n  \
                 real_server 198.51.100.11 80 {{\n    weight 1\n  }}\n}}\n"
            )
        };
        let e = refused(&vs("  lb_kind DR"));
        assert_eq!(e.line, 5);
        assert!(e.message.contains("lb_kind DR is not NAT"), "{e}");
        let e = refused(&vs("  sorry_server 198.51.100.99 80"));
        assert_eq!(e.line, 5);
        assert!(e.message.contains("sorry_server"), "{e}");
        let e = refused("include /etc/keepalived/conf.d/*.conf\n");
        assert_eq!((e.line, e.message.contains("include")), (1, true), "{e}");
        let e = refused("virtual_server_group web {\n 192.0.2.1 80\n}\n");
        assert!(e.message.contains("virtual_server_group"), "{e}");
        let e = refused("virtual_server 192.0.2.1 80 {\n  lb_algo rr\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("never closed"), "{e}");
        let e = refused("virtual_server 2001:db8::1 80 {\n}\n");
        assert!(e.message.contains("no IPv4 address"), "{e}");
        let e = refused(&vs("  lb_algo nosuch"));
        assert!(e.message.contains("unknown scheduler 'nosuch'"), "{e}");
        let e = refused(&format!("virtual_server 192.0.2.1 80 {{\n{}", "a {\n".repeat(100_000)));
        assert!(e.message.contains("nested deeper"), "{e}");
        let e = refused("vrrp_instance VI_1 {\n  state MASTER\n}\n");
        assert!(e.message.contains("no virtual_server"), "{e}");
    }

    /// A large file read statement by statement: every virtual and real
    /// server kept, in order, past ignored blocks of any size and nesting;
    /// the member cap refused at the line inside one virtual server.
    #[test]
    fn a_large_configuration_is_read_whole_and_the_caps_hold_inside_a_block() {
        use std::fmt::Write;
        let mut conf = String::from("global_defs {\n");
        for _ in 0..20_000 {
            conf.push_str("  a b { c { d } } e\n");
        }
        conf.push_str("}\n");
        for s in 0..64 {
            writeln!(conf, "virtual_server 192.0.2.1 {} {{ lb_algo rr", s + 1).unwrap();
            for r in 0..64 {
                let rip = std::net::Ipv4Addr::from(0x0A00_0002u32 + (s * 64 + r) as u32);
                let weight = r % 3;
                writeln!(
                    conf,
                    "  real_server {rip} 80 {{\n weight {weight}\n TCP_CHECK {{ x {{ }} }} }}"
                )
                .unwrap();
            }
            conf.push_str("}\n");
        }
        let back = import("k.conf", &conf, "k").unwrap();
        assert_eq!((back.spec.services.len(), back.spec.real_servers.len()), (64, 4096));
        let member = &back.spec.services[63].members[63];
        assert_eq!((member.name.as_str(), member.weight), ("rs4096", 0));
        assert_eq!(back.spec.control, Control::Keepalived);

        let mut conf = String::from("virtual_server 192.0.2.1 80 {\n");
        for r in 0..=crate::lab::ranges::MEMBERS.max {
            writeln!(conf, "  real_server 10.0.0.2 {} {{ }}", r % 65_535 + 1).unwrap();
        }
        conf.push_str("}\n");
        let e = refused(&conf);
        assert_eq!(e.line, crate::lab::ranges::MEMBERS.max + 2, "{e}");
        assert!(e.message.contains("is the 65537th: a lab has at most 65536"), "{e}");
    }

    #[test]
    fn rules_files_are_not_taken_for_keepalived() {
        assert!(!looks_like("-A -t 192.0.2.1:80 -s wrr\n"));
        assert!(looks_like("# c\n\n! c\nvirtual_server 1.2.3.4 80 {\n}\n"));
    }
}
