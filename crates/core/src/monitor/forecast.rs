//! The dashboard's running prediction: the [`Predictor`] kept across polls
//! and checked against the servers that answered the dashboard's own
//! traffic, in order. Pure: the poll thread feeds it the service's
//! predictor (built from the table it just read) and the answers that
//! arrived since the last poll; it returns what the panes draw.
//!
//! rr and wrr keep a hidden position, so their predictor is kept while the
//! service's configuration stays the same, synchronised on the first
//! answers and again after a miss; the counting schedulers (lc, wlc, sed,
//! nq) and persistent services are rebuilt from each fresh table, whose
//! counts and templates are the kernel's; sh and dh need only the table.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::predict::{Algo, Predictor};

/// Predicted servers shown ahead.
pub const AHEAD: usize = 5;
/// Connections simulated for the expected share.
const SHARE_RUN: usize = 1000;
/// Answers kept to synchronise rr/wrr again after a miss.
const WINDOW: usize = 64;
/// Fewest answers rr/wrr synchronise on first (otherwise two cycles). After
/// a change of scheduler or weights, the first answers can still come from
/// connections scheduled before it (in flight when the table showed the
/// change); with as few as four (rr over two servers) they could decide
/// the position, costing a miss before the resync.
const MIN_WARMUP: usize = 16;

/// What the dashboard shows of the prediction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PredictionView {
    /// The next servers the scheduler will pick for the dashboard's client.
    pub next: Vec<String>,
    /// Answers compared with their prediction so far.
    pub compared: u64,
    /// Of those, how many the prediction named.
    pub agreed: u64,
    /// Each server's expected share of new connections from this client,
    /// in percent, by server name (the prediction over many connections).
    pub expected: Vec<(String, f64)>,
}

impl PredictionView {
    /// Agreement in percent, once something was compared.
    #[expect(clippy::cast_precision_loss, reason = "connection counts are small")]
    pub fn hit_rate(&self) -> Option<f64> {
        (self.compared > 0).then(|| self.agreed as f64 * 100.0 / self.compared as f64)
    }
}

/// The running prediction of one service.
#[derive(Clone, Debug, Default)]
pub struct Forecast {
    kept: Option<(String, Predictor)>,
    /// Answers consumed so far (the generator's running count).
    consumed: u64,
    /// rr/wrr: answers still to collect before the first sync.
    warmup: Vec<(Ipv4Addr, usize)>,
    synced: bool,
    window: Vec<(Ipv4Addr, usize)>,
    compared: u64,
    agreed: u64,
    client: Option<Ipv4Addr>,
}

impl Forecast {
    /// Takes the service's `fresh` predictor (from the table just read;
    /// `config` names its scheduler, persistence and weights, so a change
    /// starts over), the generator's count of `answered` requests and its
    /// `recent` answers (the newest last), and `client` (the dashboard's
    /// client address). Returns what to draw.
    pub fn update(
        &mut self,
        fresh: Predictor,
        config: &str,
        answered: u64,
        recent: &[(IpAddr, String)],
        client: Ipv4Addr,
    ) -> PredictionView {
        let algo = fresh.algo();
        let keeps_state = matches!(algo, Algo::Rr | Algo::Wrr) && !fresh.persistent();
        let changed = self.kept.as_ref().is_none_or(|(c, _)| c != config);
        if changed {
            *self = Self { consumed: self.consumed.min(answered), ..Self::default() };
            self.synced = !keeps_state;
        }
        // The answers since the last poll are checked against the predictor
        // as it stood then (its counts and templates from the last table).
        let mut predictor = match self.kept.take() {
            Some((_, kept)) => kept,
            None => fresh.clone(),
        };
        // The answers since the last poll, as many as the generator kept.
        let new = usize::try_from(answered.saturating_sub(self.consumed)).unwrap_or(usize::MAX);
        let names: Vec<String> = predictor.dests().iter().map(|d| d.name.clone()).collect();
        for (client, server) in &recent[recent.len().saturating_sub(new)..] {
            let (IpAddr::V4(client), Some(i)) = (client, names.iter().position(|n| n == server))
            else {
                continue;
            };
            self.client = Some(*client);
            self.window.push((*client, i));
            if self.window.len() > WINDOW {
                self.window.remove(0);
            }
            if !self.synced {
                self.warmup.push((*client, i));
                let cycle = names.len()
                    * usize::try_from(
                        predictor.dests().iter().map(|d| d.weight).max().unwrap_or(1),
                    )
                    .unwrap_or(1);
                if self.warmup.len() >= (2 * cycle).clamp(MIN_WARMUP, WINDOW) {
                    predictor.sync(&self.warmup);
                    self.synced = true;
                }
                continue;
            }
            let predicted = predictor.next(*client);
            self.compared += 1;
            if predicted == Some(i) {
                self.agreed += 1;
            } else if keeps_state {
                predictor.sync(&self.window);
            } else {
                predictor.correct(*client, predicted, i);
            }
        }
        self.consumed = answered;
        let client = self.client.unwrap_or(client);
        // Ahead: rr/wrr from where the answers left them, the others from
        // the table just read.
        let basis = if keeps_state { &predictor } else { &fresh };
        let mut ahead = basis.clone();
        let next =
            (0..AHEAD).filter_map(|_| ahead.next(client)).map(|i| names[i].clone()).collect();
        let mut run = basis.clone();
        let mut counts = vec![0usize; names.len()];
        for _ in 0..SHARE_RUN {
            if let Some(i) = run.next(client) {
                counts[i] += 1;
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "at most SHARE_RUN")]
        let expected = names
            .iter()
            .zip(&counts)
            .map(|(n, &c)| (n.clone(), c as f64 * 100.0 / SHARE_RUN as f64))
            .collect();
        let view = PredictionView {
            next: if self.synced { next } else { Vec::new() },
            compared: self.compared,
            agreed: self.agreed,
            expected,
        };
        self.kept = Some((config.to_string(), if keeps_state { predictor } else { fresh }));
        view
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::monitor::predict::{Dest, Persistence};

    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    fn dests(weights: &[u32]) -> Vec<Dest> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Dest {
                name: format!("rs{}", weights.len() - i),
                weight,
                active: 0,
                inactive: 0,
            })
            .collect()
    }

    /// Answers as the kernel's wrr would give them, from a predictor.
    fn answers(p: &mut Predictor, n: usize) -> Vec<(IpAddr, String)> {
        (0..n)
            .map(|_| {
                let i = p.next(CLIENT).unwrap();
                (IpAddr::V4(CLIENT), p.dests()[i].name.clone())
            })
            .collect::<Vec<_>>()
    }

    #[test]
    fn wrr_syncs_then_predicts_every_answer_and_expects_the_weights() {
        // rs2 weight 2, rs1 weight 3 (the kernel lists the newest first).
        let mut kernel = Predictor::new(Algo::Wrr, dests(&[2, 3]), VIP, None);
        let _ = answers(&mut kernel, 7); // the lab ran before the dashboard looked
        let fresh = Predictor::new(Algo::Wrr, dests(&[2, 3]), VIP, None);
        let mut f = Forecast::default();
        let mut seen = Vec::new();
        let mut view = f.update(fresh.clone(), "wrr", 0, &seen, CLIENT);
        assert!(view.next.is_empty(), "no answers yet: rr/wrr's position is unknown");
        for _ in 0..10 {
            seen.extend(answers(&mut kernel, 7));
            view = f.update(fresh.clone(), "wrr", seen.len() as u64, &seen, CLIENT);
        }
        assert_eq!(view.compared, 70 - 16, "16 answers (more than two cycles) synchronise");
        assert_eq!(view.agreed, view.compared, "{view:?}");
        let mut ahead = kernel.clone();
        let truth: Vec<String> = (0..AHEAD)
            .map(|_| {
                let i = ahead.next(CLIENT).unwrap();
                ahead.dests()[i].name.clone()
            })
            .collect();
        assert_eq!(view.next, truth);
        assert_eq!(view.expected, [("rs2".to_string(), 40.0), ("rs1".to_string(), 60.0)]);
        assert_eq!(view.hit_rate(), Some(100.0));
    }

    #[test]
    fn a_persistent_service_with_one_client_expects_everything_on_its_server() {
        let templates = HashMap::from([(u32::from(CLIENT), 1)]);
        let persistence = Persistence { netmask: u32::MAX, templates };
        let fresh = Predictor::new(Algo::Wrr, dests(&[2, 3]), VIP, Some(persistence));
        let seen: Vec<(IpAddr, String)> =
            (0..5).map(|_| (IpAddr::V4(CLIENT), "rs1".to_string())).collect();
        let mut f = Forecast::default();
        let _ = f.update(fresh.clone(), "wrr -p", 0, &[], CLIENT);
        let view = f.update(fresh, "wrr -p", 5, &seen, CLIENT);
        assert_eq!(view.expected, [("rs2".to_string(), 0.0), ("rs1".to_string(), 100.0)]);
        assert_eq!((view.compared, view.agreed), (5, 5));
        assert_eq!(view.next, vec!["rs1".to_string(); AHEAD]);
    }

    #[test]
    fn a_new_configuration_starts_the_count_over() {
        let fresh = Predictor::new(Algo::Sh, dests(&[1, 1]), VIP, None);
        let mut f = Forecast::default();
        let server = f.update(fresh.clone(), "sh", 0, &[], CLIENT).next[0].clone();
        let wrong = if server == "rs1" { "rs2" } else { "rs1" };
        let seen =
            vec![(IpAddr::V4(CLIENT), server.clone()), (IpAddr::V4(CLIENT), wrong.to_string())];
        let view = f.update(fresh.clone(), "sh", 2, &seen, CLIENT);
        assert_eq!((view.compared, view.agreed), (2, 1));
        let view = f.update(fresh, "sh weights changed", 2, &seen, CLIENT);
        assert_eq!((view.compared, view.agreed), (0, 0));
    }

    /// A scheduler changed under traffic: the first answers after the
    /// change still come from the old one (in flight); rr's position is
    /// found from the majority and every later answer is predicted.
    #[test]
    fn answers_from_before_a_change_do_not_decide_the_new_position() {
        let mut old = Predictor::new(Algo::Wrr, dests(&[2, 3]), VIP, None);
        let mut kernel = Predictor::new(Algo::Rr, dests(&[1, 1]), VIP, None);
        let _ = answers(&mut kernel, 1); // rr's phase is not where a new predictor starts
        let mut seen = answers(&mut old, 4); // in flight across the change
        seen.extend(answers(&mut kernel, 60));
        let fresh = Predictor::new(Algo::Rr, dests(&[1, 1]), VIP, None);
        let mut f = Forecast::default();
        let _ = f.update(fresh.clone(), "rr", 0, &[], CLIENT);
        let view = f.update(fresh, "rr", seen.len() as u64, &seen, CLIENT);
        assert_eq!(view.compared, 64 - 16);
        assert_eq!(view.agreed, view.compared, "{view:?}");
    }
}
