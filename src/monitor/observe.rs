//! The one observer of a running lab. Every view — the dashboard's snapshot,
//! `status` (text and `--json`), the tutorial's marks, `export` — is built
//! from an [`Observation`], so they all tell the same truth, including what
//! someone typed by hand into the director.
//!
//! [`KernelObserver`] reads the kernel: the director's IPVS table and
//! forwarding sysctl, each host's links, addresses and default gateway, and
//! whether the lab's processes run. It is blocking (netlink); it keeps its
//! sockets open between reads and drives rtnetlink on one small runtime of
//! its own, so call it from a plain thread, never from inside a runtime.
//! Tests replace it with anything that implements [`Observe`].

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant, SystemTime};

use crate::ipvs::{self, IpvsClient};
use crate::lab::model::{Dataplane, HostRole};
use crate::net::rtnl::{LinkInfo, Rtnl};
use crate::net::{netns, sysctl};
use crate::ops::servers;
use crate::ops::state::LabState;

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
    /// counters and conntrack entries in the same shape (see [`super::nft`]).
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
    /// Reading or parsing it failed.
    Failed(String),
    /// Every entry, in the kernel's order.
    Table(Vec<ipvs::conns::Conn>),
}

impl ConnsRead {
    /// The entries, when they were read.
    pub fn table(&self) -> Option<&[ipvs::conns::Conn]> {
        match self {
            Self::Table(t) => Some(t),
            Self::NotRead | Self::NotUsed | Self::Failed(_) => None,
        }
    }
}

/// Reads and parses the connection table of the namespace `netns_name`,
/// on a thread inside it.
pub fn read_conns(netns_name: &str) -> ConnsRead {
    let read = netns::run_in(netns_name, || std::fs::read_to_string(ipvs::conns::PROC_PATH));
    match read {
        Err(e) => ConnsRead::Failed(e.to_string()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => ConnsRead::Failed(format!(
            "{} is missing: this kernel has no IPVS (ip_vs not loaded)",
            ipvs::conns::PROC_PATH
        )),
        Ok(Err(e)) => ConnsRead::Failed(format!("read {}: {e}", ipvs::conns::PROC_PATH)),
        Ok(Ok(text)) => match ipvs::conns::parse(&text) {
            Ok(conns) => ConnsRead::Table(conns),
            Err(e) => ConnsRead::Failed(e.to_string()),
        },
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
fn active_director<'a>(state: &'a LabState, hosts: &'a [HostObservation]) -> &'a str {
    let directors = state.spec.directors();
    if state.spec.ha.is_none() {
        return directors[0];
    }
    holder(hosts, state.spec.director.vip).unwrap_or(directors[0])
}

/// The namespace of the director that balances now, found without reading
/// every host: the one director, or in an HA lab the VRRP MASTER (else
/// director1).
pub fn balancing_director_netns(state: &LabState) -> String {
    state.spec.netns(match state.spec.ha {
        Some(_) => crate::ops::ha::master(&state.spec).unwrap_or("director1"),
        None => "director",
    })
}

/// Reads one service's connection counts (ActiveConn, InActConn per
/// destination, in the kernel's order) again and again on one open socket:
/// `traffic --predict` reads them before each connection, because they are
/// what the kernel schedules lc, wlc, sed and nq by.
pub struct CountsReader {
    client: IpvsClient,
    key: ipvs::ServiceKey,
}

impl CountsReader {
    /// Opens the reader on the balancing director of `state`.
    ///
    /// # Errors
    /// When the director's IPVS cannot be reached.
    pub fn open(state: &LabState, key: ipvs::ServiceKey) -> Result<Self, ipvs::Error> {
        Ok(Self { client: IpvsClient::open_in(&balancing_director_netns(state))?, key })
    }

    /// The counts now; empty when they cannot be read (the prediction then
    /// goes on from its own counts).
    pub fn read(&mut self) -> super::predict::Counts {
        self.client.destinations(&self.key).map_or_else(
            |_| Vec::new(),
            |dests| dests.iter().map(|d| (d.active_conns, d.inactive_conns)).collect(),
        )
    }
}

/// Anything that can observe a lab: the kernel, or a test's fixed answer.
pub trait Observe {
    /// Reads the lab described by `state` now.
    fn observe(&mut self, state: &LabState) -> Observation;
}

/// How often a long-lived observer re-reads links and routes: they change
/// rarely (the tutorial's gateway step, someone's `ip route` in another
/// shell), while the IPVS table is read on every call.
pub const HOSTS_REFRESH: Duration = Duration::from_secs(1);

/// Observes a lab in the kernel, keeping its sockets open between reads.
pub struct KernelObserver {
    /// Drives the rtnetlink sockets; only while a read is in progress.
    runtime: Option<tokio::runtime::Runtime>,
    /// The IPVS socket and the director it was opened in.
    ipvs: Option<(String, IpvsClient)>,
    nft: super::nft::NftReader,
    rtnl: HashMap<String, Rtnl>,
    hosts_every: Duration,
    hosts: Vec<HostObservation>,
    hosts_at: Option<Instant>,
    conns: bool,
}

impl KernelObserver {
    /// An observer that re-reads hosts at most every `hosts_every`
    /// (`Duration::ZERO`: on every call).
    pub fn new(hosts_every: Duration) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok();
        Self {
            runtime,
            ipvs: None,
            nft: super::nft::NftReader::default(),
            rtnl: HashMap::new(),
            hosts_every,
            hosts: Vec::new(),
            hosts_at: None,
            conns: false,
        }
    }

    /// The same observer, also reading the connection table on every call.
    #[must_use]
    pub fn with_conns(mut self) -> Self {
        self.conns = true;
        self
    }

    /// The connection table of `state` alone (no hosts, no IPVS table),
    /// for `lvslab conns`, which reads it every second with `--watch`.
    pub fn read_conns_of(state: &LabState) -> ConnsRead {
        match state.dataplane {
            Dataplane::Ipvs => read_conns(&balancing_director_netns(state)),
            _ => ConnsRead::NotUsed,
        }
    }

    /// One fresh observation of `state`, for the one-shot commands.
    pub fn once(state: &LabState) -> Observation {
        Self::new(Duration::ZERO).observe(state)
    }

    fn read_ipvs(&mut self, state: &LabState, director: &str) -> IpvsRead {
        if state.dataplane == Dataplane::Nft {
            return self.nft.read(&state.spec);
        }
        if state.dataplane != Dataplane::Ipvs {
            return IpvsRead::NotUsed;
        }
        // A failover moved the table that balances: follow it.
        if self.ipvs.as_ref().is_some_and(|(host, _)| host != director) {
            self.ipvs = None;
        }
        if self.ipvs.is_none() {
            match IpvsClient::open_in(&state.spec.netns(director)) {
                Ok(client) => self.ipvs = Some((director.to_string(), client)),
                Err(e) => return IpvsRead::Failed(e.to_string()),
            }
        }
        let (_, client) = self.ipvs.as_mut().expect("opened above");
        match client.table() {
            Ok(table) => IpvsRead::Table(table),
            Err(e) => {
                // The namespace may have gone and come back: reopen next time.
                self.ipvs = None;
                IpvsRead::Failed(e.to_string())
            }
        }
    }

    fn read_hosts(&mut self, state: &LabState) -> Vec<HostObservation> {
        let spec = &state.spec;
        let stale = self.hosts_at.is_none_or(|at| at.elapsed() >= self.hosts_every);
        let same_hosts = self.hosts.len() == spec.hosts().count()
            && self.hosts.iter().zip(spec.hosts()).all(|(h, (name, _))| h.name == name);
        if !stale && same_hosts {
            return self.hosts.clone();
        }
        self.rtnl.retain(|name, _| spec.hosts().any(|(n, _)| n == name));
        let hosts: Vec<HostObservation> =
            spec.hosts().map(|(name, role)| self.read_host(state, name, role)).collect();
        self.hosts.clone_from(&hosts);
        self.hosts_at = Some(Instant::now());
        hosts
    }

    fn read_host(&mut self, state: &LabState, name: &str, role: HostRole) -> HostObservation {
        let ns = state.spec.netns(name);
        let mut host = HostObservation::unread(name, role, netns::exists(&ns));
        let Some(runtime) = &self.runtime else { return host };
        if !host.present {
            self.rtnl.remove(name);
            return host;
        }
        if role == HostRole::Director {
            host.ip_forward = read_forwarding(&ns);
        }
        if role == HostRole::RealServer && state.spec.router.is_some() {
            host.arp = read_arp(&ns);
            host.rp_filter = read_rp_filter(&ns);
        }
        let read = runtime.block_on(async {
            if !self.rtnl.contains_key(name) {
                self.rtnl.insert(name.to_string(), Rtnl::connect(&ns)?);
            }
            let socket = self.rtnl.get_mut(name).expect("connected above");
            Ok::<_, crate::net::Error>((socket.links().await?, socket.default_gateway().await?))
        });
        match read {
            Ok((interfaces, gateway)) => {
                host.interfaces = interfaces;
                host.gateway = gateway;
            }
            Err(e) => {
                tracing::debug!("observing {name}: {e}");
                self.rtnl.remove(name);
            }
        }
        host
    }
}

/// `arp_ignore` and `arp_announce` (the `all` values) of namespace `ns`.
fn read_arp(ns: &str) -> Option<(u8, u8)> {
    let read = |key: &str| sysctl::read(ns, key).ok()?.parse::<u8>().ok();
    Some((read("net.ipv4.conf.all.arp_ignore")?, read("net.ipv4.conf.all.arp_announce")?))
}

/// `rp_filter` of namespace `ns`: the `all` value and the tunnel's.
fn read_rp_filter(ns: &str) -> Option<(u8, u8)> {
    let read = |key: &str| sysctl::read(ns, key).ok()?.parse::<u8>().ok();
    let tunnel = format!("net.ipv4.conf.{}.rp_filter", crate::lab::routed::TUNNEL);
    Some((read("net.ipv4.conf.all.rp_filter")?, read(&tunnel)?))
}

/// `net.ipv4.ip_forward` of namespace `ns`, if it exists and can be read.
fn read_forwarding(ns: &str) -> Option<bool> {
    netns::exists(ns).then(|| sysctl::read(ns, "net.ipv4.ip_forward").ok().map(|v| v == "1"))?
}

impl Observe for KernelObserver {
    fn observe(&mut self, state: &LabState) -> Observation {
        let hosts = self.read_hosts(state);
        let host = active_director(state, &hosts).to_string();
        let director = state.spec.netns(&host);
        // Read on every call, where the hosts' copy may be a second old.
        let forwarding = read_forwarding(&director);
        Observation {
            at: SystemTime::now(),
            hosts,
            forwarding,
            ipvs: self.read_ipvs(state, &host),
            processes_running: state.processes.iter().map(servers::is_running).collect(),
            conns: match (self.conns, state.dataplane) {
                (false, _) => ConnsRead::NotRead,
                (true, Dataplane::Ipvs) => read_conns(&director),
                (true, _) => ConnsRead::NotUsed,
            },
        }
    }
}

/// A fixed answer, for tests: every call returns the same observation.
impl Observe for Observation {
    fn observe(&mut self, _state: &LabState) -> Observation {
        self.clone()
    }
}
