//! What became of one held connection, judged against IPVS's own timeout
//! rather than the client's patience: a connection that fails within half
//! the configured timeout was reset (fast); one that stalled longer hung,
//! whether the director's reset ended the stall once the entry expired or
//! the client gave up first.

use serde::Serialize;

/// How a held connection ended, as the client saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// Every request of its work was answered; closed by the client.
    Completed,
    /// A request failed (reset, or closed under it) this many seconds after
    /// the change.
    Failed(f64),
    /// A request was still unanswered when the client gave up, this many
    /// seconds after the change.
    GaveUp(f64),
}

/// The three outcomes the removal experiment counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Finished its work.
    Completed,
    /// Failed fast: within half the IPVS tcp timeout of the change.
    Reset,
    /// Stalled at least half the IPVS tcp timeout.
    Hung,
}

impl End {
    /// The outcome against `timeout_s`, IPVS's tcp timeout.
    pub fn outcome(self, timeout_s: u32) -> Outcome {
        let half = f64::from(timeout_s) / 2.0;
        match self {
            End::Completed => Outcome::Completed,
            End::Failed(s) if s < half => Outcome::Reset,
            End::Failed(_) | End::GaveUp(_) => Outcome::Hung,
        }
    }

    /// Seconds from the change to the failure, if it failed.
    pub fn failed_after(self) -> Option<f64> {
        match self {
            End::Completed => None,
            End::Failed(s) | End::GaveUp(s) => Some(s),
        }
    }
}

/// The median of `values` (`None` when empty).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_judged_against_the_ipvs_timeout() {
        assert_eq!(End::Failed(0.2).outcome(4), Outcome::Reset);
        assert_eq!(End::Failed(6.2).outcome(4), Outcome::Hung);
        assert_eq!(End::GaveUp(12.0).outcome(4), Outcome::Hung);
        assert_eq!(End::Completed.outcome(4), Outcome::Completed);
        assert_eq!(End::Failed(2.5).outcome(60), Outcome::Reset);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut []), None);
    }
}
