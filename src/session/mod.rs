//! The IO side of an interactive session: everything the pure dashboard
//! (`crate::tui`) must not do itself.
//!
//! - [`dashboard`]: one session from start to end: the backend task, the
//!   terminal, the UI, and the teardown of a lab the session owns;
//! - [`backend`]: brings a lab up when the picker asks, polls it into
//!   snapshots on a thread of its own, applies the user's commands;
//! - [`guide`]: the tutorial guide's requests, applied to the live lab;
//! - [`traffic`]: the load generator's runtime inside the client's namespace;
//! - [`terminal`]: raw mode and the alternate screen, restored on every exit.

pub mod backend;
pub mod dashboard;
pub mod guide;
pub mod terminal;
pub mod traffic;

pub use dashboard::{Session, show};
pub use terminal::{TerminalGuard, cancel_on_signals, restore};
