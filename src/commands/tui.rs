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
    use std::io::IsTerminal;
    super::require_privilege("tui")?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the dashboard needs a terminal (stdin and stdout are not one); from scripts use \
             `lvslab up`, `lvslab traffic` and `lvslab status --json`"
        );
    }
    let (theme, theme_error) =
        theme::load_or_default(options.theme.as_deref(), theme::no_color_requested());
    if let Some(e) = &theme_error {
        eprintln!("lvslab: {e}\nlvslab: using the default theme");
    }
    super::runtime()?.block_on(async move {
        let (attach, owned, picker) = choose(&options).await?;
        let (io, side) = UiIo::new(UiIo::crossterm_events());
        let io = if picker { io.with_presets(preset_list()) } else { io };
        tui::cancel_on_signals(side.cancel.clone())?;
        let cancel = side.cancel.clone();
        let start_traffic = owned;
        let backend =
            tokio::spawn(tui::backend::run(side, attach, options.dataplane, start_traffic));
        let exit = match TerminalGuard::enter() {
            Ok((_guard, mut terminal)) => {
                tui::run(&mut terminal, io, theme, Keymap::default()).await
            }
            Err(e) => Err(tui::Error::Terminal(e.to_string())),
        };
        cancel.cancel();
        let lab = backend.await.ok().flatten();
        if let Some(e) = &theme_error {
            eprintln!("lvslab: {e} (the default theme was used)");
        }
        finish(lab, owned, options.keep);
        match exit? {
            Exit::Quit | Exit::Cancelled => Ok(ExitCode::SUCCESS),
        }
    })
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
