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
use lvslab_core::lab::text::{for_terminal, shown};

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
    for line in foreign_report(&foreign, all, lab, force) {
        println!("{line}");
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What `down` says of the `lvs-*` namespaces it left alone, names shown
/// escaped (anyone can name a namespace). Each hint is true of the names it
/// follows: `--force` sweeps the namespaces of a lab, so it is offered only
/// for names of the form `lvs-<lab>-<host>`; one whose lab part breaks the
/// lab-name rule (`lvs-..-x`) names no lab, no lvslab command removes it,
/// and only `ip netns delete` is offered.
fn foreign_report(
    foreign: &[String],
    all: bool,
    lab: Option<&LabName>,
    force: bool,
) -> Vec<String> {
    if foreign.is_empty() {
        return Vec::new();
    }
    let names = |list: &[&String]| {
        list.iter().map(|ns| shown(ns).into_owned()).collect::<Vec<_>>().join(", ")
    };
    let all_of: Vec<&String> = foreign.iter().collect();
    let (of_labs, no_lab): (Vec<&String>, Vec<&String>) =
        foreign.iter().partition(|ns| teardown::force_removes(ns));
    let mut lines = vec![format!("left alone, not made by lvslab: {}", names(&all_of))];
    const DELETE: &str =
        "`ip netns delete NAME` (stop what runs inside first: `ip netns pids NAME`)";
    if !of_labs.is_empty() && !force {
        lines.push(format!(
            "  remove {} with {DELETE}, or `lvslab down {} --force`, which also stops every \
             process inside them",
            if no_lab.is_empty() { "them".to_string() } else { names(&of_labs) },
            if all { "--all" } else { lab.map_or("LAB", LabName::as_str) }
        ));
    }
    if !no_lab.is_empty() {
        lines.push(format!(
            "  {} name{} no lab (the part after lvs- breaks the lab-name rule), so no lvslab \
             command removes {}: {DELETE} does",
            names(&no_lab),
            if no_lab.len() == 1 { "s" } else { "" },
            if no_lab.len() == 1 { "it" } else { "them" },
        ));
    }
    lines
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
            "  note: process {} ({}) was inside {} and was left running; the namespace \
             is freed when it exits",
            p.pid,
            shown(&p.comm),
            shown(ns)
        );
    }
    for error in &removed.errors {
        eprintln!("error: lab '{name}': {}", for_terminal(error));
    }
    if !removed.errors.is_empty() {
        eprintln!(
            "  the rest of lab '{name}' was removed; fix the above and run `lvslab down {name}` again"
        );
    }
}
