//! The real terminal's lifecycle: raw mode, alternate screen and mouse on
//! entry; restored on drop, on panic (before the message prints), and on
//! SIGINT/SIGTERM/SIGHUP through the cancellation hook.
//!
//! After SIGHUP the terminal is gone: every write to it fails. Nothing here
//! panics on a failed write (no `println!`), and after a hangup nothing is
//! written at all, so the session always reaches its teardown.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

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
            say(&format!("lvslab: could not restore the terminal: {e} (try `reset`)"));
        }
    }
}

/// Set once the terminal hung up (SIGHUP): nothing is written to it after.
static HUNG_UP: AtomicBool = AtomicBool::new(false);

/// Whether the terminal hung up.
pub fn hung_up() -> bool {
    HUNG_UP.load(Ordering::SeqCst)
}

/// Writes a line to stderr if there is still a terminal (or a file) there;
/// a failed write is ignored, never a panic as `eprintln!` would make it.
pub fn say(line: &str) {
    if !hung_up() {
        let _ = writeln!(io::stderr(), "{line}");
    }
}

/// [`say`] to stdout.
pub fn tell(line: &str) {
    if !hung_up() {
        let _ = writeln!(io::stdout(), "{line}");
    }
}

/// Leaves raw mode, the alternate screen and mouse capture; safe to repeat.
/// After a hangup there is no terminal to restore: it does nothing.
pub fn restore() -> io::Result<()> {
    if hung_up() {
        return Ok(());
    }
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

/// Cancels `cancel` on SIGTERM, SIGHUP or SIGINT, so `run` returns
/// [`Exit::Cancelled`](lvslab_tui::Exit::Cancelled) and the caller can tear down.
/// (Ctrl-C at the keyboard arrives as a key in raw mode; SIGINT is `kill
/// -INT`.) Call it inside a tokio runtime.
pub fn cancel_on_signals(cancel: CancellationToken) -> io::Result<JoinHandle<()>> {
    let mut signals = Signals::new()?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            _ = signals.recv() => {}
            () = cancel.cancelled() => return,
        }
        cancel.cancel();
    }))
}

/// The signals that end a session: SIGINT, SIGTERM, SIGHUP. Once made, they
/// no longer kill the process; whoever holds this decides what they do.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts catching the three signals (inside a tokio runtime).
    pub fn new() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of them to arrive, by name; a hangup also marks the
    /// terminal as gone (see [`hung_up`]).
    pub async fn recv(&mut self) -> &'static str {
        let name = tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        };
        if name == "SIGHUP" {
            HUNG_UP.store(true, Ordering::SeqCst);
        }
        name
    }
}
