//! `lvslab import FILE.rules|- [-o FILE] [--name NAME]`: a preset from
//! `ipvsadm -S` output or a keepalived.conf.

use std::process::ExitCode;

use anyhow::Result;
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::{import, input, text};

pub fn run(file: &str, output: Option<&str>, name: Option<&LabName>) -> Result<ExitCode> {
    // Read through the capped reader: /dev/zero, a FIFO or a huge file
    // stops at the limit instead of filling memory.
    let read = if file == "-" {
        input::read_stream("<stdin>", std::io::stdin().lock())
    } else {
        input::read_file(std::path::Path::new(file))
    };
    let text = match read {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let label = if file == "-" { "<stdin>".to_string() } else { text::shown(file).into_owned() };
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
