//! The guided LVS-NAT walk (`lvslab tutorial`, `g` in the dashboard): steps
//! kept as data in `assets/tutorial/`, each explained, shown as the
//! equivalent `ip`/`ipvsadm`/`sysctl` command, performed on the live lab and
//! checked there.
//!
//! `steps` is pure (the file, its checks, rendering for a lab, each step's
//! status from an observation), `template` fills in the lab's values, and
//! `live` does the IO (do, undo, observe).
//! A step's status always comes from the kernel, never from bookkeeping, so
//! on a lab that is fully built every step shows as done.

pub mod live;
pub mod steps;
pub mod template;

pub use steps::{Action, Guide, GuideError, Status, Step};
