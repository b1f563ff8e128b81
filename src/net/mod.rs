//! Kernel networking below the lab: links, addresses, routes and sysctls,
//! all over netlink (rtnetlink) rather than by running `ip`. Named
//! namespaces and the kernel's build options are [`lvslab_sys`]'s (the
//! IPVS client needs them too), and so is the one [`Error`] of both.

pub mod counters;
pub mod kmod;
pub mod privilege;
pub mod probe;
pub mod rtnl;
pub mod sysctl;

pub use lvslab_sys::Error;
