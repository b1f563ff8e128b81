//! lvslab builds a Linux Virtual Server (LVS/IPVS) lab in network namespaces
//! and lets a person watch the load balancer work.
//!
//! Layers depend downward only (the binary's `commands` sit on top):
//!
//! ```text
//! session                      the IO side of the dashboard: backend task, terminal, teardown
//!   → tui                      the dashboard, pure: state, keys, one render per pane
//!   → monitor, tutorial        the one observer of a lab and the views built from it;
//!                              the guided walk (steps as data, done/undone live)
//!   → ops                      operating a lab: build, program, servers, record, live edits, teardown
//!   → lab                      what a lab is, no IO: presets, validation, plan, table, export, import
//!   → ipvs, nft, net, traffic  IPVS generic netlink, nftables (via `nft`), namespaces/rtnetlink/sysctl,
//!                              HTTP servers and load
//! ```
//! (`tui` reaches `monitor` only for its snapshot types and `lab` for the
//! scheduler list; it never touches a socket, a file or a runtime.)

#![deny(unsafe_code)] // the two pidfd calls in ops::process say why they need it

pub mod ipvs;
pub mod lab;
pub mod monitor;
pub mod net;
pub mod nft;
pub mod ops;
pub mod session;
pub mod traffic;
pub mod tui;
pub mod tutorial;
