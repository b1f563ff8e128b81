//! What lvslab needs of the host below netlink, in a crate of its own so
//! that the IPVS client can enter a namespace without the rest of lvslab:
//!
//! - [`netns`]: named network namespaces, made and entered as iproute2 does;
//! - [`kconfig`]: the running kernel's build options, to say why a feature
//!   is missing;
//! - [`Error`]: a failed system or netlink operation, naming the object.

pub mod kconfig;
pub mod netns;

mod error;
pub use error::Error;
