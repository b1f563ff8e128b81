//! The Linux kernel's IPVS table: lvslab's own client for the IPVS generic
//! netlink family, ipvsadm-compatible text, and the connection table. It
//! depends on no other part of lvslab but [`lvslab_sys`]'s namespaces, so
//! another project can use it as it is.
//!
//! Always there, plain data and text:
//! - [`consts`]: numbers from `ip_vs.h`;
//! - [`types`]: the table as plain data ([`Service`], [`Destination`], ...);
//! - [`format`](mod@format): `ipvsadm -Ln` text (plain, `--stats`, `--rate`, `--thresholds`);
//! - [`rules`]: `ipvsadm -Sn` rules, and parsing them back as `-R` input;
//! - [`conns`]: `/proc/net/ip_vs_conn` read into connections;
//! - [`error`]: [`Error`], with kernel errnos mapped to messages a person can act on.
//!
//! With the `netlink` feature (the default):
//! - [`genl`]: the generic netlink commands and attributes;
//! - [`wire`]: pure encoding/decoding of the table to netlink attributes;
//! - [`client`]: [`IpvsClient`], one netlink socket in one namespace;
//! - [`probe`]: whether the running kernel has IPVS, and why not.
//!
//! Why not run ipvsadm: one socket kept open is 20–100× cheaper than a
//! process per change or per poll, and the dashboard polls about 10 times a
//! second. ipvsadm stays the reference: tests check that both tools read
//! and write the same table.

pub mod conns;
pub mod consts;
pub mod dest;
pub mod error;
pub mod format;
pub mod rules;
pub mod types;

#[cfg(feature = "netlink")]
pub mod client;
#[cfg(feature = "netlink")]
pub mod genl;
#[cfg(feature = "netlink")]
pub mod probe;
#[cfg(feature = "netlink")]
pub mod wire;

/// Replays netlink sessions captured from a real kernel, for tests (this
/// crate's and its users').
#[cfg(any(all(test, feature = "netlink"), feature = "capture"))]
pub mod capture;
#[cfg(all(test, feature = "netlink"))]
mod tests;

#[cfg(feature = "netlink")]
pub use client::IpvsClient;
pub use dest::{Destination, Forward, Tunnel, TunnelFlags, TunnelKind};
pub use error::Error;
pub use types::{
    AddressFamily, Info, Protocol, Service, ServiceFlags, ServiceKey, Stats, Timeouts,
};
