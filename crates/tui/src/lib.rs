//! The dashboard. Snapshots in, commands out: the UI consumes
//! [`monitor::Snapshot`](lvslab_core::monitor::Snapshot)s from a watch channel,
//! emits [`Command`]s on an mpsc channel, and hears back through
//! [`BackendEvent`]s. It never touches a socket, a file or a runtime (its
//! dependencies hold none: `tests/layers.rs` asks cargo), so tests drive
//! [`App`] with a `TestBackend`, synthetic snapshots and scripted keys.
//!
//! Modules: `app` (state, no IO), `input` (keys → commands), `command`
//! (what goes to and comes back from the session), `keymap`, `theme`
//! (parsed from text the caller reads), `changes` (snapshot diffs for the
//! log), `format`, `view` (one pure render per pane). The IO side — the one
//! event loop (`session::event`, with `UiIo` and `run`), the backend task,
//! the terminal guard, reading theme files — is the binary's `session`.
//!
//! Wiring it to a real terminal (what `session::show` does):
//! ```text
//! let (theme, error) = theme::load_or_default(arg, theme::no_color_requested(), &read_file);
//! let (io, side) = UiIo::new(UiIo::crossterm_events());
//! let io = io.with_presets(presets)             // or not: start on the dashboard
//!     .with_build_options(build);               // the dataplane; whether IPVS exists
//! session::cancel_on_signals(side.cancel.clone())?;
//! tokio::spawn(session::backend::run(side, lab, start_traffic));
//! let (_guard, mut terminal) = session::TerminalGuard::enter()?;
//! let exit = session::event::run(&mut terminal, io, theme, Keymap::default()).await?;
//! ```

pub mod app;
pub mod changes;
pub mod command;
pub mod format;
pub mod input;
pub mod keymap;
pub mod theme;
pub mod view;

pub use app::App;
pub use command::{BackendEvent, BuildOptions, Command, Exit, PresetInfo};
pub use keymap::Keymap;
pub use theme::Theme;
