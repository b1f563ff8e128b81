//! The real terminal's lifecycle: raw mode, alternate screen and mouse on
//! entry; restored on drop, on panic (before the message prints), and on
//! SIGTERM/SIGHUP through the cancellation hook.

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The real terminal type the dashboard draws on.
pub type RealTerminal = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped; hold it for as long as the UI runs.
#[derive(Debug)]
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Switches the terminal to the dashboard's mode and installs the panic
    /// hook that restores it.
    pub fn enter() -> io::Result<(Self, RealTerminal)> {
        install_panic_hook();
        enable_raw_mode()?;
        let guard = Self { _private: () };
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        terminal.hide_cursor()?;
        terminal.clear()?;
        Ok((guard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if let Err(e) = restore() {
            eprintln!("lvslab: could not restore the terminal: {e} (try `reset`)");
        }
    }
}

/// Leaves raw mode, the alternate screen and mouse capture; safe to repeat.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen, crossterm::cursor::Show)?;
    raw
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first, so the panic message is readable. Errors are moot here.
            let _ = restore();
            previous(info);
        }));
    });
}

/// Cancels `cancel` on SIGTERM or SIGHUP, so `run` returns
/// [`Exit::Cancelled`](super::Exit::Cancelled) and the caller can tear down.
/// (Ctrl-C arrives as a key in raw mode.) Call it inside a tokio runtime.
pub fn cancel_on_signals(cancel: CancellationToken) -> io::Result<JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hangup.recv() => {}
            () = cancel.cancelled() => return,
        }
        cancel.cancel();
    }))
}
