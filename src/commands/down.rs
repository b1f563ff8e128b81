//! `lvslab down LAB | --all [--force]`: remove every trace of a lab.
//!
//! Only what lvslab made is removed: namespaces it marked when it created
//! them (or that the lab's record names), the processes it started, its
//! records. `lvs-*` namespaces made by someone else (for instance by the
//! script `lvslab export --format shell` writes) are listed and left alone,
//! unless `--force`. A failure does not stop the rest: every lab and every
//! part of one is attempted, each failure is reported, and the exit code
//! is non-zero if any happened.

use std::process::ExitCode;

use anyhow::Result;
use lvslab::ops::teardown::{self, Sweep};
use lvslab::ops::{state, teardown::Removed};
use lvslab_core::lab::model::LabName;

pub fn run(lab: Option<&LabName>, all: bool, force: bool) -> Result<ExitCode> {
    super::require_privilege("down")?;
    let sweep = if force { Sweep::Force } else { Sweep::Ours };
    let labs: Vec<LabName> = if all {
        // Every lab with a trace: a record, namespaces, or what a crash left
        // (a lock file, a half-written record, a namespace mark).
        let mut names = state::lab_names()?;
        names.extend(teardown::labs_with_namespaces()?);
        names.extend(state::traced_labs());
        names.sort();
        names.dedup();
        names
    } else {
        vec![lab.expect("clap requires LAB without --all").clone()]
    };
    if all && labs.is_empty() {
        println!("no labs to remove");
    }
    let mut failed = false;
    let mut foreign = Vec::new();
    for name in &labs {
        let removed = teardown::remove_with(name, sweep);
        failed |= !removed.errors.is_empty();
        foreign.extend(removed.foreign_namespaces.iter().cloned());
        let nothing = removed.namespaces.is_empty() && !removed.state_file;
        if nothing && removed.errors.is_empty() {
            if !all && removed.foreign_namespaces.is_empty() {
                anyhow::bail!("no lab '{name}' is running (lvslab ls lists the running labs)");
            }
            continue;
        }
        report(name, &removed);
    }
    if all {
        teardown::remove_stale_marks(None);
        // Also those that name no lab at all (`lvs-..-x`): never a lab's,
        // never swept, but the user should hear of them.
        foreign = teardown::foreign_namespaces()?;
    }
    foreign.sort();
    foreign.dedup();
    if !foreign.is_empty() {
        println!("left alone, not made by lvslab: {}", foreign.join(", "));
        println!(
            "  remove them with `ip netns delete NAME` (stop what runs inside first: \
             `ip netns pids NAME`), or `lvslab down {} --force`, which also stops every \
             process inside them",
            if all { "--all" } else { lab.map_or("LAB", LabName::as_str) }
        );
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn report(name: &str, removed: &Removed) {
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
    for error in &removed.errors {
        eprintln!("error: lab '{name}': {error}");
    }
    if !removed.errors.is_empty() {
        eprintln!(
            "  the rest of lab '{name}' was removed; fix the above and run `lvslab down {name}` again"
        );
    }
}
