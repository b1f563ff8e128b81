//! One dashboard session from start to end. Who owns the lab decides what
//! the end does: a lab the session brought up (from the picker or a preset)
//! is torn down unless `keep`; a lab that was already running is left running.

use std::path::PathBuf;

use crate::lab::model::Dataplane;
use crate::lab::presets;
use crate::ops::state::LabState;
use crate::ops::teardown;
use crate::tui::{self, Exit, Keymap, PresetInfo, UiIo};

use super::backend;
use super::terminal::{TerminalGuard, cancel_on_signals};

/// What one dashboard session shows and owns.
pub struct Session {
    /// The lab to show; `None` waits for the picker.
    pub lab: Option<LabState>,
    /// The session brought the lab up (tear it down on quit, start traffic).
    pub owned: bool,
    /// Start on the preset picker.
    pub picker: bool,
    /// Dataplane for a lab the picker brings up.
    pub dataplane: Dataplane,
    /// Leave an owned lab running on quit.
    pub keep: bool,
    /// Open the tutorial guide (and send no traffic of its own).
    pub guide: bool,
}

/// Runs the dashboard until quit, then tears down what it owns.
pub async fn show(
    session: Session,
    theme: tui::Theme,
    theme_error: Option<String>,
) -> Result<(), tui::Error> {
    let (io, side) = UiIo::new(UiIo::crossterm_events());
    let io = if session.picker { io.with_presets(preset_list()) } else { io };
    cancel_on_signals(side.cancel.clone()).map_err(|e| tui::Error::Terminal(e.to_string()))?;
    let cancel = side.cancel.clone();
    let start_traffic = session.owned && !session.guide;
    let backend = tokio::spawn(backend::run_with_guide(
        side,
        session.lab,
        session.dataplane,
        start_traffic,
        session.guide,
    ));
    let exit = match TerminalGuard::enter() {
        Ok((_guard, mut terminal)) => tui::run(&mut terminal, io, theme, Keymap::default()).await,
        Err(e) => Err(tui::Error::Terminal(e.to_string())),
    };
    cancel.cancel();
    let lab = backend.await.ok().flatten();
    if let Some(e) = &theme_error {
        eprintln!("lvslab: {e} (the default theme was used)");
    }
    finish(lab, session.owned, session.keep);
    match exit? {
        Exit::Quit | Exit::Cancelled => Ok(()),
    }
}

fn preset_list() -> Vec<PresetInfo> {
    presets::embedded()
        .into_iter()
        .map(|p| PresetInfo {
            // The picker sends this back in BringUp; the backend loads it by name.
            file: PathBuf::from(&p.spec.name),
            name: p.spec.name,
            description: p.spec.description,
        })
        .collect()
}

fn finish(lab: Option<String>, owned: bool, keep: bool) {
    let Some(name) = lab else { return };
    if owned && !keep {
        match teardown::remove(&name) {
            Ok(r) => println!("lab '{name}' torn down ({} namespaces)", r.namespaces.len()),
            Err(e) => {
                eprintln!("lvslab: tearing lab '{name}' down failed: {e}; run `lvslab down {name}`")
            }
        }
    } else {
        println!(
            "lab '{name}' is still running: `lvslab tui {name}` attaches again, `lvslab down {name}` removes it"
        );
    }
}
