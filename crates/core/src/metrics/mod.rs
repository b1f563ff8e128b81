//! Prometheus metrics of a running lab, with no IO: the text exposition
//! format ([`exposition`]), the director's `/proc/net/ip_vs*` files read as
//! node_exporter reads them ([`procfs`]), and the series built from those
//! and from the lab's table ([`series`]). The binary reads the kernel and
//! serves the text (`lvslab metrics`).

pub mod exposition;
pub mod procfs;
pub mod series;

pub use exposition::{Exposition, Kind};
