//! Verify a prediction: the answers of a run, in the order its connections
//! were made, against what a [`Predictor`] says each connection got —
//! agreement overall and per real server, and the first mismatches.
//! `lvslab traffic --predict` prints the [`Verdict`]. Pure.

use std::net::Ipv4Addr;

use super::predict::{Algo, Counts, Predictor};

/// How a run's answers compared with the prediction.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// The scheduler predicted.
    pub scheduler: String,
    /// Answers used to find rr's or wrr's position (not compared).
    pub synced_on: usize,
    /// Times rr/wrr found their position again after a mismatch.
    pub resyncs: usize,
    /// Predictions made from the counts read from the kernel just before
    /// their connection (lc, wlc, sed, nq); the others follow the counts
    /// from the start of the run.
    pub recounted: usize,
    /// Answers compared with a prediction.
    pub compared: usize,
    /// Of those, how many came from the predicted server.
    pub agreed: usize,
    /// `agreed / compared` in percent (100 when nothing was compared).
    pub percent: f64,
    /// Per real server: connections predicted, answered, and both.
    pub per_server: Vec<ServerVerdict>,
    /// The first mismatches, in order.
    pub mismatches: Vec<Mismatch>,
}

/// One real server's side of a [`Verdict`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServerVerdict {
    /// Its name.
    pub name: String,
    /// Connections predicted to go to it.
    pub predicted: usize,
    /// Connections it answered.
    pub actual: usize,
    /// Connections predicted to go to it that it answered.
    pub agreed: usize,
}

/// A connection that did not go where predicted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// Its number in the run (from 0).
    pub index: usize,
    /// The client address it came from.
    pub client: String,
    /// The predicted server (`none`: the kernel would have found none).
    pub predicted: String,
    /// The server that answered.
    pub actual: String,
}

/// How many mismatches a verdict lists.
const MISMATCHES: usize = 10;

/// Compares `answers` (client, answering server's name), in the order the
/// connections were made, with `predictor`'s choices. For rr and wrr the
/// first `warmup` answers synchronise the hidden position and are not
/// compared. `counts` holds, for each answer, the destinations' counts
/// read from the kernel just before its connection (empty when not read):
/// lc, wlc, sed and nq predict from them, because the kernel's counts also
/// fall in ways a run cannot foresee (an entry expiring, or dropped at once
/// when a client reuses its port).
pub fn verify(
    mut predictor: Predictor,
    scheduler: &str,
    answers: &[(Ipv4Addr, String)],
    warmup: usize,
    counts: &[Counts],
) -> Verdict {
    let recount = predictor.counts_matter() && counts.len() == answers.len();
    let names: Vec<String> = predictor.dests().iter().map(|d| d.name.clone()).collect();
    let index_of = |name: &str| names.iter().position(|n| n == name);
    let synced_on = match predictor.algo() {
        Algo::Rr | Algo::Wrr => warmup.min(answers.len()),
        _ => 0,
    };
    let observed: Vec<(Ipv4Addr, usize)> = answers[..synced_on]
        .iter()
        .map(|(c, name)| (*c, index_of(name).unwrap_or(usize::MAX)))
        .collect();
    if synced_on > 0 {
        predictor.sync(&observed);
    }
    let mut per_server: Vec<ServerVerdict> = names
        .iter()
        .map(|n| ServerVerdict { name: n.clone(), predicted: 0, actual: 0, agreed: 0 })
        .collect();
    let (mut agreed, mut mismatches, mut resyncs, mut recounted) = (0, Vec::new(), 0, 0);
    for (k, (client, actual)) in answers.iter().enumerate().skip(synced_on) {
        if recount && predictor.recount(&counts[k]) {
            recounted += 1;
        }
        let predicted = predictor.next(*client);
        let actual_index = names.iter().position(|n| n == actual);
        if let Some(p) = predicted {
            per_server[p].predicted += 1;
        }
        if let Some(a) = actual_index {
            per_server[a].actual += 1;
        }
        if predicted.is_some() && predicted == actual_index {
            agreed += 1;
            per_server[predicted.unwrap_or(0)].agreed += 1;
        } else {
            // Follow the kernel: the connection went where it went. rr and
            // wrr find their position again from the answers up to here
            // (something unseen, e.g. a dropped SYN, moved the kernel on).
            if matches!(predictor.algo(), Algo::Rr | Algo::Wrr) {
                let from = (k + 1).saturating_sub(warmup.max(1));
                let window: Vec<(Ipv4Addr, usize)> = answers[from..=k]
                    .iter()
                    .map(|(c, name)| (*c, index_of(name).unwrap_or(usize::MAX)))
                    .collect();
                resyncs += 1;
                predictor.sync(&window);
            } else if let Some(a) = actual_index {
                predictor.correct(*client, predicted, a);
            }
            if mismatches.len() < MISMATCHES {
                mismatches.push(Mismatch {
                    index: k,
                    client: client.to_string(),
                    predicted: predicted.map_or_else(|| "none".into(), |p| names[p].clone()),
                    actual: actual.clone(),
                });
            }
        }
    }
    let compared = answers.len() - synced_on;
    #[expect(clippy::cast_precision_loss, reason = "connection counts are small")]
    let percent = if compared == 0 { 100.0 } else { agreed as f64 * 100.0 / compared as f64 };
    Verdict {
        scheduler: scheduler.to_string(),
        synced_on,
        resyncs,
        recounted,
        compared,
        agreed,
        percent,
        per_server,
        mismatches,
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
