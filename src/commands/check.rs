//! `lvslab check FILE`: validate a preset, touching nothing.

use std::process::ExitCode;

use anyhow::Result;
use lvslab_core::lab::presets;
use serde_json::json;

pub fn run(file: &str, json: bool) -> Result<ExitCode> {
    match presets::load(file) {
        Ok(preset) => {
            let spec = &preset.spec;
            if json {
                println!("{}", json!({ "file": preset.origin, "valid": true, "lab": spec }));
            } else {
                let servers = spec.real_servers.len();
                let services = spec.services.len();
                println!(
                    "{}: ok — lab '{}', {servers} real server{}, {services} service{}",
                    preset.origin,
                    spec.name,
                    if servers == 1 { "" } else { "s" },
                    if services == 1 { "" } else { "s" },
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            if json {
                let list: Vec<_> = errors
                    .0
                    .iter()
                    .map(|e| json!({ "file": e.file, "line": e.line, "col": e.col, "message": e.message, "help": e.help }))
                    .collect();
                println!("{}", json!({ "file": file, "valid": false, "errors": list }));
            } else {
                eprintln!("{errors}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
