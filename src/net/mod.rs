//! Kernel networking below the lab: named namespaces, links, addresses,
//! routes and sysctls, all over netlink (rtnetlink) rather than by running `ip`.

pub mod counters;
pub mod kconfig;
pub mod kmod;
pub mod netns;
pub mod privilege;
pub mod probe;
pub mod rtnl;
pub mod sysctl;

mod error;
pub use error::Error;
