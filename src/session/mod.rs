//! The IO side of an interactive session: everything the pure dashboard
//! (`lvslab_tui`) must not do itself.
//!
//! - [`dashboard`]: one session from start to end: the backend task, the
//!   terminal, the UI, and the teardown of a lab the session owns;
//! - [`backend`]: brings a lab up when the picker asks, polls it into
//!   snapshots on a thread of its own, applies the user's commands;
//! - [`event`]: the one event task around the pure dashboard: snapshots,
//!   keys, backend reports and the frame timer in one `select!`;
//! - [`guide`]: the tutorial guide's requests, applied to the live lab;
//! - [`traffic`]: the load generator's runtime inside the client's namespace;
//! - [`terminal`]: raw mode and the alternate screen, restored on every exit.

pub mod backend;
pub mod dashboard;
pub mod event;
pub mod guide;
pub mod terminal;
pub mod traffic;

pub use dashboard::{Session, show};
pub use terminal::{TerminalGuard, cancel_on_signals, restore};
