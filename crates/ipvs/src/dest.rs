//! Real servers: a [`Destination`], how packets reach it ([`Forward`]) and,
//! for tunnels, the encapsulation ([`Tunnel`]).
//!
//! Split from [`super::types`] only for size; `types` re-exports everything.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::consts;
use super::types::{AddressFamily, Stats};

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
    /// ipvsadm's switch for the method (`-m`, `-g`, `-i`); local and bypass
    /// have none of their own and are listed as `-g`, as ipvsadm lists them.
    pub fn switch(self) -> &'static str {
        match self {
            Self::Masq => "-m",
            Self::Tunnel => "-i",
            Self::Local | Self::Route | Self::Bypass => "-g",
        }
    }

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
