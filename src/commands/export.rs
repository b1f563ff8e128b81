//! `lvslab export LAB --format ipvsadm|shell|toml [-o FILE]`: a running lab
//! (live edits included) or a preset, written as rules, a script or a preset.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::ExitCode;

use anyhow::{Context, Result};
use lvslab::lab::export::{self, Format};
use lvslab::lab::model::LabSpec;
use lvslab::lab::presets;
use lvslab::lab::state::{Dataplane, LabState};

/// Where the spec to export came from.
enum Source {
    /// A running lab (its record's spec follows every live edit).
    Running {
        /// The preset it was built from.
        origin: String,
        /// Its dataplane.
        dataplane: Dataplane,
    },
    /// A preset, by name or file.
    Preset(String),
}

pub fn run(lab: &str, format: Format, output: Option<&str>) -> Result<ExitCode> {
    let (spec, source) = find(lab)?;
    let text = match format {
        Format::Ipvsadm => match &source {
            // The director's real table, so the file equals `ipvsadm -Sn` there.
            Source::Running { dataplane: Dataplane::Ipvs, .. } => {
                super::require_privilege("export")?;
                export::rules::from_kernel(&spec)?
            }
            _ => export::rules::from_spec(&spec),
        },
        Format::Shell => export::shell::to_shell(&spec),
        Format::Toml => export::toml::to_toml(&spec, &header(lab, &source)),
    };
    match output {
        None | Some("-") => std::io::stdout().write_all(text.as_bytes())?,
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("cannot write {path}"))?;
            if format == Format::Shell {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
            }
            eprintln!("wrote {path}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The running lab `lab`, else the preset of that name or path.
fn find(lab: &str) -> Result<(LabSpec, Source)> {
    let looks_like_file = lab.contains('/') || lab.ends_with(".toml");
    if !looks_like_file && let Some(state) = LabState::load(lab)? {
        let source = Source::Running { origin: state.origin, dataplane: state.dataplane };
        return Ok((state.spec, source));
    }
    match presets::load(lab) {
        Ok(preset) => Ok((preset.spec, Source::Preset(preset.origin))),
        Err(errors) => anyhow::bail!(
            "no lab '{lab}' is running, and it is no preset either:\n{errors}\n\
             (lvslab ls lists the running labs, lvslab ls --presets the presets)"
        ),
    }
}

fn header(lab: &str, source: &Source) -> Vec<String> {
    match source {
        Source::Running { origin, .. } => vec![
            format!("Exported by `lvslab export {lab} --format toml` from the running lab,"),
            format!("built from {}, with every live edit (lvslab set, dashboard) applied.", origin),
        ],
        Source::Preset(origin) => {
            vec![format!("Exported by `lvslab export {lab} --format toml` from {origin}.")]
        }
    }
}
