//! One dashboard session from start to end. Who owns the lab decides what
//! the end does: a lab the session brought up (from the picker or a preset)
//! is torn down unless `keep`; a lab that was already running is left running.

use std::mem::ManuallyDrop;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use futures::FutureExt;

use crate::ops::error::LabError;
use crate::ops::lifecycle::{self, Wiring};
use crate::ops::state::LabState;
use crate::ops::teardown;
use lvslab_core::lab::model::{Dataplane, LabName};
use lvslab_core::lab::presets;
use lvslab_tui::{self as tui, Exit, Keymap, PresetInfo};

use super::event::{self, UiIo};

use super::backend;
use super::terminal::{Signals, TerminalGuard, cancel_on_signals, say, tell};

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

/// Runs the dashboard until it ends, then tears down what it owns. However
/// it ends (q, Ctrl-C, SIGINT, SIGTERM, SIGHUP, a panic in the UI or the
/// backend), the teardown runs: signals cancel the UI, a panic is caught
/// and resumed only after the teardown, and nothing on the way writes to a
/// terminal that may be gone.
pub async fn show(
    session: Session,
    theme: tui::Theme,
    theme_error: Option<String>,
) -> Result<(), event::Error> {
    let (io, side) = UiIo::new(UiIo::crossterm_events());
    let io = if session.picker {
        io.with_presets(preset_list()).with_build_options(tui::BuildOptions {
            dataplane: session.dataplane,
            ipvs_missing: crate::ops::dataplane::machine().ipvs_missing,
        })
    } else {
        io
    };
    cancel_on_signals(side.cancel.clone()).map_err(|e| event::Error::Terminal(e.to_string()))?;
    let cancel = side.cancel.clone();
    let start_traffic = session.owned && !session.guide;
    // The lab to tear down even if the backend panics: known now when given,
    // filled in by the backend when the picker brings one up.
    let owned_lab = Arc::new(Mutex::new(
        session.lab.as_ref().filter(|_| session.owned).map(|l| l.spec.name.clone()),
    ));
    let backend = tokio::spawn(backend::run_owned(
        side,
        session.lab,
        start_traffic,
        session.guide,
        session.owned.then(|| owned_lab.clone()),
    ));
    let ui = async {
        let (_guard, terminal) =
            TerminalGuard::enter().map_err(|e| event::Error::Terminal(e.to_string()))?;
        // ratatui's Terminal prints with `eprintln!` when dropped on a dead
        // terminal, which panics: never drop it; the guard restores the cursor.
        let mut terminal = ManuallyDrop::new(terminal);
        let run = event::run(&mut terminal, io, theme, Keymap::default());
        // Debug builds only: the crash tests make the UI panic on demand.
        #[cfg(debug_assertions)]
        if let Some(ms) =
            std::env::var("LVSLAB_FAULT_UI_PANIC_MS").ok().and_then(|v| v.parse().ok())
        {
            tokio::select! {
                exit = run => return exit,
                () = tokio::time::sleep(std::time::Duration::from_millis(ms)) => {
                    panic!("LVSLAB_FAULT_UI_PANIC_MS: a panic on the UI path, as a test asked")
                }
            }
        }
        run.await
    };
    let exit = AssertUnwindSafe(ui).catch_unwind().await;
    cancel.cancel();
    let lab = match backend.await {
        Ok(lab) => lab,
        Err(_) => owned_lab.lock().unwrap_or_else(PoisonError::into_inner).clone(),
    };
    if let Some(e) = &theme_error {
        say(&format!("lvslab: {e} (the default theme was used)"));
    }
    finish(lab, session.owned, session.keep);
    match exit {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(exit) => match exit? {
            Exit::Quit | Exit::Cancelled => Ok(()),
        },
    }
}

/// Brings a lab up for a session that will own it, before the dashboard
/// runs: a SIGINT (Ctrl-C), SIGTERM or SIGHUP during the bring-up removes
/// everything made so far and ends with an error naming the signal.
pub async fn bring_up_owned(
    preset: presets::Preset,
    dataplane: Dataplane,
    wiring: Wiring,
    say_step: &mut (dyn FnMut(String) + Send),
) -> Result<LabState, LabError> {
    let name = preset.spec.name.clone();
    let mut signals = Signals::new().map_err(|e| LabError::Refused(e.to_string()))?;
    let signal = tokio::select! {
        result = lifecycle::bring_up_wired(preset, dataplane, wiring, say_step) => return result,
        signal = signals.recv() => signal,
    };
    // The bring-up future is dropped; a step still running on a blocking
    // thread finds the record gone (teardown holds the lab's lock) and
    // makes nothing more.
    let cleanup = match teardown::remove(&name) {
        Ok(_) => "rolled back: nothing of it is left".to_string(),
        Err(e) => format!("rollback failed too ({e}); run `lvslab down {name}`"),
    };
    Err(LabError::Refused(format!("lab '{name}' was not built: {signal} arrived; {cleanup}")))
}

/// The built-in presets as the picker offers them.
pub fn preset_list() -> Vec<PresetInfo> {
    presets::embedded().iter().map(preset_info).collect()
}

/// What the picker shows of a preset: its topology, its services with
/// scheduler and weights, and its own explanation (the file's leading
/// comment block), so a newcomer chooses knowingly.
fn preset_info(preset: &presets::Preset) -> PresetInfo {
    let spec = &preset.spec;
    let mut client = format!("client {}", spec.client);
    if spec.client_addresses > 1 {
        client.push_str(&format!(" (and {} more addresses)", spec.client_addresses - 1));
    }
    let mut topology = vec![client];
    if let Some(router) = spec.router {
        topology.push(format!("router {} · {}", router.outside, router.inside));
    }
    topology.push(format!("director VIP {} · DIP {}", spec.director.vip, spec.director.dip));
    topology.extend(spec.real_servers.iter().map(|rs| format!("{} {}", rs.name, rs.addr)));
    let services = spec
        .services
        .iter()
        .map(|svc| {
            let mut line = format!("{} {}", svc.label(), svc.scheduler);
            if let Some(timeout) = svc.persistence {
                line.push_str(&format!(" persistent {timeout} s"));
            }
            let members: Vec<String> = svc
                .members
                .iter()
                .map(|m| format!("{} weight {} {}", m.name, m.weight, m.forward))
                .collect();
            format!("{line}: {}", members.join(", "))
        })
        .collect();
    let explanation =
        presets::embedded_source(&preset.origin).map(presets::explanation).unwrap_or_default();
    PresetInfo {
        // The picker sends this back in BringUp; the backend loads it by name.
        file: PathBuf::from(spec.name.as_str()),
        name: spec.name.to_string(),
        description: spec.description.clone(),
        topology,
        services,
        explanation,
        dataplane: spec.dataplane,
    }
}

fn finish(lab: Option<LabName>, owned: bool, keep: bool) {
    let Some(name) = lab else { return };
    if owned && !keep {
        match teardown::remove(&name) {
            Ok(r) => tell(&format!("lab '{name}' torn down ({} namespaces)", r.namespaces.len())),
            Err(e) => say(&format!(
                "lvslab: tearing lab '{name}' down failed: {e}; run `lvslab down {name}`"
            )),
        }
    } else {
        tell(&format!(
            "lab '{name}' is still running: `lvslab tui {name}` attaches again, `lvslab down {name}` removes it"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picker_learns_topology_services_and_the_presets_own_words() {
        let info = preset_info(&presets::load("tutorial").unwrap());
        assert_eq!(info.name, "tutorial");
        assert_eq!(
            info.topology,
            [
                "client 192.0.2.2",
                "director VIP 192.0.2.1 · DIP 198.51.100.1",
                "rs1 198.51.100.11",
                "rs2 198.51.100.12"
            ]
        );
        assert_eq!(info.services, ["TCP 192.0.2.1:80 wrr: rs1 weight 3 nat, rs2 weight 2 nat"]);
        assert!(info.explanation.starts_with("The LVS-NAT tutorial lab."), "{}", info.explanation);
        let dr = preset_info(&presets::load("dr").unwrap());
        assert!(dr.topology.iter().any(|l| l.starts_with("router ")), "{:?}", dr.topology);
    }
}
