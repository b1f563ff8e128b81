//! Key bindings as data: the event loop looks keys up here, and the footer
//! and the help overlay are generated from the same table, so what is shown
//! is always what works.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Something the user can ask the dashboard to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Start or stop the load generator.
    ToggleTraffic,
    /// Raise the request rate one step.
    RateUp,
    /// Lower the request rate one step.
    RateDown,
    /// Switch short/long connections.
    ToggleConnMode,
    /// Next scheduler in the list.
    NextScheduler,
    /// Open the scheduler list.
    PickScheduler,
    /// Selected server's weight + 1.
    WeightUp,
    /// Selected server's weight − 1.
    WeightDown,
    /// Drain the selected server (weight 0).
    Drain,
    /// Stop or start the selected server's HTTP process.
    ToggleServer,
    /// Hand the IPVS table to keepalived (health checks) or back to lvslab.
    SwitchControl,
    /// HA lab: fail the VRRP MASTER director, or recover the failed one.
    FailOver,
    /// Add a real server.
    AddServer,
    /// Remove the selected real server.
    RemoveServer,
    /// Zero the IPVS counters.
    ZeroCounters,
    /// Next colour theme.
    NextTheme,
    /// Show or hide the help overlay.
    Help,
    /// Quit (tears the lab down).
    Quit,
    /// Close the open dialog.
    Close,
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Focus the next panel.
    NextPanel,
    /// Confirm the highlighted choice.
    Confirm,
    /// Show or hide the tutorial guide.
    ToggleGuide,
    /// Show or hide the connection table.
    ToggleConns,
    /// Guide: do the current step, then go to the next.
    GuideDo,
    /// Guide: go to the next step without doing this one.
    GuideSkip,
    /// Guide: undo the last step done (or the one before the current).
    GuideUndo,
    /// Guide: do the last step again (undo, then do).
    GuideRedo,
    /// Guide: go back one step.
    GuideBack,
}

/// One key: a code plus the modifiers that must be held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key itself.
    pub code: KeyCode,
    /// Ctrl/Alt that must be held (Shift is part of the character).
    pub modifiers: KeyModifiers,
}

impl Key {
    /// A key pressed on its own.
    pub const fn plain(code: KeyCode) -> Self {
        Self { code, modifiers: KeyModifiers::NONE }
    }

    /// A character key pressed on its own.
    pub const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// A character key with Ctrl held.
    pub const fn ctrl(c: char) -> Self {
        Self { code: KeyCode::Char(c), modifiers: KeyModifiers::CONTROL }
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        // Shift is already in the character ('S'), so only Ctrl/Alt must agree.
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT;
        self.code == event.code && self.modifiers & relevant == event.modifiers & relevant
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Backspace => f.write_str("Backspace"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Keys bound to one action, with the words the footer and help use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The keys that trigger the action.
    pub keys: Vec<Key>,
    /// The action.
    pub action: Action,
    /// A few words for the footer, e.g. `traffic`.
    pub short: &'static str,
    /// A phrase for the help overlay (at most 27 characters, two columns fit 80).
    pub help: &'static str,
    /// Whether the footer shows it (the help always does).
    pub in_footer: bool,
}

impl Binding {
    /// The keys as the user types them, e.g. `q/Ctrl-C`.
    pub fn keys_label(&self) -> String {
        self.keys.iter().map(Key::to_string).collect::<Vec<_>>().join("/")
    }
}

/// The table of bindings, in the order help lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
    guide: Vec<Binding>,
}

impl Keymap {
    /// A keymap from explicit bindings (earlier bindings win on conflicts).
    /// The guide's keys are the default ones ([`Keymap::with_guide`] changes them).
    pub fn new(bindings: Vec<Binding>) -> Self {
        Self { bindings, guide: guide_bindings() }
    }

    /// The same keymap with these bindings while the guide is showing.
    #[must_use]
    pub fn with_guide(mut self, guide: Vec<Binding>) -> Self {
        self.guide = guide;
        self
    }

    /// Every binding, in help order.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The bindings that win while the guide is showing (they shadow the
    /// dashboard's `s` and `r`).
    pub fn guide_bindings(&self) -> &[Binding] {
        &self.guide
    }

    /// The action a key press asks for, if any.
    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        find(&self.bindings, event)
    }

    /// The action a key press asks for while the guide shows: the guide's
    /// bindings first, then the dashboard's.
    pub fn guide_action_for(&self, event: &KeyEvent) -> Option<Action> {
        find(&self.guide, event).or_else(|| self.action_for(event))
    }
}

fn find(bindings: &[Binding], event: &KeyEvent) -> Option<Action> {
    bindings.iter().find(|b| b.keys.iter().any(|k| k.matches(event))).map(|b| b.action)
}

/// The guide's keys: do, skip, undo, redo, back.
fn guide_bindings() -> Vec<Binding> {
    use Action as A;
    let b = |keys: &[Key], action, short, help| Binding {
        keys: keys.to_vec(),
        action,
        short,
        help,
        in_footer: true,
    };
    vec![
        b(
            &[Key::plain(KeyCode::Enter), Key::char('n')],
            A::GuideDo,
            "do step",
            "guide: do the step, next",
        ),
        b(&[Key::char('s')], A::GuideSkip, "skip", "guide: skip this step"),
        b(&[Key::char('u')], A::GuideUndo, "undo", "guide: undo the last step"),
        b(&[Key::char('r')], A::GuideRedo, "redo", "guide: redo the last step"),
        b(&[Key::char('p')], A::GuideBack, "back", "guide: previous step"),
    ]
}

impl Default for Keymap {
    fn default() -> Self {
        use Action as A;
        use KeyCode as K;
        let b = |keys: &[Key], action, short, help, in_footer| Binding {
            keys: keys.to_vec(),
            action,
            short,
            help,
            in_footer,
        };
        Self::new(vec![
            b(&[Key::char(' ')], A::ToggleTraffic, "traffic", "start/stop traffic", true),
            b(
                &[Key::char('+'), Key::char('=')],
                A::RateUp,
                "rate+",
                "raise the request rate",
                true,
            ),
            b(&[Key::char('-')], A::RateDown, "rate-", "lower the request rate", true),
            b(&[Key::char('l')], A::ToggleConnMode, "short/long", "short/long connections", true),
            b(&[Key::char('s')], A::NextScheduler, "sched", "next scheduler", true),
            b(&[Key::char('S')], A::PickScheduler, "pick sched", "choose a scheduler", false),
            b(&[Key::char('w')], A::WeightUp, "weight+", "weight + 1 (selected)", true),
            b(&[Key::char('W')], A::WeightDown, "weight-", "weight − 1 (selected)", true),
            b(&[Key::char('d')], A::Drain, "drain", "drain: weight 0 (selected)", true),
            b(&[Key::char('x')], A::ToggleServer, "stop/start", "stop/start its HTTP server", true),
            b(&[Key::char('K')], A::SwitchControl, "keepalived", "keepalived ⇄ plain IPVS", false),
            b(&[Key::char('F')], A::FailOver, "failover", "HA: fail/recover the master", false),
            b(&[Key::char('a')], A::AddServer, "add", "add a real server", false),
            b(&[Key::char('r')], A::RemoveServer, "remove", "remove the selected server", false),
            b(&[Key::char('z')], A::ZeroCounters, "zero", "zero the IPVS counters", false),
            b(&[Key::char('t')], A::NextTheme, "theme", "next colour theme", false),
            b(&[Key::char('g')], A::ToggleGuide, "guide", "tutorial guide on/off", false),
            b(&[Key::char('c')], A::ToggleConns, "conns", "connection table on/off", false),
            b(&[Key::plain(K::Up), Key::char('k')], A::Up, "up", "select the previous row", false),
            b(
                &[Key::plain(K::Down), Key::char('j')],
                A::Down,
                "down",
                "select the next row",
                false,
            ),
            b(&[Key::plain(K::Tab)], A::NextPanel, "panel", "focus the next panel", false),
            b(&[Key::plain(K::Enter)], A::Confirm, "choose", "confirm the choice", false),
            b(&[Key::plain(K::Esc)], A::Close, "close", "close the dialog", false),
            b(&[Key::char('?')], A::Help, "help", "show/hide this help", true),
            b(&[Key::char('q'), Key::ctrl('c')], A::Quit, "quit", "quit, tear the lab down", true),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn shifted_letters_and_ctrl_keys_resolve() {
        let km = Keymap::default();
        assert_eq!(
            km.action_for(&press(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Action::PickScheduler)
        );
        assert_eq!(
            km.action_for(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action_for(&press(KeyCode::Char('c'), KeyModifiers::NONE)),
            Some(Action::ToggleConns),
            "plain c opens the connection table; Ctrl-C still quits"
        );
        assert_eq!(
            km.action_for(&press(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
    }

    #[test]
    fn labels_read_as_typed() {
        let km = Keymap::default();
        let quit = km.bindings().iter().find(|b| b.action == Action::Quit).unwrap();
        assert_eq!(quit.keys_label(), "q/Ctrl-C");
        let traffic = &km.bindings()[0];
        assert_eq!(traffic.keys_label(), "space");
    }
}
