//! The one observer of a running lab: it reads the kernel into the
//! [`Observation`] every view is built from.
//!
//! [`KernelObserver`] reads the kernel: the director's IPVS table and
//! forwarding sysctl, each host's links, addresses and default gateway, and
//! whether the lab's processes run. It is blocking (netlink); it keeps its
//! sockets open between reads and drives rtnetlink on one small runtime of
//! its own, so call it from a plain thread, never from inside a runtime.
//! Tests replace it with anything that implements [`Observe`].
//!
//! A few reads are made only on request: the connection table, and, each
//! failing with a [`ReadError`], the IPVS table or its header alone (the
//! guided walk polls the counters) and a host's tunnel counters.

use lvslab_core::lab::model::hosts;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use lvslab_core::lab::model::{Dataplane, HostRole};
use lvslab_core::lab::record::LabState;
use lvslab_core::monitor::observation::Table;
use lvslab_core::monitor::observation::active_director;
use lvslab_core::monitor::predict::Counts;
use lvslab_core::monitor::{ConnsRead, HostObservation, IpvsRead, Observation, Observe};
use lvslab_ipvs::{self as ipvs, IpvsClient};
use lvslab_sys::netns;

use crate::net::rtnl::Rtnl;
use crate::net::{counters, sysctl};
use crate::ops::servers;

/// A read made on request that failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A namespace, a netlink socket or a `/proc` file.
    #[error(transparent)]
    Net(#[from] crate::net::Error),
    /// The director's IPVS table.
    #[error(transparent)]
    Ipvs(#[from] ipvs::Error),
    /// The host has no such link.
    #[error("{host} has no {link} (the ipip module is not loaded)")]
    NoLink {
        /// Host.
        host: String,
        /// Link.
        link: &'static str,
    },
    /// The kernel does not count that.
    #[error("{host}: no {counter} counter in /proc/net/netstat")]
    NoCounter {
        /// Host.
        host: String,
        /// Counter, as its `TcpExt:` line names it.
        counter: &'static str,
    },
}

/// What a host's kernel counted about its IPIP tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelCounts {
    /// Packets `tunl0` received (`/proc/net/dev`).
    pub received: u64,
    /// Packets the reverse-path filter dropped, on any link (`nstat`'s
    /// `TcpExtIPReversePathFilter`).
    pub rp_dropped: u64,
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
        Ok(Ok(text)) => ConnsRead::Table(ipvs::conns::parse(&text)),
    }
}

/// The namespace of the director that balances now, found without reading
/// every host: the one director, or in an HA lab the VRRP MASTER (else
/// director1).
pub fn balancing_director_netns(state: &LabState) -> String {
    state.spec.netns(match state.spec.ha {
        Some(_) => crate::ops::vrrp::master(&state.spec).unwrap_or(hosts::DIRECTOR1),
        None => hosts::DIRECTOR,
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
    pub fn read(&mut self) -> Counts {
        self.client.destinations(&self.key).map_or_else(
            |_| Vec::new(),
            |dests| dests.iter().map(|d| (d.active_conns, d.inactive_conns)).collect(),
        )
    }
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
            Dataplane::Nft => super::nft::read_conns(&state.spec),
            Dataplane::None => ConnsRead::NotUsed,
        }
    }

    /// The balancing director's IPVS table alone (no hosts), read on a
    /// socket opened for it: for what polls the counters.
    pub fn read_table_of(state: &LabState) -> Result<Table, ReadError> {
        Ok(IpvsClient::open_in(&balancing_director_netns(state))?.table()?)
    }

    /// The balancing director's IPVS version and connection table size,
    /// the header of `ipvsadm -Ln`.
    pub fn read_info_of(state: &LabState) -> Result<ipvs::Info, ReadError> {
        Ok(IpvsClient::open_in(&balancing_director_netns(state))?.info()?)
    }

    /// What host `host` of `state` counted about its tunnel so far.
    pub fn tunnel_counts_of(state: &LabState, host: &str) -> Result<TunnelCounts, ReadError> {
        const TUNNEL: &str = lvslab_core::lab::routed::TUNNEL;
        const COUNTER: &str = "IPReversePathFilter";
        let ns = state.spec.netns(host);
        let dev = counters::dev(&ns)?;
        let netstat = counters::netstat(&ns)?;
        let received = counters::rx_packets(&dev, TUNNEL)
            .ok_or_else(|| ReadError::NoLink { host: host.to_string(), link: TUNNEL })?;
        let rp_dropped = counters::netstat_counter(&netstat, "TcpExt", COUNTER)
            .ok_or_else(|| ReadError::NoCounter { host: host.to_string(), counter: COUNTER })?;
        Ok(TunnelCounts { received, rp_dropped })
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
    let tunnel = format!("net.ipv4.conf.{}.rp_filter", lvslab_core::lab::routed::TUNNEL);
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
