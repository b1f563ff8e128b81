//! lvslab builds a Linux Virtual Server (LVS/IPVS) lab in network namespaces
//! and lets a person watch the load balancer work.
//!
//! The workspace's crates are its layers, so a wrong import is a compile
//! error (README, "Layout"):
//!
//! ```text
//! lvslab (this crate)   commands, session, ops, the observer's kernel IO, net, nft::exec
//!   → lvslab-tui        the dashboard, pure: state, keys, one render per pane
//!   → lvslab-traffic    real servers' HTTP server and the load generator
//!   → lvslab-core       what a lab is, no IO: model, plan, record, exports, observations, views
//!   → lvslab-ipvs       IPVS generic netlink, ipvsadm's formats, ip_vs_conn (data only for core)
//!   → lvslab-sys        named namespaces and the kernel's build options
//! ```
//!
//! This crate's own layers: `session` (the dashboard's IO) → `monitor`,
//! `tutorial` (the observer and the walks on the kernel) → `ops` (every
//! change to the kernel) → `nft`, `net`.

#![deny(unsafe_code)] // the two pidfd calls in ops::process say why they need it

pub mod monitor;
pub mod net;
pub mod nft;
pub mod ops;
pub mod session;
pub mod tutorial;
