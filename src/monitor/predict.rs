//! Predict, then verify: which real server the director gives the next new
//! connection, computed with the kernel's own algorithms (ip_vs_rr.c,
//! ip_vs_wrr.c, ip_vs_sh.c, ip_vs_dh.c, ip_vs_lc.c, ip_vs_wlc.c,
//! ip_vs_sed.c, ip_vs_nq.c, and the persistence templates of
//! ip_vs_core.c) from what lvslab can see: the destinations in the kernel's
//! order (newest first, so ties go to the newest), their weights and
//! connection counts, and the templates in the connection table. Pure.
//!
//! What cannot be seen: rr's and wrr's position in their list (kept in the
//! kernel, not exported). [`Predictor::sync`] recovers it from the first
//! answers observed: every possible position is tried, and the one that
//! reproduces those answers is kept. sh and dh need no state beyond the
//! table; lc, wlc, sed and nq need the counts, which [`Predictor::next`]
//! updates as each predicted connection would (a new connection is
//! inactive until established; a short one stays inactive in TIME_WAIT).

use std::collections::HashMap;
use std::net::Ipv4Addr;

/// The multiplier of the kernel's sh/dh hash (the golden ratio prime).
const HASH_MULT: u32 = 2_654_435_761;
/// Buckets of the sh and dh tables (IP_VS_SH_TAB_BITS = IP_VS_DH_TAB_BITS = 8).
const TAB_SIZE: usize = 256;

/// One destination as the kernel lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    /// The lab's name for it.
    pub name: String,
    /// Its weight (0: quiesced, never chosen for a new client).
    pub weight: u32,
    /// ActiveConn.
    pub active: u32,
    /// InActConn.
    pub inactive: u32,
}

/// The schedulers whose choice can be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Source hashing.
    Sh,
    /// Destination hashing.
    Dh,
    /// Least connections.
    Lc,
    /// Weighted least connections.
    Wlc,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
}

impl Algo {
    /// The algorithm of scheduler `name`, or why its choice cannot be predicted.
    pub fn of(name: &str) -> Result<Self, &'static str> {
        Ok(match name {
            "rr" => Self::Rr,
            "wrr" => Self::Wrr,
            "sh" => Self::Sh,
            "dh" => Self::Dh,
            "lc" => Self::Lc,
            "wlc" => Self::Wlc,
            "sed" => Self::Sed,
            "nq" => Self::Nq,
            "lblc" | "lblcr" => {
                return Err("lblc/lblcr keep a per-destination-address table of server sets \
                            that the kernel does not export");
            }
            "mh" => {
                return Err("mh's lookup table is built from permutations seeded by siphash \
                            keys that are random per boot");
            }
            "fo" | "ovf" => {
                return Err("fo/ovf depend on the overload flag, which the kernel does not export");
            }
            _ => return Err("this scheduler's algorithm is not modelled"),
        })
    }
}

/// Persistence as the service has it: templates per client subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persistence {
    /// The persistence netmask (ipvsadm -M), host order.
    pub netmask: u32,
    /// Client subnet (masked address) -> destination index.
    pub templates: HashMap<u32, usize>,
}

/// rr's and wrr's hidden position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mark {
    /// Index of the last destination chosen; `None` is the list head.
    last: Option<usize>,
    /// wrr's current weight.
    cw: i64,
}

/// Predicts a service's choices, connection after connection.
#[derive(Clone, Debug)]
pub struct Predictor {
    algo: Algo,
    dests: Vec<Dest>,
    vip: Ipv4Addr,
    mark: Mark,
    buckets: Vec<Option<usize>>,
    persistence: Option<Persistence>,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Predictor {
    /// A predictor for a service on `vip` scheduled by `algo` over `dests`
    /// (in the kernel's order), with persistence when given. rr and wrr
    /// start where a new service starts (call [`Predictor::sync`] otherwise).
    pub fn new(
        algo: Algo,
        dests: Vec<Dest>,
        vip: Ipv4Addr,
        persistence: Option<Persistence>,
    ) -> Self {
        let mut p = Self {
            algo,
            dests,
            vip,
            mark: Mark { last: None, cw: 0 },
            buckets: Vec::new(),
            persistence,
        };
        p.mark.cw = p.wrr_mw();
        p.buckets = match algo {
            Algo::Sh => p.sh_buckets(),
            Algo::Dh => p.dh_buckets(),
            _ => Vec::new(),
        };
        p
    }

    /// The destinations, with the counts as predicted so far.
    pub fn dests(&self) -> &[Dest] {
        &self.dests
    }

    fn wrr_di(&self) -> i64 {
        let g = self
            .dests
            .iter()
            .map(|d| i64::from(d.weight))
            .filter(|&w| w > 0)
            .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
        if g > 0 { g } else { 1 }
    }

    fn wrr_mw(&self) -> i64 {
        let max = self.dests.iter().map(|d| i64::from(d.weight)).max().unwrap_or(0);
        max - (self.wrr_di() - 1)
    }

    /// sh's table: each destination in turn fills as many buckets as its weight.
    fn sh_buckets(&self) -> Vec<Option<usize>> {
        if self.dests.is_empty() {
            return vec![None; TAB_SIZE];
        }
        let (mut i, mut count) = (0, 0u32);
        (0..TAB_SIZE)
            .map(|_| {
                let here = i;
                count += 1;
                if count >= self.dests[i].weight {
                    i = (i + 1) % self.dests.len();
                    count = 0;
                }
                Some(here)
            })
            .collect()
    }

    /// dh's table: one bucket per destination in turn.
    fn dh_buckets(&self) -> Vec<Option<usize>> {
        if self.dests.is_empty() {
            return vec![None; TAB_SIZE];
        }
        (0..TAB_SIZE).map(|b| Some(b % self.dests.len())).collect()
    }

    /// The kernel's bucket for an IPv4 address (and port, 0 unless sh-port).
    pub fn bucket(addr: Ipv4Addr, port: u16) -> usize {
        let key = u32::from(addr).wrapping_add(u32::from(port)).wrapping_mul(HASH_MULT);
        (key as usize) & (TAB_SIZE - 1)
    }

    fn available(&self, i: usize) -> bool {
        self.dests[i].weight > 0
    }

    /// The destination for a new connection from `client`, and the state
    /// moved on as the kernel's would be; `None` when the kernel would find
    /// no destination.
    pub fn next(&mut self, client: Ipv4Addr) -> Option<usize> {
        let subnet = self.persistence.as_ref().map(|p| u32::from(client) & p.netmask);
        if let (Some(p), Some(subnet)) = (&self.persistence, subnet)
            && let Some(&i) = p.templates.get(&subnet)
        {
            self.dests[i].inactive += 1;
            return Some(i);
        }
        let chosen = self.schedule(client)?;
        if let (Some(p), Some(subnet)) = (&mut self.persistence, subnet) {
            p.templates.insert(subnet, chosen);
        }
        self.dests[chosen].inactive += 1;
        Some(chosen)
    }

    fn schedule(&mut self, client: Ipv4Addr) -> Option<usize> {
        let n = self.dests.len();
        if n == 0 {
            return None;
        }
        match self.algo {
            Algo::Rr => {
                let start = self.mark.last.map_or(0, |l| l + 1);
                let found = (0..n).map(|k| (start + k) % n).find(|&i| self.available(i))?;
                self.mark.last = Some(found);
                Some(found)
            }
            Algo::Wrr => self.wrr(),
            Algo::Sh => self.buckets[Self::bucket(client, 0)].filter(|&i| self.available(i)),
            Algo::Dh => self.buckets[Self::bucket(self.vip, 0)].filter(|&i| self.available(i)),
            Algo::Lc => {
                let overhead = |d: &Dest| u64::from(d.active) * 256 + u64::from(d.inactive);
                let mut least: Option<usize> = None;
                for i in (0..n).filter(|&i| self.available(i)) {
                    if least.is_none_or(|l| overhead(&self.dests[i]) < overhead(&self.dests[l])) {
                        least = Some(i);
                    }
                }
                least
            }
            Algo::Wlc | Algo::Sed | Algo::Nq => {
                if self.algo == Algo::Nq
                    && let Some(idle) =
                        (0..n).find(|&i| self.available(i) && self.dests[i].active == 0)
                {
                    return Some(idle);
                }
                let overhead = |d: &Dest| match self.algo {
                    Algo::Wlc => u64::from(d.active) * 256 + u64::from(d.inactive),
                    _ => u64::from(d.active) + 1,
                };
                let mut least: Option<usize> = None;
                for i in (0..n).filter(|&i| self.available(i)) {
                    let replace = least.is_none_or(|l| {
                        let (dl, di) = (&self.dests[l], &self.dests[i]);
                        u128::from(overhead(dl)) * u128::from(di.weight)
                            > u128::from(overhead(di)) * u128::from(dl.weight)
                    });
                    if replace {
                        least = Some(i);
                    }
                }
                least
            }
        }
    }

    /// wrr: from the last position, the next destination whose weight
    /// reaches the current weight; at the end of the list the current
    /// weight steps down by the weights' gcd, and back to the maximum.
    fn wrr(&mut self) -> Option<usize> {
        let n = self.dests.len();
        let (di, mw) = (self.wrr_di(), self.wrr_mw());
        if mw <= 0 {
            return None;
        }
        let mut i = self.mark.last.map_or(0, |l| l + 1);
        // At most every current weight once over the whole list, plus one pass.
        for _ in 0..=(n * (usize::try_from(mw / di).unwrap_or(0) + 2)) {
            if i >= n {
                i = 0;
                self.mark.cw -= di;
                if self.mark.cw <= 0 {
                    self.mark.cw = mw;
                }
                continue;
            }
            if i64::from(self.dests[i].weight) >= self.mark.cw && self.dests[i].weight > 0 {
                self.mark.last = Some(i);
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Every position rr or wrr could be in (the list head, or after each
    /// destination; for wrr, with each current weight).
    fn positions(&self) -> Vec<Mark> {
        let lasts = std::iter::once(None).chain((0..self.dests.len()).map(Some));
        match self.algo {
            Algo::Rr => lasts.map(|last| Mark { last, cw: 0 }).collect(),
            Algo::Wrr => {
                let (di, mw) = (self.wrr_di(), self.wrr_mw());
                let weights: Vec<i64> =
                    (0..=mw / di.max(1)).map(|k| mw - k * di).filter(|&w| w > 0).collect();
                lasts.flat_map(|last| weights.iter().map(move |&cw| Mark { last, cw })).collect()
            }
            _ => vec![self.mark],
        }
    }

    /// Synchronises rr's or wrr's hidden position with `observed` answers
    /// (client, destination index), in order: the position that reproduces
    /// most of them (the first such) is kept, and the predictor moves past
    /// them. Returns how many of them that position reproduces.
    pub fn sync(&mut self, observed: &[(Ipv4Addr, usize)]) -> usize {
        let mut best: Option<(usize, Predictor)> = None;
        for mark in self.positions() {
            let mut trial = self.clone();
            trial.mark = mark;
            let hits = observed
                .iter()
                .filter(|(client, actual)| trial.next(*client) == Some(*actual))
                .count();
            if best.as_ref().is_none_or(|(b, _)| hits > *b) {
                best = Some((hits, trial));
            }
        }
        let (hits, trial) = best.expect("at least one position");
        *self = trial;
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dests(weights: &[u32]) -> Vec<Dest> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Dest { name: format!("d{i}"), weight, active: 0, inactive: 0 })
            .collect()
    }

    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    fn run(p: &mut Predictor, n: usize) -> Vec<usize> {
        (0..n).map(|_| p.next(CLIENT).unwrap()).collect()
    }

    #[test]
    fn rr_walks_the_kernels_list_from_the_newest() {
        let mut p = Predictor::new(Algo::Rr, dests(&[1, 5, 0, 2]), VIP, None);
        assert_eq!(run(&mut p, 7), [0, 1, 3, 0, 1, 3, 0], "weight 0 skipped, weights ignored");
    }

    #[test]
    fn wrr_steps_the_current_weight_by_the_gcd() {
        // The tutorial as the kernel lists it: rs2 (weight 2) then rs1 (weight 3).
        let mut p = Predictor::new(Algo::Wrr, dests(&[2, 3]), VIP, None);
        assert_eq!(run(&mut p, 10), [1, 0, 1, 0, 1, 1, 0, 1, 0, 1]);
        // gcd 2: weights 4 and 2 step 4, 2 — the same as 2 : 1.
        let mut p = Predictor::new(Algo::Wrr, dests(&[4, 2]), VIP, None);
        assert_eq!(run(&mut p, 6), [0, 0, 1, 0, 0, 1]);
        // The tour's 1, 2, 3 (listed newest first: 3, 2, 1): 30 / 20 / 10 of 60.
        let mut p = Predictor::new(Algo::Wrr, dests(&[3, 2, 1]), VIP, None);
        let got = run(&mut p, 60);
        assert_eq!([0, 1, 2].map(|d| got.iter().filter(|&&g| g == d).count()), [30, 20, 10]);
    }

    #[test]
    fn sync_finds_rr_and_wrr_positions_from_the_first_answers() {
        let mut kernel = Predictor::new(Algo::Wrr, dests(&[2, 3, 1]), VIP, None);
        run(&mut kernel, 4); // traffic we did not see
        let seen = run(&mut kernel, 12);
        let mut p = Predictor::new(Algo::Wrr, dests(&[2, 3, 1]), VIP, None);
        let observed: Vec<_> = seen.iter().map(|&d| (CLIENT, d)).collect();
        assert_eq!(p.sync(&observed), 12);
        assert_eq!(run(&mut p, 50), run(&mut kernel, 50));

        let mut kernel = Predictor::new(Algo::Rr, dests(&[1, 1, 1]), VIP, None);
        run(&mut kernel, 2);
        let mut p = Predictor::new(Algo::Rr, dests(&[1, 1, 1]), VIP, None);
        let observed: Vec<_> = run(&mut kernel, 3).into_iter().map(|d| (CLIENT, d)).collect();
        p.sync(&observed);
        assert_eq!(run(&mut p, 9), run(&mut kernel, 9));
    }

    #[test]
    fn sh_hashes_the_client_into_weighted_buckets() {
        // (addr + port) * 2654435761, low 8 bits.
        let key = |a: u32| ((a.wrapping_mul(HASH_MULT)) & 255) as usize;
        assert_eq!(Predictor::bucket(CLIENT, 0), key(u32::from(CLIENT)));
        let p = Predictor::new(Algo::Sh, dests(&[3, 1]), VIP, None);
        let first: Vec<_> = p.buckets[..8].iter().map(|b| b.unwrap()).collect();
        assert_eq!(
            first,
            [0, 0, 0, 1, 0, 0, 0, 1],
            "weight 3 fills three buckets, then weight 1 one"
        );
        let mut p = p;
        let a = p.next(CLIENT);
        assert!((0..20).all(|_| p.next(CLIENT) == a), "one client, one server");
        // 50 clients spread about 3 : 1.
        let spread =
            (100..150u8).filter(|&i| p.next(Ipv4Addr::new(192, 0, 2, i)) == Some(0)).count();
        assert!((30..=45).contains(&spread), "{spread}");
    }

    #[test]
    fn dh_hashes_the_destination_address() {
        let mut p = Predictor::new(Algo::Dh, dests(&[1, 1, 1]), VIP, None);
        let expected = Predictor::bucket(VIP, 0) % 3;
        assert!((0..10).all(|i| p.next(Ipv4Addr::new(192, 0, 2, 10 + i)) == Some(expected)));
    }

    #[test]
    fn least_connection_family_counts_and_ties_go_to_the_newest() {
        let mut d = dests(&[1, 3]);
        d[0].active = 1;
        d[1].active = 1;
        // lc ignores weights: equal overhead, the first listed (newest) wins.
        assert_eq!(Predictor::new(Algo::Lc, d.clone(), VIP, None).next(CLIENT), Some(0));
        // wlc: 256/1 > 256/3, so the weight-3 server.
        assert_eq!(Predictor::new(Algo::Wlc, d.clone(), VIP, None).next(CLIENT), Some(1));
        // sed: (1+1)/1 > (1+1)/3.
        assert_eq!(Predictor::new(Algo::Sed, d.clone(), VIP, None).next(CLIENT), Some(1));
        // nq: an idle server first, whatever its weight.
        d[0].active = 0;
        d[1].active = 0;
        assert_eq!(Predictor::new(Algo::Nq, d.clone(), VIP, None).next(CLIENT), Some(0));
        // sed with both idle: 1*3 > 1*1, the weight-3 server.
        assert_eq!(Predictor::new(Algo::Sed, d, VIP, None).next(CLIENT), Some(1));
        // lc counts the new connection (inactive until established).
        let mut p = Predictor::new(Algo::Lc, dests(&[1, 1]), VIP, None);
        assert_eq!(run(&mut p, 4), [0, 1, 0, 1]);
    }

    #[test]
    fn persistence_keeps_a_client_where_its_template_points() {
        let templates = HashMap::from([(u32::from(CLIENT), 1)]);
        let persistence = Persistence { netmask: u32::MAX, templates };
        let mut p = Predictor::new(Algo::Wrr, dests(&[1, 1]), VIP, Some(persistence));
        assert_eq!(run(&mut p, 5), [1, 1, 1, 1, 1], "the template wins");
        let other = Ipv4Addr::new(192, 0, 2, 3);
        let first = p.next(other);
        assert!((0..5).all(|_| p.next(other) == first), "a new client gets a template");
    }

    #[test]
    fn schedulers_without_a_model_say_why() {
        assert!(Algo::of("mh").unwrap_err().contains("random per boot"));
        assert!(Algo::of("lblc").is_err());
        assert_eq!(Algo::of("wrr"), Ok(Algo::Wrr));
    }
}
