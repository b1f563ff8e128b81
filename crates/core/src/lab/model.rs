//! The validated lab: what [`super::validate`] produces from a preset file and
//! every other layer consumes. Holding one of these means the rules of an
//! LVS-NAT lab (see `validate.rs`) are already met.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

pub use super::schedulers::{SchedFlag, Scheduler};

pub use super::name::{LabName, NETNS_PREFIX};

/// Link names used inside the namespaces. A real server's link in the
/// director is named after the real server.
pub mod links {
    /// The single uplink of the client and of each real server; the
    /// director's client-side link (holding the VIP).
    pub const UPLINK: &str = "eth0";
    /// The bridge in the director that the real servers hang off (holds the DIP).
    pub const BRIDGE: &str = "br0";
}

/// A validated lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabSpec {
    /// Lab name (lowercase letters, digits, `-`).
    pub name: LabName,
    /// What the lab shows.
    pub description: String,
    /// The preset's dataplane (`dataplane = "nft"`), used unless the command
    /// line names one; `None`: IPVS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataplane: Option<Dataplane>,
    /// The client-side subnet (client, VIP).
    pub client_net: Ipv4Net,
    /// The servers' subnet (DIP, RIPs).
    pub servers_net: Ipv4Net,
    /// The client's address.
    pub client: Ipv4Addr,
    /// How many addresses the client owns: `client` and the ones right
    /// after it (`[client] addresses`; 1 when absent), so traffic can come
    /// from many clients (`lvslab traffic --clients N`).
    #[serde(default = "one")]
    pub client_addresses: u32,
    /// The director's addresses.
    pub director: Director,
    /// Real servers, in file order.
    pub real_servers: Vec<RealServer>,
    /// Virtual services.
    pub services: Vec<Service>,
    /// Default traffic profile.
    pub traffic: TrafficProfile,
    /// Who programs the director's IPVS table.
    #[serde(default, skip_serializing_if = "Control::is_lvslab")]
    pub control: Control,
    /// What keepalived does with a real server whose check fails.
    #[serde(default, skip_serializing_if = "FailedCheck::is_remove")]
    pub failed_check: FailedCheck,
    /// The router between the client and the servers' segment, in labs
    /// whose real servers answer the client themselves (DR, TUN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<Router>,
    /// A network behind the router, away from the director's segment
    /// (`[networks] remote`): real servers there are reached by TUN only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_net: Option<Ipv4Net>,
    /// Two directors sharing the VIP and DIP by VRRP (`[ha]`): director
    /// failover. `None`: one director.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha: Option<Ha>,
}

/// The names of a lab's fixed hosts, as namespaces (`lvs-LAB-NAME`),
/// records and the dashboard use them; the real servers are named by the
/// preset.
pub mod hosts {
    /// The host that sends traffic to the VIP.
    pub const CLIENT: &str = "client";
    /// The one director of a lab without `[ha]`.
    pub const DIRECTOR: &str = "director";
    /// The router of a DR/TUN lab.
    pub const ROUTER: &str = "router";
    /// The two bridges of an HA lab.
    pub const SWITCH: &str = "switch";
    /// An HA lab's first director (the higher VRRP priority).
    pub const DIRECTOR1: &str = "director1";
    /// An HA lab's second director.
    pub const DIRECTOR2: &str = "director2";
}

/// Host names of the two directors of an [`Ha`] lab, the MASTER first.
pub const HA_DIRECTORS: [&str; 2] = [hosts::DIRECTOR1, hosts::DIRECTOR2];

/// Director failover (`[ha]`): two directors on both networks, keepalived's
/// VRRP holds the VIP and the DIP on the MASTER (see `lab::ha`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ha {
    /// Each director's own (client side, servers side) addresses, in
    /// [`HA_DIRECTORS`] order; the VIP and DIP float between them.
    pub own: [(Ipv4Addr, Ipv4Addr); 2],
    /// Whether the directors synchronise their IPVS connections
    /// (keepalived's `lvs_sync_daemon`), so held connections survive a failover.
    pub sync: bool,
}

/// Who owns the director's IPVS table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Control {
    /// lvslab programs the table from the preset; nothing checks the servers.
    #[default]
    Lvslab,
    /// keepalived, run in the director, programs the table from a
    /// keepalived.conf lvslab writes, and health-checks every real server.
    Keepalived,
}

impl Control {
    /// Whether lvslab itself programs the table (the default).
    pub fn is_lvslab(&self) -> bool {
        *self == Self::Lvslab
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Lvslab => "lvslab",
            Self::Keepalived => "keepalived",
        })
    }
}

/// What a failed health check does to a real server (keepalived's
/// `inhibit_on_failure`); only keepalived checks, so it matters under
/// `control = "keepalived"` and in `export --format keepalived`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailedCheck {
    /// The destination leaves the IPVS table until its check passes again.
    #[default]
    #[serde(rename = "remove")]
    Remove,
    /// The destination stays with weight 0 (no new connections; the open
    /// ones finish), and gets its weight back when the check passes.
    #[serde(rename = "weight-0")]
    WeightZero,
}

impl FailedCheck {
    /// Whether a failed server is removed (the default).
    pub fn is_remove(&self) -> bool {
        *self == Self::Remove
    }
}

impl fmt::Display for FailedCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Remove => "remove",
            Self::WeightZero => "weight-0",
        })
    }
}

/// The router of a DR/TUN lab: the client's gateway on one side, the
/// servers' segment (director and real servers) on the other. Replies of
/// DR/TUN connections cross it on their way to the client, never the director.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Router {
    /// Its address on the client network: the client's default gateway.
    pub outside: Ipv4Addr,
    /// Its address on the servers' network: the real servers' (and, for
    /// NAT replies, the director's) way out to the client.
    pub inside: Ipv4Addr,
    /// Its address on the remote network, if the lab has one: the gateway
    /// of the real servers there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Ipv4Addr>,
}

/// The director's two addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Director {
    /// Virtual IP, on the client network.
    pub vip: Ipv4Addr,
    /// Director IP, on the servers' network: the real servers' gateway.
    pub dip: Ipv4Addr,
    /// `[director.sysctl]`: IPVS settings `up` applies, by short name (as
    /// [`super::sysctl::FACTS`] names them) with the value as the kernel
    /// prints it; empty for the kernel's defaults.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sysctl: std::collections::BTreeMap<String, String>,
}

/// A real server host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServer {
    /// Host name (also its link name in the director).
    pub name: String,
    /// Its address (RIP).
    pub addr: Ipv4Addr,
    /// Milliseconds its HTTP server waits before answering (0: at once).
    #[serde(default)]
    pub delay_ms: u64,
}

/// Transport protocol of a virtual service: the IPVS layer's own type.
pub use lvslab_ipvs::Protocol;

/// How the director passes a connection to a real server (and which
/// guided walk `lvslab tutorial --method` takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// Masquerading (LVS-NAT, ipvsadm -m): requests and replies cross the
    /// director, which rewrites addresses both ways.
    Nat,
    /// Direct routing (LVS-DR, ipvsadm -g): the director hands the unchanged
    /// packet to the real server's MAC on the shared segment; the real
    /// server holds the VIP on loopback and answers the client itself.
    Dr,
    /// IP tunnelling (LVS-TUN, ipvsadm -i): the director wraps the packet in
    /// IPIP to the real server, which unwraps it on its tunnel interface
    /// (holding the VIP) and answers the client itself.
    Tun,
}

impl Forward {
    /// Whether replies bypass the director (DR, TUN).
    pub fn direct_reply(self) -> bool {
        !matches!(self, Self::Nat)
    }

    /// ipvsadm's switch for the method: `-m`, `-g`, `-i`.
    pub fn ipvsadm_switch(self) -> &'static str {
        self.to_ipvs().switch()
    }

    /// The IPVS forwarding method it is.
    pub fn to_ipvs(self) -> lvslab_ipvs::Forward {
        match self {
            Self::Nat => lvslab_ipvs::Forward::Masq,
            Self::Dr => lvslab_ipvs::Forward::Route,
            Self::Tun => lvslab_ipvs::Forward::Tunnel,
        }
    }

    /// The lab's method for an IPVS one; `None` for local and bypass, which
    /// no lab's real server (a host of its own) uses.
    pub fn from_ipvs(forward: lvslab_ipvs::Forward) -> Option<Self> {
        match forward {
            lvslab_ipvs::Forward::Masq => Some(Self::Nat),
            lvslab_ipvs::Forward::Route => Some(Self::Dr),
            lvslab_ipvs::Forward::Tunnel => Some(Self::Tun),
            lvslab_ipvs::Forward::Local | lvslab_ipvs::Forward::Bypass => None,
        }
    }
}

impl fmt::Display for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nat => "nat",
            Self::Dr => "dr",
            Self::Tun => "tun",
        })
    }
}

/// What balances the lab's services: IPVS, nftables, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Dataplane {
    /// The kernel's IPVS balances the services (needs CONFIG_IP_VS).
    Ipvs,
    /// nftables DNAT, built as kube-proxy's nftables mode builds it (numgen,
    /// jhash, verdict maps); conntrack keeps connections on their server.
    Nft,
    /// Topology only: namespaces, links, routes, forwarding; no balancing.
    None,
}

impl Dataplane {
    /// Whether the director balances the services (clients use the VIP).
    pub fn balances(self) -> bool {
        self != Self::None
    }
}

impl std::fmt::Display for Dataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ipvs => "ipvs",
            Self::Nft => "nft",
            Self::None => "none",
        })
    }
}

/// A virtual service and its real servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Transport protocol.
    pub protocol: Protocol,
    /// Virtual address (a VIP of the director).
    pub vip: Ipv4Addr,
    /// Virtual port.
    pub port: u16,
    /// IPVS scheduler.
    pub scheduler: Scheduler,
    /// Its flags (ipvsadm -b), each one `scheduler` reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduler_flags: Vec<SchedFlag>,
    /// Persistence timeout in seconds, if persistent.
    pub persistence: Option<u32>,
    /// Persistence granularity (ipvsadm -M): clients in one such subnet stick
    /// to the same real server. `None` is per client address (/32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_netmask: Option<Ipv4Addr>,
    /// Firewall-mark service (ipvsadm -f): IPVS balances packets netfilter
    /// marked with this value, whatever their address; `vip` is then only the
    /// director's VIP and `port` is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// The real servers behind this service.
    pub members: Vec<Member>,
}

impl Service {
    /// How ipvsadm names the service: `TCP 192.0.2.1:80`, `FWM 42`.
    pub fn label(&self) -> String {
        match self.fwmark {
            Some(mark) => format!("FWM {mark}"),
            None => {
                format!("{} {}:{}", self.protocol.to_string().to_uppercase(), self.vip, self.port)
            }
        }
    }

    /// Whether clients reach it by address (so traffic can be sent to it).
    pub fn addressable(&self) -> bool {
        self.fwmark.is_none()
    }
}

/// A real server as a member of one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Name of the real server host.
    pub name: String,
    /// Port on the real server.
    pub port: u16,
    /// IPVS weight (0 = drained).
    pub weight: u32,
    /// Forwarding method.
    pub forward: Forward,
}

/// What `lvslab traffic` sends by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficProfile {
    /// Total requests, unless a duration is given.
    pub requests: Option<u64>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Open-loop rate in new connections per second.
    pub rate: Option<f64>,
    /// Closed-loop concurrency.
    pub concurrency: u32,
    /// Reuse connections.
    pub keep_alive: bool,
    /// Hold each connection open this many milliseconds.
    pub hold_ms: u64,
}

impl Default for TrafficProfile {
    fn default() -> Self {
        Self {
            requests: Some(1000),
            duration_s: None,
            rate: None,
            concurrency: 4,
            keep_alive: false,
            hold_ms: 0,
        }
    }
}

/// The hosts of a lab, each one network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRole {
    /// Sends traffic to the VIP.
    Client,
    /// The load balancer.
    Director,
    /// Serves behind the director.
    RealServer,
    /// Routes between the client and the servers' segment (DR/TUN labs).
    Router,
    /// The two bridges (client side, servers' side) of an HA lab.
    Switch,
}

fn one() -> u32 {
    1
}

impl LabSpec {
    /// Every address the client owns, `client` first.
    pub fn client_addrs(&self) -> Vec<Ipv4Addr> {
        (0..self.client_addresses.max(1))
            .map(|i| Ipv4Addr::from(u32::from(self.client).saturating_add(i)))
            .collect()
    }

    /// The namespace name of a host of this lab.
    pub fn netns(&self, host: &str) -> String {
        netns_name(&self.name, host)
    }

    /// All host names: client, the router or switch if any, the
    /// director(s), then real servers.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, HostRole)> {
        let router = self.router.map(|_| (hosts::ROUTER, HostRole::Router));
        let switch = self.ha.map(|_| (hosts::SWITCH, HostRole::Switch));
        std::iter::once((hosts::CLIENT, HostRole::Client))
            .chain(router)
            .chain(switch)
            .chain(self.directors().into_iter().map(|d| (d, HostRole::Director)))
            .chain(self.real_servers.iter().map(|rs| (rs.name.as_str(), HostRole::RealServer)))
    }

    /// The directors' host names: `director`, or in an HA lab
    /// [`HA_DIRECTORS`] (the MASTER first).
    pub fn directors(&self) -> Vec<&'static str> {
        if self.ha.is_some() { HA_DIRECTORS.to_vec() } else { vec![hosts::DIRECTOR] }
    }

    /// The VIPs real server `server` must hold itself for `forward` (DR:
    /// on loopback; TUN: on its tunnel interface), each once, sorted.
    pub fn vips_held_by(&self, server: &str, forward: Forward) -> Vec<Ipv4Addr> {
        self.roles().vips_held_by(server, forward).to_vec()
    }

    /// Whether real server `server` is a NAT member of some service (its
    /// replies to those must return through the director).
    pub fn serves_nat(&self, server: &str) -> bool {
        self.roles().serves_nat(server)
    }

    /// Whether any member of any service uses DR or TUN.
    pub fn has_direct_reply(&self) -> bool {
        self.services.iter().flat_map(|s| &s.members).any(|m| m.forward.direct_reply())
    }

    /// A real server by name.
    pub fn real_server(&self, name: &str) -> Option<&RealServer> {
        self.real_servers.iter().find(|rs| rs.name == name)
    }

    /// The ports each real server must listen on (one HTTP server per port).
    pub fn listen_ports(&self, server: &str) -> Vec<u16> {
        self.roles().listen_ports(server).to_vec()
    }

    /// VIPs of services other than the director's main VIP, each once.
    pub fn extra_vips(&self) -> Vec<Ipv4Addr> {
        let mut vips: Vec<Ipv4Addr> =
            self.services.iter().map(|s| s.vip).filter(|v| *v != self.director.vip).collect();
        vips.sort_unstable();
        vips.dedup();
        vips
    }

    /// Prefix length of the client network.
    pub fn client_prefix(&self) -> u8 {
        self.client_net.prefix_len()
    }

    /// Prefix length of the servers' network.
    pub fn servers_prefix(&self) -> u8 {
        self.servers_net.prefix_len()
    }

    /// Whether real server `server` sits on the remote network, behind the
    /// router rather than on the director's segment.
    pub fn is_remote(&self, server: &str) -> bool {
        self.roles().is_remote(server)
    }

    /// Real server `server`'s address prefix and default gateway: on the
    /// remote network, the router's address there; a NAT server, the DIP
    /// (its replies must be rewritten back); a DR/TUN-only server on the
    /// segment, the router's inside address.
    pub fn placement(&self, server: &str) -> (u8, Ipv4Addr) {
        self.roles().placement(server)
    }
}

/// `lvs-<lab>-<host>`.
pub fn netns_name(lab: &LabName, host: &str) -> String {
    format!("{NETNS_PREFIX}{lab}-{host}")
}
