//! Kernel networking below the lab: named namespaces, links, addresses,
//! routes and sysctls, all over netlink (rtnetlink) rather than by running `ip`.

pub mod netns;

mod error;
pub use error::Error;
