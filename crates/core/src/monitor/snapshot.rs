//! The snapshot contract between the monitor (kernel reads) and its consumers.
//!
//! A [`Snapshot`] is plain, immutable data: it is built by the poll task, sent
//! as an `Arc<Snapshot>`, and never mutated afterwards. Everything a pane draws
//! comes from here, so a pane can be tested with a hand-made snapshot.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use serde::Serialize;

/// Everything known about a running lab at one instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// When the monitor took this snapshot (the lab's clock for the events log).
    pub at: SystemTime,
    /// The lab's topology and the health of its hosts.
    pub lab: LabView,
    /// The IPVS virtual services of the director's namespace (empty with `dataplane = none`).
    pub services: Vec<ServiceView>,
    /// The load generator's state, when one has been started.
    pub traffic: Option<TrafficView>,
    /// CPU and memory of the machine running the lab.
    pub host: HostStats,
    /// The director's connection table, its entries cut to
    /// [`CONN_ROWS`] (the counts cover every entry); `None` when it could
    /// not be read (no IPVS, or not read yet).
    pub conns: Option<super::conns::ConnTable>,
    /// The main service's prediction (next servers, hit rate, expected
    /// share), when its scheduler can be predicted and traffic ran.
    pub prediction: Option<super::forecast::PredictionView>,
}

/// Entries of the connection table a snapshot keeps: more than any screen
/// shows, few enough to copy ten times a second.
pub const CONN_ROWS: usize = 500;

pub use super::merge::Origin;
use crate::lab::model::Dataplane;

/// The lab's hosts: one client, one director, N real servers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabView {
    /// The lab's name (namespaces are `lvs-<name>-*`).
    pub name: String,
    /// What forwards traffic on the director.
    pub dataplane: Dataplane,
    /// Who programs the director's IPVS table (keepalived health-checks).
    pub control: crate::lab::model::Control,
    /// The host that sends requests to the VIP.
    pub client: HostView,
    /// The load balancer.
    pub director: DirectorView,
    /// The servers behind the director, in preset order.
    pub real_servers: Vec<RealServerView>,
}

/// A host identified by name and its address in the lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostView {
    /// Host name, e.g. `client`.
    pub name: String,
    /// Its address on the lab network.
    pub addr: IpAddr,
}

/// The director: VIP on the client side, DIP on the real-server side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectorView {
    /// Virtual IP the clients connect to.
    pub vip: IpAddr,
    /// Director IP on the real servers' subnet (their default gateway in NAT mode).
    pub dip: IpAddr,
    /// Whether `net.ipv4.ip_forward` is on in the director's namespace.
    pub forwarding: bool,
    /// In an HA lab (two directors): which one holds the VIP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp: Option<VrrpView>,
}

/// The VRRP state of an HA lab's directors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VrrpView {
    /// The director holding the VIP (VRRP MASTER), `None` while neither does.
    pub master: Option<String>,
    /// Directors whose keepalived does not run (failed with `set --fail`
    /// or the dashboard's `F`): what `F` recovers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

/// One real server as the lab sees it (independently of IPVS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealServerView {
    /// Name, e.g. `rs1`; the key that joins it with [`DestView::name`].
    pub name: String,
    /// Its real IP (RIP).
    pub addr: IpAddr,
    /// Its default gateway, if it has one (NAT mode needs the DIP).
    pub gateway: Option<IpAddr>,
    /// The gateway the lab gives it: the DIP, or the router for a real
    /// server that answers only by DR/TUN (its replies skip the director).
    #[serde(skip)]
    pub expected_gateway: IpAddr,
    /// Whether its HTTP process answers.
    pub up: bool,
}

/// One IPVS virtual service with its destinations, like a block of `ipvsadm -Ln`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceView {
    /// `TCP`, `UDP` or `SCTP`.
    pub proto: String,
    /// Virtual address.
    pub vip: IpAddr,
    /// Virtual port.
    pub port: u16,
    /// The firewall mark of a fwmark service (shown as `FWM <n>`, like ipvsadm).
    pub fwmark: Option<u32>,
    /// Scheduler name, e.g. `wrr`.
    pub scheduler: String,
    /// Persistence timeout in seconds, when the service is persistent.
    pub persistent: Option<u32>,
    /// The lab's, or added outside lvslab.
    pub origin: Origin,
    /// Whether the director's IPVS table has it.
    pub programmed: bool,
    /// The destinations: the lab's in its order, then any added outside it.
    pub real_servers: Vec<DestView>,
}

/// How the director reaches a real server: the IPVS layer's own type.
pub use lvslab_ipvs::Forward;

/// One destination (real server) of a service with its counters.
///
/// `active_conns`/`inactive_conns` are immediate; the counters and rates come
/// from the kernel's estimator and refresh about every 2 s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DestView {
    /// The real server's name (from the lab), or its address when unknown.
    pub name: String,
    /// Real IP.
    pub addr: IpAddr,
    /// Real port.
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// The lab's, or added outside lvslab.
    pub origin: Origin,
    /// Weight; 0 means quiesced (drained): no new connections.
    pub weight: u32,
    /// ActiveConn: established connections.
    pub active_conns: u32,
    /// InActConn: other states, e.g. TIME_WAIT after a short NAT connection.
    pub inactive_conns: u32,
    /// Total connections scheduled to it since the counters were zeroed.
    pub conns: u64,
    /// Connections per second (estimator).
    pub cps: u64,
    /// Bytes received from clients.
    pub in_bytes: u64,
    /// Bytes sent to clients.
    pub out_bytes: u64,
    /// Inbound bytes per second (estimator).
    pub in_bps: u64,
    /// Outbound bytes per second (estimator).
    pub out_bps: u64,
    /// Packets received from clients.
    pub in_pkts: u64,
    /// Packets sent to clients.
    pub out_pkts: u64,
}

/// Short connections (one request each) or long ones (held open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnMode {
    /// One request per connection, then close (fills InActConn with TIME_WAIT).
    Short,
    /// Keep each connection open for `hold_ms` (shows as ActiveConn).
    Long {
        /// How long each connection is held open, in milliseconds.
        hold_ms: u32,
    },
}

/// The load generator's state and results so far.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrafficView {
    /// Whether requests are being sent.
    pub running: bool,
    /// Short or long connections.
    pub mode: ConnMode,
    /// Target rate in requests per second (the dashboard's traffic is
    /// always at a fixed rate; there is no concurrency cap to show).
    pub rate: u32,
    /// Connections open at this instant.
    pub in_flight: u32,
    /// The run ended on its own (its duration, or the generator stopped)
    /// rather than by a stop the user asked for.
    pub ended: bool,
    /// Requests completed (ok + errors).
    pub requests: u64,
    /// Requests answered with success.
    pub ok: u64,
    /// Requests that failed (refused, timed out, bad status).
    pub errors: u64,
    /// Successful requests by the real server that answered.
    pub by_server: BTreeMap<String, u64>,
    /// Median latency, once there are results.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency, once there are results.
    pub p99_ms: Option<f64>,
    /// Answers recorded in order so far (for the prediction's hit rate).
    #[serde(skip)]
    pub answered: u64,
    /// The newest answers, oldest first: (client, server).
    #[serde(skip)]
    pub recent: Vec<(IpAddr, String)>,
}

/// CPU and memory of the machine running the lab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct HostStats {
    /// CPU use across all cores, 0–100.
    pub cpu_percent: f32,
    /// Memory in use, in bytes.
    pub mem_used: u64,
    /// Total memory, in bytes.
    pub mem_total: u64,
}

impl Snapshot {
    /// The first service, which the dashboard edits (presets usually have one).
    pub fn main_service(&self) -> Option<&ServiceView> {
        self.services.first()
    }

    /// The lab's view of a real server by name.
    pub fn real_server(&self, name: &str) -> Option<&RealServerView> {
        self.lab.real_servers.iter().find(|rs| rs.name == name)
    }
}

impl ServiceView {
    /// A destination of this service by real-server name.
    pub fn dest(&self, name: &str) -> Option<&DestView> {
        self.real_servers.iter().find(|d| d.name == name)
    }

    /// Sum of the destinations' weights.
    pub fn total_weight(&self) -> u64 {
        self.real_servers.iter().map(|d| u64::from(d.weight)).sum()
    }
}
