//! `session::event::run` driven end to end: scripted terminal events in, synthetic
//! snapshots published, and the emitted `Command`s and drawn frames checked.
//! A recording backend keeps every flushed frame (bandwhich's idea).

use std::convert::Infallible;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use futures::channel::mpsc::{UnboundedSender, unbounded};
use lvslab::monitor::{Snapshot, sample};
use lvslab::session::event::{BackendSide, UiIo, run};
use lvslab_core::lab::edit::Edit;
use lvslab_core::lab::model::Scheduler;
use lvslab_tui::view::layout;
use lvslab_tui::{BackendEvent, Command, Exit, Keymap, PresetInfo, Theme};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Rect, Size};

type Frames = Arc<Mutex<Vec<String>>>;

/// A `TestBackend` that remembers every frame it was asked to flush.
struct Recorder {
    inner: TestBackend,
    frames: Frames,
}

impl Backend for Recorder {
    type Error = Infallible;

    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(
        &mut self,
        content: I,
    ) -> Result<(), Infallible> {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Infallible> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Infallible> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Infallible> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Infallible> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Infallible> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Infallible> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Infallible> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Infallible> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        self.frames.lock().unwrap().push(self.inner.to_string());
        self.inner.flush()
    }
}

/// A UI wired to fake channels, with the tutorial lab's snapshot published.
struct Rig {
    terminal: Terminal<Recorder>,
    frames: Frames,
    keys: UnboundedSender<io::Result<Event>>,
    io: Option<UiIo>,
    backend: BackendSide,
}

impl Rig {
    fn new(snapshot: Option<Snapshot>, presets: Vec<PresetInfo>) -> Self {
        let frames = Frames::default();
        let recorder = Recorder { inner: TestBackend::new(80, 24), frames: frames.clone() };
        let (keys, key_stream) = unbounded();
        let (io, backend) = UiIo::new(Box::pin(key_stream));
        backend.snapshots.send_replace(snapshot.map(Arc::new));
        let io = Some(io.with_presets(presets));
        Self { terminal: Terminal::new(recorder).unwrap(), frames, keys, io, backend }
    }

    fn tutorial() -> Self {
        Self::new(Some(sample::tutorial(30)), Vec::new())
    }

    fn type_keys(&self, keys: &str) {
        for c in keys.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\x1b' => KeyCode::Esc,
                c => KeyCode::Char(c),
            };
            self.send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        }
    }

    fn send(&self, event: Event) {
        self.keys.unbounded_send(Ok(event)).unwrap();
    }

    /// Runs the UI to its end with the keys already queued.
    async fn run(&mut self) -> Exit {
        let io = self.io.take().unwrap();
        let ui = run(&mut self.terminal, io, Theme::default(), Keymap::default());
        tokio::time::timeout(Duration::from_secs(10), ui).await.expect("UI ended").unwrap()
    }

    fn commands(&mut self) -> Vec<Command> {
        std::iter::from_fn(|| self.backend.commands.try_recv().ok()).collect()
    }
}

/// Waits (up to 5 s) until a drawn frame satisfies `ok`; returns how many frames were drawn.
async fn wait_for_frame(frames: &Frames, ok: impl Fn(&str) -> bool) -> usize {
    for _ in 0..1000 {
        {
            let frames = frames.lock().unwrap();
            if frames.last().is_some_and(|f| ok(f)) {
                return frames.len();
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "no such frame; last was:\n{}",
        frames.lock().unwrap().last().cloned().unwrap_or_default()
    );
}

fn set_weight(server: &str, weight: u32) -> Command {
    Command::Edit(Edit::Weight { server: server.into(), weight })
}

#[tokio::test]
async fn w_on_rs1_raises_its_weight_and_q_quits() {
    let mut rig = Rig::tutorial();
    rig.type_keys("wq");
    assert_eq!(rig.run().await, Exit::Quit);
    assert_eq!(rig.commands(), vec![set_weight("rs1", 4), Command::Quit]);
}

#[tokio::test]
async fn j_then_d_drains_rs2() {
    let mut rig = Rig::tutorial();
    rig.type_keys("jdq");
    rig.run().await;
    assert_eq!(rig.commands(), vec![Command::Edit(Edit::Drain("rs2".into())), Command::Quit]);
}

#[tokio::test]
async fn every_dashboard_key_emits_its_command() {
    let mut rig = Rig::tutorial();
    rig.type_keys(" +-lsWxazrq");
    rig.run().await;
    let rs1 = || "rs1".to_string();
    assert_eq!(
        rig.commands(),
        vec![
            Command::StopTraffic,
            Command::SetRate(100),
            Command::SetRate(20),
            Command::ToggleConnMode,
            Command::Edit(Edit::Scheduler(Scheduler::Lc)),
            set_weight("rs1", 2),
            Command::Edit(Edit::Stop(rs1())),
            Command::AddServer,
            Command::Edit(Edit::Zero),
            Command::Edit(Edit::RemoveServer(rs1())),
            Command::Quit,
        ]
    );
}

#[tokio::test]
async fn x_starts_a_stopped_server_and_space_starts_traffic() {
    let mut snap = sample::tutorial(30);
    snap.lab.real_servers[0].up = false;
    snap.traffic = None;
    let mut rig = Rig::new(Some(snap), Vec::new());
    rig.type_keys("x q");
    rig.run().await;
    assert_eq!(
        rig.commands(),
        vec![Command::Edit(Edit::Start("rs1".into())), Command::StartTraffic, Command::Quit]
    );
}

/// A server keepalived took out of the table is still selectable (after
/// the table's rows), so `x` can start it; `K` hands the table back to
/// lvslab under keepalived, and to keepalived under lvslab.
#[tokio::test]
async fn a_server_out_of_the_table_can_be_started_and_k_switches_control() {
    use lvslab_core::lab::model::Control;
    let mut snap = sample::tutorial(30);
    snap.lab.control = Control::Keepalived;
    snap.lab.real_servers[0].up = false;
    snap.services[0].real_servers.retain(|d| d.name != "rs1");
    let mut rig = Rig::new(Some(snap), Vec::new());
    rig.type_keys("jxKq");
    rig.run().await;
    assert_eq!(
        rig.commands(),
        vec![
            Command::Edit(Edit::Start("rs1".into())),
            Command::Edit(Edit::Control(Control::Lvslab)),
            Command::Quit
        ]
    );
    let mut rig = Rig::tutorial();
    rig.type_keys("Kq");
    rig.run().await;
    assert_eq!(
        rig.commands(),
        vec![Command::Edit(Edit::Control(Control::Keepalived)), Command::Quit]
    );
}

/// rs1 selected, then keepalived takes it out of the table (its row goes,
/// rs2's moves up): the selection stays on rs1, so `x` starts rs1, not rs2.
#[test]
fn the_selection_follows_its_server_out_of_the_table() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use lvslab_tui::app::App;
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    app.on_snapshot(Arc::new(sample::tutorial(30)));
    assert_eq!(app.selected_name(), Some("rs1"));
    let mut out = sample::tutorial(31);
    out.lab.real_servers[0].up = false;
    out.services[0].real_servers.retain(|d| d.name != "rs1");
    app.on_snapshot(Arc::new(out));
    assert_eq!(app.server_names(), ["rs2", "rs1"]);
    assert_eq!(app.selected_name(), Some("rs1"));
    let x = Event::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    assert_eq!(app.on_terminal_event(x), Some(Command::Edit(Edit::Start("rs1".into()))));
    app.on_snapshot(Arc::new(sample::tutorial(32)));
    assert_eq!(app.selected(), 0, "back in its row");
}

#[tokio::test]
async fn scheduler_list_picks_with_arrows_and_esc_cancels() {
    let mut rig = Rig::tutorial();
    rig.type_keys("Sj\nS\x1bq");
    rig.run().await;
    assert_eq!(rig.commands(), vec![Command::Edit(Edit::Scheduler(Scheduler::Lc)), Command::Quit]);
}

#[tokio::test]
async fn help_swallows_keys_until_closed() {
    let mut rig = Rig::tutorial();
    rig.type_keys("?d\x1bdq");
    rig.run().await;
    assert_eq!(rig.commands(), vec![Command::Edit(Edit::Drain("rs1".into())), Command::Quit]);
}

#[tokio::test]
async fn ctrl_c_quits() {
    let mut rig = Rig::tutorial();
    rig.send(Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert_eq!(rig.run().await, Exit::Quit);
    assert_eq!(rig.commands(), vec![Command::Quit]);
}

#[tokio::test]
async fn cancellation_ends_the_ui_without_a_quit_command() {
    let mut rig = Rig::tutorial();
    rig.backend.cancel.cancel();
    assert_eq!(rig.run().await, Exit::Cancelled);
    assert!(rig.commands().is_empty());
}

#[tokio::test]
async fn clicking_a_row_selects_that_server() {
    let mut rig = Rig::tutorial();
    let areas = layout::dashboard(Rect::new(0, 0, 80, 24), 2);
    let row = (areas.table.y..areas.table.bottom())
        .find(|&y| layout::table_row_at(&areas, 2, 0, y) == Some(1))
        .unwrap();
    rig.send(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: areas.table.x + 3,
        row,
        modifiers: KeyModifiers::NONE,
    }));
    rig.type_keys("dq");
    rig.run().await;
    assert_eq!(rig.commands(), vec![Command::Edit(Edit::Drain("rs2".into())), Command::Quit]);
}

#[tokio::test]
async fn snapshots_change_what_is_drawn_and_idle_draws_nothing() {
    let mut rig = Rig::tutorial();
    let frames = rig.frames.clone();
    let snapshots = rig.backend.snapshots.clone();
    let events = rig.backend.events.clone();
    let keys = rig.keys.clone();
    let script = async move {
        wait_for_frame(&frames, |f| f.contains("rs2  198.51.100.12 gw=DIP up")).await;
        let mut down = sample::tutorial(31);
        down.lab.real_servers[1].up = false;
        snapshots.send_replace(Some(Arc::new(down)));
        let drawn = wait_for_frame(&frames, |f| f.contains("rs2 stopped answering")).await;
        assert!(wait_for_frame(&frames, |f| f.contains("gw=DIP down")).await == drawn);
        // Nothing changes for a while: no frame is drawn.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(frames.lock().unwrap().len(), drawn, "drew without a change");
        events.send(BackendEvent::Applied(Err("no such destination".into()))).unwrap();
        wait_for_frame(&frames, |f| f.contains("✗ no such destination")).await;
        keys.unbounded_send(Ok(Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE))))
            .unwrap();
    };
    let (exit, ()) = tokio::join!(rig.run(), script);
    assert_eq!(exit, Exit::Quit);
    assert!(rig.frames.lock().unwrap().len() <= 4, "one frame per change");
}

#[tokio::test]
async fn picker_brings_a_preset_up_then_shows_the_dashboard() {
    let presets = vec![
        PresetInfo {
            name: "tutorial-nat".into(),
            description: "NAT".into(),
            file: "labs/a.toml".into(),
            ..PresetInfo::default()
        },
        PresetInfo {
            name: "sh-sticky".into(),
            description: "sh".into(),
            file: "labs/b.toml".into(),
            ..PresetInfo::default()
        },
    ];
    let mut rig = Rig::new(None, presets);
    rig.type_keys("j\n");
    let frames = rig.frames.clone();
    let snapshots = rig.backend.snapshots.clone();
    let events = rig.backend.events.clone();
    let keys = rig.keys.clone();
    let script = async move {
        wait_for_frame(&frames, |f| f.contains("Bringing the lab up")).await;
        events.send(BackendEvent::Step("netns lvs-tutorial-client".into())).unwrap();
        wait_for_frame(&frames, |f| f.contains("… netns lvs-tutorial-client")).await;
        snapshots.send_replace(Some(Arc::new(sample::tutorial(0))));
        wait_for_frame(&frames, |f| f.contains("┌ IPVS")).await;
        keys.unbounded_send(Ok(Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE))))
            .unwrap();
    };
    let (exit, ()) = tokio::join!(rig.run(), script);
    assert_eq!(exit, Exit::Quit);
    assert_eq!(
        rig.commands(),
        vec![
            Command::BringUp {
                preset: PathBuf::from("labs/b.toml"),
                dataplane: lvslab_core::lab::model::Dataplane::Ipvs
            },
            Command::Quit
        ]
    );
}

/// `F` on an HA lab fails the VRRP master, and recovers a failed director
/// once there is one; with no master, or on a one-director lab, it sends
/// nothing and the events log says why.
#[test]
fn f_fails_the_master_then_recovers_it_and_says_why_elsewhere() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use lvslab_tui::app::App;
    let press = |app: &mut App| {
        app.on_terminal_event(Event::Key(KeyEvent::new(KeyCode::Char('F'), KeyModifiers::SHIFT)))
    };
    let last_log = |app: &App| app.log_entries().iter().last().map(|e| e.text.clone());
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    app.on_snapshot(Arc::new(sample::ha(10, Some("director1"))));
    assert_eq!(press(&mut app), Some(Command::Edit(Edit::Fail("director1".into()))));
    assert_eq!(
        last_log(&app).as_deref(),
        Some("→ fail director1: its forwarding, then its keepalived")
    );
    let mut failed = sample::ha(20, Some("director2"));
    failed.lab.director.vrrp.as_mut().unwrap().failed = vec!["director1".into()];
    app.on_snapshot(Arc::new(failed));
    assert_eq!(press(&mut app), Some(Command::Edit(Edit::Recover("director1".into()))));
    app.on_snapshot(Arc::new(sample::ha(30, None)));
    assert_eq!(press(&mut app), None);
    assert!(last_log(&app).unwrap().contains("no director holds the VIP"));

    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    app.on_snapshot(Arc::new(sample::tutorial(10)));
    assert_eq!(press(&mut app), None);
    let said = last_log(&app).unwrap();
    assert_eq!(
        said,
        "F fails the VRRP master of an HA lab; lab 'tutorial' has one director (the ha preset \
         has two: lvslab tui ha)"
    );
    assert_eq!(app.pending(), 0, "nothing was sent");
}

/// Space starts the traffic: one line in the events log for the action
/// (the request, replaced by its outcome), not the request, the outcome
/// and the snapshot's view of the same start; the traffic pane shows the
/// fixed rate and the connections in flight, not a concurrency of 0.
#[tokio::test]
async fn starting_traffic_is_one_event_line_and_the_pane_shows_what_is_in_flight() {
    let mut stopped = sample::tutorial(30);
    let traffic = stopped.traffic.as_mut().unwrap();
    (traffic.running, traffic.rate, traffic.in_flight) = (false, 20, 0);
    let mut rig = Rig::new(Some(stopped.clone()), Vec::new());
    let frames = rig.frames.clone();
    let snapshots = rig.backend.snapshots.clone();
    let events = rig.backend.events.clone();
    let keys = rig.keys.clone();
    let key = |c| Ok(Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
    let script = async move {
        wait_for_frame(&frames, |f| f.contains("Events")).await;
        keys.unbounded_send(key(' ')).unwrap();
        wait_for_frame(&frames, |f| f.contains("→ start traffic")).await;
        events
            .send(BackendEvent::Applied(Ok(
                "traffic started: 20 conn/s to 192.0.2.1:80 (short)".into()
            )))
            .unwrap();
        let mut running = sample::tutorial(31);
        let traffic = running.traffic.as_mut().unwrap();
        (traffic.running, traffic.rate, traffic.in_flight) = (true, 20, 1);
        snapshots.send_replace(Some(Arc::new(running)));
        let frame = wait_for_frame(&frames, |f| f.contains("1 in flight")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        keys.unbounded_send(key('q')).unwrap();
        frame
    };
    let (exit, _) = tokio::join!(rig.run(), script);
    assert_eq!(exit, Exit::Quit);
    let frames = rig.frames.lock().unwrap();
    // The last frame before quitting.
    let last = frames.iter().rev().find(|f| f.contains("1 in flight")).unwrap();
    assert_eq!(last.matches("traffic started").count(), 1, "one line for the start:\n{last}");
    assert!(last.contains("✓ traffic started: 20 conn/s"), "{last}");
    assert!(!last.contains("→ start traffic"), "the request became its outcome:\n{last}");
    assert!(last.contains("20 req/s fixed · 1 in flight"), "{last}");
    assert!(!last.contains("concurrency"), "{last}");
}
