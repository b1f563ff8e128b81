//! The result of a run: [`Report`], its JSON schema, and the human table.
//!
//! `lvslab traffic --json` prints a [`Report`] as one JSON object. The schema
//! is committed as `tests/fixtures/traffic-report.schema.json` and a test
//! checks real output against it. Version 1:
//!
//! ```text
//! {
//!   "version": 1,                       // bumped on incompatible change
//!   "target": "192.0.2.1:80",           // the address loaded (the VIP)
//!   "requests": 1000,                   // finished requests: ok + all errors
//!   "ok": 998,                          // 2xx answers read completely
//!   "errors": {"refused": 2, "reset": 0, "timeout": 0, "other": 0},
//!   "by_server": {"rs1": 599, "rs2": 399},   // ok answers per X-Real-Server
//!   "servers": {"rs1": {"ok": 599, "errors": 0,
//!                       "latency_ms": {"p50": 0.4, "p90": 0.6, "p99": 1.2, "max": 3.1}}},
//!   "unattributed_errors": 2,           // errors before any server was known
//!   "latency_ms": {"p50": 0.4, "p90": 0.6, "p99": 1.2, "max": 3.1},  // ok requests
//!   "duration_s": 2.003,                // first start to last finish
//!   "rate": 499.2,                      // requests / duration_s
//!   "connections": 1000,                // TCP connections opened
//!   "missed": 0,                        // open-loop starts skipped (max in flight)
//!   "error_events": [{"at_s": 1.52, "kind": "refused", "server": null}],
//!   "error_events_dropped": 0,          // events beyond the first 1000 are only counted
//!   "failure_window": {"first_s": 1.52, "last_s": 2.61, "count": 14},  // null without errors
//!   "bucket_s": 1.0,                    // width of each timeline bucket (--bucket)
//!   "timeline": [{"at_s": 0.0, "ok": 20, "failed": 0, "servers": {"rs1": 12, "rs2": 8}},
//!                {"at_s": 1.0, "ok": 11, "failed": 9, "servers": {"rs2": 11}}],
//!   "timeline_dropped": 0               // requests that finished after the last bucket kept
//! }
//! ```
//!
//! The timeline puts each finished request in the bucket of the moment it
//! finished (like `error_events`' `at_s`); bucket `i` covers
//! `[i * bucket_s, (i + 1) * bucket_s)` seconds since the start, and every
//! bucket up to the last request's is listed, empty ones included, so a
//! script can plot it as it is.
//!
//! Error kinds: `refused` (connection refused: nothing listening, or RST to
//! the SYN), `reset` (the connection was reset or closed before a complete
//! answer), `timeout` (no complete answer in time), `other` (anything else,
//! including non-2xx answers). An error is attributed to a server in
//! `servers` when its `X-Real-Server` header had arrived.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::histogram::Histogram;

/// The version of the report's JSON schema.
pub const REPORT_VERSION: u32 = 1;

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed before a complete answer.
    Reset,
    /// No complete answer within the timeout.
    Timeout,
    /// Anything else, including a non-2xx status.
    Other,
}

/// Failed requests by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Connections refused.
    pub refused: u64,
    /// Connections reset or closed early.
    pub reset: u64,
    /// Requests timed out.
    pub timeout: u64,
    /// Other failures.
    pub other: u64,
}

impl ErrorCounts {
    /// Counts one error of `kind`.
    pub fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Refused => self.refused += 1,
            ErrorKind::Reset => self.reset += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Other => self.other += 1,
        }
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.refused + self.reset + self.timeout + self.other
    }
}

/// Latency percentiles in milliseconds (within 1 % of the exact values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl LatencyMs {
    /// Percentiles of a histogram of microseconds.
    pub fn from_histogram(histogram: &Histogram) -> Self {
        #[expect(clippy::cast_precision_loss, reason = "microseconds below 2^36")]
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50: ms(histogram.value_at_quantile(0.5)),
            p90: ms(histogram.value_at_quantile(0.9)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
        }
    }
}

/// What one real server did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerReport {
    /// Successful answers.
    pub ok: u64,
    /// Failures after the server was known (non-2xx, reset mid-body, timeout).
    pub errors: u64,
    /// Latency of its successful answers.
    pub latency_ms: LatencyMs,
}

/// One failed request, when it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// Seconds since the run started.
    pub at_s: f64,
    /// Why it failed.
    pub kind: ErrorKind,
    /// The real server, when its header had arrived.
    pub server: Option<String>,
}

/// One slice of the run's outcomes over time ([`Report::timeline`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Seconds since the start at which the bucket begins.
    pub at_s: f64,
    /// Requests that finished successfully in it.
    pub ok: u64,
    /// Requests that failed in it (any kind).
    pub failed: u64,
    /// Successful answers in it per real server: who answered.
    pub servers: BTreeMap<String, u64>,
}

/// When the failures of a run happened: the first, the last, how many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FailureWindow {
    /// Seconds since the start when the first failed request finished.
    pub first_s: f64,
    /// Seconds since the start when the last failed request finished.
    pub last_s: f64,
    /// Failed requests (all kinds; equals `requests - ok`).
    pub count: u64,
}

/// Buckets a report keeps: a day of one-second buckets. Requests finishing
/// later are only counted in [`Report::timeline_dropped`].
pub const MAX_BUCKETS: usize = 86_400;

/// Answers a report keeps in order ([`Report::sequence`]).
pub const SEQUENCE_MAX: usize = 100_000;

/// The outcome of a run; see the module docs for the JSON form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Schema version, [`REPORT_VERSION`].
    pub version: u32,
    /// The address that was loaded.
    pub target: String,
    /// Finished requests (`ok` plus all errors).
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: ErrorCounts,
    /// Successful requests per real server.
    pub by_server: BTreeMap<String, u64>,
    /// Per client source address, successful requests per real server: with
    /// `--clients`, which server each client reached (one, under sh or
    /// persistence). Connections through a keep-alive pool are not in it.
    #[serde(default)]
    pub by_client: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per real server detail.
    pub servers: BTreeMap<String, ServerReport>,
    /// Each successful answer in the order its connection was opened (the
    /// order the director scheduled them, whatever order they finished in):
    /// (client address, real server), at most [`SEQUENCE_MAX`]; for
    /// `traffic --predict` and the dashboard's hit rate.
    /// Not part of the JSON report.
    #[serde(skip)]
    pub sequence: Vec<(std::net::IpAddr, String)>,
    /// Errors with no server known (refused, reset before the headers...).
    pub unattributed_errors: u64,
    /// Latency of successful requests.
    pub latency_ms: LatencyMs,
    /// Seconds from start to the last request's end.
    pub duration_s: f64,
    /// Finished requests per second over `duration_s`.
    pub rate: f64,
    /// TCP connections opened.
    pub connections: u64,
    /// Open-loop starts skipped because `max_in_flight` requests were running.
    pub missed: u64,
    /// The first failures, in order.
    pub error_events: Vec<ErrorEvent>,
    /// Failures beyond those kept in `error_events`.
    pub error_events_dropped: u64,
    /// The first and last failure and their count; `None` without failures.
    #[serde(default)]
    pub failure_window: Option<FailureWindow>,
    /// Width of each [`Bucket`] of `timeline`, in seconds.
    #[serde(default)]
    pub bucket_s: f64,
    /// Outcomes over time, one bucket per `bucket_s` from the start.
    #[serde(default)]
    pub timeline: Vec<Bucket>,
    /// Requests that finished beyond the [`MAX_BUCKETS`] kept.
    #[serde(default)]
    pub timeline_dropped: u64,
}

/// The failure window for people, or `None` without failures:
/// `failures: 14 between 1.52 s and 2.61 s (1.09 s)`.
pub fn render_failure_window(report: &Report) -> Option<String> {
    let w = report.failure_window?;
    Some(format!(
        "failures: {} between {:.2} s and {:.2} s of the run ({:.2} s)\n",
        w.count,
        w.first_s,
        w.last_s,
        w.last_s - w.first_s
    ))
}

/// Renders `by_client` for people: how many clients stayed on one real
/// server (per server), and how many were spread over several.
pub fn render_clients(report: &Report) -> String {
    let mut sticky: BTreeMap<&str, u64> = BTreeMap::new();
    let mut spread = 0;
    for servers in report.by_client.values() {
        match servers.keys().collect::<Vec<_>>().as_slice() {
            [one] => *sticky.entry(one.as_str()).or_default() += 1,
            _ => spread += 1,
        }
    }
    let mut out = format!("\n{} clients", report.by_client.len());
    if sticky.is_empty() {
        out.push_str(": none stayed on one server");
    } else {
        let each: Vec<String> = sticky.iter().map(|(s, n)| format!("{s} {n}")).collect();
        out.push_str(&format!(", each on one server: {}", each.join(", ")));
    }
    if spread > 0 {
        out.push_str(&format!("; {spread} spread over several servers"));
    }
    out.push('\n');
    out
}

/// Renders the report as a table for people: per real server the count, its
/// share, the share expected from `weights` (give weights only where the
/// scheduler makes the split exact: rr, wrr), errors, and p50/p99.
pub fn render_table(report: &Report, weights: Option<&BTreeMap<String, u32>>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} requests to {} in {:.2} s ({:.1}/s): {} ok, {} errors",
        report.requests,
        report.target,
        report.duration_s,
        report.rate,
        report.ok,
        report.errors.total()
    );
    let mut names: Vec<&String> = report.servers.keys().collect();
    if let Some(weights) = weights {
        names.extend(weights.keys().filter(|n| !report.servers.contains_key(*n)));
    }
    names.sort();
    let total_weight: u64 = weights.map_or(0, |w| w.values().map(|&v| u64::from(v)).sum());
    let width = names.iter().map(|n| n.len()).chain([8]).max().unwrap_or(8);
    let _ = writeln!(
        out,
        "{:<width$} {:>9} {:>7} {:>9} {:>7} {:>8} {:>8}",
        "server", "requests", "share", "expected", "errors", "p50 ms", "p99 ms"
    );
    for name in names {
        let server = report.servers.get(name).cloned().unwrap_or_default();
        let expected = match weights.and_then(|w| w.get(name)) {
            Some(&w) if total_weight > 0 => percent(u64::from(w), total_weight),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<width$} {:>9} {:>7} {:>9} {:>7} {:>8.2} {:>8.2}",
            name,
            server.ok,
            percent(server.ok, report.ok),
            expected,
            server.errors,
            server.latency_ms.p50,
            server.latency_ms.p99
        );
    }
    if report.unattributed_errors > 0 {
        let _ = writeln!(
            out,
            "{:<width$} {:>9} {:>7} {:>9} {:>7}",
            "(none)", "-", "-", "-", report.unattributed_errors
        );
    }
    let e = &report.errors;
    let _ = writeln!(
        out,
        "errors: refused {}, reset {}, timeout {}, other {}",
        e.refused, e.reset, e.timeout, e.other
    );
    let l = &report.latency_ms;
    let _ = writeln!(
        out,
        "latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
        l.p50, l.p90, l.p99, l.max
    );
    if let Some(window) = render_failure_window(report) {
        out.push_str(&window);
    }
    out
}

/// `part` as a percentage of `whole`, one decimal, or `-` when `whole` is 0.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    #[expect(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
    let share = 100.0 * part as f64 / whole as f64;
    format!("{share:.1}%")
}
