//! A keepalived.conf read for what `diagnose` checks in it: the VRRP
//! instances (state, interface, router id, priority, nopreempt) and the
//! health checks' timing. Unlike `import`, which refuses what a lab cannot
//! rebuild, this reading refuses nothing it can pass over: a real
//! director's configuration uses DR, groups and sorry servers freely. It
//! shares import's statement reader (so comments, braces and depth limits
//! are read the same way) and keeps each value's line for the evidence.
//!
//! Defaults are keepalived.conf(5)'s (2.2): `delay_loop` 60 s,
//! `connect_timeout` 5 s, `retry` 1 (DNS_CHECK 3, MISC_CHECK 0),
//! `delay_before_retry` 3 s for HTTP_GET/SSL_GET, `delay_loop` for
//! DNS_CHECK, 1 s otherwise; a VRRP instance's `priority` 100.

use serde::Serialize;

use crate::lab::error::SpecError;
use crate::lab::import::keepalived::syntax::{Next, Reader, Stmt};
use crate::lab::text;

/// keepalived's `delay_loop` when none is given, seconds.
pub const DEFAULT_DELAY_LOOP: f64 = 60.0;
/// keepalived's `connect_timeout` when none is given, seconds.
pub const DEFAULT_CONNECT_TIMEOUT: f64 = 5.0;
/// A VRRP instance's priority when none is given.
pub const DEFAULT_PRIORITY: u32 = 100;

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrrpInstance {
    /// Its name.
    pub name: String,
    /// The line it starts on.
    pub line: usize,
    /// `state MASTER|BACKUP`, as written.
    pub state: Option<String>,
    /// `interface`.
    pub interface: Option<String>,
    /// `virtual_router_id`.
    pub vrid: Option<u32>,
    /// `priority` (or the default).
    pub priority: u32,
    /// `nopreempt` given.
    pub nopreempt: bool,
}

impl VrrpInstance {
    /// Whether it starts as MASTER.
    pub fn is_master(&self) -> bool {
        self.state.as_deref() == Some("MASTER")
    }
}

/// The timing of one real server's health check, each value as given
/// (`None`: keepalived's default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The virtual server, as written (`192.0.2.1 80`).
    pub virtual_server: String,
    /// The real server, as written.
    pub real_server: String,
    /// The line of the real server.
    pub line: usize,
    /// `HTTP_GET`, `TCP_CHECK`, ...
    pub kind: String,
    /// `delay_loop` (check, real server or virtual server level).
    pub delay_loop: Option<f64>,
    /// `connect_timeout`.
    pub connect_timeout: Option<f64>,
    /// `retry` (or `nb_get_retry`).
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<f64>,
    /// `inhibit_on_failure`: a failed server is set to weight 0, not removed.
    pub inhibit: bool,
}

impl Check {
    /// Values in effect: (delay_loop, connect_timeout, retry, delay_before_retry).
    pub fn effective(&self) -> (f64, f64, u32, f64) {
        let delay_loop = self.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP);
        let retry = self.retry.unwrap_or(match self.kind.as_str() {
            "DNS_CHECK" => 3,
            "MISC_CHECK" => 0,
            _ => 1,
        });
        let before_retry = self.delay_before_retry.unwrap_or(match self.kind.as_str() {
            "HTTP_GET" | "SSL_GET" => 3.0,
            "DNS_CHECK" => delay_loop,
            _ => 1.0,
        });
        (delay_loop, self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT), retry, before_retry)
    }

    /// The longest a dead server stays in the table: it dies just after a
    /// passed check, waits `delay_loop` for the next, which fails after
    /// `connect_timeout`, then `retry` more tries each `delay_before_retry`
    /// later and each up to `connect_timeout` long.
    pub fn worst_removal_s(&self) -> f64 {
        let (delay_loop, timeout, retry, before) = self.effective();
        delay_loop + timeout + f64::from(retry) * (before + timeout)
    }
}

/// What diagnose reads of one keepalived.conf.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KeepalivedConf {
    /// The file, as named to the user.
    pub file: String,
    /// The VRRP instances.
    pub instances: Vec<VrrpInstance>,
    /// The real servers' health checks.
    pub checks: Vec<Check>,
    /// Real servers without any health check (always in the table).
    pub unchecked: usize,
}

/// Timing keywords read at the virtual server, real server and check level.
#[derive(Clone, Copy, Default)]
struct Timing {
    delay_loop: Option<f64>,
    connect_timeout: Option<f64>,
    retry: Option<u32>,
    delay_before_retry: Option<f64>,
    inhibit: bool,
}

impl Timing {
    /// Reads `stmt` if it is a timing keyword; false otherwise.
    fn read(&mut self, stmt: &Stmt<'_>) -> bool {
        let num = || stmt.args.first().and_then(|(_, a)| a.parse::<f64>().ok());
        match stmt.keyword {
            "delay_loop" => self.delay_loop = num().or(self.delay_loop),
            "connect_timeout" => self.connect_timeout = num().or(self.connect_timeout),
            "retry" | "nb_get_retry" => {
                self.retry = stmt.args.first().and_then(|(_, a)| a.parse().ok()).or(self.retry);
            }
            "delay_before_retry" => self.delay_before_retry = num().or(self.delay_before_retry),
            "inhibit_on_failure" => {
                self.inhibit = !matches!(stmt.args.first().map(|(_, a)| *a), Some("false" | "off"));
            }
            _ => return false,
        }
        true
    }
}

/// Health checkers keepalived knows (the importer's list, one fact in one place).
use crate::lab::import::keepalived::CHECKS as CHECKERS;

fn words(stmt: &Stmt<'_>) -> String {
    let args: Vec<&str> = stmt.args.iter().map(|(_, a)| *a).collect();
    text::shown(&args.join(" ")).into_owned()
}

/// Reads `text` (from `file`).
///
/// # Errors
/// The text is not keepalived's syntax (an unclosed block, a stray brace,
/// nesting too deep): the error names the line.
pub fn read(file: &str, text: &str) -> Result<KeepalivedConf, SpecError> {
    let mut r = Reader::new(file, text);
    let mut out = KeepalivedConf { file: file.to_string(), ..KeepalivedConf::default() };
    loop {
        let stmt = match r.next()? {
            Next::Stmt(s) => s,
            Next::Close(at) => return Err(r.error(at, "`}` closes no block".into(), "remove it")),
            Next::End => return Ok(out),
        };
        match stmt.keyword {
            "vrrp_instance" => out.instances.push(instance(&mut r, &stmt)?),
            "virtual_server" => virtual_server(&mut r, &stmt, &mut out)?,
            _ => r.skip(&stmt, 0)?,
        }
    }
}

fn instance(r: &mut Reader<'_>, open: &Stmt<'_>) -> Result<VrrpInstance, SpecError> {
    let mut vi = VrrpInstance {
        name: words(open),
        line: open.at.0,
        state: None,
        interface: None,
        vrid: None,
        priority: DEFAULT_PRIORITY,
        nopreempt: false,
    };
    while let Some(s) = r.inside(open)? {
        let first = s.args.first().map(|(_, a)| *a);
        match s.keyword {
            "state" => vi.state = first.map(|a| text::shown(a).into_owned()),
            "interface" => vi.interface = first.map(|a| text::shown(a).into_owned()),
            "virtual_router_id" => vi.vrid = first.and_then(|a| a.parse().ok()),
            "priority" => vi.priority = first.and_then(|a| a.parse().ok()).unwrap_or(vi.priority),
            "nopreempt" => vi.nopreempt = true,
            "preempt" => vi.nopreempt = false,
            _ => {}
        }
        r.skip(&s, 1)?;
    }
    Ok(vi)
}

/// A real server as read: its words, line, own timing, and its check's
/// kind and timing.
type PendingServer = (String, usize, Timing, Option<(String, Timing)>);

fn virtual_server(
    r: &mut Reader<'_>,
    open: &Stmt<'_>,
    out: &mut KeepalivedConf,
) -> Result<(), SpecError> {
    let vs = words(open);
    let mut vs_timing = Timing::default();
    // Real servers are finished once the block ends: a virtual-server
    // default may come after them.
    let mut servers: Vec<PendingServer> = Vec::new();
    while let Some(s) = r.inside(open)? {
        if vs_timing.read(&s) {
            r.skip(&s, 1)?;
            continue;
        }
        if s.keyword != "real_server" {
            r.skip(&s, 1)?;
            continue;
        }
        let mut rs_timing = Timing::default();
        let mut check = None;
        while let Some(n) = r.inside(&s)? {
            if rs_timing.read(&n) {
                r.skip(&n, 2)?;
            } else if CHECKERS.contains(&n.keyword) {
                let mut t = Timing::default();
                while let Some(c) = r.inside(&n)? {
                    t.read(&c);
                    r.skip(&c, 3)?;
                }
                check = Some((n.keyword.to_string(), t));
            } else {
                r.skip(&n, 2)?;
            }
        }
        servers.push((words(&s), s.at.0, rs_timing, check));
    }
    for (real_server, line, rs, check) in servers {
        let Some((kind, c)) = check else {
            out.unchecked += 1;
            continue;
        };
        out.checks.push(Check {
            virtual_server: vs.clone(),
            real_server,
            line,
            kind,
            delay_loop: c.delay_loop.or(rs.delay_loop).or(vs_timing.delay_loop),
            connect_timeout: c.connect_timeout.or(rs.connect_timeout).or(vs_timing.connect_timeout),
            retry: c.retry.or(rs.retry).or(vs_timing.retry),
            delay_before_retry: c
                .delay_before_retry
                .or(rs.delay_before_retry)
                .or(vs_timing.delay_before_retry),
            inhibit: c.inhibit || rs.inhibit || vs_timing.inhibit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "\
global_defs { router_id x }
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    nopreempt
    virtual_ipaddress { 192.0.2.1 }
}
virtual_server 192.0.2.1 80 {
    delay_loop 10
    lb_kind DR
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url { path / }
            connect_timeout 2
            nb_get_retry 2
        }
    }
    real_server 10.0.0.2 80 {
        inhibit_on_failure
        TCP_CHECK { }
    }
    real_server 10.0.0.3 80 { weight 1 }
    sorry_server 10.0.0.9 80
}
";

    #[test]
    fn instances_and_checks_are_read_with_their_levels_and_defaults() {
        let c = read("k.conf", CONF).unwrap();
        assert_eq!(c.instances.len(), 1);
        let vi = &c.instances[0];
        assert_eq!((vi.name.as_str(), vi.line, vi.vrid, vi.priority), ("VI_1", 2, Some(51), 150));
        assert!(vi.is_master() && vi.nopreempt);
        assert_eq!(vi.interface.as_deref(), Some("eth0"));
        assert_eq!((c.checks.len(), c.unchecked), (2, 1));
        let http = &c.checks[0];
        assert_eq!((http.kind.as_str(), http.line), ("HTTP_GET", 13));
        // delay_loop from the virtual server, the rest from the check.
        assert_eq!(http.effective(), (10.0, 2.0, 2, 3.0));
        assert_eq!(http.worst_removal_s(), 10.0 + 2.0 + 2.0 * (3.0 + 2.0));
        let tcp = &c.checks[1];
        assert!(tcp.inhibit && !http.inhibit);
        assert_eq!(tcp.effective(), (10.0, 5.0, 1, 1.0));
    }

    #[test]
    fn a_bare_instance_takes_keepalived_defaults_and_bad_syntax_names_the_line() {
        let c = read("k.conf", "vrrp_instance A {\n state BACKUP\n}\n").unwrap();
        assert_eq!(c.instances[0].priority, DEFAULT_PRIORITY);
        assert!(!c.instances[0].is_master());
        let e = read("k.conf", "vrrp_instance A {\n state BACKUP\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = read("k.conf", "}\n").unwrap_err();
        assert!(e.message.contains("closes no block"), "{e}");
    }
}
