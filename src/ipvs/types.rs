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
                write!(f, "{proto} {}", super::format::addr_port(*addr, *port))
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

/// How the director forwards packets to a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// NAT: the director rewrites the destination, replies come back through it.
    Masq,
    /// The director serves the request itself.
    Local,
    /// IP-in-IP (or GUE/GRE) tunnel to the real server.
    Tunnel,
    /// Direct routing: the frame is sent to the real server's MAC.
    Route,
    /// Cache bypass.
    Bypass,
}

impl Forward {
    /// The kernel's forwarding-method number.
    pub fn to_raw(self) -> u32 {
        match self {
            Self::Masq => consts::CONN_F_MASQ,
            Self::Local => consts::CONN_F_LOCALNODE,
            Self::Tunnel => consts::CONN_F_TUNNEL,
            Self::Route => consts::CONN_F_DROUTE,
            Self::Bypass => consts::CONN_F_BYPASS,
        }
    }

    /// The method for a kernel number (only the `FWD_MASK` bits count).
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw & consts::CONN_F_FWD_MASK {
            consts::CONN_F_MASQ => Some(Self::Masq),
            consts::CONN_F_LOCALNODE => Some(Self::Local),
            consts::CONN_F_TUNNEL => Some(Self::Tunnel),
            consts::CONN_F_DROUTE => Some(Self::Route),
            consts::CONN_F_BYPASS => Some(Self::Bypass),
            _ => None,
        }
    }
}

impl fmt::Display for Forward {
    /// As `ipvsadm -L` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Masq => "Masq",
            Self::Local => "Local",
            Self::Tunnel => "Tunnel",
            Self::Route => "Route",
            Self::Bypass => "Bypass",
        })
    }
}

impl FromStr for Forward {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "nat" | "masq" | "masquerading" | "m" => Ok(Self::Masq),
            "dr" | "route" | "direct" | "gatewaying" | "g" => Ok(Self::Route),
            "tun" | "tunnel" | "ipip" | "i" => Ok(Self::Tunnel),
            "local" => Ok(Self::Local),
            "bypass" => Ok(Self::Bypass),
            _ => Err(format!(
                "unknown forwarding method '{s}': use nat (masq), dr (route) or tun (ipip)"
            )),
        }
    }
}

/// Encapsulation of a tunnelled destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelKind {
    /// Plain IP-in-IP (the default).
    Ipip,
    /// Generic UDP Encapsulation, to a UDP port.
    Gue,
    /// GRE.
    Gre,
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ipip => "ipip",
            Self::Gue => "gue",
            Self::Gre => "gre",
        })
    }
}

/// Checksum option of a GUE or GRE tunnel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelFlags {
    /// No checksum (`--tun-nocsum`, the default).
    #[default]
    NoCsum,
    /// Checksum (`--tun-csum`).
    Csum,
    /// Remote checksum offload (`--tun-remcsum`).
    RemCsum,
}

impl TunnelFlags {
    /// The kernel's `TUN_FLAGS` value.
    pub fn to_raw(self) -> u16 {
        match self {
            Self::NoCsum => consts::TUNNEL_ENCAP_FLAG_NOCSUM,
            Self::Csum => consts::TUNNEL_ENCAP_FLAG_CSUM,
            Self::RemCsum => consts::TUNNEL_ENCAP_FLAG_REMCSUM,
        }
    }

    /// Flags from the kernel's value; remote checksum wins if both bits are set.
    pub fn from_raw(raw: u16) -> Self {
        if raw & consts::TUNNEL_ENCAP_FLAG_REMCSUM != 0 {
            Self::RemCsum
        } else if raw & consts::TUNNEL_ENCAP_FLAG_CSUM != 0 {
            Self::Csum
        } else {
            Self::NoCsum
        }
    }
}

/// Tunnel settings of a destination whose method is [`Forward::Tunnel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelKind,
    /// Destination UDP port (GUE only; 0 otherwise).
    pub port: u16,
    /// Checksum option (GUE and GRE).
    pub flags: TunnelFlags,
}

impl Default for Tunnel {
    fn default() -> Self {
        Self { kind: TunnelKind::Ipip, port: 0, flags: TunnelFlags::NoCsum }
    }
}

/// A real server behind a virtual service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port (for DR and tunnels, the service's port).
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight; 0 quiesces it (no new connections).
    pub weight: u32,
    /// Upper connection threshold (0: none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0: none).
    pub lower_threshold: u32,
    /// Established connections (read-only, immediate).
    pub active_conns: u32,
    /// Other connections, e.g. TIME_WAIT (read-only, immediate).
    pub inactive_conns: u32,
    /// Persistence templates (read-only).
    pub persist_conns: u32,
    /// Counters (read-only, refreshed about every 2 s).
    pub stats: Stats,
    /// Tunnel settings, for [`Forward::Tunnel`] only.
    pub tunnel: Option<Tunnel>,
    /// Family of `addr` (may differ from the service's for tunnels).
    pub addr_family: AddressFamily,
}

impl Destination {
    /// A destination with ipvsadm's defaults: weight 1, no thresholds.
    pub fn new(addr: IpAddr, port: u16, forward: Forward) -> Self {
        Self {
            addr,
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            stats: Stats::default(),
            tunnel: (forward == Forward::Tunnel).then(Tunnel::default),
            addr_family: AddressFamily::of(&addr),
        }
    }

    /// The same destination with another weight.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
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
