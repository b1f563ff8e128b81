//! The generator's running totals, shared by every request task.
//!
//! One short mutex section per finished request keeps the counts consistent
//! with each other (`ok` always equals the sum of `by_server`), which is what
//! a person reading the dashboard expects; gauges that change twice per
//! request (in flight, connections) are atomics. Neither is held across an
//! `.await`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::histogram::Histogram;
use super::profile::Load;
use super::results::{
    Bucket, ErrorCounts, ErrorEvent, ErrorKind, FailureWindow, LatencyMs, MAX_BUCKETS,
    REPORT_VERSION, Report, ServerReport,
};

/// How many error events a report keeps; later ones are only counted.
const MAX_ERROR_EVENTS: usize = 1000;
/// The `by_server` key for a 2xx answer without an `X-Real-Server` header.
pub const UNNAMED_SERVER: &str = "(unnamed)";

/// A periodic view of a running generator, cumulative since its start.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Time since the start.
    pub elapsed: Duration,
    /// Finished requests (ok + errors).
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: ErrorCounts,
    /// Successful requests per real server.
    pub by_server: BTreeMap<String, u64>,
    /// Requests started and not yet finished.
    pub in_flight: u64,
    /// TCP connections opened.
    pub connections: u64,
    /// Open-loop starts skipped at the in-flight limit.
    pub missed: u64,
    /// Finished requests per second since the previous snapshot.
    pub interval_rate: f64,
    /// The load being offered now (the ramp's current rate while ramping).
    pub load: Load,
    /// Latency of successful requests so far.
    pub latency_ms: LatencyMs,
    /// True in the last snapshot, once every request has finished.
    pub finished: bool,
    /// Answers recorded in order so far (stops at the report's sequence limit).
    pub answered: u64,
    /// The newest of those answers, oldest first: (client, server), at most
    /// `RECENT`.
    pub recent: Vec<(std::net::IpAddr, String)>,
}

/// Answers a progress snapshot carries: more than arrive between two polls
/// of the dashboard at any rate it offers.
pub const RECENT: usize = 256;

#[derive(Default)]
struct PerServer {
    ok: u64,
    errors: u64,
    latency: Histogram,
}

#[derive(Default)]
struct Inner {
    ok: u64,
    errors: ErrorCounts,
    servers: HashMap<String, PerServer>,
    latency: Histogram,
    unattributed: u64,
    events: Vec<ErrorEvent>,
    events_dropped: u64,
    clients: HashMap<std::net::IpAddr, BTreeMap<String, u64>>,
    sequence: Vec<(std::net::IpAddr, String)>,
    /// Connections in the order they were opened, from the oldest one not
    /// yet settled: the answers wait here until every older connection has
    /// answered or failed, so `sequence` follows the order in which the
    /// director saw the connections (its scheduling order), not the order
    /// they happened to finish in.
    opened: VecDeque<Slot>,
    /// The ticket of `opened[0]`.
    first_ticket: u64,
    buckets: Vec<Bucket>,
    buckets_dropped: u64,
    /// (first, last) failure, seconds since the start.
    failed_between: Option<(f64, f64)>,
}

/// A connection waiting in [`Inner::opened`].
enum Slot {
    Open,
    Answered(std::net::IpAddr, String),
    Gone,
}

impl Inner {
    /// The timeline bucket for a request finishing `at` after the start
    /// (created, with the empty ones before it, on first use); `None`
    /// beyond [`MAX_BUCKETS`].
    fn bucket(&mut self, at: Duration, width: Duration) -> Option<&mut Bucket> {
        let index = usize::try_from(at.as_nanos() / width.as_nanos().max(1)).unwrap_or(usize::MAX);
        if index >= MAX_BUCKETS {
            self.buckets_dropped += 1;
            return None;
        }
        while self.buckets.len() <= index {
            #[expect(clippy::cast_precision_loss, reason = "at most MAX_BUCKETS buckets")]
            let at_s = self.buckets.len() as f64 * width.as_secs_f64();
            self.buckets.push(Bucket { at_s, ..Bucket::default() });
        }
        self.buckets.get_mut(index)
    }
}

/// Totals of one run.
pub(crate) struct Tally {
    started: Instant,
    bucket: Duration,
    inner: Mutex<Inner>,
    /// Requests started and not finished.
    pub(crate) in_flight: AtomicU64,
    /// TCP connections opened.
    pub(crate) connections: AtomicU64,
    /// Open-loop starts skipped.
    pub(crate) missed: AtomicU64,
}

impl Tally {
    /// Totals from `started`, with a timeline of `bucket`-wide buckets.
    pub(crate) fn new(started: Instant, bucket: Duration) -> Self {
        Self {
            started,
            bucket,
            inner: Mutex::default(),
            in_flight: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            missed: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A ticket for a connection just opened: its place in the order of
    /// answers, settled by [`Tally::ok`] or [`Tally::settle`].
    pub(crate) fn opened(&self) -> u64 {
        let mut inner = self.lock();
        inner.opened.push_back(Slot::Open);
        inner.first_ticket + inner.opened.len() as u64 - 1
    }

    /// Settles connection `ticket` without an answer (it failed or was
    /// aborted), so the answers after it are no longer held back.
    pub(crate) fn settle(&self, ticket: Option<u64>) {
        Self::set_slot(&mut self.lock(), ticket, Slot::Gone);
    }

    fn set_slot(inner: &mut Inner, ticket: Option<u64>, slot: Slot) {
        let Some(ticket) = ticket else { return };
        let Some(i) = ticket.checked_sub(inner.first_ticket) else { return };
        if let Some(place) = usize::try_from(i).ok().and_then(|i| inner.opened.get_mut(i)) {
            *place = slot;
        }
        while matches!(inner.opened.front(), Some(Slot::Answered(..) | Slot::Gone)) {
            inner.first_ticket += 1;
            if let Some(Slot::Answered(client, name)) = inner.opened.pop_front()
                && inner.sequence.len() < super::results::SEQUENCE_MAX
            {
                inner.sequence.push((client, name));
            }
        }
    }

    /// Counts a successful answer from `server` on connection `ticket`.
    pub(crate) fn ok(
        &self,
        server: Option<&str>,
        client: Option<std::net::IpAddr>,
        ticket: Option<u64>,
        latency: Duration,
    ) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let name = server.unwrap_or(UNNAMED_SERVER);
        let at = self.started.elapsed();
        let mut inner = self.lock();
        if let Some(bucket) = inner.bucket(at, self.bucket) {
            bucket.ok += 1;
            match bucket.servers.get_mut(name) {
                Some(n) => *n += 1,
                None => {
                    bucket.servers.insert(name.to_string(), 1);
                }
            }
        }
        let slot = client.map_or(Slot::Gone, |c| Slot::Answered(c, name.to_string()));
        Self::set_slot(&mut inner, ticket, slot);
        if let Some(client) = client {
            let per = inner.clients.entry(client).or_default();
            match per.get_mut(name) {
                Some(n) => *n += 1,
                None => {
                    per.insert(name.to_string(), 1);
                }
            }
        }
        inner.ok += 1;
        inner.latency.record(micros);
        let entry = match inner.servers.get_mut(name) {
            Some(entry) => entry,
            None => inner.servers.entry(name.to_string()).or_default(),
        };
        entry.ok += 1;
        entry.latency.record(micros);
    }

    /// Counts a failure, attributed to `server` when it is known.
    pub(crate) fn error(&self, kind: ErrorKind, server: Option<&str>) {
        let at = self.started.elapsed();
        let at_s = at.as_secs_f64();
        let mut inner = self.lock();
        inner.errors.add(kind);
        if let Some(bucket) = inner.bucket(at, self.bucket) {
            bucket.failed += 1;
        }
        inner.failed_between = Some(match inner.failed_between {
            Some((first, _)) => (first, at_s),
            None => (at_s, at_s),
        });
        match server {
            Some(name) => match inner.servers.get_mut(name) {
                Some(entry) => entry.errors += 1,
                None => inner.servers.entry(name.to_string()).or_default().errors += 1,
            },
            None => inner.unattributed += 1,
        }
        if inner.events.len() < MAX_ERROR_EVENTS {
            inner.events.push(ErrorEvent { at_s, kind, server: server.map(str::to_string) });
        } else {
            inner.events_dropped += 1;
        }
    }

    /// A progress snapshot; `interval_rate` is filled in by the caller.
    pub(crate) fn progress(&self, load: Load, finished: bool) -> Progress {
        let inner = self.lock();
        Progress {
            elapsed: self.started.elapsed(),
            requests: inner.ok + inner.errors.total(),
            ok: inner.ok,
            errors: inner.errors,
            by_server: inner.servers.iter().map(|(k, v)| (k.clone(), v.ok)).collect(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            missed: self.missed.load(Ordering::Relaxed),
            interval_rate: 0.0,
            load,
            latency_ms: LatencyMs::from_histogram(&inner.latency),
            finished,
            answered: inner.sequence.len() as u64,
            recent: inner.sequence[inner.sequence.len().saturating_sub(RECENT)..].to_vec(),
        }
    }

    /// The final report, `duration` after the start.
    pub(crate) fn report(&self, target: String, duration: Duration) -> Report {
        let inner = self.lock();
        let requests = inner.ok + inner.errors.total();
        let duration_s = duration.as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
        let rate = if duration_s > 0.0 { requests as f64 / duration_s } else { 0.0 };
        let servers: BTreeMap<String, ServerReport> = inner
            .servers
            .iter()
            .map(|(name, s)| {
                let latency_ms = LatencyMs::from_histogram(&s.latency);
                (name.clone(), ServerReport { ok: s.ok, errors: s.errors, latency_ms })
            })
            .collect();
        Report {
            version: REPORT_VERSION,
            target,
            requests,
            ok: inner.ok,
            errors: inner.errors,
            by_server: servers.iter().map(|(k, v)| (k.clone(), v.ok)).collect(),
            by_client: inner.clients.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            servers,
            sequence: inner.sequence.clone(),
            unattributed_errors: inner.unattributed,
            latency_ms: LatencyMs::from_histogram(&inner.latency),
            duration_s,
            rate,
            connections: self.connections.load(Ordering::Relaxed),
            missed: self.missed.load(Ordering::Relaxed),
            error_events: inner.events.clone(),
            error_events_dropped: inner.events_dropped,
            failure_window: inner.failed_between.map(|(first_s, last_s)| FailureWindow {
                first_s,
                last_s,
                count: inner.errors.total(),
            }),
            bucket_s: self.bucket.as_secs_f64(),
            timeline: inner.buckets.clone(),
            timeline_dropped: inner.buckets_dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outcomes land in the bucket of the moment they finished, empty
    /// buckets in between are listed, and the failure window spans the
    /// first to the last failure.
    #[test]
    fn buckets_hold_outcomes_by_time_and_server() {
        let started = Instant::now();
        let tally = Tally::new(started, Duration::from_millis(100));
        let mut inner = tally.lock();
        let width = Duration::from_millis(100);
        inner.bucket(Duration::from_millis(20), width).unwrap().ok += 1;
        inner.bucket(Duration::from_millis(350), width).unwrap().failed += 2;
        assert_eq!(inner.buckets.len(), 4);
        assert_eq!(inner.buckets[0].ok, 1);
        assert_eq!((inner.buckets[1].ok, inner.buckets[1].failed), (0, 0));
        assert_eq!(inner.buckets[3].failed, 2);
        assert!((inner.buckets[3].at_s - 0.3).abs() < 1e-9);
        assert!(inner.bucket(Duration::from_secs(86_400), width).is_none());
        assert_eq!(inner.buckets_dropped, 1);
        drop(inner);

        // Wide buckets, so a slow test machine still finishes in the first.
        let tally = Tally::new(started, Duration::from_secs(60));
        tally.ok(Some("rs1"), None, None, Duration::from_millis(1));
        tally.ok(Some("rs1"), None, None, Duration::from_millis(1));
        tally.ok(Some("rs2"), None, None, Duration::from_millis(1));
        tally.error(ErrorKind::Refused, None);
        tally.error(ErrorKind::Reset, Some("rs1"));
        let report = tally.report("x".into(), started.elapsed());
        let first = &report.timeline[0];
        assert_eq!(first.servers.get("rs1"), Some(&2));
        assert_eq!(first.servers.get("rs2"), Some(&1));
        assert_eq!(first.failed, 2);
        let window = report.failure_window.unwrap();
        assert_eq!(window.count, 2);
        assert!(window.first_s <= window.last_s);
        assert_eq!(report.timeline.len(), 1);
        assert_eq!(first.ok, 3);
        assert!((report.bucket_s - 60.0).abs() < 1e-9);
    }

    #[test]
    fn no_failures_no_window() {
        let tally = Tally::new(Instant::now(), Duration::from_secs(1));
        tally.ok(Some("rs1"), None, None, Duration::from_millis(1));
        let report = tally.report("x".into(), Duration::from_secs(1));
        assert_eq!(report.failure_window, None);
        assert_eq!(report.timeline.len(), 1);
        assert_eq!(super::super::results::render_failure_window(&report), None);
    }

    /// Answers that finish out of order are recorded in the order their
    /// connections were opened; a failed connection holds nothing back.
    #[test]
    fn the_sequence_follows_the_order_connections_were_opened() {
        let tally = Tally::new(Instant::now(), Duration::from_secs(1));
        let c = |n: u8| Some(std::net::IpAddr::from([192, 0, 2, n]));
        let (a, b, failed, d) = (tally.opened(), tally.opened(), tally.opened(), tally.opened());
        let ms = Duration::from_millis(1);
        tally.ok(Some("rs2"), c(2), Some(b), ms);
        assert!(tally.progress(Load::Concurrency(1), false).recent.is_empty(), "b waits for a");
        tally.ok(Some("rs4"), c(4), Some(d), ms);
        tally.ok(Some("rs1"), c(1), Some(a), ms);
        let names = |t: &Tally| -> Vec<String> {
            t.progress(Load::Concurrency(1), false).recent.into_iter().map(|(_, s)| s).collect()
        };
        assert_eq!(names(&tally), ["rs1", "rs2"], "d waits for the third");
        tally.error(ErrorKind::Reset, None);
        tally.settle(Some(failed));
        assert_eq!(names(&tally), ["rs1", "rs2", "rs4"]);
        assert_eq!(tally.progress(Load::Concurrency(1), false).answered, 3);
        assert_eq!(tally.report("t".into(), ms).sequence.len(), 3);
    }
}
