//! lvslab builds a Linux Virtual Server (LVS/IPVS) lab in network namespaces
//! and lets a person watch the load balancer work.
//!
//! Layers depend downward only:
//! `tui` → `monitor` / `lab` / `traffic` → `ipvs` / `net` → (neli, rtnetlink, hyper).

pub mod ipvs;
pub mod lab;
pub mod monitor;
pub mod net;
pub mod traffic;
pub mod tui;
pub mod tutorial;
