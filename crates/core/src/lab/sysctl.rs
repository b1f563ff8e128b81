//! The director's IPVS knobs as facts, in one place: every `net.ipv4.vs.*`
//! setting lvslab knows and IPVS's three connection timeouts (`ipvsadm
//! --set tcp tcpfin udp`), each with the kernel's default and one line on
//! what it does. `lvslab sysctl` lists and changes them, presets set them,
//! the exports write them, `status` shows those off their default, and
//! `diagnose` reads the same table. No IO here: the binary reads and writes.
//!
//! Defaults and meanings are from Documentation/networking/ipvs-sysctl.rst
//! and the 6.1 sources (ip_vs_ctl.c, ip_vs_core.c, ip_vs_conn.c,
//! ip_vs_sync.c); timeouts are the defaults of ip_vs_proto_tcp.c/udp.c.

use std::fmt;

/// Where a setting lives in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A file under `/proc/sys/net/ipv4/vs/` of the director's namespace.
    Sysctl,
    /// One of IPVS's connection timeouts, over generic netlink
    /// (IPVS_CMD_SET_CONFIG / GET_CONFIG), as `ipvsadm --set` does.
    Timeout,
}

/// The values a setting accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 0 or 1.
    Bool,
    /// An integer in `min..=max`.
    Range(i64, i64),
    /// Two integers separated by white space (`sync_threshold`: `3 50`).
    Pair,
}

/// One knob: its short name, where it lives, its default, what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    /// Short name: the sysctl's last component, or `tcp`/`tcpfin`/`udp`.
    pub name: &'static str,
    /// Where it lives.
    pub place: Place,
    /// The kernel's default as the kernel prints it; `None` when it
    /// depends on the machine (memory) and has no fixed default.
    pub default: Option<&'static str>,
    /// What it accepts.
    pub kind: Kind,
    /// One line on what it does.
    pub does: &'static str,
}

/// Longest IPVS timeout accepted, seconds: the kernel multiplies by HZ
/// into an int, so larger values overflow where HZ is 1000.
pub const MAX_TIMEOUT: i64 = 2_147_483;

const fn sysctl(name: &'static str, default: &'static str, kind: Kind, does: &'static str) -> Fact {
    Fact { name, place: Place::Sysctl, default: Some(default), kind, does }
}

const fn timeout(name: &'static str, default: &'static str, does: &'static str) -> Fact {
    Fact {
        name,
        place: Place::Timeout,
        default: Some(default),
        kind: Kind::Range(1, MAX_TIMEOUT),
        does,
    }
}

const B: Kind = Kind::Bool;
const INT: Kind = Kind::Range(0, i32::MAX as i64);

/// Every knob lvslab knows, sysctls in the kernel's documentation's order,
/// then the timeouts.
pub const FACTS: &[Fact] = &[
    sysctl("am_droprate", "10", INT, "drop rate (1 in N) when drop_packet is in mode 1/2"),
    sysctl("amemthresh", "1024", INT, "free memory (pages) under which the defence modes start"),
    sysctl("backup_only", "0", B, "1: a backup sync daemon's director does not balance (no DNAT)"),
    sysctl(
        "cache_bypass",
        "0",
        B,
        "1: with no destination, send the packet on to its original address",
    ),
    sysctl(
        "conn_reuse_mode",
        "1",
        Kind::Range(0, 3),
        "a SYN on a reused client port: bit 1 reschedules after TIME_WAIT, bit 2 also after FIN_WAIT (DR/TUN)",
    ),
    sysctl(
        "conntrack",
        "0",
        B,
        "1: keep netfilter conntrack entries for IPVS connections (needed by nft NAT/stateful rules)",
    ),
    sysctl(
        "drop_entry",
        "0",
        Kind::Range(0, 3),
        "defence: drop connection entries at random under memory pressure (0 off, 1/2 auto, 3 always)",
    ),
    sysctl(
        "drop_packet",
        "0",
        Kind::Range(0, 3),
        "defence: drop 1 in am_droprate packets under memory pressure (0 off, 1/2 auto, 3 always)",
    ),
    sysctl(
        "expire_nodest_conn",
        "0",
        B,
        "0: a removed server's connections hang (packets dropped) until their timeout; 1: flushed at once, TCP gets a reset",
    ),
    sysctl(
        "expire_quiescent_template",
        "0",
        B,
        "0: a persistence template keeps its client on a weight-0 server; 1: the client's next connection moves",
    ),
    sysctl(
        "ignore_tunneled",
        "0",
        B,
        "1: IPVS ignores packets that arrived over a tunnel (ipip/gre)",
    ),
    sysctl(
        "nat_icmp_send",
        "0",
        B,
        "1: send ICMP port unreachable when a NAT real server's port is closed",
    ),
    sysctl("pmtu_disc", "1", B, "1: honour DF for TUN (ICMP frag needed); 0: fragment"),
    sysctl(
        "run_estimation",
        "1",
        B,
        "1: compute the rate counters (CPS, PPS, BPS) of every service",
    ),
    sysctl(
        "schedule_icmp",
        "0",
        B,
        "1: schedule ICMP packets not part of a connection (ping to the VIP reaches a server)",
    ),
    sysctl(
        "secure_tcp",
        "0",
        Kind::Range(0, 3),
        "defence: stricter TCP state timeouts under SYN flood (0 off, 1/2 auto, 3 always)",
    ),
    sysctl(
        "sloppy_sctp",
        "0",
        B,
        "1: create SCTP entries from any chunk, not only INIT (for director failover)",
    ),
    sysctl(
        "sloppy_tcp",
        "0",
        B,
        "1: create TCP entries from any segment, not only SYN (a backup takes over mid-connection)",
    ),
    sysctl(
        "snat_reroute",
        "1",
        B,
        "1: re-route a NAT reply by its new source (policy routing on the director)",
    ),
    sysctl("sync_persist_mode", "0", B, "1: sync only persistence templates, not each connection"),
    sysctl(
        "sync_ports",
        "1",
        Kind::Range(1, 128),
        "sync daemon: threads/ports the sync traffic is spread over",
    ),
    Fact {
        name: "sync_qlen_max",
        place: Place::Sysctl,
        default: None,
        kind: INT,
        does: "sync daemon: longest send queue (default from the machine's memory)",
    },
    sysctl(
        "sync_refresh_period",
        "0",
        INT,
        "sync daemon: seconds after which an unchanged connection is sent again (0: by sync_threshold)",
    ),
    sysctl(
        "sync_retries",
        "0",
        Kind::Range(0, 3),
        "sync daemon: resends of a connection after sync_refresh_period",
    ),
    sysctl("sync_sock_size", "0", INT, "sync daemon: socket buffer size (0: the kernel's)"),
    sysctl(
        "sync_threshold",
        "3\t50",
        Kind::Pair,
        "sync daemon: send a connection at its Nth incoming packet and every Mth after (TCP once established)",
    ),
    sysctl(
        "sync_version",
        "1",
        B,
        "sync daemon protocol: 1 (with IPv6, persistence engines) or 0 (old)",
    ),
    timeout("tcp", "900", "IPVS timeout of an established TCP entry, seconds (ipvsadm --set tcp)"),
    timeout(
        "tcpfin",
        "120",
        "IPVS timeout of a TCP entry after FIN, seconds (ipvsadm --set tcpfin)",
    ),
    timeout("udp", "300", "IPVS timeout of a UDP entry, seconds (ipvsadm --set udp)"),
];

/// The sysctls' folder, as a dotted prefix.
pub const PREFIX: &str = "net.ipv4.vs.";

/// The fact of `name` (short or `net.ipv4.vs.NAME`).
pub fn fact(name: &str) -> Option<&'static Fact> {
    let short = name.strip_prefix(PREFIX).unwrap_or(name);
    FACTS.iter().find(|f| f.name == short)
}

impl Fact {
    /// The name a user sees: `net.ipv4.vs.NAME`, or `timeout NAME`.
    pub fn full_name(&self) -> String {
        match self.place {
            Place::Sysctl => format!("{PREFIX}{}", self.name),
            Place::Timeout => format!("timeout {}", self.name),
        }
    }

    /// `value` normalised (white space of a pair to one tab, as the kernel
    /// prints it), or why it is not a value of this knob.
    pub fn parse(&self, value: &str) -> Result<String, String> {
        let int = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| format!("'{}' is not a whole number", crate::lab::text::shown(v)))
        };
        match self.kind {
            Kind::Bool => match value.trim() {
                "0" | "1" => Ok(value.trim().to_string()),
                v => {
                    Err(format!("{} takes 0 or 1, not '{}'", self.name, crate::lab::text::shown(v)))
                }
            },
            Kind::Range(min, max) => {
                let v = int(value.trim())?;
                if (min..=max).contains(&v) {
                    Ok(v.to_string())
                } else {
                    Err(format!("{} takes {min} to {max}, not {v}", self.name))
                }
            }
            Kind::Pair => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let [a, b] = parts[..] else {
                    return Err(format!(
                        "{} takes two numbers, as '3 50', not '{}'",
                        self.name,
                        crate::lab::text::shown(value)
                    ));
                };
                let (a, b) = (int(a)?, int(b)?);
                if !(0..=i64::from(i32::MAX)).contains(&a)
                    || !(0..=i64::from(i32::MAX)).contains(&b)
                {
                    return Err(format!("{}: both numbers must be 0 or more", self.name));
                }
                Ok(format!("{a}\t{b}"))
            }
        }
    }

    /// Whether `value` (as the kernel prints it) is this knob's default;
    /// `None` when it has no fixed default.
    pub fn is_default(&self, value: &str) -> Option<bool> {
        let default = self.default?;
        Some(value.split_whitespace().eq(default.split_whitespace()))
    }
}

/// One change asked for: a knob and its new value, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The knob.
    pub fact: &'static Fact,
    /// Its new value, as the kernel prints it.
    pub value: String,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.fact.name, self.value.replace('\t', " "))
    }
}

/// Parses `NAME=VALUE` (NAME short or `net.ipv4.vs.NAME`, or a timeout
/// `tcp`, `tcpfin`, `udp`).
///
/// # Errors
/// The name is unknown (the message lists the known ones) or the value is
/// not one the knob takes.
pub fn parse_setting(text: &str) -> Result<Setting, String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "'{}' is not NAME=VALUE (e.g. expire_nodest_conn=1 or tcp=5)",
            crate::lab::text::shown(text)
        ));
    };
    let name = name.trim();
    let fact = fact(name).ok_or_else(|| unknown(name))?;
    Ok(Setting { fact, value: fact.parse(value)? })
}

/// The error for a name that is no knob.
pub fn unknown(name: &str) -> String {
    let names: Vec<&str> = FACTS.iter().map(|f| f.name).collect();
    format!("unknown IPVS setting '{}'; known: {}", crate::lab::text::shown(name), names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_a_value_of_its_own_kind() {
        for f in FACTS {
            if let Some(d) = f.default {
                assert_eq!(f.parse(d).as_deref(), Ok(d), "{}", f.name);
            }
            assert!(!f.does.is_empty() && f.does.len() < 120, "{}: one short line", f.name);
        }
    }

    #[test]
    fn names_are_unique_and_found_short_or_dotted() {
        for f in FACTS {
            assert_eq!(FACTS.iter().filter(|g| g.name == f.name).count(), 1, "{}", f.name);
        }
        assert_eq!(fact("net.ipv4.vs.expire_nodest_conn").unwrap().name, "expire_nodest_conn");
        assert_eq!(fact("tcp").unwrap().place, Place::Timeout);
        assert!(fact("net.ipv4.vs.tcp").is_some(), "the prefix is only stripped");
        assert!(fact("expire_nodest").is_none());
    }

    #[test]
    fn settings_parse_normalise_and_refuse_with_the_reason() {
        let s = parse_setting("expire_nodest_conn=1").unwrap();
        assert_eq!((s.fact.name, s.value.as_str()), ("expire_nodest_conn", "1"));
        assert_eq!(parse_setting("tcp=5").unwrap().value, "5");
        assert_eq!(parse_setting("sync_threshold=3  50").unwrap().value, "3\t50");
        assert_eq!(
            parse_setting("sync_threshold=3  50").unwrap().to_string(),
            "sync_threshold=3 50"
        );
        let e = parse_setting("expire_nodest_conn=2").unwrap_err();
        assert!(e.contains("0 or 1"), "{e}");
        let e = parse_setting("tcp=0").unwrap_err();
        assert!(e.contains("1 to 2147483"), "{e}");
        let e = parse_setting("conn_reuse_mode=x").unwrap_err();
        assert!(e.contains("not a whole number"), "{e}");
        let e = parse_setting("nodest=1").unwrap_err();
        assert!(e.contains("unknown") && e.contains("expire_nodest_conn"), "{e}");
        let e = parse_setting("tcp").unwrap_err();
        assert!(e.contains("NAME=VALUE"), "{e}");
        let e = parse_setting("sync_threshold=3").unwrap_err();
        assert!(e.contains("two numbers"), "{e}");
        let e = parse_setting("x\u{1b}[2J=1").unwrap_err();
        assert!(!e.contains('\u{1b}'), "escaped: {e}");
    }

    #[test]
    fn defaults_compare_by_value_not_by_white_space() {
        let t = fact("sync_threshold").unwrap();
        assert_eq!(t.is_default("3 50"), Some(true));
        assert_eq!(t.is_default("3\t49"), Some(false));
        assert_eq!(fact("sync_qlen_max").unwrap().is_default("1234"), None);
    }
}
