//! `lvslab` (no arguments) and `lvslab tui LAB`: the dashboard.
//!
//! Who owns the lab decides what `q` does: a lab the dashboard brought up
//! (from the picker or a preset) is torn down on quit unless `--keep`; a lab
//! that was already running is left running.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::lab::state::{Dataplane, LabState, Phase};
use lvslab::lab::{lifecycle, presets, teardown};
use lvslab::tui::{self, Exit, Keymap, PresetInfo, TerminalGuard, UiIo, theme};

/// The dashboard's options.
pub struct Options {
    /// A running lab, a preset name or a preset file; `None`: the picker.
    pub lab: Option<String>,
    /// Dataplane for labs the dashboard brings up.
    pub dataplane: Dataplane,
    /// Leave a lab the dashboard brought up running on quit.
    pub keep: bool,
    /// Theme name or file.
    pub theme: Option<String>,
}

pub fn run(options: Options) -> Result<ExitCode> {
    super::require_privilege("tui")?;
    require_terminal()?;
    let (theme, theme_error) = load_theme(options.theme.as_deref());
    super::runtime()?.block_on(async move {
        let (attach, owned, picker) = choose(&options).await?;
        let session = Session {
            lab: attach,
            owned,
            picker,
            dataplane: options.dataplane,
            keep: options.keep,
            guide: false,
        };
        show(session, theme, theme_error).await
    })
}

/// Fails unless stdin and stdout are a terminal (checked before building anything).
pub(super) fn require_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the dashboard needs a terminal (stdin and stdout are not one); from scripts use \
             `lvslab up`, `lvslab traffic` and `lvslab status --json`"
        );
    }
    Ok(())
}

/// The theme, or the default one and why (said now and again on exit).
pub(super) fn load_theme(name: Option<&str>) -> (tui::Theme, Option<String>) {
    let (theme, theme_error) = theme::load_or_default(name, theme::no_color_requested());
    if let Some(e) = &theme_error {
        eprintln!("lvslab: {e}\nlvslab: using the default theme");
    }
    (theme, theme_error.map(|e| e.to_string()))
}

/// What one dashboard session shows and owns.
pub(super) struct Session {
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
pub(super) async fn show(
    session: Session,
    theme: tui::Theme,
    theme_error: Option<String>,
) -> Result<ExitCode> {
    let (io, side) = UiIo::new(UiIo::crossterm_events());
    let io = if session.picker { io.with_presets(preset_list()) } else { io };
    tui::cancel_on_signals(side.cancel.clone())?;
    let cancel = side.cancel.clone();
    let start_traffic = session.owned && !session.guide;
    let backend = tokio::spawn(tui::backend::run_with_guide(
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
        Exit::Quit | Exit::Cancelled => Ok(ExitCode::SUCCESS),
    }
}

/// (lab to attach to, whether the dashboard owns it, whether to show the picker).
async fn choose(options: &Options) -> Result<(Option<LabState>, bool, bool)> {
    let Some(name) = &options.lab else { return Ok((None, true, true)) };
    if let Some(state) = LabState::load(name)?
        && state.phase == Phase::Up
        && !teardown::lab_namespaces(name)?.is_empty()
    {
        return Ok((Some(state), false, false));
    }
    let preset = presets::load(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(state) = LabState::load(&preset.spec.name)?
        && state.phase == Phase::Up
    {
        return Ok((Some(state), false, false));
    }
    eprintln!("bringing up lab '{}' from {} ...", preset.spec.name, preset.origin);
    lifecycle::prepare(&preset.spec, options.dataplane, &mut |n| eprintln!("note: {n}"))?;
    let mut say = |line: String| eprintln!("  {line}");
    match lifecycle::bring_up(preset, options.dataplane, &mut say).await {
        Ok(state) => Ok((Some(state), true, false)),
        Err(e) => bail!("{e}"),
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
