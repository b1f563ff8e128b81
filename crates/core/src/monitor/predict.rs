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
//! inactive until established; a short one stays inactive in TIME_WAIT),
//! or takes from the kernel again ([`Predictor::recount`]). Checking the
//! predictions against a run's answers is [`super::verdict`]'s.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::lab::model::Dataplane;
use crate::lab::schedulers::Scheduler;

/// The kernel's `hash_32` multiplier (GOLDEN_RATIO_32, include/linux/hash.h),
/// which sh and dh use since Linux 4.7; the top bits of the product are the bucket.
const HASH_MULT: u32 = 0x61C8_8647;
/// log2 of the table size: `hash_32(key, 8)`.
const TAB_BITS: u32 = 8;
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

/// Each destination's (ActiveConn, InActConn), in the kernel's order, as
/// read at one instant.
pub type Counts = Vec<(u32, u32)>;

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
    /// The algorithm of `scheduler`, or why its choice cannot be predicted
    /// (the one answer to "can lvslab predict it").
    pub fn of(scheduler: Scheduler) -> Result<Self, &'static str> {
        Ok(match scheduler {
            Scheduler::Rr => Self::Rr,
            Scheduler::Wrr => Self::Wrr,
            Scheduler::Sh => Self::Sh,
            Scheduler::Dh => Self::Dh,
            Scheduler::Lc => Self::Lc,
            Scheduler::Wlc => Self::Wlc,
            Scheduler::Sed => Self::Sed,
            Scheduler::Nq => Self::Nq,
            Scheduler::Lblc | Scheduler::Lblcr => {
                return Err("lblc/lblcr keep a per-destination-address table of server sets \
                            that the kernel does not export");
            }
            Scheduler::Mh => {
                return Err("mh's lookup table is built from permutations seeded by siphash \
                            keys that are random per boot");
            }
            Scheduler::Fo | Scheduler::Ovf => {
                return Err("fo/ovf depend on the overload flag, which the kernel does not export");
            }
            Scheduler::Twos => return Err("twos picks two servers at random"),
        })
    }
}

/// Whether the director of `dataplane` chooses as this predictor computes
/// (IPVS's schedulers), or why not. nftables picks by `numgen inc` slots
/// (`0-2 : rs1, 3-4 : rs2`), an order of its own, so IPVS's wrr order would
/// be a wrong prediction there: none is made.
pub fn on_dataplane(dataplane: Dataplane) -> Result<(), &'static str> {
    match dataplane {
        Dataplane::Ipvs => Ok(()),
        Dataplane::Nft => Err("not predicted on nftables (it picks by numgen slot)"),
        Dataplane::None => Err("nothing balances (dataplane none)"),
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
        p.mark.cw = p.wrr_cw_after_adds();
        p.buckets = match algo {
            Algo::Sh => p.sh_buckets(),
            Algo::Dh => p.dh_buckets(),
            _ => Vec::new(),
        };
        p
    }

    /// The scheduler's algorithm.
    pub fn algo(&self) -> Algo {
        self.algo
    }

    /// Whether the service is persistent.
    pub fn persistent(&self) -> bool {
        self.persistence.is_some()
    }

    /// Records that a connection from `client` went to destination `i`
    /// against the prediction: the counts and templates follow the kernel.
    pub fn correct(&mut self, client: Ipv4Addr, predicted: Option<usize>, i: usize) {
        if let Some(p) = predicted {
            self.dests[p].inactive = self.dests[p].inactive.saturating_sub(1);
        }
        if let Some(d) = self.dests.get_mut(i) {
            d.inactive += 1;
        }
        if let Some(pers) = &mut self.persistence {
            pers.templates.insert(u32::from(client) & pers.netmask, i);
        }
    }

    /// Whether the choice follows the destinations' connection counts (lc,
    /// wlc, sed, nq), which the kernel exports and lvslab can read again.
    pub fn counts_matter(&self) -> bool {
        matches!(self.algo, Algo::Lc | Algo::Wlc | Algo::Sed | Algo::Nq)
    }

    /// Takes each destination's (ActiveConn, InActConn) as just read from
    /// the kernel, in the kernel's order. Returns false, changing nothing,
    /// when the list does not match (a server was added or removed).
    pub fn recount(&mut self, counts: &[(u32, u32)]) -> bool {
        if counts.len() != self.dests.len() {
            return false;
        }
        for (d, &(active, inactive)) in self.dests.iter_mut().zip(counts) {
            (d.active, d.inactive) = (active, inactive);
        }
        true
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

    /// wrr's current weight once the destinations were added one by one,
    /// oldest first (as `lvslab up` and ipvsadm -a do), to a new service:
    /// each addition resets the position to the list head and keeps the
    /// current weight unless it is 0 or above the new maximum (then it is
    /// the maximum) or the gcd is above 1 (then it is rounded to it, plus 1).
    /// With weights 3 then 1 it stays 1, so the first pick is the newest.
    fn wrr_cw_after_adds(&self) -> i64 {
        let mut cw = 0;
        for k in 1..=self.dests.len() {
            let added = Self { dests: self.dests[self.dests.len() - k..].to_vec(), ..self.clone() };
            let (di, mw) = (added.wrr_di(), added.wrr_mw());
            if cw > mw || cw == 0 {
                cw = mw;
            } else if di > 1 {
                cw = (cw / di) * di + 1;
            }
        }
        cw
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

    /// The kernel's bucket for an IPv4 address (and port, 0 unless sh-port):
    /// `hash_32(port + addr, 8)`, the top 8 bits of the product with the
    /// golden-ratio constant. (Kernels before 4.7 took the low 8 bits of a
    /// product with 2654435761 instead; the VM's 6.1 showed which one runs.)
    pub fn bucket(addr: Ipv4Addr, port: u16) -> usize {
        let key = u32::from(addr).wrapping_add(u32::from(port)).wrapping_mul(HASH_MULT);
        (key >> (32 - TAB_BITS)) as usize
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
    /// the longest run of the latest answers, then the most of them (the
    /// first such), is kept, and the predictor moves past them. The latest
    /// answers come first because after an unseen decision (the kernel
    /// moved on without an answer we saw) only the answers since then
    /// follow the new position, and a window still full of older answers
    /// would keep the old one for half a window of misses. Returns how many
    /// of them the kept position reproduces.
    pub fn sync(&mut self, observed: &[(Ipv4Addr, usize)]) -> usize {
        let mut best: Option<((usize, usize), Predictor)> = None;
        for mark in self.positions() {
            let mut trial = self.clone();
            trial.mark = mark;
            let (mut hits, mut latest) = (0, 0);
            for (client, actual) in observed {
                if trial.next(*client) == Some(*actual) {
                    hits += 1;
                    latest += 1;
                } else {
                    latest = 0;
                }
            }
            if best.as_ref().is_none_or(|(b, _)| (latest, hits) > *b) {
                best = Some(((latest, hits), trial));
            }
        }
        let ((_, hits), trial) = best.expect("at least one position");
        *self = trial;
        hits
    }
}

/// The predictor for the service `key` of the director's `table`, with
/// persistence templates from the connection table `conns`; real servers
/// named by `name_of`. Errors say why the service cannot be predicted.
pub fn for_service(
    table: &crate::monitor::observation::Table,
    key: &lvslab_ipvs::ServiceKey,
    conns: &[lvslab_ipvs::conns::Conn],
    name_of: impl Fn(std::net::IpAddr) -> String,
) -> Result<Predictor, String> {
    let (svc, dests) = table
        .iter()
        .find(|(s, _)| s.key == *key)
        .ok_or_else(|| "the service is not in the director's IPVS table".to_string())?;
    let algo = Scheduler::named(&svc.scheduler)
        .ok_or("lvslab does not know this scheduler")
        .and_then(Algo::of)
        .map_err(|why| format!("{}'s choice cannot be predicted: {why}", svc.scheduler))?;
    let (vip, port) = match key {
        lvslab_ipvs::ServiceKey::Addr { addr: std::net::IpAddr::V4(a), port, .. } => (*a, *port),
        _ => return Err("only IPv4 address services are predicted".into()),
    };
    let list: Vec<Dest> = dests
        .iter()
        .map(|d| Dest {
            name: name_of(d.addr),
            weight: d.weight,
            active: d.active_conns,
            inactive: d.inactive_conns,
        })
        .collect();
    let persistence = svc.flags.persistent.then(|| {
        let templates = conns
            .iter()
            .filter(|c| {
                c.is_template() && c.vip.ip() == std::net::IpAddr::V4(vip) && c.vip.port() == port
            })
            .filter_map(|c| {
                let std::net::IpAddr::V4(client) = c.client.ip() else { return None };
                let i =
                    dests.iter().position(|d| d.addr == c.dest.ip() && d.port == c.dest.port())?;
                Some((u32::from(client) & svc.netmask, i))
            })
            .collect();
        Persistence { netmask: svc.netmask, templates }
    });
    Ok(Predictor::new(algo, list, vip, persistence))
}

#[cfg(test)]
#[path = "predict_tests.rs"]
mod tests;
