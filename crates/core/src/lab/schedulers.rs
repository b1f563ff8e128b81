//! The IPVS schedulers a lab may name, each with a short summary (the
//! dashboard's `S` dialog) and a longer explanation (errors, docs). The one
//! list in lvslab. `twos` exists only on kernels from 6.12 on; the kernel is
//! the final judge (a missing module is reported when the service is
//! programmed).

/// One IPVS scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduler {
    /// Its name, as ipvsadm's `-s` takes it.
    pub name: &'static str,
    /// What it does, in a few words.
    pub summary: &'static str,
    /// What it does, in a sentence.
    pub explanation: &'static str,
}

const fn s(name: &'static str, summary: &'static str, explanation: &'static str) -> Scheduler {
    Scheduler { name, summary, explanation }
}

/// Every scheduler, in the order the dashboard lists them.
pub const SCHEDULERS: &[Scheduler] = &[
    s(
        "rr",
        "round robin: each server in turn",
        "each new connection goes to the next server in turn",
    ),
    s(
        "wrr",
        "weighted round robin: in turn, in proportion to weight",
        "turns handed out in proportion to the weights",
    ),
    s("lc", "least connections", "the server with the fewest connections (active counted 256x)"),
    s(
        "wlc",
        "weighted least connections (the kernel's default)",
        "fewest connections per unit of weight (the default)",
    ),
    s(
        "sed",
        "shortest expected delay: (active + 1) / weight",
        "(active + 1) / weight, inactive ignored",
    ),
    s(
        "nq",
        "never queue: an idle server first, else sed",
        "an idle server first, otherwise like sed",
    ),
    s(
        "sh",
        "source hashing: one client sticks to one server",
        "a client address always lands on the same server",
    ),
    s("dh", "destination hashing", "a destination address always lands on the same server"),
    s(
        "lblc",
        "locality-based least connections (per destination IP)",
        "dh, moving on when the server is overloaded",
    ),
    s(
        "lblcr",
        "lblc with replication",
        "a destination maps to a set of servers that grows under load",
    ),
    s(
        "mh",
        "maglev hashing: consistent source hashing",
        "consistent hashing that moves few clients when servers change",
    ),
    s(
        "fo",
        "weighted failover: the highest weight takes all",
        "always the available server with the highest weight",
    ),
    s(
        "ovf",
        "weighted overflow: fill by weight, then the next",
        "the highest weight until its active connections reach the weight",
    ),
    s(
        "twos",
        "weighted random twos choice (kernel 6.12+)",
        "the lighter of two random picks (kernel 6.12+)",
    ),
];

/// Whether `name` is a scheduler IPVS has.
pub fn is_known(name: &str) -> bool {
    SCHEDULERS.iter().any(|s| s.name == name)
}

/// The names nftables can run, comma-separated.
pub fn nftables_names() -> String {
    SCHEDULERS
        .iter()
        .filter(|s| matches!(nftables(s.name), Some(Ok(_))))
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names, comma-separated, for error messages.
pub fn names() -> String {
    SCHEDULERS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// What nftables (as kube-proxy's nftables mode uses it) can do of an IPVS
/// scheduler: a stateless pick per new connection, so a counter, a random
/// number or a hash; never a count of each server's connections.
pub fn nftables(name: &str) -> Option<Result<crate::nft::ruleset::Pick, String>> {
    use crate::nft::ruleset::Pick;
    let refused = |why: &str, closest: &str| {
        Some(Err(format!("{why}; the closest nftables equivalent is {closest}")))
    };
    let counts = "nftables keeps no per-server connection count to compare";
    match name {
        "rr" | "wrr" => Some(Ok(Pick::Inc)),
        "sh" => Some(Ok(Pick::SourceHash)),
        "dh" => Some(Ok(Pick::DestHash)),
        "lc" | "wlc" | "sed" | "nq" => {
            refused(counts, "wrr (numgen inc over a map weighted like the servers)")
        }
        "lblc" | "lblcr" => refused(counts, "dh (jhash ip daddr: each destination to one server)"),
        "mh" => refused(
            "nftables has no consistent hash (jhash mod N moves most clients when the servers change)",
            "sh (jhash ip saddr)",
        ),
        "fo" | "ovf" => refused(
            "nftables cannot move traffic when a server is full or down",
            "wrr with the other servers drained (weight 0)",
        ),
        "twos" => refused(counts, "wrr, or numgen random as kube-proxy uses it"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheduler_has_an_nftables_answer_and_refusals_name_the_closest() {
        for s in SCHEDULERS {
            match nftables(s.name) {
                Some(Ok(_)) => {}
                Some(Err(why)) => assert!(why.contains("closest nftables equivalent is"), "{why}"),
                None => panic!("{} has no nftables answer", s.name),
            }
        }
        assert_eq!(nftables_names(), "rr, wrr, sh, dh");
        assert!(nftables("nope").is_none());
    }
}
