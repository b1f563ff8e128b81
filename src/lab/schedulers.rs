//! The IPVS schedulers a lab may name, with a one-line explanation each.
//! `twos` exists only on kernels from 6.12 on; the kernel is the final judge
//! (a missing module is reported when the service is programmed).

/// Scheduler name and what it does, in lvslab's words.
pub const SCHEDULERS: &[(&str, &str)] = &[
    ("rr", "round robin: each new connection goes to the next server in turn"),
    ("wrr", "weighted round robin: turns handed out in proportion to the weights"),
    ("lc", "least connections: the server with the fewest connections (active counted 256x)"),
    ("wlc", "weighted least connections: fewest connections per unit of weight (the default)"),
    ("sed", "shortest expected delay: (active + 1) / weight, inactive ignored"),
    ("nq", "never queue: an idle server first, otherwise like sed"),
    ("sh", "source hashing: a client address always lands on the same server"),
    ("dh", "destination hashing: a destination address always lands on the same server"),
    ("lblc", "locality-based least connections: dh, moving on when the server is overloaded"),
    (
        "lblcr",
        "lblc with replication: a destination maps to a set of servers that grows under load",
    ),
    ("mh", "maglev hashing: consistent hashing that moves few clients when servers change"),
    ("fo", "weighted failover: always the available server with the highest weight"),
    ("ovf", "weighted overflow: the highest weight until its active connections reach the weight"),
    ("twos", "weighted random twos choice: the lighter of two random picks (kernel 6.12+)"),
];

/// Whether `name` is a scheduler IPVS has.
pub fn is_known(name: &str) -> bool {
    SCHEDULERS.iter().any(|(known, _)| *known == name)
}

/// The names, comma-separated, for error messages.
pub fn names() -> String {
    SCHEDULERS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}
