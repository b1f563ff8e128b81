//! The dashboard's one event task, the IO around the pure [`lvslab_tui`]: a single `select!` over cancellation, backend
//! reports, snapshots, terminal input and the frame timer. Inputs only
//! change state; drawing happens on the timer when something changed, at
//! most once per [`FRAME_PERIOD`], so the render path never waits on IO.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use lvslab_core::monitor::Snapshot;
use lvslab_tui::changes::Level;
use lvslab_tui::command::{BackendEvent, BuildOptions, Command, Exit, PresetInfo};
use lvslab_tui::{App, Keymap, Theme, view};
use ratatui::layout::Rect;

/// The shortest time between two frames (about 30 frames per second).
pub const FRAME_PERIOD: Duration = Duration::from_millis(33);

/// Terminal input: crossterm's `EventStream` in the real UI, a scripted
/// stream in tests.
pub type TerminalEvents = Pin<Box<dyn Stream<Item = io::Result<Event>> + Send>>;

/// Everything the UI exchanges with the world, injected so tests can fake it.
pub struct UiIo {
    /// The latest snapshot (`None` until the monitor has one).
    pub snapshots: watch::Receiver<Option<Arc<Snapshot>>>,
    /// Where user commands go.
    pub commands: mpsc::UnboundedSender<Command>,
    /// Reports from the backend: results, bring-up steps.
    pub backend_events: mpsc::UnboundedReceiver<BackendEvent>,
    /// Keys, mouse and resizes.
    pub terminal_events: TerminalEvents,
    /// Fires to end the UI from outside (SIGTERM, shutdown).
    pub cancel: CancellationToken,
    /// Presets for the picker; empty starts on the dashboard.
    pub presets: Vec<PresetInfo>,
    /// What the picker may build with (the kernel's IPVS, the session's dataplane).
    pub build: BuildOptions,
}

/// The backend's ends of the channels made by [`UiIo::new`].
pub struct BackendSide {
    /// Publish each new snapshot here.
    pub snapshots: watch::Sender<Option<Arc<Snapshot>>>,
    /// Commands from the user arrive here.
    pub commands: mpsc::UnboundedReceiver<Command>,
    /// Report results and progress here.
    pub events: mpsc::UnboundedSender<BackendEvent>,
    /// Cancel to close the UI (it returns [`Exit::Cancelled`]).
    pub cancel: CancellationToken,
}

impl UiIo {
    /// Connected channels: the UI's ends and the backend's, with the given
    /// terminal input and no presets (the dashboard first).
    pub fn new(terminal_events: TerminalEvents) -> (Self, BackendSide) {
        let (snap_tx, snap_rx) = watch::channel(None);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let io = Self {
            snapshots: snap_rx,
            commands: cmd_tx,
            backend_events: ev_rx,
            terminal_events,
            cancel: cancel.clone(),
            presets: Vec::new(),
            build: BuildOptions::default(),
        };
        (io, BackendSide { snapshots: snap_tx, commands: cmd_rx, events: ev_tx, cancel })
    }

    /// The real terminal's input (crossterm `EventStream`).
    pub fn crossterm_events() -> TerminalEvents {
        Box::pin(crossterm::event::EventStream::new())
    }

    /// Starts on the preset picker with these presets.
    #[must_use]
    pub fn with_presets(mut self, presets: Vec<PresetInfo>) -> Self {
        self.presets = presets;
        self
    }

    /// What the picker builds with, and whether this kernel has IPVS.
    #[must_use]
    pub fn with_build_options(mut self, build: BuildOptions) -> Self {
        self.build = build;
        self
    }
}

/// Why the UI stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Drawing or querying the terminal failed.
    #[error("terminal: {0}")]
    Terminal(String),
    /// Reading terminal input failed.
    #[error("reading terminal input: {0}")]
    Input(#[source] io::Error),
}

/// Runs the loop until the user quits or `cancel` fires.
async fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    io: UiIo,
) -> Result<Exit, Error> {
    let UiIo { mut snapshots, commands, mut backend_events, mut terminal_events, cancel, .. } = io;
    let mut frames = tokio::time::interval(FRAME_PERIOD);
    frames.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let (mut snapshots_open, mut backend_open, mut input_open) = (true, true, true);
    if let Some(first) = snapshots.borrow_and_update().clone() {
        app.on_snapshot(first);
    }
    loop {
        if let Some(exit) = app.exit() {
            return Ok(exit);
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(Exit::Cancelled),
            event = backend_events.recv(), if backend_open => match event {
                Some(event) => {
                    // Reading the clock is no IO; it dates what is logged
                    // before the first snapshot arrives.
                    app.set_clock(std::time::SystemTime::now());
                    app.on_backend(event);
                }
                None => {
                    backend_open = false;
                    app.on_backend_gone();
                }
            },
            changed = snapshots.changed(), if snapshots_open => match changed {
                Ok(()) => {
                    if let Some(snap) = snapshots.borrow_and_update().clone() {
                        app.on_snapshot(snap);
                    }
                }
                Err(_) => {
                    snapshots_open = false;
                    app.log(Level::Error, "the monitor stopped: what is shown is no longer live");
                }
            },
            input = terminal_events.next(), if input_open => match input {
                Some(Ok(event)) => {
                    app.set_clock(std::time::SystemTime::now());
                    if let Some(command) = app.on_terminal_event(event)
                        && commands.send(command).is_err()
                    {
                        app.log(Level::Error, "the backend is gone: command not applied");
                    }
                }
                Some(Err(e)) => return Err(Error::Input(e)),
                None => input_open = false,
            },
            _ = frames.tick(), if app.needs_draw() => {
                terminal.draw(|frame| view::render(frame, app)).map_err(|e| Error::Terminal(e.to_string()))?;
                app.drawn();
            }
        }
    }
}

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
    app.set_build_options(io.build.clone());
    app.resize(Rect::new(0, 0, size.width, size.height));
    event_loop(terminal, &mut app, io).await
}
