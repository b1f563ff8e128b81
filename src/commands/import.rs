//! `lvslab import FILE.rules|- [-o FILE] [--name NAME]`: a preset from
//! `ipvsadm -S` output or a keepalived.conf.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result};
use lvslab_core::lab::import;
use lvslab_core::lab::model::LabName;

pub fn run(file: &str, output: Option<&str>, name: Option<&LabName>) -> Result<ExitCode> {
    let (label, text) = if file == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the rules from stdin")?;
        ("<stdin>".to_string(), text)
    } else {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        // The path is the user's, but it is printed in errors and the preset's
        // header: shown, so a control character in it is seen, not obeyed.
        (lvslab_core::lab::text::shown(file).into_owned(), text)
    };
    let name = name.cloned().unwrap_or_else(|| import::name_from_file(file));
    let imported = match import::import(&label, &text, &name) {
        Ok(imported) => imported,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let spec = &imported.spec;
    match output {
        None | Some("-") => print!("{}", imported.toml),
        Some(path) => {
            super::write_output(path, &imported.toml, 0o644)?;
            eprintln!(
                "wrote {path}: lab '{}', {} real servers, {} services; build it with: lvslab up {path}",
                spec.name,
                spec.real_servers.len(),
                spec.services.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
