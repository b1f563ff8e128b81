//! `lvslab export LAB --format ipvsadm|shell|toml|keepalived [-o FILE]`: a running lab
//! (live edits included) or a preset, written as rules, a script or a preset.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use lvslab::monitor::merge::{self, Origin};
use lvslab::monitor::{IpvsRead, KernelObserver, Observation};
use lvslab::ops::state::{LabState, Stored};
use lvslab_core::lab::export::{self, Format};
use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::model::{LabName, LabSpec};
use lvslab_core::lab::{presets, text};

/// Where the spec to export came from.
enum Source {
    /// A running lab (its record's spec follows every live edit).
    Running {
        /// The preset it was built from.
        origin: String,
    },
    /// A preset, by name or file.
    Preset(String),
}

pub fn run(lab: &str, format: Format, output: Option<&str>) -> Result<ExitCode> {
    let (spec, source, seen, dataplane) = find(lab)?;
    // What the director has that the lab's record does not: said beside
    // every format, so an export never silently drops (or passes off as
    // the preset's) what someone added by hand.
    let outside = seen.as_ref().map(|s| outside_rules(&spec, s)).unwrap_or_default();
    let mut text = match format {
        Format::Ipvsadm => match seen.as_ref().and_then(|s| s.ipvs.table()) {
            // The director's real table, so the file equals `ipvsadm -Sn` there.
            Some(table) => export::rules::from_table(table),
            None => export::rules::from_spec(&spec),
        },
        // A running nftables lab's script rebuilds what runs: its ruleset.
        Format::Shell if dataplane == Some(Dataplane::Nft) => export::shell::to_shell_nft(&spec)
            .map_err(|why| anyhow::anyhow!("nftables cannot balance lab '{lab}': {why}"))?,
        Format::Shell => export::shell::to_shell(&spec),
        Format::Toml => export::toml::to_toml(&spec, &header(&spec, &source, "toml")),
        Format::Keepalived => export::keepalived::to_keepalived(
            &spec,
            export::keepalived::Purpose::Export,
            &header(&spec, &source, "keepalived"),
        ),
        Format::Containerlab => {
            export::containerlab::to_containerlab(&spec, &header(&spec, &source, "containerlab"))?
        }
    };
    if !outside.is_empty() {
        match format {
            // Rules files carry no comments (ipvsadm -R reads every line).
            Format::Ipvsadm => eprintln!(
                "note: these rules include what was added in the director outside lvslab \
                 (not in the lab's preset):\n{}",
                outside.join("\n")
            ),
            Format::Shell | Format::Toml | Format::Keepalived | Format::Containerlab => {
                text.push_str(
                    "\n# Added in the director outside lvslab, so not part of this file:\n",
                );
                for rule in &outside {
                    let rule = text::clip(rule, text::MAX_LINE);
                    text.push_str(&format!("#   ipvsadm {rule}\n"));
                }
            }
        }
    }
    match output {
        None | Some("-") => std::io::stdout().write_all(text.as_bytes())?,
        Some(path) => {
            let mode = if format == Format::Shell { 0o755 } else { 0o644 };
            super::write_output(path, &text, mode)?;
            eprintln!("wrote {path}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The running lab `lab` with what its director has now and its dataplane,
/// else the preset of that name or path.
fn find(lab: &str) -> Result<(LabSpec, Source, Option<Observation>, Option<Dataplane>)> {
    if let Ok(name) = LabName::new(lab)
        && !presets::is_path(lab)
        && let Some(state) = LabState::load(&name)?
    {
        let seen = if state.dataplane == Dataplane::Ipvs {
            super::require_privilege("export")?;
            let seen = KernelObserver::once(&state);
            if let IpvsRead::Failed(e) = &seen.ipvs {
                anyhow::bail!("cannot read the director's IPVS table of lab '{lab}': {e}");
            }
            Some(seen)
        } else {
            None
        };
        let source = Source::Running { origin: state.origin };
        return Ok((state.spec, source, seen, Some(state.dataplane)));
    }
    match presets::load(lab) {
        Ok(preset) => Ok((preset.spec, Source::Preset(preset.origin), None, None)),
        Err(errors) => anyhow::bail!(
            "no lab '{lab}' is running, and it is no preset either:\n{errors}\n\
             (lvslab ls lists the running labs, lvslab ls --presets the presets)"
        ),
    }
}

/// The header of a generated file. It names the lab and, of a preset
/// file, only the file's name: a path is the user's text, of any length
/// and content (keepalived read the tail of a long one as statements).
fn header(spec: &LabSpec, source: &Source, format: &str) -> Vec<String> {
    let name = text::clip(&spec.name, text::MAX_LINE);
    match source {
        Source::Running { origin, .. } => vec![
            format!("Exported by `lvslab export {name} --format {format}` from the running lab,"),
            format!(
                "built from {}, with every live edit (lvslab set, dashboard) applied.",
                text::file_label(origin)
            ),
        ],
        Source::Preset(origin) => vec![format!(
            "Exported by `lvslab export --format {format}` from the preset {} (lab '{name}').",
            text::file_label(origin)
        )],
    }
}

/// `ipvsadm` rules (without the program name) for each service and
/// destination the director has that the lab does not.
fn outside_rules(spec: &LabSpec, seen: &Observation) -> Vec<String> {
    let mut rules = Vec::new();
    for m in merge::merge(spec, seen.ipvs.table()) {
        let Some(kernel) = &m.kernel else { continue };
        let extra: Vec<_> = m
            .dests
            .iter()
            .filter(|d| d.origin == Origin::Outside)
            .filter_map(|d| d.kernel.clone())
            .collect();
        let text = match m.origin {
            Origin::Outside => lvslab_ipvs::rules::save(&[(kernel.clone(), extra)]),
            Origin::Lab if extra.is_empty() => continue,
            // Only the destinations: the service line is the lab's own.
            Origin::Lab => lvslab_ipvs::rules::save(&[(kernel.clone(), extra)])
                .lines()
                .skip(1)
                .map(|l| format!("{l}\n"))
                .collect(),
        };
        rules.extend(text.lines().map(str::to_string));
    }
    rules
}
