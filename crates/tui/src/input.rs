//! Turning terminal input into state changes and [`Command`]s: keys are
//! looked up in the keymap, then handled by whatever has the focus (a
//! dialog, the picker, the dashboard). No IO: the caller sends the command.

use crossterm::event::{Event, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::app::{App, Dialog, GuideState, Panel, Screen};
use super::changes::Level;
use super::command::{Command, Exit, GuideRequest};
use super::keymap::Action;
use super::view::layout;
use lvslab_core::lab::edit::Edit;
use lvslab_core::lab::model::Control;
use lvslab_core::lab::model::Scheduler;
use lvslab_core::monitor::ConnMode;
use lvslab_core::tutorial::Status;

/// The request rates `+`/`-` step through, in requests per second.
pub const RATE_STEPS: &[u32] = &[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

impl App {
    /// Handles one terminal event; returns the command it asks the backend for.
    pub fn on_terminal_event(&mut self, event: Event) -> Option<Command> {
        match event {
            Event::Key(key) if key.kind == KeyEventKind::Press => self.on_key(&key),
            Event::Mouse(mouse) => {
                self.on_mouse(mouse);
                None
            }
            Event::Resize(w, h) => {
                self.resize(Rect::new(0, 0, w, h));
                None
            }
            _ => None,
        }
    }

    fn on_key(&mut self, key: &KeyEvent) -> Option<Command> {
        let guide_keys =
            self.screen == Screen::Dashboard && self.dialog.is_none() && self.guide_visible();
        let action = if guide_keys {
            self.keymap.guide_action_for(key)?
        } else {
            self.keymap.action_for(key)?
        };
        self.dirty = true;
        if action == Action::Quit {
            self.exit = Some(Exit::Quit);
            return Some(Command::Quit);
        }
        match (self.screen.clone(), self.dialog) {
            (Screen::Picker, _) => self.on_picker(action),
            (_, Some(dialog)) => self.on_dialog(dialog, action),
            (Screen::Progress, _) => None,
            (Screen::Dashboard, None) => self.on_dashboard(action),
        }
    }

    fn on_picker(&mut self, action: Action) -> Option<Command> {
        let count = self.presets.len();
        match action {
            Action::Up => self.preset_index = self.preset_index.saturating_sub(1),
            Action::Down => {
                self.preset_index = (self.preset_index + 1).min(count.saturating_sub(1))
            }
            Action::NextPanel => {
                // Tab: the next dataplane the picker offers.
                let offered = self.build.offered();
                let now = self.picker_dataplane();
                let at = offered.iter().position(|d| *d == now).unwrap_or(0);
                self.picked_dataplane = Some(offered[(at + 1) % offered.len()]);
            }
            Action::Confirm => {
                let dataplane = self.picker_dataplane();
                let preset = self.presets.get(self.preset_index)?;
                let file = preset.file.clone();
                self.progress = vec![format!(
                    "building {} ({}) with dataplane {dataplane}",
                    preset.name,
                    file.display()
                )];
                self.screen = Screen::Progress;
                return Some(Command::BringUp { preset: file, dataplane });
            }
            _ => {}
        }
        None
    }

    fn on_dialog(&mut self, dialog: Dialog, action: Action) -> Option<Command> {
        match (dialog, action) {
            (Dialog::Help, Action::Help | Action::Close) => self.dialog = None,
            (Dialog::Scheduler { .. }, Action::Close | Action::PickScheduler) => self.dialog = None,
            (Dialog::Conns { .. }, Action::Close | Action::ToggleConns) => self.dialog = None,
            (Dialog::Conns { scroll }, Action::Up) => {
                self.dialog = Some(Dialog::Conns { scroll: scroll.saturating_sub(1) });
            }
            (Dialog::Conns { scroll }, Action::Down) => {
                let rows = self
                    .snapshot()
                    .and_then(|s| s.conns.as_ref())
                    .map_or(0, |t| t.connections.len());
                self.dialog =
                    Some(Dialog::Conns { scroll: (scroll + 1).min(rows.saturating_sub(1)) });
            }
            (Dialog::Scheduler { highlighted }, Action::Up) => {
                self.dialog =
                    Some(Dialog::Scheduler { highlighted: highlighted.saturating_sub(1) });
            }
            (Dialog::Scheduler { highlighted }, Action::Down) => {
                let last = Scheduler::ALL.len() - 1;
                self.dialog = Some(Dialog::Scheduler { highlighted: (highlighted + 1).min(last) });
            }
            (Dialog::Scheduler { highlighted }, Action::Confirm) => {
                self.dialog = None;
                return self.send(Command::Edit(Edit::Scheduler(Scheduler::ALL[highlighted])));
            }
            _ => {}
        }
        None
    }

    fn on_dashboard(&mut self, action: Action) -> Option<Command> {
        match action {
            Action::Help => self.dialog = Some(Dialog::Help),
            Action::ToggleConns => self.dialog = Some(Dialog::Conns { scroll: 0 }),
            Action::PickScheduler => {
                let highlighted = self.scheduler_index().unwrap_or(0);
                self.dialog = Some(Dialog::Scheduler { highlighted });
            }
            Action::NextTheme => self.theme_index = (self.theme_index + 1) % self.themes.len(),
            Action::NextPanel => {
                self.focus = match self.focus {
                    Panel::Servers => Panel::Events,
                    Panel::Events => Panel::Servers,
                };
            }
            Action::Up | Action::Down => self.move_selection(action == Action::Down),
            Action::ToggleGuide => return self.toggle_guide(),
            Action::GuideDo
            | Action::GuideSkip
            | Action::GuideUndo
            | Action::GuideRedo
            | Action::GuideBack => return self.on_guide(action),
            Action::FailOver => return self.fail_over().and_then(|c| self.send(c)),
            Action::Close | Action::Confirm | Action::Quit => {}
            _ => return self.lab_command(action).and_then(|c| self.send(c)),
        }
        None
    }

    /// The command an action asks of the lab, from the current snapshot.
    fn lab_command(&self, action: Action) -> Option<Command> {
        let traffic = self.snapshot().and_then(|s| s.traffic.as_ref());
        let server = || self.selected_name().map(str::to_owned);
        let weight = || self.selected_dest().map(|d| d.weight);
        match action {
            Action::ToggleTraffic => Some(match traffic {
                Some(t) if t.running => Command::StopTraffic,
                _ => Command::StartTraffic,
            }),
            Action::RateUp => {
                Some(Command::SetRate(rate_step(traffic.map_or(0, |t| t.rate), true)))
            }
            Action::RateDown => {
                Some(Command::SetRate(rate_step(traffic.map_or(0, |t| t.rate), false)))
            }
            Action::ToggleConnMode => Some(Command::ToggleConnMode),
            Action::NextScheduler => {
                let next = self.scheduler_index().map_or(0, |i| (i + 1) % Scheduler::ALL.len());
                Some(Command::Edit(Edit::Scheduler(Scheduler::ALL[next])))
            }
            Action::WeightUp => Some(Command::Edit(Edit::Weight {
                server: server()?,
                weight: weight()?.saturating_add(1),
            })),
            Action::WeightDown => Some(Command::Edit(Edit::Weight {
                server: server()?,
                weight: weight()?.saturating_sub(1),
            })),
            Action::Drain => Some(Command::Edit(Edit::Drain(server()?))),
            Action::ToggleServer => {
                let name = server()?;
                let up = self.snapshot()?.real_server(&name).is_none_or(|rs| rs.up);
                Some(Command::Edit(if up { Edit::Stop(name) } else { Edit::Start(name) }))
            }
            Action::SwitchControl => {
                let to = match self.snapshot()?.lab.control {
                    Control::Keepalived => Control::Lvslab,
                    Control::Lvslab => Control::Keepalived,
                };
                Some(Command::Edit(Edit::Control(to)))
            }
            Action::AddServer => Some(Command::AddServer),
            Action::RemoveServer => Some(Command::Edit(Edit::RemoveServer(server()?))),
            Action::ZeroCounters => Some(Command::Edit(Edit::Zero)),
            _ => None,
        }
    }

    /// `F`: in an HA lab, recover a failed director if there is one, else
    /// fail the VRRP MASTER; anywhere else, say why nothing happens.
    fn fail_over(&mut self) -> Option<Command> {
        let snap = self.snapshot()?;
        let Some(vrrp) = snap.lab.director.vrrp.clone() else {
            let name = snap.lab.name.clone();
            self.log(
                Level::Warn,
                format!(
                    "F fails the VRRP master of an HA lab; lab '{name}' has one director \
                     (the ha preset has two: lvslab tui ha)"
                ),
            );
            return None;
        };
        if let Some(director) = vrrp.failed.first() {
            return Some(Command::Edit(Edit::Recover(director.clone())));
        }
        match vrrp.master {
            Some(director) => Some(Command::Edit(Edit::Fail(director))),
            None => {
                self.log(Level::Warn, "no director holds the VIP yet (VRRP): nothing to fail");
                None
            }
        }
    }

    /// `g`: the first time, ask the backend for the steps; then show/hide.
    fn toggle_guide(&mut self) -> Option<Command> {
        match &mut self.guide {
            Some(guide) => {
                guide.visible = !guide.visible;
                None
            }
            None => {
                self.guide = Some(GuideState { visible: true, busy: true, ..Default::default() });
                Some(Command::Guide(GuideRequest::Open))
            }
        }
    }

    /// The guide's keys: moving is the UI's; doing and undoing go to the backend.
    fn on_guide(&mut self, action: Action) -> Option<Command> {
        let guide = self.guide.as_mut().filter(|g| g.visible && !g.steps.is_empty())?;
        if guide.busy && matches!(action, Action::GuideDo | Action::GuideUndo | Action::GuideRedo) {
            self.log(Level::Warn, "guide: the last step is still running");
            return None;
        }
        let last = guide.steps.len() - 1;
        let request = match action {
            Action::GuideSkip => {
                guide.current = (guide.current + 1).min(last);
                return None;
            }
            Action::GuideBack => {
                guide.current = guide.current.saturating_sub(1);
                return None;
            }
            Action::GuideDo => GuideRequest::Do(guide.current),
            Action::GuideUndo => GuideRequest::Undo(undo_target(guide)?),
            Action::GuideRedo => GuideRequest::Redo(guide.last.unwrap_or(guide.current)),
            _ => return None,
        };
        if let GuideRequest::Undo(i) | GuideRequest::Redo(i) = request {
            guide.current = i;
        }
        guide.busy = true;
        self.send(Command::Guide(request))
    }

    fn send(&mut self, command: Command) -> Option<Command> {
        self.pending += 1;
        self.log_request(format!("→ {}", describe(&command)));
        Some(command)
    }

    fn scheduler_index(&self) -> Option<usize> {
        let current = &self.snapshot()?.main_service()?.scheduler;
        Scheduler::ALL.iter().position(|s| s.name() == current)
    }

    fn move_selection(&mut self, down: bool) {
        match self.focus {
            Panel::Servers => {
                let last = self.server_names().len().saturating_sub(1);
                self.selected = if down {
                    (self.selected + 1).min(last)
                } else {
                    self.selected.saturating_sub(1)
                };
            }
            Panel::Events => {
                let last = self.log.len().saturating_sub(1);
                // Down shows newer lines (towards scroll 0).
                self.log_scroll = if down {
                    self.log_scroll.saturating_sub(1)
                } else {
                    (self.log_scroll + 1).min(last)
                };
            }
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) || self.screen != Screen::Dashboard
        {
            return;
        }
        let areas = layout::dashboard_with_guide(
            self.size,
            self.server_names().len(),
            self.guide_visible(),
        );
        let hit = |r: Rect| r.contains((mouse.column, mouse.row).into());
        if hit(areas.events) {
            self.focus = Panel::Events;
        } else if let Some(row) =
            layout::table_row_at(&areas, self.server_names().len(), self.selected, mouse.row)
            && hit(areas.table)
        {
            self.focus = Panel::Servers;
            self.selected = row;
        }
        self.dirty = true;
    }
}

/// The step `u` undoes: the last one done if it changed the lab, else the
/// nearest step at or before the current one that is in place.
fn undo_target(guide: &GuideState) -> Option<usize> {
    let undoable = |i: usize| {
        guide.status.get(i) == Some(&Status::Done)
            && guide.steps.get(i).is_some_and(|s| s.action.changes_lab())
    };
    guide.last.filter(|&i| undoable(i)).or_else(|| (0..=guide.current).rev().find(|&i| undoable(i)))
}

/// The next rate up or down [`RATE_STEPS`] from `current`.
pub fn rate_step(current: u32, up: bool) -> u32 {
    if up {
        RATE_STEPS.iter().copied().find(|&r| r > current).unwrap_or(current)
    } else {
        RATE_STEPS.iter().rev().copied().find(|&r| r < current).unwrap_or(RATE_STEPS[0])
    }
}

/// A command in words, for the events log.
pub fn describe(command: &Command) -> String {
    match command {
        Command::BringUp { preset, dataplane } => {
            format!("bring up {} (dataplane {dataplane})", preset.display())
        }
        Command::StartTraffic => "start traffic".into(),
        Command::StopTraffic => "stop traffic".into(),
        Command::SetRate(rate) => format!("set rate {rate} req/s"),
        Command::ToggleConnMode => "switch short/long connections".into(),
        Command::Edit(edit) => edit.asked(),
        Command::AddServer => "add a real server".into(),
        Command::Guide(GuideRequest::Open) => "open the tutorial guide".into(),
        Command::Guide(GuideRequest::Do(i)) => format!("guide: do step {}", i + 1),
        Command::Guide(GuideRequest::Undo(i)) => format!("guide: undo step {}", i + 1),
        Command::Guide(GuideRequest::Redo(i)) => format!("guide: redo step {}", i + 1),
        Command::Quit => "quit".into(),
    }
}

/// Short or long, as the traffic panel says it.
pub fn mode_name(mode: ConnMode) -> String {
    match mode {
        ConnMode::Short => "short".into(),
        ConnMode::Long { hold_ms } => format!("long ({hold_ms} ms)"),
    }
}

#[cfg(test)]
mod tests {
    use super::rate_step;

    #[test]
    fn rate_steps_saturate_at_both_ends() {
        assert_eq!(rate_step(50, true), 100);
        assert_eq!(rate_step(50, false), 20);
        assert_eq!(rate_step(60, false), 50);
        assert_eq!(rate_step(10_000, true), 10_000);
        assert_eq!(rate_step(1, false), 1);
    }
}

#[cfg(test)]
#[path = "input_guide_tests.rs"]
mod guide_tests;
