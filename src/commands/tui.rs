//! `lvslab` (no arguments) and `lvslab tui LAB`: the dashboard. This picks
//! the lab (attach to a running one, or bring a preset up and own it); the
//! session itself is `lvslab::session`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::lab::model::Dataplane;
use lvslab::lab::presets;
use lvslab::ops::state::{LabState, Phase};
use lvslab::ops::{lifecycle, teardown};
use lvslab::session::{Session, show};
use lvslab::tui::{self, theme};

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
        show(session, theme, theme_error).await?;
        Ok(ExitCode::SUCCESS)
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

/// (lab to attach to, whether the dashboard owns it, whether to show the picker).
async fn choose(options: &Options) -> Result<(Option<LabState>, bool, bool)> {
    let Some(name) = &options.lab else { return Ok((None, true, true)) };
    // Only a bare word can be a running lab; a path is a preset file.
    if !presets::is_path(name)
        && let Some(state) = LabState::load(name)?
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
