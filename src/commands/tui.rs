//! `lvslab` (no arguments) and `lvslab tui LAB`: the dashboard. This picks
//! the lab (attach to a running one, or bring a preset up and own it); the
//! session itself is `lvslab::session`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::ops::lifecycle::Wiring;
use lvslab::ops::state::{LabState, Phase, Stored};
use lvslab::ops::{dataplane, lifecycle, teardown};
use lvslab::session::dashboard::bring_up_owned;
use lvslab::session::{Session, show};
use lvslab_core::lab::model::{Dataplane, LabName};
use lvslab_core::lab::presets;
use lvslab_tui::{self as tui, theme};

/// The dashboard's options.
pub struct Options {
    /// A running lab, a preset name or a preset file; `None`: the picker.
    pub lab: Option<String>,
    /// Dataplane for labs the dashboard brings up; `None`: the preset's, else IPVS.
    pub dataplane: Option<Dataplane>,
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
        let Choice { lab, owned, picker } = choose(&options).await?;
        let session = Session {
            lab,
            owned,
            picker,
            dataplane: options.dataplane.unwrap_or(Dataplane::Ipvs),
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
    let (theme, theme_error) = theme::load_or_default(name, theme::no_color_requested(), &|path| {
        lvslab_core::lab::input::read_file(std::path::Path::new(path))
            .map_err(lvslab_core::lab::input::InputError::into_io)
    });
    if let Some(e) = &theme_error {
        eprintln!("lvslab: {e}\nlvslab: using the default theme");
    }
    (theme, theme_error.map(|e| e.to_string()))
}

/// What the dashboard starts on, and whether it owns the lab.
struct Choice {
    /// The lab to show; `None` waits for the picker.
    lab: Option<LabState>,
    /// The session brings the lab up, so it tears it down on quit.
    owned: bool,
    /// Start on the preset picker.
    picker: bool,
}

async fn choose(options: &Options) -> Result<Choice> {
    let Some(name) = &options.lab else {
        return Ok(Choice { lab: None, owned: true, picker: true });
    };
    // Only a bare word can be a running lab; a path is a preset file.
    if let Ok(lab) = LabName::new(name)
        && !presets::is_path(name)
        && let Some(state) = LabState::load(&lab)?
        && state.phase == Phase::Up
        && !teardown::lab_namespaces(&lab)?.is_empty()
    {
        return Ok(Choice { lab: Some(state), owned: false, picker: false });
    }
    let preset = presets::load(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(state) = LabState::load(&preset.spec.name)?
        && state.phase == Phase::Up
    {
        return Ok(Choice { lab: Some(state), owned: false, picker: false });
    }
    eprintln!("bringing up lab '{}' from {} ...", preset.spec.name, preset.origin);
    let dataplane = dataplane::settle(options.dataplane, &preset.spec, &mut |w| eprintln!("{w}"))?;
    lifecycle::prepare(&preset.spec, dataplane, &mut |n| eprintln!("note: {n}"))?;
    let mut say = |line: String| eprintln!("  {line}");
    match bring_up_owned(preset, dataplane, Wiring::Full, &mut say).await {
        Ok(state) => Ok(Choice { lab: Some(state), owned: true, picker: false }),
        Err(e) => bail!("{e}"),
    }
}
