//! The IPVS layer: lvslab's own client for the kernel's IPVS generic netlink
//! family, and ipvsadm-compatible text.
//!
//! - [`consts`]: numbers from `ip_vs.h`;
//! - [`types`]: the table as plain data ([`Service`], [`Destination`], ...);
//! - [`wire`]: pure encoding/decoding of those to netlink attributes;
//! - [`client`]: [`IpvsClient`], one netlink socket in one namespace;
//! - [`format`]: `ipvsadm -Ln` text (plain, `--stats`, `--rate`, `--thresholds`);
//! - [`rules`]: `ipvsadm -Sn` rules, and parsing them back as `-R` input;
//! - [`probe`]: whether the running kernel has IPVS, and why not;
//! - [`error`]: [`Error`], with kernel errnos mapped to messages a person can act on.
//!
//! Why not run ipvsadm: one socket kept open is 20–100× cheaper than a
//! process per change or per poll, and the dashboard polls about 10 times a
//! second. ipvsadm stays the reference: tests check that both tools read
//! and write the same table.

pub mod client;
pub mod conns;
pub mod consts;
pub mod dest;
pub mod error;
pub mod format;
pub mod probe;
pub mod rules;
pub mod types;
pub mod wire;

#[cfg(test)]
pub(crate) mod tests;

pub use client::IpvsClient;
pub use error::Error;
pub use types::{
    AddressFamily, Destination, Forward, Info, Protocol, Service, ServiceFlags, ServiceKey, Stats,
    Timeouts, Tunnel, TunnelFlags, TunnelKind,
};
