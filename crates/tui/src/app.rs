//! The dashboard's state: the latest snapshot, a bounded history, the events
//! log, selection, focus and open dialog. Updated by plain method calls
//! (`on_snapshot`, `on_backend`, and `on_terminal_event` in `input.rs`); it
//! performs no IO, so tests drive it directly and panes only read it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use ratatui::layout::Rect;

use super::changes::{self, Level};
use super::command::{BackendEvent, BuildOptions, Exit, GuideReport, GuideRequest, PresetInfo};
use super::keymap::Keymap;
use super::theme::{self, Theme};
use lvslab_core::lab::model::Dataplane;
use lvslab_core::monitor::failover::Failovers;
use lvslab_core::monitor::outage::{Moment, Timeline, Tone};
use lvslab_core::monitor::{DestView, History, Snapshot};

/// Chart window: 60 s of snapshots at 10 Hz.
pub const HISTORY_POINTS: usize = 600;
/// Lines the events log keeps.
pub const LOG_LINES: usize = 500;

/// Which full-screen view is showing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Choose a preset to build.
    Picker,
    /// Bring-up in progress (or failed).
    Progress,
    /// The live lab.
    Dashboard,
}

/// A dialog drawn over the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// Every key binding.
    Help,
    /// Choose a scheduler; `highlighted` indexes [`Scheduler::ALL`](lvslab_core::lab::model::Scheduler::ALL).
    Scheduler {
        /// The highlighted row.
        highlighted: usize,
    },
    /// The director's connection table (`lvslab conns`), live.
    Conns {
        /// Entries scrolled past.
        scroll: usize,
    },
}

/// The dashboard panel that has the keyboard focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The IPVS table: arrows select a real server.
    Servers,
    /// The events log: arrows scroll.
    Events,
}

/// One line of the events log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The lab's clock (snapshot time) when it was logged.
    pub at: Option<SystemTime>,
    /// Importance, for colour.
    pub level: Level,
    /// What happened.
    pub text: String,
    /// A request sent to the backend whose outcome has not come: the
    /// outcome replaces this line, so one action is one line.
    pub awaiting: bool,
}

/// Changes of one destination's counters at their last refresh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    /// Change of the total connections counter at its last refresh (~2 s).
    pub conns: i64,
}

/// The tutorial guide as the UI keeps it: the steps and their observed
/// status come from the backend; which step is current is the UI's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuideState {
    /// Whether the guide pane shows (`g` toggles).
    pub visible: bool,
    /// The steps for this lab (empty until the backend answered).
    pub steps: Vec<lvslab_core::tutorial::Step>,
    /// Each step's status on the live lab.
    pub status: Vec<lvslab_core::tutorial::Status>,
    /// Why the steps could not be loaded.
    pub error: Option<String>,
    /// The step shown.
    pub current: usize,
    /// The step last done, which `u` and `r` act on.
    pub last: Option<usize>,
    /// The last request's outcome, to show under the step.
    pub effect: Option<GuideEffect>,
    /// A request is on its way to the backend.
    pub busy: bool,
}

/// What the last guide request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuideEffect {
    /// The step it was about.
    pub step: usize,
    /// `done`, `undone`, `redone`.
    pub verb: &'static str,
    /// The lines showing the effect, or why it failed.
    pub result: Result<Vec<String>, String>,
}

/// Everything the panes draw from, and the bookkeeping of the UI.
#[derive(Debug)]
pub struct App {
    pub(super) screen: Screen,
    pub(super) presets: Vec<PresetInfo>,
    pub(super) preset_index: usize,
    pub(super) progress: Vec<String>,
    pub(super) progress_failed: Option<String>,
    pub(super) snapshot: Option<Arc<Snapshot>>,
    pub(super) deltas: BTreeMap<String, Deltas>,
    pub(super) series: BTreeMap<String, History<(f64, f64)>>,
    pub(super) log: History<LogEntry>,
    pub(super) selected: usize,
    pub(super) focus: Panel,
    pub(super) log_scroll: usize,
    pub(super) dialog: Option<Dialog>,
    pub(super) themes: Vec<Theme>,
    pub(super) theme_index: usize,
    pub(super) keymap: Keymap,
    pub(super) size: Rect,
    pub(super) pending: usize,
    pub(super) dirty: bool,
    pub(super) exit: Option<Exit>,
    pub(super) guide: Option<GuideState>,
    pub(super) clock: Option<SystemTime>,
    pub(super) build: BuildOptions,
    pub(super) picked_dataplane: Option<Dataplane>,
    pub(super) timeline: Timeline,
    pub(super) failovers: Failovers,
}

impl App {
    /// A fresh UI: the picker when presets are offered, else the dashboard
    /// (waiting for the first snapshot).
    pub fn new(theme: Theme, keymap: Keymap, presets: Vec<PresetInfo>) -> Self {
        let screen = if presets.is_empty() { Screen::Dashboard } else { Screen::Picker };
        Self {
            screen,
            presets,
            preset_index: 0,
            progress: Vec::new(),
            progress_failed: None,
            snapshot: None,
            deltas: BTreeMap::new(),
            series: BTreeMap::new(),
            log: History::new(LOG_LINES),
            selected: 0,
            focus: Panel::Servers,
            log_scroll: 0,
            dialog: None,
            themes: theme_cycle(theme),
            theme_index: 0,
            keymap,
            size: Rect::new(0, 0, 80, 24),
            pending: 0,
            dirty: true,
            exit: None,
            guide: None,
            clock: None,
            build: BuildOptions::default(),
            picked_dataplane: None,
            timeline: Timeline::default(),
            failovers: Failovers::default(),
        }
    }

    /// What the picker may build with (decided by the session from the kernel).
    pub fn set_build_options(&mut self, build: BuildOptions) {
        self.build = build;
        self.picked_dataplane = None;
        self.dirty = true;
    }

    /// What the picker may build with.
    pub fn build_options(&self) -> &BuildOptions {
        &self.build
    }

    /// The dataplane the highlighted preset would be built with.
    pub fn picker_dataplane(&self) -> Dataplane {
        let offered = self.build.offered();
        match self.picked_dataplane {
            Some(d) if offered.contains(&d) => d,
            _ => self
                .presets
                .get(self.preset_index)
                .map_or(offered[0], |p| self.build.default_for(p)),
        }
    }

    /// The wall clock as the event loop last read it: stamps the events
    /// logged before the first snapshot (bring-up, "lab is up"), which
    /// otherwise would have no time to show.
    pub fn set_clock(&mut self, now: SystemTime) {
        self.clock = Some(now);
    }

    /// Takes in a new snapshot: logs what changed and extends the history.
    pub fn on_snapshot(&mut self, next: Arc<Snapshot>) {
        // The selection follows its server when the rows move (keepalived
        // took one out of the table, or put it back).
        let selected = self.selected_name().map(str::to_owned);
        // Redraw only for what a person can see: new numbers, or the clock
        // in the header turning over. An idle lab polled at 10 Hz then costs
        // about one frame a second.
        let visible = self.snapshot.as_ref().is_none_or(|prev| {
            let second = |s: &Snapshot| {
                s.at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
            };
            prev.lab != next.lab
                || prev.services != next.services
                || prev.traffic != next.traffic
                || prev.host != next.host
                || second(prev) != second(&next)
        });
        if let Some(prev) = self.snapshot.take() {
            for c in changes::diff(&prev, &next) {
                self.log_at(Some(next.at), c.level, c.text);
            }
            self.update_deltas(&prev, &next);
        }
        // The failure timelines, in the same log: when a server stopped,
        // failed, left the table and came back; when the VRRP master was
        // lost, when the next one held the VIP, and what failed meanwhile.
        let moments: Vec<Moment> =
            self.timeline.update(&next).into_iter().chain(self.failovers.update(&next)).collect();
        for m in moments {
            let level = match m.tone {
                Tone::Bad => Level::Error,
                Tone::Good => Level::Ok,
                Tone::Info => Level::Warn,
            };
            self.log_at(Some(next.at), level, format!("⏱ {}", m.text));
        }
        self.record_series(&next);
        if self.screen == Screen::Progress && self.progress_failed.is_none() {
            self.screen = Screen::Dashboard;
        }
        self.snapshot = Some(next);
        if let Some(i) = selected.and_then(|n| self.server_names().iter().position(|s| *s == n)) {
            self.selected = i;
        }
        self.clamp_selection();
        self.dirty |= visible;
    }

    /// Takes in a report from the backend.
    pub fn on_backend(&mut self, event: BackendEvent) {
        match event {
            BackendEvent::Applied(result) => {
                self.pending = self.pending.saturating_sub(1);
                match result {
                    Ok(done) => self.settle(Level::Ok, format!("✓ {done}")),
                    Err(why) => self.settle(Level::Error, format!("✗ {why}")),
                }
            }
            BackendEvent::Step(line) => self.progress.push(line),
            BackendEvent::BringUpFailed(why) => {
                self.screen = Screen::Progress;
                self.progress_failed = Some(why);
            }
            BackendEvent::LabReady => {
                self.screen = Screen::Dashboard;
                self.log(Level::Ok, "lab is up");
            }
            BackendEvent::Guide(report) => self.on_guide_report(report),
        }
        self.dirty = true;
    }

    /// Notes that the backend will not answer any more (its channel closed).
    pub fn on_backend_gone(&mut self) {
        self.log(Level::Error, "the backend stopped: changes can no longer be applied");
        self.dirty = true;
    }

    /// The terminal's new size (for mouse hit-testing and layout).
    pub fn resize(&mut self, size: Rect) {
        self.size = size;
        self.dirty = true;
    }

    /// Whether something changed since the last frame.
    pub fn needs_draw(&self) -> bool {
        self.dirty
    }

    /// Records that a frame was drawn.
    pub fn drawn(&mut self) {
        self.dirty = false;
    }

    /// Set once the user asked to leave.
    pub fn exit(&self) -> Option<Exit> {
        self.exit
    }

    /// The screen showing.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The theme in use (`t` cycles).
    pub fn theme(&self) -> &Theme {
        &self.themes[self.theme_index]
    }

    /// The key bindings (footer and help read them).
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// The latest snapshot, once one arrived.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_deref()
    }

    /// The dialog open over the dashboard.
    pub fn dialog(&self) -> Option<Dialog> {
        self.dialog
    }

    /// The focused panel.
    pub fn focus(&self) -> Panel {
        self.focus
    }

    /// Index of the selected real server in the main service.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The selected destination of the main service (none when the
    /// selected server is out of the table).
    pub fn selected_dest(&self) -> Option<&DestView> {
        self.snapshot()?.main_service()?.dest(self.selected_name()?)
    }

    /// Names of the selectable real servers: the main service's, in table
    /// order, then the lab's that are not in it (a server keepalived took
    /// out stays selectable, so `x` can start it again).
    pub fn server_names(&self) -> Vec<&str> {
        let Some(snap) = self.snapshot() else { return Vec::new() };
        let mut names: Vec<&str> = snap
            .main_service()
            .map(|s| s.real_servers.iter().map(|d| d.name.as_str()).collect())
            .unwrap_or_default();
        for rs in &snap.lab.real_servers {
            if !names.contains(&rs.name.as_str()) {
                names.push(rs.name.as_str());
            }
        }
        names
    }

    /// The failure timelines of the lab's real servers.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The director failovers of an HA lab.
    pub fn failovers(&self) -> &Failovers {
        &self.failovers
    }

    /// The selected real server's name.
    pub fn selected_name(&self) -> Option<&str> {
        self.server_names().get(self.selected).copied()
    }

    /// Counter changes at their last refresh, by destination name.
    pub fn deltas(&self, name: &str) -> Deltas {
        self.deltas.get(name).copied().unwrap_or_default()
    }

    /// Active connections over time by server: (seconds since epoch, count).
    pub fn series(&self) -> &BTreeMap<String, History<(f64, f64)>> {
        &self.series
    }

    /// The events log, oldest first.
    pub fn log_entries(&self) -> &History<LogEntry> {
        &self.log
    }

    /// How many lines the log view is scrolled back from the newest.
    pub fn log_scroll(&self) -> usize {
        self.log_scroll
    }

    /// Commands sent and not answered yet.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The presets offered and the highlighted one.
    pub fn presets(&self) -> (&[PresetInfo], usize) {
        (&self.presets, self.preset_index)
    }

    /// Bring-up lines so far, and the failure if it failed.
    pub fn progress(&self) -> (&[String], Option<&str>) {
        (&self.progress, self.progress_failed.as_deref())
    }

    /// The tutorial guide, once opened.
    pub fn guide(&self) -> Option<&GuideState> {
        self.guide.as_ref()
    }

    /// Whether the guide pane is showing.
    pub fn guide_visible(&self) -> bool {
        self.guide.as_ref().is_some_and(|g| g.visible)
    }

    fn on_guide_report(&mut self, report: GuideReport) {
        let guide =
            self.guide.get_or_insert_with(|| GuideState { visible: true, ..Default::default() });
        match report.steps {
            Ok(steps) => {
                guide.steps = steps;
                guide.error = None;
            }
            Err(why) => guide.error = Some(why),
        }
        guide.status = report.status;
        guide.current = guide.current.min(guide.steps.len().saturating_sub(1));
        let Some((request, result)) = report.effect else { return };
        guide.busy = false;
        if request == GuideRequest::Open {
            if let Err(why) = result {
                guide.error = Some(why);
            }
            return;
        }
        self.pending = self.pending.saturating_sub(1);
        let (step, verb) = match request {
            GuideRequest::Open => return,
            GuideRequest::Do(i) => (i, "done"),
            GuideRequest::Undo(i) => (i, "undone"),
            GuideRequest::Redo(i) => (i, "redone"),
        };
        let title = guide.steps.get(step).map_or_else(String::new, |s| s.title.clone());
        let ok = result.is_ok();
        match (&request, ok) {
            (GuideRequest::Do(i), true) => {
                guide.last = Some(*i);
                if guide.current == *i {
                    guide.current = (i + 1).min(guide.steps.len().saturating_sub(1));
                }
            }
            (GuideRequest::Redo(i), true) => guide.last = Some(*i),
            (GuideRequest::Undo(_), true) => guide.last = None,
            _ => {}
        }
        let log = match &result {
            Ok(_) => (Level::Ok, format!("✓ guide: {verb}: {title}")),
            Err(why) => (Level::Error, format!("✗ guide: {title}: {why}")),
        };
        guide.effect = Some(GuideEffect { step, verb, result });
        self.settle(log.0, log.1);
    }

    /// Adds a line to the events log, stamped with the lab's clock (the
    /// latest snapshot's time, or before the first one the event loop's).
    pub fn log(&mut self, level: Level, text: impl Into<String>) {
        let at = self.snapshot.as_ref().map(|s| s.at).or(self.clock);
        self.log_at(at, level, text.into());
    }

    /// Logs a request sent to the backend; [`Self::settle`] replaces it
    /// with the outcome.
    pub(super) fn log_request(&mut self, text: String) {
        self.log(Level::Info, text);
        if let Some(entry) = self.log.iter_mut().next_back() {
            entry.awaiting = true;
        }
    }

    /// The outcome of the oldest request still awaiting one (the backend
    /// applies commands in order), written over its line; a new line when
    /// no request awaits (the backend acted on its own, e.g. the first
    /// traffic start).
    fn settle(&mut self, level: Level, text: String) {
        let at = self.snapshot.as_ref().map(|s| s.at).or(self.clock);
        if let Some(entry) = self.log.iter_mut().find(|e| e.awaiting) {
            *entry = LogEntry { at: at.or(entry.at), level, text, awaiting: false };
            self.dirty = true;
        } else {
            self.log_at(at, level, text);
        }
    }

    fn log_at(&mut self, at: Option<SystemTime>, level: Level, text: String) {
        self.log.push(LogEntry { at, level, text, awaiting: false });
        self.dirty = true;
        if self.log_scroll > 0 {
            // Keep the same lines in view while the user reads back.
            self.log_scroll = (self.log_scroll + 1).min(self.log.len().saturating_sub(1));
        }
    }

    fn update_deltas(&mut self, prev: &Snapshot, next: &Snapshot) {
        let (Some(before), Some(after)) = (prev.main_service(), next.main_service()) else {
            return;
        };
        self.deltas.retain(|name, _| after.dest(name).is_some());
        for dest in &after.real_servers {
            let old = before.dest(&dest.name).map_or(0, |d| d.conns);
            if old != dest.conns {
                let change = i64::try_from(dest.conns).unwrap_or(i64::MAX)
                    - i64::try_from(old).unwrap_or(i64::MAX);
                self.deltas.insert(dest.name.clone(), Deltas { conns: change });
            }
        }
    }

    fn record_series(&mut self, snap: &Snapshot) {
        let Some(service) = snap.main_service() else { return };
        let t = snap.at.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        self.series.retain(|name, _| service.dest(name).is_some());
        for dest in &service.real_servers {
            self.series
                .entry(dest.name.clone())
                .or_insert_with(|| History::new(HISTORY_POINTS))
                .push((t, f64::from(dest.active_conns)));
        }
    }

    pub(super) fn clamp_selection(&mut self) {
        let count = self.server_names().len();
        self.selected = self.selected.min(count.saturating_sub(1));
    }
}

/// The themes `t` cycles through: the one given first, then the built-ins;
/// with colours off there is nothing to cycle.
fn theme_cycle(first: Theme) -> Vec<Theme> {
    if !first.colored {
        return vec![first];
    }
    let mut themes = vec![first];
    for (name, _) in theme::BUILTIN_THEMES {
        if themes[0].name != *name
            && let Some(t) = theme::builtin(name)
        {
            themes.push(t);
        }
    }
    themes
}
