//! The guided walks (`lvslab tutorial`, `g` in the dashboard), pure: the
//! NAT, DR and TUN walks' steps kept as data in `assets/tutorial/`, each
//! explained and shown as the equivalent `ip`/`ipvsadm`/`sysctl` command.
//!
//! [`steps`] reads the file, renders it for a lab and tells each step's
//! status from an observation; [`template`] fills in the lab's values.
//! Doing and undoing a step on the live lab is the binary's
//! `tutorial::live`. A step's status always comes from the kernel, never
//! from bookkeeping, so on a lab that is fully built every step shows done.

pub mod steps;
pub mod template;

pub use steps::{Action, Guide, GuideError, Status, Step};
