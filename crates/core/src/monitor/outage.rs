//! The timeline of a real server's failure, derived from consecutive
//! snapshots (pure; fed by the dashboard with every snapshot it gets):
//!
//! ```text
//! stopped answering ── first failed request ── left the table ── answers again ── back in the table
//! (process down, as     (the dashboard's         (the observer     (process up)      (re-entered, or its
//!  lvslab sees it)       traffic)                 sees it vanish,                      weight back)
//!                                                 or weight 0)
//! ```
//!
//! Under keepalived the server leaves the table after its failed checks and
//! the failures stop; under plain IPVS it never leaves and every request
//! scheduled to it fails until it answers again. Failed requests are the
//! dashboard traffic's errors while the outage is open (the generator does
//! not know which server a refused connection was meant for); with two
//! servers down at once each outage counts them all.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::snapshot::Snapshot;
use crate::lab::model::Control;

/// Outages the timeline keeps (the newest).
pub const KEPT: usize = 20;
/// How long before a server is seen down a failed request still counts as
/// the start of its outage: the process check and the traffic's count come
/// in the same poll, so a poll or two (polls are 100 ms apart; slower under
/// emulation). Failures before that are something else's, e.g. the moment
/// a control-plane switch leaves the table without services.
pub const FAILURE_LEAD: Duration = Duration::from_millis(500);

/// How the table treats a server at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InTable {
    /// In the main service with a weight above 0.
    Weighted(u32),
    /// In the main service with weight 0 (drained, or inhibited by a failed check).
    WeightZero,
    /// Not in the main service (removed by keepalived's check, or by hand).
    Out,
    /// No table was read (no IPVS service).
    Unknown,
}

/// A real server's health as the lab and the checker see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    /// Whether its HTTP process runs (lvslab's view).
    pub process_up: bool,
    /// Where the table has it (the checker's verdict, under keepalived).
    pub table: InTable,
    /// Whether something checks it (keepalived owns the table).
    pub checked: bool,
}

impl Health {
    /// `rs`'s health in `snap`.
    pub fn of(snap: &Snapshot, rs: &str) -> Option<Self> {
        let view = snap.real_server(rs)?;
        let table = match snap.main_service() {
            None => InTable::Unknown,
            Some(svc) => match svc.dest(rs) {
                None => InTable::Out,
                Some(d) if d.weight == 0 => InTable::WeightZero,
                Some(d) => InTable::Weighted(d.weight),
            },
        };
        Some(Self { process_up: view.up, table, checked: snap.lab.control == Control::Keepalived })
    }

    /// The short mark the dashboard shows beside a server: `out` (not in
    /// the table), `w0` (weight 0 while its process is down: a failed
    /// check under failed-check = weight-0), else nothing.
    pub fn mark(&self) -> Option<&'static str> {
        match (self.table, self.process_up) {
            (InTable::Out, _) => Some("out"),
            (InTable::WeightZero, false) => Some("w0"),
            _ => None,
        }
    }

    fn serving(&self) -> bool {
        matches!(self.table, InTable::Weighted(_))
    }
}

/// How a server left the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Its destination was removed.
    Removed,
    /// Its weight became 0.
    WeightZero,
}

/// One failure of one real server, from its start to its return.
#[derive(Clone, Debug, PartialEq)]
pub struct Outage {
    /// The real server.
    pub server: String,
    /// When it stopped answering: its process was seen down, or, if
    /// earlier, the first failed request just before.
    pub started: SystemTime,
    /// When the first request failed after it stopped.
    pub first_failure: Option<SystemTime>,
    /// When it left the table, and how.
    pub left: Option<(SystemTime, Exit)>,
    /// Requests that failed from the start until it left the table (or
    /// until now, if it has not).
    pub failed_before_out: u64,
    /// Requests that failed during the whole outage.
    pub failed: u64,
    /// When its process was seen up again.
    pub answering: Option<SystemTime>,
    /// When it was back in the table with a weight.
    pub back: Option<SystemTime>,
    /// Whether keepalived checked it when it stopped.
    pub checked: bool,
}

impl Outage {
    /// Whether it is over: answering and serving again.
    pub fn over(&self) -> bool {
        self.answering.is_some() && (self.left.is_none() || self.back.is_some())
    }
}

/// Whether a line is bad news or good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Failing.
    Bad,
    /// Recovered.
    Good,
    /// A fact.
    Info,
}

/// One step of a timeline, for the events log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moment {
    /// Its tone (the log's colour).
    pub tone: Tone,
    /// What happened, with its time since the outage started.
    pub text: String,
}

/// What the timeline remembers of the previous snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    errors: u64,
    health: BTreeMap<String, Health>,
}

/// Failure timelines of a lab's real servers, built snapshot by snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    outages: Vec<Outage>,
    seen: Seen,
    /// When requests started failing with no outage open, and how many
    /// have (the server may be seen down a poll later).
    failing: Option<(SystemTime, u64)>,
}

/// Seconds from `from` to `to`, for people: `1.4 s`.
pub(super) fn after(from: SystemTime, to: SystemTime) -> String {
    format!("{:.1} s", to.duration_since(from).unwrap_or(Duration::ZERO).as_secs_f64())
}

impl Timeline {
    /// Every outage kept, oldest first; the open ones last.
    pub fn outages(&self) -> &[Outage] {
        &self.outages
    }

    /// The open outage of `server`, if any.
    pub fn open(&self, server: &str) -> Option<&Outage> {
        self.outages.iter().rev().find(|o| o.server == server && !o.over())
    }

    /// Takes in the next snapshot; returns what happened since the last one.
    pub fn update(&mut self, snap: &Snapshot) -> Vec<Moment> {
        let mut out = Vec::new();
        let errors = snap.traffic.as_ref().map_or(0, |t| t.errors);
        // A restarted generator starts its count at 0 again.
        let new_errors = errors.saturating_sub(self.seen.errors);
        // Failures first: they happened before this poll saw the table or
        // the process change.
        self.count_failures(new_errors, snap.at, &mut out);
        let mut health = BTreeMap::new();
        for rs in &snap.lab.real_servers {
            let Some(now) = Health::of(snap, &rs.name) else { continue };
            let before = self.seen.health.get(&rs.name).copied();
            self.step(&rs.name, before, now, snap.at, &mut out);
            health.insert(rs.name.clone(), now);
        }
        self.seen = Seen { errors, health };
        let open = self.outages.iter().filter(|o| !o.over()).count();
        let closed = self.outages.len() - open;
        if closed > KEPT {
            let mut drop = closed - KEPT;
            self.outages.retain(|o| {
                let gone = drop > 0 && o.over();
                drop -= usize::from(gone);
                !gone
            });
        }
        out
    }

    fn step(
        &mut self,
        name: &str,
        before: Option<Health>,
        now: Health,
        at: SystemTime,
        out: &mut Vec<Moment>,
    ) {
        let Some(before) = before else { return };
        if before.process_up && !now.process_up && self.open(name).is_none() {
            let lead = self
                .failing
                .take()
                .filter(|(f, _)| at.duration_since(*f).is_ok_and(|since| since <= FAILURE_LEAD));
            let started = lead.map_or(at, |(f, _)| f);
            let how = if now.checked {
                "keepalived's checks will take it out of the table"
            } else {
                "no health checks: it keeps its share of the traffic, which fails"
            };
            out.push(Moment { tone: Tone::Bad, text: format!("{name}: outage starts ({how})") });
            match lead {
                Some((first, failed)) if first < at => out.push(Moment {
                    tone: Tone::Bad,
                    text: format!(
                        "{name}: {failed} request(s) had already failed, the first {} before",
                        after(first, at)
                    ),
                }),
                Some((_, failed)) => out.push(Moment {
                    tone: Tone::Bad,
                    text: format!("{name}: {failed} request(s) failed as it stopped answering"),
                }),
                None => {}
            }
            self.outages.push(Outage {
                server: name.to_string(),
                started,
                first_failure: lead.map(|(f, _)| f),
                left: None,
                failed_before_out: lead.map_or(0, |(_, n)| n),
                failed: lead.map_or(0, |(_, n)| n),
                answering: None,
                back: None,
                checked: now.checked,
            });
        }
        let Some(outage) = self.outages.iter_mut().rev().find(|o| o.server == name && !o.over())
        else {
            return;
        };
        if outage.left.is_none() && before.serving() && !now.serving() {
            let exit = if now.table == InTable::Out { Exit::Removed } else { Exit::WeightZero };
            outage.left = Some((at, exit));
            let what = match exit {
                Exit::Removed => "left the IPVS table",
                Exit::WeightZero => "got weight 0 in the IPVS table",
            };
            out.push(Moment {
                tone: Tone::Info,
                text: format!(
                    "{name} {what} {} after it stopped answering; {} request(s) failed meanwhile",
                    after(outage.started, at),
                    outage.failed_before_out
                ),
            });
        }
        if outage.answering.is_none() && now.process_up {
            outage.answering = Some(at);
            let down = after(outage.started, at);
            let text = if outage.left.is_some() {
                format!("{name}: up again after {down} down; waiting for its check to pass")
            } else {
                format!(
                    "{name}: outage over after {down}: {} request(s) failed, it never left the \
                     table{}",
                    outage.failed,
                    if outage.checked { "" } else { " (no health checks)" }
                )
            };
            out.push(Moment { tone: Tone::Good, text });
        }
        if outage.left.is_some() && outage.back.is_none() && now.serving() {
            outage.back = Some(at);
            let out_for = outage.left.map_or_else(String::new, |(l, _)| after(l, at));
            out.push(Moment {
                tone: Tone::Good,
                text: format!(
                    "{name} back in the IPVS table: outage {}, out of the table {out_for}, {} \
                     request(s) failed",
                    after(outage.started, at),
                    outage.failed
                ),
            });
        }
    }

    fn count_failures(&mut self, new_errors: u64, at: SystemTime, out: &mut Vec<Moment>) {
        if new_errors == 0 {
            return;
        }
        let mut any_open = false;
        for outage in self.outages.iter_mut().filter(|o| !o.over()) {
            any_open = true;
            outage.failed += new_errors;
            if outage.left.is_none() {
                outage.failed_before_out += new_errors;
            }
            if outage.first_failure.is_none() {
                outage.first_failure = Some(at);
                out.push(Moment {
                    tone: Tone::Bad,
                    text: format!(
                        "{}: first failed request {} after it stopped answering",
                        outage.server,
                        after(outage.started, at)
                    ),
                });
            }
        }
        if !any_open {
            // Perhaps the process is seen down at the next poll: then the
            // outage started here.
            self.failing = Some(match self.failing {
                Some((first, n)) if at.duration_since(first).is_ok_and(|d| d <= FAILURE_LEAD) => {
                    (first, n + new_errors)
                }
                _ => (at, new_errors),
            });
        }
    }
}

#[cfg(test)]
#[path = "outage_tests.rs"]
mod tests;
