//! Operating a lab on the kernel and the process table: building its
//! topology over rtnetlink, programming the director's IPVS table, starting
//! the real servers' HTTP processes, keeping the lab's record under
//! `/run/lvslab`, live edits, the guided walk's single steps, and teardown.
//! What a lab *is* lives in [`lvslab_core::lab`]; what it looks like now is
//! the monitor's.

pub mod build;
pub mod compare;
pub mod control;
pub mod dataplane;
pub mod diagnose;
pub mod edit;
pub mod error;
pub mod experiment;
pub mod ha;
pub mod keepalived;
pub mod lifecycle;
pub mod live;
pub mod nft;
pub mod process;
pub mod program;
pub mod servers;
pub mod state;
pub mod step;
pub mod sysctl;
pub mod teardown;
pub mod vrrp;

pub use error::LabError;
