//! The IPVS table as plain data: services, destinations, counters, timeouts.
//!
//! These types carry no socket and no wire layout; [`super::wire`] converts
//! them to and from netlink attributes and [`super::format`] to and from
//! ipvsadm text. Every field is what the kernel stores, in host terms
//! (ports as numbers, masks as numbers), so equality means "same kernel state".

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::consts;

/// An address family, IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressFamily {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

impl AddressFamily {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::Inet,
            IpAddr::V6(_) => Self::Inet6,
        }
    }

    /// The kernel's number (`AF_INET` 2, `AF_INET6` 10).
    pub fn to_raw(self) -> u16 {
        match self {
            Self::Inet => consts::AF_INET,
            Self::Inet6 => consts::AF_INET6,
        }
    }

    /// The family for a kernel number, if it is one IPVS supports.
    pub fn from_raw(raw: u16) -> Option<Self> {
        match raw {
            consts::AF_INET => Some(Self::Inet),
            consts::AF_INET6 => Some(Self::Inet6),
            _ => None,
        }
    }

    /// The unspecified address of this family.
    pub fn unspecified(self) -> IpAddr {
        match self {
            Self::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Self::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inet => "IPv4",
            Self::Inet6 => "IPv6",
        })
    }
}

/// The transport protocol of an address-based virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn to_raw(self) -> u16 {
        match self {
            Self::Tcp => consts::IPPROTO_TCP,
            Self::Udp => consts::IPPROTO_UDP,
            Self::Sctp => consts::IPPROTO_SCTP,
        }
    }

    /// The protocol for an IP protocol number, if IPVS supports it.
    pub fn from_raw(raw: u16) -> Option<Self> {
        match raw {
            consts::IPPROTO_TCP => Some(Self::Tcp),
            consts::IPPROTO_UDP => Some(Self::Udp),
            consts::IPPROTO_SCTP => Some(Self::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        })
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            "sctp" => Ok(Self::Sctp),
            _ => Err(format!("unknown protocol '{s}': use tcp, udp or sctp")),
        }
    }
}

/// What identifies a virtual service: protocol, address and port, or a
/// firewall mark set by netfilter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ServiceKey {
    /// `-t|-u|--sctp-service addr:port`.
    Addr {
        /// Transport protocol.
        proto: Protocol,
        /// Virtual IP.
        addr: IpAddr,
        /// Virtual port (0 only for persistent services).
        port: u16,
    },
    /// `-f mark`, for packets netfilter marked.
    Fwmark {
        /// Family of the packets the mark applies to.
        af: AddressFamily,
        /// The firewall mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The address family of the service.
    pub fn af(&self) -> AddressFamily {
        match self {
            Self::Addr { addr, .. } => AddressFamily::of(addr),
            Self::Fwmark { af, .. } => *af,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// Like ipvsadm's rule syntax: `tcp 192.0.2.1:80`, `fwmark 42`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr { proto, addr, port } => {
                write!(f, "{proto} {}", addr_port(*addr, *port))
            }
            Self::Fwmark { af: AddressFamily::Inet, mark } => write!(f, "fwmark {mark}"),
            Self::Fwmark { af: AddressFamily::Inet6, mark } => write!(f, "fwmark {mark} (IPv6)"),
        }
    }
}

/// Service flags the user can set (the kernel's `hashed` bit is dropped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceFlags {
    /// Persistent: a client sticks to one destination for the timeout.
    pub persistent: bool,
    /// One-packet scheduling (UDP): each datagram scheduled on its own.
    pub one_packet: bool,
    /// Scheduler flag 1: `sh-fallback` / `mh-fallback`.
    pub sched_flag_1: bool,
    /// Scheduler flag 2: `sh-port` / `mh-port`.
    pub sched_flag_2: bool,
    /// Scheduler flag 3 (no scheduler uses it yet).
    pub sched_flag_3: bool,
}

impl ServiceFlags {
    /// The kernel's bits.
    pub fn to_bits(self) -> u32 {
        let mut bits = 0;
        for (set, bit) in [
            (self.persistent, consts::SVC_F_PERSISTENT),
            (self.one_packet, consts::SVC_F_ONEPACKET),
            (self.sched_flag_1, consts::SVC_F_SCHED1),
            (self.sched_flag_2, consts::SVC_F_SCHED2),
            (self.sched_flag_3, consts::SVC_F_SCHED3),
        ] {
            if set {
                bits |= bit;
            }
        }
        bits
    }

    /// Flags from the kernel's bits; `hashed` and unknown bits are ignored.
    pub fn from_bits(bits: u32) -> Self {
        Self {
            persistent: bits & consts::SVC_F_PERSISTENT != 0,
            one_packet: bits & consts::SVC_F_ONEPACKET != 0,
            sched_flag_1: bits & consts::SVC_F_SCHED1 != 0,
            sched_flag_2: bits & consts::SVC_F_SCHED2 != 0,
            sched_flag_3: bits & consts::SVC_F_SCHED3 != 0,
        }
    }

    /// The scheduler flags as ipvsadm names them for `scheduler`
    /// (`sh-fallback`, `mh-port`, or `flag-1`..`flag-3` for others).
    pub fn sched_flag_names(self, scheduler: &str) -> Vec<String> {
        let names: [&str; 3] = match scheduler {
            "sh" => ["sh-fallback", "sh-port", "flag-3"],
            "mh" => ["mh-fallback", "mh-port", "flag-3"],
            _ => ["flag-1", "flag-2", "flag-3"],
        };
        [self.sched_flag_1, self.sched_flag_2, self.sched_flag_3]
            .into_iter()
            .zip(names)
            .filter(|(set, _)| *set)
            .map(|(_, name)| name.to_string())
            .collect()
    }

    /// Sets a scheduler flag by its ipvsadm name; false if the name is unknown.
    pub fn set_sched_flag(&mut self, name: &str) -> bool {
        match name {
            "flag-1" | "sh-fallback" | "mh-fallback" => self.sched_flag_1 = true,
            "flag-2" | "sh-port" | "mh-port" => self.sched_flag_2 = true,
            "flag-3" => self.sched_flag_3 = true,
            _ => return false,
        }
        true
    }
}

/// Traffic counters and rates of a service or destination.
///
/// The kernel's estimator folds per-CPU counters into these about every
/// 2 s, so they lag traffic; rates are per second, averaged by the kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in (client to server).
    pub in_pkts: u64,
    /// Packets out (server to client; only seen for NAT).
    pub out_pkts: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Packets in per second.
    pub in_pps: u64,
    /// Packets out per second.
    pub out_pps: u64,
    /// Bytes in per second.
    pub in_bps: u64,
    /// Bytes out per second.
    pub out_bps: u64,
}

/// A virtual service and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, ...); any name the kernel reports.
    pub scheduler: String,
    /// Persistence, one-packet and scheduler flags.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful when persistent).
    pub persistence_timeout: u32,
    /// Persistence granularity: for IPv4 the mask as a number
    /// (`0xffff_ff00` is 255.255.255.0), for IPv6 a prefix length.
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
    /// Counters; ignored when writing.
    pub stats: Stats,
}

impl Service {
    /// A service with ipvsadm's defaults: not persistent, full netmask.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Self {
        Self {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::default(),
            persistence_timeout: 0,
            netmask: default_netmask(key.af()),
            pe_name: None,
            stats: Stats::default(),
        }
    }
}

/// The netmask ipvsadm sends when none is given: /32 or /128.
pub fn default_netmask(af: AddressFamily) -> u32 {
    match af {
        AddressFamily::Inet => u32::MAX,
        AddressFamily::Inet6 => 128,
    }
}

/// Connection timeouts of the namespace (`ipvsadm --set tcp tcpfin udp`).
///
/// When writing, 0 leaves a value unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Established TCP, seconds.
    pub tcp: u32,
    /// TCP after FIN, seconds.
    pub tcp_fin: u32,
    /// UDP, seconds.
    pub udp: u32,
}

/// What the kernel says about its IPVS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Version, `0x010201` for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as ipvsadm prints it, e.g. `1.2.1`.
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

impl fmt::Display for Info {
    /// The first line of `ipvsadm -L`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IP Virtual Server version {} (size={})",
            self.version_string(),
            self.conn_tab_size
        )
    }
}

/// `addr:port`, with IPv6 addresses in brackets, as ipvsadm writes them.
pub fn addr_port(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}
