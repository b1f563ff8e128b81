//! Removing a lab: its processes, its namespaces (which take their links,
//! addresses, routes and IPVS table with them) and its state file.
//!
//! Teardown works from the namespace names as well as from the state file, so
//! it also cleans what a crashed or killed `up` left behind.

use super::error::LabError;
use super::process::{self, FoundProcess};
use super::program;
use super::state::{self, LabState};
use crate::lab::model::Dataplane;
use crate::lab::model::parse_netns_name;
use crate::net::{self, netns};

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
    /// Whether a state file was removed.
    pub state_file: bool,
    /// Whether the director's IPVS table was flushed.
    pub ipvs_cleared: bool,
}

/// Namespaces under /run/netns that belong to lab `lab`.
pub fn lab_namespaces(lab: &str) -> Result<Vec<String>, net::Error> {
    Ok(netns::list()?
        .into_iter()
        .filter(|ns| parse_netns_name(ns).is_some_and(|(l, _)| l == lab))
        .collect())
}

/// Every lab name that has namespaces under /run/netns.
pub fn labs_with_namespaces() -> Result<Vec<String>, net::Error> {
    let mut labs: Vec<String> = netns::list()?
        .iter()
        .filter_map(|ns| parse_netns_name(ns).map(|(lab, _)| lab.to_string()))
        .collect();
    labs.dedup();
    Ok(labs)
}

/// Removes everything of lab `lab`.
pub fn remove(lab: &str) -> Result<Removed, LabError> {
    let mut removed = Removed::default();
    let recorded = LabState::load(lab).ok().flatten();
    if let Some(state) = &recorded {
        let targets: Vec<(u32, Option<u64>)> =
            state.processes.iter().map(|p| (p.pid, Some(p.start_ticks))).collect();
        removed.processes.extend(process::stop_all(&targets));
        // Explicitly, although the namespace's end would drop the table too:
        // a failure here means the director's table is not what we think.
        if state.dataplane == Dataplane::Ipvs && netns::exists(&state.spec.netns("director")) {
            program::clear(&state.spec)?;
            removed.ipvs_cleared = true;
        }
    }
    let namespaces = lab_namespaces(lab)?;
    let inodes: Vec<(u64, &String)> =
        namespaces.iter().filter_map(|ns| netns::inode(ns).ok().map(|i| (i, ns))).collect();
    let only_inodes: Vec<u64> = inodes.iter().map(|(i, _)| *i).collect();
    let mut ours = Vec::new();
    for (inode, found) in process::in_namespaces(&only_inodes) {
        if found.pid == std::process::id() {
            continue;
        }
        if found.is_lvslab {
            ours.push((found.pid, None));
        } else if let Some((_, ns)) = inodes.iter().find(|(i, _)| *i == inode) {
            removed.foreign.push(((*ns).clone(), found));
        }
    }
    removed.processes.extend(process::stop_all(&ours));
    for ns in namespaces {
        netns::delete(&ns)?;
        removed.namespaces.push(ns);
    }
    remove_logs(lab);
    if recorded.is_some() || state::path(lab).exists() {
        state::remove(lab).map_err(|e| net::Error::io("remove", state::path(lab), e))?;
        removed.state_file = true;
    }
    remove_empty_state_dir();
    Ok(removed)
}

/// Removes the lab's server logs, then /run/lvslab itself if nothing else is
/// in it: a machine without labs has no trace of lvslab.
fn remove_logs(lab: &str) {
    let dir = std::path::Path::new(state::STATE_DIR).join("logs");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let prefix = format!("{lab}-");
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Server logs are <lab>-<host>-<port>.log; host names have no '-'.
            let ours = name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".log"))
                .is_some_and(|rest| rest.matches('-').count() == 1);
            if ours {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Removes /run/lvslab (and its logs folder) when no lab is left in it.
pub fn remove_empty_state_dir() {
    let root = std::path::Path::new(state::STATE_DIR);
    let _ = std::fs::remove_dir(root.join("logs"));
    let _ = std::fs::remove_dir(root);
}
