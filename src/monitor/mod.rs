//! The one observer of a running lab, and everything built from what it sees.
//!
//! - [`observe`]: [`KernelObserver`] reads the kernel (IPVS table or, on the
//!   nft dataplane, the nftables counters and conntrack, links, addresses,
//!   gateways, forwarding, processes, and the connection table on request)
//!   into an [`Observation`]; anything implementing [`Observe`] can stand in
//!   for it in tests;
//! - [`nft`]: the nftables read shaped as the IPVS table every view shows;
//! - [`merge`]: the lab's record merged with the director's table (pure):
//!   what is the lab's, what was added outside lvslab, what is not programmed;
//! - [`status`]: `lvslab status` and `status --json`, from an observation (pure);
//! - [`snapshot`] and [`poll`]: the dashboard's immutable snapshots, built
//!   from observations ("snapshots in, commands out" in DESIGN.md);
//! - [`conns`]: the connection table as `lvslab conns` and the dashboard show it (pure);
//! - [`outage`] and [`failover`]: the timelines of a real server's failure
//!   and of a director failover, for the events log (pure);
//! - [`predict`]: which real server the kernel gives the next connection (pure);
//! - [`history`]: a bounded ring buffer; [`sample`]: synthetic snapshots.

pub mod conns;
pub mod failover;
pub mod forecast;
pub mod history;
pub mod merge;
pub mod nft;
pub mod observe;
pub mod outage;
pub mod poll;
pub mod predict;
pub mod sample;
pub mod snapshot;
pub mod status;
pub mod verdict;

pub use history::History;
pub use observe::{ConnsRead, IpvsRead, KernelObserver, Observation, Observe};
pub use snapshot::{
    ConnMode, DestView, DirectorView, Forward, HostStats, HostView, LabView, Origin,
    RealServerView, ServiceView, Snapshot, TrafficView,
};
