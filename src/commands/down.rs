//! `lvslab down LAB | --all`: remove every trace of a lab.

use std::process::ExitCode;

use anyhow::Result;
use lvslab::ops::{state, teardown};

pub fn run(lab: Option<&str>, all: bool) -> Result<ExitCode> {
    super::require_privilege("down")?;
    let labs: Vec<String> = if all {
        let mut names = state::lab_names()?;
        names.extend(teardown::labs_with_namespaces()?);
        names.sort();
        names.dedup();
        names
    } else {
        vec![lab.expect("clap requires LAB without --all").to_string()]
    };
    if all && labs.is_empty() {
        println!("no labs to remove");
    }
    for name in &labs {
        let removed = teardown::remove(name)?;
        if removed.namespaces.is_empty() && !removed.state_file {
            if all {
                continue;
            }
            anyhow::bail!("no lab '{name}' is running (lvslab ls lists the running labs)");
        }
        println!(
            "lab '{name}' removed: {} namespace{}, {} process{}{}",
            removed.namespaces.len(),
            if removed.namespaces.len() == 1 { "" } else { "s" },
            removed.processes.len(),
            if removed.processes.len() == 1 { "" } else { "es" },
            if removed.state_file { ", its record" } else { "" }
        );
        for (ns, p) in &removed.foreign {
            println!(
                "  note: process {} ({}) was inside {ns} and was left running; the namespace \
                 is freed when it exits",
                p.pid, p.comm
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
