//! The dashboard. Snapshots in, commands out: the UI consumes
//! [`monitor::Snapshot`](crate::monitor::Snapshot)s from a watch channel,
//! emits [`Command`]s on an mpsc channel, and hears back through
//! [`BackendEvent`]s. It never touches a socket, so tests drive [`run`] with
//! a `TestBackend`, synthetic snapshots and scripted keys.
//!
//! Modules: `event` (the one select loop, [`UiIo`]), `app` (state, no IO),
//! `input` (keys → commands), `keymap`, `theme`, `changes` (snapshot diffs
//! for the log), `view` (one pure render per pane), `terminal` (guard).
//!
//! Wiring it to a real terminal (the backend task is the caller's):
//! ```ignore
//! let (theme, theme_error) = theme::load_or_default(arg.as_deref(), theme::no_color_requested());
//! if let Some(e) = theme_error { eprintln!("lvslab: {e}; using the default theme"); }
//! let (io, backend) = UiIo::new(UiIo::crossterm_events());
//! let io = io.with_presets(presets);            // or not: start on the dashboard
//! cancel_on_signals(backend.cancel.clone())?;   // SIGTERM/SIGHUP -> Exit::Cancelled
//! tokio::spawn(backend_task(backend));          // publish snapshots, apply commands
//! let (_guard, mut terminal) = TerminalGuard::enter()?;
//! let exit = run(&mut terminal, io, theme, Keymap::default()).await?;
//! ```

pub mod app;
pub mod changes;
pub mod command;
pub mod event;
pub mod format;
pub mod input;
pub mod keymap;
pub mod theme;
pub mod view;

pub use app::App;
pub use command::{BackendEvent, Command, Exit, PresetInfo};
pub use event::{BackendSide, Error, FRAME_PERIOD, TerminalEvents, UiIo};
pub use keymap::Keymap;
pub use theme::Theme;

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Rect;

/// Runs the UI on `terminal` until the user quits ([`Exit::Quit`], after
/// sending [`Command::Quit`]) or `io.cancel` fires ([`Exit::Cancelled`]).
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    io: UiIo,
    theme: Theme,
    keymap: Keymap,
) -> Result<Exit, Error> {
    let size = terminal.size().map_err(|e| Error::Terminal(e.to_string()))?;
    let mut app = App::new(theme, keymap, io.presets.clone());
    app.resize(Rect::new(0, 0, size.width, size.height));
    event::event_loop(terminal, &mut app, io).await
}
