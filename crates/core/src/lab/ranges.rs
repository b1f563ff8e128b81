//! The range of every number a user gives lvslab, in one place: the preset
//! validator, the command line's parsers and live edits all check against
//! these, so a value one of them accepts is never refused by another (or
//! by ipvsadm, or the kernel).
//!
//! The IPVS limits are ipvsadm's and the kernel's: weights are 0..=65535
//! (ipvsadm refuses more; the kernel stores an int), a persistence timeout
//! is 1..=2678400 s (ipvsadm's cap, 31 days), a firewall mark 1..=2^32-1.

/// How much of one thing a lab, or one file lvslab reads, may hold. Past
/// it, work (and memory) would grow without bound: one namespace per real
/// server at `up`, one line per member in every export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// What is counted, plural, as the error names it (`real servers`).
    pub what: &'static str,
    /// The most accepted.
    pub max: usize,
    /// Why the cap is there and what to do instead.
    pub help: &'static str,
}

impl Cap {
    /// Whether `count` of them is past the cap.
    pub fn exceeded_by(&self, count: usize) -> bool {
        count > self.max
    }

    /// What is wrong where `what_here` (the first item past the cap) is:
    /// `real server 10.0.64.3 is the 16385th: a lab has at most 16384 real servers`.
    pub fn message(&self, what_here: &str) -> String {
        format!(
            "{what_here} is the {}th: a lab has at most {} {}",
            self.max + 1,
            self.max,
            self.what
        )
    }
}

/// Bytes of one input file (a preset, saved rules, a keepalived.conf, a
/// theme, a lab's record; standard input too): read through
/// [`crate::lab::input`], which stops at this many.
pub const INPUT_BYTES: Cap = Cap {
    what: "bytes",
    max: 16 * 1024 * 1024,
    help: "a preset, saved rules or a keepalived.conf of the largest lab lvslab builds is a few \
           MiB: check that you named the right file (a device or a pipe that never ends is \
           refused the same way)",
};
/// Real servers of one lab: each is a network namespace, a link and an HTTP
/// server process at `up`.
pub const REAL_SERVERS: Cap = Cap {
    what: "real servers",
    max: 16_384,
    help: "lvslab builds one network namespace, one link and one web server per real server: \
           split the servers over several labs, or leave some out",
};
/// Virtual services of one lab.
pub const SERVICES: Cap = Cap {
    what: "services",
    max: 4_096,
    help: "split the services over several labs, or leave some out (a firewall-mark service \
           can stand for many ports)",
};
/// Members of all services of one lab together (a real server in a service,
/// one IPVS destination each).
pub const MEMBERS: Cap = Cap {
    what: "service members (real servers in services, IPVS destinations)",
    max: 65_536,
    help: "each member is one IPVS destination to program and check: list fewer real servers \
           per service, or split the services over several labs",
};
/// Errors reported for one file: past these the rest are counted, not
/// listed (a broken generated file would otherwise print one per entry).
pub const MAX_ERRORS: usize = 100;

/// Rates above this are refused (the generator would only miss them).
pub const MAX_RATE: f64 = 1_000_000.0;
/// Longest run, in seconds (one day): a deadline beyond it could overflow
/// the clock's arithmetic.
pub const MAX_DURATION_S: f64 = 86_400.0;
/// Longest a request may ask the server to hold or sleep (one hour).
pub const MAX_HOLD_MS: u64 = 3_600_000;

/// An integer setting and its inclusive bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// What it is, as the error names it (`weight`, `persistence`).
    pub what: &'static str,
    /// Smallest accepted value.
    pub min: i64,
    /// Largest accepted value.
    pub max: i64,
    /// How to fix a bad value (says the range and what it means).
    pub help: &'static str,
}

/// A real server's IPVS weight; 0 drains it.
pub const WEIGHT: IntRange = IntRange {
    what: "weight",
    min: 0,
    max: 65535,
    help: "use a weight from 0 (drained: no new connections) to 65535",
};
/// Addresses the client owns (`[client] addresses`), from its address up.
pub const CLIENT_ADDRESSES: IntRange = IntRange {
    what: "client addresses",
    min: 1,
    max: 1000,
    help: "give how many addresses the client owns, 1 to 1000, counted up from its address \
           (50 makes 50 clients for sh, dh and persistence to tell apart)",
};
/// Clients of one traffic run (`lvslab traffic --clients`).
pub const CLIENTS: IntRange = IntRange {
    what: "clients",
    min: 1,
    max: 1000,
    help: "use 1 to 1000 clients, at most the addresses the lab's client owns ([client] addresses)",
};
/// A TCP/UDP/SCTP port.
pub const PORT: IntRange =
    IntRange { what: "port", min: 1, max: 65535, help: "use a port from 1 to 65535" };
/// Persistence timeout in seconds (ipvsadm -p).
pub const PERSISTENCE: IntRange = IntRange {
    what: "persistence",
    min: 1,
    max: 2_678_400,
    help: "give a timeout in seconds from 1 to 2678400 (31 days, ipvsadm's limit), e.g. 300, \
           or leave it out",
};
/// A firewall mark (ipvsadm -f).
pub const FWMARK: IntRange = IntRange {
    what: "fwmark",
    min: 1,
    max: u32::MAX as i64,
    help: "give the firewall mark netfilter sets, from 1 to 4294967295",
};
/// Extra answer time of a slow real server.
pub const DELAY_MS: IntRange = IntRange {
    what: "delay-ms",
    min: 0,
    max: 60_000,
    help: "give the server's extra answer time in milliseconds, 0 to 60000",
};
/// Connections one real server (`lvslab serve`) serves at once.
pub const MAX_CONNECTIONS: IntRange = IntRange {
    what: "max connections",
    min: 1,
    max: 1_000_000,
    help: "give how many connections the server serves at once, 1 to 1000000 (each takes a file \
           descriptor); one more is answered 503 and closed",
};
/// Requests in one traffic run.
pub const REQUESTS: IntRange = IntRange {
    what: "requests",
    min: 1,
    max: 1_000_000_000,
    help: "give a number of requests from 1 to 1000000000",
};
/// Requests in flight at once (closed loop).
pub const CONCURRENCY: IntRange = IntRange {
    what: "concurrency",
    min: 1,
    max: 10_000,
    help: "give a number of requests in flight from 1 to 10000",
};
/// How long each connection is held open.
pub const HOLD_MS: IntRange = IntRange {
    what: "hold-ms",
    min: 0,
    max: MAX_HOLD_MS as i64,
    help: "give milliseconds from 0 to 3600000 (one hour)",
};

/// A real-valued setting, above `0` and at most `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloatRange {
    /// What it is, as the error names it.
    pub what: &'static str,
    /// Largest accepted value.
    pub max: f64,
    /// How to fix a bad value.
    pub help: &'static str,
}

/// A traffic run's length in seconds.
pub const DURATION_S: FloatRange = FloatRange {
    what: "duration",
    max: MAX_DURATION_S,
    help: "give a duration above 0 and at most 86400 seconds (one day), e.g. 10s, 500ms or 2m",
};
/// Open-loop rate in new connections per second.
pub const RATE: FloatRange = FloatRange {
    what: "rate",
    max: MAX_RATE,
    help: "give new connections per second above 0 and at most 1000000",
};

impl IntRange {
    /// `value` if it is in range, else what is wrong with it.
    pub fn check(&self, value: i64) -> Result<i64, String> {
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("{} {value} is out of range", self.what))
        }
    }

    /// `value` in range and converted, else the message and the fix on one
    /// line (for the command line and live edits).
    pub fn checked<T: TryFrom<i64>>(&self, value: i64) -> Result<T, String> {
        self.check(value)
            .and_then(|v| {
                T::try_from(v).map_err(|_| format!("{} {value} is out of range", self.what))
            })
            .map_err(|e| format!("{e}: {}", self.help))
    }

    /// Parses command-line `text` as a value in range.
    pub fn parse<T: TryFrom<i64>>(&self, text: &str) -> Result<T, String> {
        let value: i64 = text
            .trim()
            .parse()
            .map_err(|_| format!("'{text}' is not a {}: {}", self.what, self.help))?;
        self.checked(value)
    }
}

impl FloatRange {
    /// `value` if it is finite, above 0 and at most the maximum.
    pub fn check(&self, value: f64) -> Result<f64, String> {
        if value.is_finite() && value > 0.0 && value <= self.max {
            Ok(value)
        } else {
            Err(format!("{} {value:?} is out of range", self.what))
        }
    }

    /// As [`Self::check`], with the fix on the same line.
    pub fn checked(&self, value: f64) -> Result<f64, String> {
        self.check(value).map_err(|e| format!("{e}: {}", self.help))
    }
}

/// `10s`, `500ms`, `2m`, or plain seconds (`1.5`, `1e2`), within
/// [`DURATION_S`].
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a duration; write e.g. 10s, 500ms or 2m"))?;
    let seconds = value * scale;
    let seconds = DURATION_S.checked(seconds).map_err(|e| format!("'{s}': {e}"))?;
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| format!("'{s}': {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipvsadm_limits() {
        assert_eq!(WEIGHT.parse::<u32>("65535"), Ok(65535));
        let err = WEIGHT.parse::<u32>("70000").unwrap_err();
        assert!(err.contains("weight 70000 is out of range") && err.contains("0 "), "{err}");
        assert!(WEIGHT.parse::<u32>("-1").is_err());
        assert!(PERSISTENCE.check(2_678_400).is_ok());
        assert!(PERSISTENCE.check(2_678_401).is_err());
        assert!(PORT.parse::<u16>("0").is_err());
        assert_eq!(FWMARK.checked::<u32>(u32::MAX as i64), Ok(u32::MAX));
        assert!(
            WEIGHT.parse::<u32>("99999999999999999999999").unwrap_err().contains("not a weight")
        );
    }

    #[test]
    fn floats_are_finite_positive_and_bounded() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e20, 86_401.0] {
            assert!(DURATION_S.check(bad).is_err(), "{bad}");
        }
        assert!(DURATION_S.check(86_400.0).is_ok());
        assert!(RATE.check(1e6).is_ok() && RATE.check(1e6 + 1.0).is_err());
    }

    #[test]
    fn durations_with_units_and_exponents() {
        assert_eq!(parse_duration("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(std::time::Duration::from_secs(120)));
        assert_eq!(parse_duration("1e2s"), Ok(std::time::Duration::from_secs(100)));
        assert_eq!(parse_duration("1.5"), Ok(std::time::Duration::from_millis(1500)));
        for bad in ["1e300", "1e20s", "NaN", "inf", "-1s", "0", "2h", "", "s", "ms"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
