//! What the one observer of a lab saw, and everything built from it, pure.
//! Reading the kernel into an [`Observation`] is the binary's
//! `KernelObserver` (`src/monitor/observe.rs`).
//!
//! - [`observation`]: [`Observation`], the one reading of a lab every view
//!   is built from, and [`Observe`], what can produce one;
//! - [`merge`]: the lab's record merged with the director's table: what is
//!   the lab's, what was added outside lvslab, what is not programmed;
//! - [`status`]: `lvslab status` and `status --json`, from an observation;
//! - [`snapshot`]: the dashboard's immutable snapshots;
//! - [`conns`]: the connection table as `lvslab conns` and the dashboard show it;
//! - [`outage`] and [`failover`]: the timelines of a real server's failure
//!   and of a director failover, for the events log;
//! - [`predict`]: which real server the kernel gives the next connection;
//!   [`forecast`]: the dashboard's view of those predictions; [`verdict`]:
//!   predictions checked against the servers that answered;
//! - [`history`]: a bounded ring buffer; [`sample`]: synthetic snapshots.

pub mod conns;
pub mod failover;
pub mod forecast;
pub mod history;
pub mod merge;
pub mod observation;
pub mod outage;
pub mod predict;
pub mod sample;
pub mod snapshot;
pub mod status;
pub mod verdict;

pub use history::History;
pub use observation::{
    ConnsRead, HostObservation, IpvsRead, LinkInfo, Observation, Observe, Table,
};
pub use snapshot::{
    ConnMode, DestView, DirectorView, Forward, HostStats, HostView, LabView, Origin,
    RealServerView, ServiceView, Snapshot, TrafficView,
};
