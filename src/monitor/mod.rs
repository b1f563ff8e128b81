//! The one observer of a running lab: the kernel's side of
//! [`lvslab_core::monitor`], whose views (status, snapshots, conns,
//! timelines, predictions) are re-exported here beside it.
//!
//! - [`observe`]: [`KernelObserver`] reads the kernel (IPVS table or, on the
//!   nft dataplane, the nftables counters and conntrack, links, addresses,
//!   gateways, forwarding, processes, and the connection table on request)
//!   into an [`Observation`];
//! - [`nft`]: the nftables read shaped as the IPVS table every view shows;
//! - [`metrics`]: one Prometheus scrape of a lab (its director's `/proc`
//!   files and table);
//! - [`poll`]: the dashboard's snapshots, built from observations on a
//!   thread of their own ("snapshots in, commands out").

pub mod metrics;
pub mod nft;
pub mod observe;
pub mod poll;

pub use lvslab_core::monitor::*;
pub use observe::KernelObserver;
