//! The timeline of a director failover in an HA lab, derived from
//! consecutive snapshots (pure; the dashboard feeds it every snapshot, as
//! it feeds [`super::outage`] for the real servers):
//!
//! ```text
//! master lost ─────────────── new master ──────────────────────── settled
//! (the VIP seen on no          (the VIP seen on a director again:   (FAILURE_TAIL later: each
//!  director, or on another)     the gap is how long the VIP had      request sent into the gap
//!                               no master, as the dashboard saw it)  has failed or got through)
//! ```
//!
//! Failed requests are the dashboard traffic's errors from just before the
//! loss ([`FAILURE_LEAD`]: a failed director stops forwarding before its
//! keepalived gives the VIP up) until the failover settles. Counting goes
//! on after the new master took over because a request whose packets went
//! to the lost master fails only when it times out, seconds later.
//! The timeline only knows what the snapshots say: which director holds
//! the VIP at each poll, so a gap shorter than a poll shows as none.

use std::time::{Duration, SystemTime};

use super::outage::{FAILURE_LEAD, Moment, Tone, after};
use super::snapshot::Snapshot;

/// Failovers the timeline keeps (the newest).
pub const KEPT: usize = 20;
/// How long after the new master took the VIP failures still count: the
/// dashboard traffic's request timeout (5 s, `traffic::Profile::default`;
/// a unit test keeps the two in step) and a second of polls.
pub const FAILURE_TAIL: Duration = Duration::from_secs(6);

/// One loss of the VRRP master, from the loss to the new master and on
/// until the failures it caused are counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failover {
    /// The director that held the VIP.
    pub from: String,
    /// When the dashboard first saw it without the VIP.
    pub lost: SystemTime,
    /// The director that holds the VIP next, and since when.
    pub to: Option<(String, SystemTime)>,
    /// Requests failed when the new master took over.
    pub failed_until_master: u64,
    /// Requests failed from just before the loss until now, or until it settled.
    pub failed: u64,
    /// Whether it is over and its failures counted.
    pub settled: bool,
}

impl Failover {
    /// How long the VIP had no master, as the dashboard saw it (`None`
    /// while it still has none).
    pub fn without_master(&self) -> Option<Duration> {
        self.to.as_ref().map(|(_, at)| at.duration_since(self.lost).unwrap_or(Duration::ZERO))
    }
}

/// The failovers of an HA lab, built snapshot by snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failovers {
    list: Vec<Failover>,
    /// The master in the previous snapshot (outer `None`: no snapshot yet).
    master: Option<Option<String>>,
    /// The traffic's error count in the previous snapshot.
    errors: u64,
    /// Failures counted by no failover, newest last, kept for
    /// [`FAILURE_LEAD`] in case the loss shows at the next poll.
    recent: Vec<(SystemTime, u64)>,
}

impl Failovers {
    /// Every failover kept, oldest first.
    pub fn all(&self) -> &[Failover] {
        &self.list
    }

    /// Takes in the next snapshot; returns what happened since the last
    /// one. A lab without `[ha]` has no master and nothing happens.
    pub fn update(&mut self, snap: &Snapshot) -> Vec<Moment> {
        let mut out = Vec::new();
        let Some(vrrp) = &snap.lab.director.vrrp else { return out };
        let at = snap.at;
        let errors = snap.traffic.as_ref().map_or(0, |t| t.errors);
        // A restarted generator starts its count at 0 again.
        let new_errors = errors.saturating_sub(self.errors);
        self.errors = errors;
        let now = vrrp.master.clone();
        let lost = match self.master.replace(now.clone()) {
            Some(Some(was)) if now.as_ref() != Some(&was) => Some(was),
            _ => None,
        };
        self.settle_due(at, &mut out);
        // A new loss ends the count of the failover before it: this poll's
        // failures are the new one's.
        if lost.is_some()
            && let Some(open) = self.list.last_mut().filter(|f| !f.settled)
        {
            Self::settle(open, at, &mut out);
        }
        match self.list.last_mut().filter(|f| !f.settled) {
            Some(open) => open.failed += new_errors,
            None if new_errors > 0 => self.recent.push((at, new_errors)),
            None => {}
        }
        self.recent.retain(|(t, _)| at.duration_since(*t).is_ok_and(|d| d <= FAILURE_LEAD));
        if let Some(was) = lost {
            self.lose(&was, at, &mut out);
        }
        if let Some(to) = now {
            self.take_over(&to, at, &mut out);
        }
        if self.list.len() > KEPT {
            self.list.drain(..self.list.len() - KEPT);
        }
        out
    }

    /// `from` no longer holds the VIP: a failover starts, with the
    /// failures of the moments just before.
    fn lose(&mut self, from: &str, at: SystemTime, out: &mut Vec<Moment>) {
        let failed: u64 = self.recent.drain(..).map(|(_, n)| n).sum();
        let already = if failed > 0 {
            format!("; {failed} request(s) had already failed")
        } else {
            String::new()
        };
        out.push(Moment {
            tone: Tone::Bad,
            text: format!("{from} lost the VIP (VRRP master lost){already}"),
        });
        self.list.push(Failover {
            from: from.to_string(),
            lost: at,
            to: None,
            failed_until_master: 0,
            failed,
            settled: false,
        });
    }

    /// `to` holds the VIP: the open failover, if it has no master yet, has one.
    fn take_over(&mut self, to: &str, at: SystemTime, out: &mut Vec<Moment>) {
        let Some(open) = self.list.last_mut().filter(|f| !f.settled && f.to.is_none()) else {
            return;
        };
        open.to = Some((to.to_string(), at));
        open.failed_until_master = open.failed;
        let gap = if at == open.lost {
            format!("within one poll of {} losing it", open.from)
        } else {
            format!("{} after {} lost it", after(open.lost, at), open.from)
        };
        out.push(Moment {
            tone: Tone::Good,
            text: format!(
                "{to} holds the VIP (MASTER) {gap}; {} request(s) failed so far",
                open.failed
            ),
        });
    }

    /// Settles the open failover once [`FAILURE_TAIL`] has passed since
    /// its new master took over.
    fn settle_due(&mut self, at: SystemTime, out: &mut Vec<Moment>) {
        let Some(open) = self.list.last_mut().filter(|f| !f.settled) else { return };
        let due = open
            .to
            .as_ref()
            .is_some_and(|(_, since)| at.duration_since(*since).is_ok_and(|d| d > FAILURE_TAIL));
        if due {
            Self::settle(open, at, out);
        }
    }

    fn settle(open: &mut Failover, at: SystemTime, out: &mut Vec<Moment>) {
        open.settled = true;
        let Some((to, since)) = &open.to else {
            // Lost again before any director took over: nothing to sum up
            // beyond the loss already logged.
            return;
        };
        let gap = open.without_master().unwrap_or(Duration::ZERO);
        out.push(Moment {
            tone: if open.failed == 0 { Tone::Good } else { Tone::Info },
            text: format!(
                "failover {} → {to}: the VIP had no master for {:.1} s, {} request(s) failed \
                 (counted until {} after {to} took over)",
                open.from,
                gap.as_secs_f64(),
                open.failed,
                after(*since, at)
            ),
        });
    }
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
