//! What the one observer of a running lab saw at one instant: the
//! [`Observation`] every view is built from (the dashboard's snapshot,
//! `status`, the tutorial's marks, `export`), so they all tell the same
//! truth, including what someone typed by hand into the director. Reading
//! the kernel into one is the binary's `KernelObserver`; anything that
//! implements [`Observe`] can stand in for it in tests.

use std::net::Ipv4Addr;
use std::time::SystemTime;

use lvslab_ipvs as ipvs;

use crate::lab::model::HostRole;
use crate::lab::record::LabState;

/// A link as `status` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinkInfo {
    /// Link name.
    pub name: String,
    /// Administratively up.
    pub up: bool,
    /// Addresses with prefix, e.g. `192.0.2.1/24`.
    pub addresses: Vec<String>,
    /// The bridge this link is a port of (`br0`): a port has no address
    /// of its own, so it is shown under its bridge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
}

/// The IPVS table as the kernel lists it: services with their destinations.
pub type Table = Vec<(ipvs::Service, Vec<ipvs::Destination>)>;

/// What the kernel and the process table say about a lab at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// When it was read.
    pub at: SystemTime,
    /// One entry per host of the lab, in the spec's order (client, director,
    /// real servers).
    pub hosts: Vec<HostObservation>,
    /// The director's `net.ipv4.ip_forward`; `None` when it could not be read.
    pub forwarding: Option<bool>,
    /// The director's IPVS table; on the nft dataplane, its nftables
    /// counters and conntrack entries in the same shape (see the binary's `monitor::nft`).
    pub ipvs: IpvsRead,
    /// Whether each of the lab's recorded processes runs, in the record's order.
    pub processes_running: Vec<bool>,
    /// The director's IPVS connection table (`/proc/net/ip_vs_conn`).
    pub conns: ConnsRead,
}

/// The director's connection table, or why there is none.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ConnsRead {
    /// Not asked for (an observer that reads only the IPVS table).
    #[default]
    NotRead,
    /// The lab's dataplane is not IPVS: there are no IPVS connections.
    NotUsed,
    /// Reading it failed.
    Failed(String),
    /// Every entry, in the kernel's order, and the lines that were not in
    /// the kernel's format (skipped, counted).
    Table(ipvs::conns::Parsed),
}

impl ConnsRead {
    /// The entries, when they were read.
    pub fn table(&self) -> Option<&[ipvs::conns::Conn]> {
        match self {
            Self::Table(t) => Some(&t.conns),
            Self::NotRead | Self::NotUsed | Self::Failed(_) => None,
        }
    }

    /// The whole read (entries and skipped lines), when it was read.
    pub fn parsed(&self) -> Option<&ipvs::conns::Parsed> {
        match self {
            Self::Table(t) => Some(t),
            Self::NotRead | Self::NotUsed | Self::Failed(_) => None,
        }
    }
}

/// The director's IPVS table, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum IpvsRead {
    /// The lab's dataplane is not IPVS: there is no table to read.
    NotUsed,
    /// Reading it failed (the director's namespace is gone, IPVS unloaded...).
    Failed(String),
    /// The table, as the kernel lists it (newest service and destination first).
    Table(Table),
}

impl IpvsRead {
    /// The table, when it was read.
    pub fn table(&self) -> Option<&Table> {
        match self {
            Self::Table(t) => Some(t),
            Self::NotUsed | Self::Failed(_) => None,
        }
    }
}

/// One host (network namespace) of the lab.
#[derive(Debug, Clone, PartialEq)]
pub struct HostObservation {
    /// Host name, e.g. `rs1`.
    pub name: String,
    /// Its role in the lab.
    pub role: HostRole,
    /// Whether its namespace exists.
    pub present: bool,
    /// Its links with their addresses (empty when absent or unread).
    pub interfaces: Vec<LinkInfo>,
    /// Its IPv4 default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Its `net.ipv4.conf.all.arp_ignore` and `arp_announce`: read on the
    /// real servers of a lab with a router (DR/TUN), where they decide who
    /// answers ARP for the VIP; `None` elsewhere or when unreadable.
    pub arp: Option<(u8, u8)>,
    /// Its `net.ipv4.conf.all.rp_filter` and `net.ipv4.conf.tunl0.rp_filter`:
    /// read on the real servers of a lab with a router, where a strict
    /// reverse-path filter drops the requests a TUN director tunnels to
    /// them; `None` elsewhere, when unreadable, or without tunl0.
    pub rp_filter: Option<(u8, u8)>,
    /// A director's `net.ipv4.ip_forward` (`None` for other hosts, or when
    /// unreadable): in an HA lab each director's, so a failed one shows off.
    pub ip_forward: Option<bool>,
}

impl HostObservation {
    /// Host `name` with nothing read yet: no links, gateway or sysctls.
    pub fn unread(name: &str, role: HostRole, present: bool) -> Self {
        Self {
            name: name.to_string(),
            role,
            present,
            interfaces: Vec::new(),
            gateway: None,
            arp: None,
            rp_filter: None,
            ip_forward: None,
        }
    }
}

impl Observation {
    /// A fixed observation for tests: these hosts, forwarding and table,
    /// no processes, the connection table unread.
    #[cfg(test)]
    pub(crate) fn fixed(hosts: Vec<HostObservation>, forwarding: bool, ipvs: IpvsRead) -> Self {
        Self {
            at: SystemTime::UNIX_EPOCH,
            hosts,
            forwarding: Some(forwarding),
            ipvs,
            processes_running: Vec::new(),
            conns: ConnsRead::NotRead,
        }
    }

    /// The observation of host `name`.
    pub fn host(&self, name: &str) -> Option<&HostObservation> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The default gateway of host `name`.
    pub fn gateway(&self, name: &str) -> Option<Ipv4Addr> {
        self.host(name).and_then(|h| h.gateway)
    }

    /// The director holding `vip` on one of its links: in an HA lab, the
    /// VRRP MASTER (keepalived adds the VIP to the MASTER only).
    pub fn holder_of(&self, vip: Ipv4Addr) -> Option<&str> {
        holder(&self.hosts, vip)
    }
}

/// The director among `hosts` with `vip` on one of its links.
fn holder(hosts: &[HostObservation], vip: Ipv4Addr) -> Option<&str> {
    let prefix = format!("{vip}/");
    hosts
        .iter()
        .filter(|h| h.role == HostRole::Director)
        .find(|h| h.interfaces.iter().any(|l| l.addresses.iter().any(|a| a.starts_with(&prefix))))
        .map(|h| h.name.as_str())
}

/// The director whose kernel state the observer reads (IPVS table,
/// forwarding, connections): the one director, or in an HA lab the one
/// holding the VIP (the MASTER, which balances), else director1.
pub fn active_director<'a>(state: &'a LabState, hosts: &'a [HostObservation]) -> &'a str {
    let directors = state.spec.directors();
    if state.spec.ha.is_none() {
        return directors[0];
    }
    holder(hosts, state.spec.director.vip).unwrap_or(directors[0])
}

/// Anything that can observe a lab: the kernel, or a test's fixed answer.
pub trait Observe {
    /// Reads the lab described by `state` now.
    fn observe(&mut self, state: &LabState) -> Observation;
}

/// A fixed answer, for tests: every call returns the same observation.
impl Observe for Observation {
    fn observe(&mut self, _state: &LabState) -> Observation {
        self.clone()
    }
}
