//! Removing a lab: its processes, its namespaces (which take their links,
//! addresses, routes and IPVS table with them) and its state file.
//!
//! Teardown works from the namespace names as well as from the state file, so
//! it also cleans what a crashed or killed `up` left behind.

use super::error::LabError;
use super::process::{self, FoundProcess, Target};
use super::program;
use super::state::{self, LabState, Stored};
use crate::net;
use lvslab_core::lab::model::hosts;
use lvslab_core::lab::model::{Dataplane, LabName};
use lvslab_sys::netns;

/// What a teardown removed, for the user.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Lab processes stopped (PIDs).
    pub processes: Vec<u32>,
    /// Processes that are not lvslab's but were inside a lab namespace:
    /// left running, named so the user can stop them.
    pub foreign: Vec<(String, FoundProcess)>,
    /// `lvs-<lab>-*` namespaces lvslab did not make (no mark, not in the
    /// record): left alone unless the sweep was forced.
    pub foreign_namespaces: Vec<String>,
    /// Whether a state file was removed.
    pub state_file: bool,
    /// Whether the director's IPVS table was flushed (nft: its table deleted).
    pub ipvs_cleared: bool,
    /// What failed; the teardown went on past each failure.
    pub errors: Vec<String>,
}

/// How far a teardown reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Only what lvslab made (marked namespaces, recorded processes,
    /// lvslab binaries inside them).
    Ours,
    /// Also `lvs-*` namespaces lvslab did not make, and every process inside
    /// any of them (`down --force`).
    Force,
}

/// Namespaces under /run/netns named like lab `lab`'s (lvslab's or not).
pub fn lab_namespaces(lab: &LabName) -> Result<Vec<String>, net::Error> {
    Ok(netns::list()?
        .into_iter()
        .filter(|ns| LabName::of_netns(ns).is_some_and(|(l, _)| l == *lab))
        .collect())
}

/// Every lab name that has namespaces under /run/netns (a namespace
/// `lvs-<x>-<host>` whose `<x>` is no lab name names no lab: see
/// [`foreign_namespaces`]).
pub fn labs_with_namespaces() -> Result<Vec<LabName>, net::Error> {
    let mut labs: Vec<LabName> =
        netns::list()?.iter().filter_map(|ns| LabName::of_netns(ns).map(|(lab, _)| lab)).collect();
    labs.sort();
    labs.dedup();
    Ok(labs)
}

/// Whether lvslab made namespace `ns`: marked with its inode when it was
/// created, or (records written before marks existed) a host of the lab's record.
pub fn is_ours(ns: &str, recorded: Option<&LabState>) -> bool {
    let inode = netns::inode(ns).ok();
    state::netns_is_marked(ns, inode)
        || recorded.is_some_and(|s| s.spec.hosts().any(|(host, _)| s.spec.netns(host) == ns))
}

/// `lvs-*` namespaces on this machine that lvslab did not make, sorted:
/// unmarked ones, and any whose lab part is no lab name (`lvs-..-x`).
pub fn foreign_namespaces() -> Result<Vec<String>, net::Error> {
    let mut foreign = Vec::new();
    for ns in netns::list()? {
        if !ns.starts_with(lvslab_core::lab::model::NETNS_PREFIX) {
            continue;
        }
        let ours = LabName::of_netns(&ns).is_some_and(|(lab, _)| {
            let recorded = LabState::load(&lab).ok().flatten();
            is_ours(&ns, recorded.as_ref())
        });
        if !ours {
            foreign.push(ns);
        }
    }
    Ok(foreign)
}

/// Whether `lvslab down --force` removes foreign namespace `ns`: only when
/// its name names a lab, as `--force` sweeps a lab's namespaces. One whose
/// lab part breaks the lab-name rule (`lvs-..-x`) is no lab's; no lvslab
/// command removes it, and the hints that list it say `ip netns delete`.
pub fn force_removes(ns: &str) -> bool {
    LabName::of_netns(ns).is_some()
}

/// Removes everything lvslab made for lab `lab`; an error if any part failed
/// (the rest was still removed: see [`remove_with`]).
pub fn remove(lab: &LabName) -> Result<Removed, LabError> {
    let removed = remove_with(lab, Sweep::Ours);
    if removed.errors.is_empty() {
        Ok(removed)
    } else {
        Err(LabError::Refused(format!(
            "lab '{lab}' was only partly removed: {}",
            removed.errors.join("; ")
        )))
    }
}

/// Removes lab `lab`, going on past every failure and listing each in
/// [`Removed::errors`]: processes, IPVS table, namespaces, marks, logs,
/// record. Holds the lab's lock throughout, so nothing is added to the lab
/// meanwhile and nothing after it (a build a signal abandoned finds no record).
pub fn remove_with(lab: &LabName, sweep: Sweep) -> Removed {
    let mut removed = Removed::default();
    let lock = match state::lock(lab) {
        Ok(lock) => Some(lock),
        Err(e) => {
            removed.errors.push(format!("cannot lock its record: {e}"));
            None
        }
    };
    let recorded = match LabState::load(lab) {
        Ok(recorded) => recorded,
        Err(e) => {
            removed.errors.push(format!(
                "its record is unreadable ({e}); removing what lvslab marked as its own"
            ));
            None
        }
    };
    if let Some(state) = &recorded {
        // keepalived first: it removes its own IPVS services as it exits.
        removed.processes.extend(super::keepalived::stop_recorded(state));
        let targets: Vec<Target> =
            state.processes.iter().map(|p| Target::lvslab(p.pid, p.start_ticks)).collect();
        removed.processes.extend(process::stop_all(&targets));
        // Explicitly, although the namespace's end would drop the table too:
        // a failure here means the director's table is not what we think.
        for host in state.spec.directors() {
            if state.dataplane == Dataplane::Ipvs && netns::exists(&state.spec.netns(host)) {
                match program::clear_in(&state.spec, host) {
                    Ok(()) => removed.ipvs_cleared = true,
                    Err(e) => removed.errors.push(format!("clearing {host}'s IPVS table: {e}")),
                }
            }
        }
        if state.dataplane == Dataplane::Nft && netns::exists(&state.spec.netns(hosts::DIRECTOR)) {
            match super::nft::clear(&state.spec) {
                Ok(()) => removed.ipvs_cleared = true,
                Err(e) => removed.errors.push(format!("deleting the nftables table: {e}")),
            }
        }
    }
    let namespaces = lab_namespaces(lab).unwrap_or_else(|e| {
        removed.errors.push(format!("listing namespaces: {e}"));
        Vec::new()
    });
    let (ours, foreign): (Vec<String>, Vec<String>) =
        namespaces.into_iter().partition(|ns| is_ours(ns, recorded.as_ref()));
    let swept: Vec<String> = match sweep {
        Sweep::Ours => {
            removed.foreign_namespaces = foreign;
            ours
        }
        Sweep::Force => ours.into_iter().chain(foreign).collect(),
    };
    let inodes: Vec<(u64, &String)> =
        swept.iter().filter_map(|ns| netns::inode(ns).ok().map(|i| (i, ns))).collect();
    let only_inodes: Vec<u64> = inodes.iter().map(|(i, _)| *i).collect();
    let mut targets = Vec::new();
    for (inode, found) in process::in_namespaces(&only_inodes) {
        if found.pid == std::process::id() {
            continue;
        }
        if found.is_lvslab || sweep == Sweep::Force {
            targets.push(found.target());
        } else if let Some((_, ns)) = inodes.iter().find(|(i, _)| *i == inode) {
            removed.foreign.push(((*ns).clone(), found));
        }
    }
    removed.processes.extend(process::stop_all(&targets));
    for ns in swept {
        match netns::delete(&ns) {
            Ok(()) => {
                state::unmark_netns(&ns);
                removed.namespaces.push(ns);
            }
            Err(e) => removed.errors.push(format!("{ns}: {e}")),
        }
    }
    // A server a crashed `up` had just started may have entered its
    // namespace after the sweep above; it checks its namespace's name after
    // entering, so once the names are gone this second sweep finds every
    // one that could still run.
    let late: Vec<Target> = process::in_namespaces(&only_inodes)
        .into_iter()
        .filter(|(_, found)| found.pid != std::process::id())
        .filter(|(_, found)| found.is_lvslab || sweep == Sweep::Force)
        .map(|(_, found)| found.target())
        .collect();
    removed.processes.extend(process::stop_all(&late));
    remove_stale_marks(Some(lab));
    state::remove_temporaries(lab);
    if recorded.is_some() || state::path(lab).exists() {
        match state::remove(lab) {
            Ok(()) => removed.state_file = true,
            Err(e) => {
                removed.errors.push(format!("removing {}: {e}", state::path(lab).display()));
            }
        }
    }
    // Its logs and keepalived's files; the lock goes last, with the folder.
    state::remove_lab_files(lab);
    drop(lock);
    remove_empty_state_dir();
    removed
}

/// Removes marks of namespaces that no longer exist (a crash between the
/// mark and the namespace), of lab `lab` or of every lab.
pub fn remove_stale_marks(lab: Option<&LabName>) {
    for ns in state::marked_namespaces() {
        let of_lab = lab.is_none_or(|lab| LabName::of_netns(&ns).is_some_and(|(l, _)| l == *lab));
        if of_lab && !netns::exists(&ns) {
            state::unmark_netns(&ns);
        }
    }
}

/// Removes /run/lvslab (its labs and marks folders) when no lab is left in
/// it: a machine without labs has no trace of lvslab. (`remove_dir` removes
/// only empty folders: anything left there stays.)
pub fn remove_empty_state_dir() {
    let _ = std::fs::remove_dir(state::LABS_DIR);
    let _ = std::fs::remove_dir(state::NETNS_MARK_DIR);
    let _ = std::fs::remove_dir(state::STATE_DIR);
}
