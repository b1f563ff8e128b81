//! `lvslab diagnose LAB | --host [--keepalived FILE] | --list [--json]`: the
//! known LVS pitfalls found in a lab or on this host, read only.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::ops::diagnose as gather;
use lvslab::ops::state::{LabState, Stored};
use lvslab_core::diagnose::{self, Report, catalogue};
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::text::for_terminal;

/// Exit status when diagnose itself could not run: apart from 1, "found
/// something", so a script can tell the two.
const COULD_NOT_RUN: u8 = 2;

pub fn run(
    lab: Option<&LabName>,
    host: bool,
    keepalived: Option<&Path>,
    list: bool,
    json: bool,
) -> Result<ExitCode> {
    if list {
        print!("{}", catalogue::listing());
        return Ok(ExitCode::SUCCESS);
    }
    match diagnose(lab, host, keepalived, json) {
        Ok(code) => Ok(code),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {}", for_terminal(&format!("{err:#}")));
            Ok(ExitCode::from(COULD_NOT_RUN))
        }
    }
}

fn diagnose(
    lab: Option<&LabName>,
    host: bool,
    keepalived: Option<&Path>,
    json: bool,
) -> Result<ExitCode> {
    let evidence = match lab {
        Some(lab) if !host => {
            super::require_privilege("diagnose")?;
            let Some(state) = LabState::load(lab)? else {
                bail!("no lab '{lab}' is running (lvslab up {lab} builds it)");
            };
            gather::lab(&state)?
        }
        _ => gather::host(keepalived)?,
    };
    let findings = diagnose::run(&evidence);
    if json {
        println!("{}", serde_json::to_string_pretty(&Report::new(&evidence, &findings))?);
    } else {
        print!("{}", diagnose::render(&evidence, &findings));
    }
    Ok(if diagnose::fails(&findings) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
