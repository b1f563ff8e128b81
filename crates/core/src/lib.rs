//! What an lvslab lab is, with no IO: no socket, file, process or runtime is
//! in this crate's dependencies, so everything here is tested as plain
//! functions of plain data.
//!
//! - [`lab`]: presets validated into a model, the plan that builds it, the
//!   IPVS table it describes, its record, exports and imports, scheduler facts;
//! - [`monitor`]: what the observer saw ([`monitor::Observation`]) and every
//!   view built from it: status, snapshots, the connection table, timelines,
//!   predictions and their verdicts;
//! - [`tutorial`]: the guided walks' steps as data, and each step's status
//!   from an observation;
//! - [`metrics`]: the Prometheus text of a lab: node_exporter's IPVS series
//!   from the director's `/proc` files and lvslab's own per real server;
//! - [`nft`]: the nftables dataplane's ruleset as text, and `nft`/`conntrack`
//!   output read back.

#![forbid(unsafe_code)]

pub mod diagnose;
pub mod lab;
pub mod metrics;
pub mod monitor;
pub mod nft;
pub mod tutorial;
