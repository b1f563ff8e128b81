//! The IPVS schedulers a lab may name ([`Scheduler`]), each with a short
//! summary (the dashboard's `S` dialog), a longer explanation (errors,
//! docs), and what it can do: an exact expected split, an nftables
//! equivalent (whether its choices can be predicted is the predictor's
//! [`crate::monitor::predict`]); and the scheduler flags of `sh` and `mh`
//! ([`SchedFlag`], ipvsadm's `-b`). `twos` is in Linux since 5.12, but a
//! kernel may be built without it (Debian's 6.1 is): `up` and `set` probe
//! for its module (`lvslab_ipvs::probe::scheduler`), never the version.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::nft::ruleset::Pick;

/// One IPVS scheduler: the one list in lvslab, and what each can do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum Scheduler {
    /// `rr`: round robin: each server in turn.
    Rr,
    /// `wrr`: weighted round robin: in turn, in proportion to weight.
    Wrr,
    /// `lc`: least connections.
    Lc,
    /// `wlc`: weighted least connections (the kernel's default).
    Wlc,
    /// `sed`: shortest expected delay: (active + 1) / weight.
    Sed,
    /// `nq`: never queue: an idle server first, else sed.
    Nq,
    /// `sh`: source hashing: one client sticks to one server.
    Sh,
    /// `dh`: destination hashing.
    Dh,
    /// `lblc`: locality-based least connections (per destination IP).
    Lblc,
    /// `lblcr`: lblc with replication.
    Lblcr,
    /// `mh`: maglev hashing: consistent source hashing.
    Mh,
    /// `fo`: weighted failover: the highest weight takes all.
    Fo,
    /// `ovf`: weighted overflow: fill by weight, then the next.
    Ovf,
    /// `twos`: weighted random twos choice (kernel 5.12+; Debian's 6.1 is
    /// built without it, so `up` probes for its module).
    Twos,
}

/// A scheduler flag (ipvsadm's `-b`): one of the service's flag bits that
/// only `sh` and `mh` read (the kernel's `IP_VS_SVC_F_SCHED1` and `SCHED2`,
/// in ip_vs_sh.c and ip_vs_mh.c). The same bit means "fallback" or "port" to
/// both, but a flag belongs to its scheduler: on any other the kernel keeps
/// the bit and ignores it, so a lab refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchedFlag {
    /// `sh-fallback`: a client whose server is unavailable goes to another.
    ShFallback,
    /// `sh-port`: hash the client's port too.
    ShPort,
    /// `mh-fallback`: a client whose server is unavailable goes to another.
    MhFallback,
    /// `mh-port`: hash the client's port too.
    MhPort,
}

impl SchedFlag {
    /// Every flag, in ipvsadm's order.
    pub const ALL: [Self; 4] = [Self::ShFallback, Self::ShPort, Self::MhFallback, Self::MhPort];

    /// Its name, as ipvsadm's `-b` and keepalived.conf write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ShFallback => "sh-fallback",
            Self::ShPort => "sh-port",
            Self::MhFallback => "mh-fallback",
            Self::MhPort => "mh-port",
        }
    }

    /// The scheduler that reads it.
    pub fn scheduler(self) -> Scheduler {
        match self {
            Self::ShFallback | Self::ShPort => Scheduler::Sh,
            Self::MhFallback | Self::MhPort => Scheduler::Mh,
        }
    }

    /// Whether it is the fallback bit (`SCHED1`); else the port bit (`SCHED2`).
    pub fn is_fallback(self) -> bool {
        matches!(self, Self::ShFallback | Self::MhFallback)
    }

    /// What it does, in a sentence (errors, docs).
    pub fn explanation(self) -> &'static str {
        if self.is_fallback() {
            "a client whose server has weight 0 or is overloaded is hashed on to an available one \
             (without it, its connections are refused)"
        } else {
            "the client's source port is hashed with its address, so one client's connections \
             spread over the servers"
        }
    }

    /// The flag called `name`, if ipvsadm has one.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The flags `scheduler` takes (none for most).
    pub fn of(scheduler: Scheduler) -> Vec<Self> {
        Self::ALL.into_iter().filter(|f| f.scheduler() == scheduler).collect()
    }

    /// The flags of `scheduler` that the kernel's bits (fallback, port)
    /// stand for; `None` if a bit is set that `scheduler` does not read.
    pub fn from_bits(scheduler: Scheduler, fallback: bool, port: bool) -> Option<Vec<Self>> {
        let mine = Self::of(scheduler);
        let pick = |want: bool, fallback: bool| {
            want.then(|| mine.iter().copied().find(|f| f.is_fallback() == fallback))
        };
        [pick(fallback, true), pick(port, false)].into_iter().flatten().collect()
    }

    /// The names, comma-separated, as ipvsadm's `-b` takes them.
    pub fn list(flags: &[Self]) -> String {
        flags.iter().map(|f| f.name()).collect::<Vec<_>>().join(",")
    }

    /// Why `flags` cannot go with `scheduler`, naming the fix; checks each
    /// flag belongs to it and none is given twice.
    ///
    /// # Errors
    /// The first flag that does not fit, and what to write instead.
    pub fn check(scheduler: Scheduler, flags: &[Self]) -> Result<(), (String, String)> {
        for (i, flag) in flags.iter().enumerate() {
            if flag.scheduler() != scheduler {
                let takes = Self::of(scheduler);
                let instead = if takes.is_empty() {
                    format!("{scheduler} takes no scheduler flags: remove it")
                } else {
                    format!("{scheduler} takes {}", Self::list(&takes).replace(',', " or "))
                };
                return Err((
                    format!(
                        "scheduler flag '{flag}' is {}'s, and this service's scheduler is {scheduler}",
                        flag.scheduler()
                    ),
                    format!("{instead} (or set scheduler = \"{}\")", flag.scheduler()),
                ));
            }
            if flags[..i].contains(flag) {
                return Err((
                    format!("scheduler flag '{flag}' is given twice"),
                    "name each flag once".into(),
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for SchedFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A list of scheduler flags as one command-line value: `mh-port,mh-fallback`,
/// or `none` for no flag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchedFlags(pub Vec<SchedFlag>);

impl std::str::FromStr for SchedFlags {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "none" {
            return Ok(Self::default());
        }
        let flags = s.split(',').map(|name| {
            SchedFlag::named(name).ok_or_else(|| {
                format!(
                    "unknown scheduler flag '{}': use {}, comma-separated, or none",
                    crate::lab::text::shown(name),
                    flag_names()
                )
            })
        });
        flags.collect::<Result<_, _>>().map(Self)
    }
}

/// The flag names, comma-separated, for error messages.
pub fn flag_names() -> String {
    SchedFlag::ALL.map(SchedFlag::name).join(", ")
}

/// How a scheduler splits new connections over a run, when that is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Each server gets the same share (rr: turns, whatever the weights,
    /// except that weight 0 takes none).
    Equal,
    /// In proportion to the weights (wrr).
    ByWeight,
}

impl Share {
    /// A server's part of the split, given its weight.
    pub fn part(self, weight: u32) -> u32 {
        match self {
            Self::Equal => u32::from(weight > 0),
            Self::ByWeight => weight,
        }
    }
}

impl Scheduler {
    /// Every scheduler, in the order the dashboard lists them.
    pub const ALL: [Self; 14] = [
        Self::Rr,
        Self::Wrr,
        Self::Lc,
        Self::Wlc,
        Self::Sed,
        Self::Nq,
        Self::Sh,
        Self::Dh,
        Self::Lblc,
        Self::Lblcr,
        Self::Mh,
        Self::Fo,
        Self::Ovf,
        Self::Twos,
    ];

    /// What a service gets when it names none: the kernel's and
    /// keepalived's default, as ipvsadm's.
    pub const DEFAULT: Self = Self::Wlc;

    /// Its name, as ipvsadm's `-s` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rr => "rr",
            Self::Wrr => "wrr",
            Self::Lc => "lc",
            Self::Wlc => "wlc",
            Self::Sed => "sed",
            Self::Nq => "nq",
            Self::Sh => "sh",
            Self::Dh => "dh",
            Self::Lblc => "lblc",
            Self::Lblcr => "lblcr",
            Self::Mh => "mh",
            Self::Fo => "fo",
            Self::Ovf => "ovf",
            Self::Twos => "twos",
        }
    }

    /// What it does, in a few words (the dashboard's `S` dialog).
    pub fn summary(self) -> &'static str {
        match self {
            Self::Rr => "round robin: each server in turn",
            Self::Wrr => "weighted round robin: in turn, in proportion to weight",
            Self::Lc => "least connections",
            Self::Wlc => "weighted least connections (the kernel's default)",
            Self::Sed => "shortest expected delay: (active + 1) / weight",
            Self::Nq => "never queue: an idle server first, else sed",
            Self::Sh => "source hashing: one client sticks to one server",
            Self::Dh => "destination hashing",
            Self::Lblc => "locality-based least connections (per destination IP)",
            Self::Lblcr => "lblc with replication",
            Self::Mh => "maglev hashing: consistent source hashing",
            Self::Fo => "weighted failover: the highest weight takes all",
            Self::Ovf => "weighted overflow: fill by weight, then the next",
            Self::Twos => "weighted random twos choice (kernel 5.12+)",
        }
    }

    /// What it does, in a sentence (errors, docs).
    pub fn explanation(self) -> &'static str {
        match self {
            Self::Rr => "each new connection goes to the next server in turn",
            Self::Wrr => "turns handed out in proportion to the weights",
            Self::Lc => "the server with the fewest connections (active counted 256x)",
            Self::Wlc => "fewest connections per unit of weight (the default)",
            Self::Sed => "(active + 1) / weight, inactive ignored",
            Self::Nq => "an idle server first, otherwise like sed",
            Self::Sh => "a client address always lands on the same server",
            Self::Dh => "a destination address always lands on the same server",
            Self::Lblc => "dh, moving on when the server is overloaded",
            Self::Lblcr => "a destination maps to a set of servers that grows under load",
            Self::Mh => "consistent hashing that moves few clients when servers change",
            Self::Fo => "always the available server with the highest weight",
            Self::Ovf => "the highest weight until its active connections reach the weight",
            Self::Twos => {
                "the lighter of two random picks (kernel 5.12+, where its module is built)"
            }
        }
    }

    /// The scheduler called `name`, if IPVS has one.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The split it makes exact over a run, if any: rr's turns and wrr's
    /// weights; the others depend on timing, counts or hashes.
    pub fn exact_share(self) -> Option<Share> {
        match self {
            Self::Rr => Some(Share::Equal),
            Self::Wrr => Some(Share::ByWeight),
            _ => None,
        }
    }

    /// What nftables (as kube-proxy's nftables mode uses it) can do of it:
    /// a stateless pick per new connection, so a counter, a random number
    /// or a hash; never a count of each server's connections.
    ///
    /// # Errors
    /// Why nftables cannot, naming the closest thing it can do.
    pub fn nftables(self) -> Result<Pick, String> {
        let refused = |why: &str, closest: &str| {
            Err(format!("{why}; the closest nftables equivalent is {closest}"))
        };
        let counts = "nftables keeps no per-server connection count to compare";
        match self {
            Self::Rr | Self::Wrr => Ok(Pick::Inc),
            Self::Sh => Ok(Pick::SourceHash),
            Self::Dh => Ok(Pick::DestHash),
            Self::Lc | Self::Wlc | Self::Sed | Self::Nq => {
                refused(counts, "wrr (numgen inc over a map weighted like the servers)")
            }
            Self::Lblc | Self::Lblcr => {
                refused(counts, "dh (jhash ip daddr: each destination to one server)")
            }
            Self::Mh => refused(
                "nftables has no consistent hash (jhash mod N moves most clients when the servers change)",
                "sh (jhash ip saddr)",
            ),
            Self::Fo | Self::Ovf => refused(
                "nftables cannot move traffic when a server is full or down",
                "wrr with the other servers drained (weight 0)",
            ),
            Self::Twos => refused(counts, "wrr, or numgen random as kube-proxy uses it"),
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The names nftables can run, comma-separated.
pub fn nftables_names() -> String {
    let can = Scheduler::ALL.into_iter().filter(|s| s.nftables().is_ok());
    can.map(Scheduler::name).collect::<Vec<_>>().join(", ")
}

/// The names, comma-separated, for error messages.
pub fn names() -> String {
    Scheduler::ALL.map(Scheduler::name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheduler_has_an_nftables_answer_and_refusals_name_the_closest() {
        for s in Scheduler::ALL {
            if let Err(why) = s.nftables() {
                assert!(why.contains("closest nftables equivalent is"), "{why}");
            }
        }
        assert_eq!(nftables_names(), "rr, wrr, sh, dh");
    }

    #[test]
    fn flags_belong_to_their_scheduler_and_map_to_the_kernel_bits() {
        for f in SchedFlag::ALL {
            assert_eq!(SchedFlag::named(f.name()), Some(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
            assert!(f.name().starts_with(f.scheduler().name()));
            assert!(SchedFlag::check(f.scheduler(), &[f]).is_ok());
        }
        let both = SchedFlag::from_bits(Scheduler::Mh, true, true).unwrap();
        assert_eq!(both, [SchedFlag::MhFallback, SchedFlag::MhPort]);
        assert_eq!(SchedFlag::from_bits(Scheduler::Sh, false, true).unwrap(), [SchedFlag::ShPort]);
        assert_eq!(SchedFlag::from_bits(Scheduler::Wrr, false, false).unwrap(), []);
        assert_eq!(SchedFlag::from_bits(Scheduler::Wrr, false, true), None);
        let (why, fix) = SchedFlag::check(Scheduler::Wrr, &[SchedFlag::MhPort]).unwrap_err();
        assert!(why.contains("'mh-port' is mh's") && why.contains("wrr"), "{why}");
        assert!(fix.contains("wrr takes no scheduler flags") && fix.contains("\"mh\""), "{fix}");
        let (_, fix) = SchedFlag::check(Scheduler::Sh, &[SchedFlag::MhPort]).unwrap_err();
        assert!(fix.starts_with("sh takes sh-fallback or sh-port"), "{fix}");
        let parsed: SchedFlags = "mh-port,mh-fallback".parse().unwrap();
        assert_eq!(parsed.0, [SchedFlag::MhPort, SchedFlag::MhFallback]);
        assert_eq!("none".parse::<SchedFlags>().unwrap().0, []);
        let bad = "mh-port,port".parse::<SchedFlags>().unwrap_err();
        assert!(bad.contains("'port'") && bad.contains("mh-port"), "{bad}");
        let twice = SchedFlag::check(Scheduler::Mh, &[SchedFlag::MhPort, SchedFlag::MhPort]);
        assert!(twice.unwrap_err().0.contains("twice"));
    }

    #[test]
    fn names_round_trip_through_every_spelling() {
        for s in Scheduler::ALL {
            assert_eq!(Scheduler::named(s.name()), Some(s));
            assert_eq!(s.to_string(), s.name());
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            let value = <Scheduler as clap::ValueEnum>::to_possible_value(&s).unwrap();
            assert_eq!(value.get_name(), s.name());
        }
        assert_eq!(Scheduler::named("nope"), None);
        assert_eq!(names().split(", ").count(), Scheduler::ALL.len());
    }
}
