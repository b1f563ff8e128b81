//! `lvslab sysctl LAB [NAME=VALUE...] [--json]`: the director's IPVS
//! settings with their defaults and meaning, or changes to them.

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::ops::state::{LabState, Stored};
use lvslab::ops::sysctl::{self, Reading};
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::sysctl::parse_setting;
use lvslab_core::lab::text::shown;
use serde_json::json;

pub fn run(lab: &LabName, settings: &[String], json: bool) -> Result<ExitCode> {
    super::require_privilege("sysctl")?;
    // Every setting is checked before the lab is looked at or changed.
    let parsed = settings.iter().map(|s| parse_setting(s)).collect::<Result<Vec<_>, _>>();
    let parsed = match parsed {
        Ok(p) => p,
        Err(why) => bail!("{why}"),
    };
    let Some(state) = LabState::load(lab)? else {
        bail!("no lab '{lab}' is running (lvslab up {lab} builds it)");
    };
    if !parsed.is_empty() {
        let before = sysctl::apply(&state, &parsed)?;
        for (old, new) in before.iter().zip(&parsed) {
            println!(
                "{}: {} -> {}",
                new.fact.full_name(),
                old.value.replace('\t', " "),
                new.value.replace('\t', " ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let readings = sysctl::read(&state)?;
    if json {
        let rows: Vec<_> = readings
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "value": r.value,
                    "default": r.fact.and_then(|f| f.default),
                    "differs": r.off_default(),
                    "does": r.fact.map(|f| f.does),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", table(&readings));
    }
    Ok(ExitCode::SUCCESS)
}

/// The readings as a table; `*` marks a value off the kernel's default.
fn table(readings: &[Reading]) -> String {
    let width = readings.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!("  {:width$}  {:>8}  {:>8}  WHAT IT DOES\n", "NAME", "VALUE", "DEFAULT");
    for r in readings {
        let mark = if r.off_default() { '*' } else { ' ' };
        let default = r.fact.map_or("?", |f| f.default.unwrap_or("(memory)")).replace('\t', " ");
        let does = r.fact.map_or("(not in lvslab's table: a newer kernel's)", |f| f.does);
        out.push_str(&format!(
            "{mark} {:width$}  {:>8}  {:>8}  {does}\n",
            shown(&r.name),
            shown(&r.value.replace('\t', " ")),
            default
        ));
    }
    out
}
