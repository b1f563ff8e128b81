//! The names the shells complete, read at each TAB (clap_complete's
//! dynamic engine calls these from the `add = ArgValueCompleter` of cli.rs):
//! presets, running labs, real servers, directors.

use std::ffi::OsStr;

use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use lvslab_core::lab::model::LabName;

/// Names starting with what the user typed, as candidates.
fn matching<'a>(
    names: impl IntoIterator<Item = String> + 'a,
    current: &'a OsStr,
) -> impl Iterator<Item = CompletionCandidate> + 'a {
    let typed = current.to_string_lossy().into_owned();
    names.into_iter().filter(move |n| n.starts_with(&typed)).map(CompletionCandidate::new)
}

/// Running labs whose record this user can read (root's, usually: a user
/// without access gets no names, and no error in the middle of a prompt).
fn readable_labs() -> Vec<LabName> {
    lvslab::ops::state::lab_names().unwrap_or_default()
}

/// The embedded presets by the names `lvslab up` takes (their declared lab names).
fn embedded_presets() -> impl Iterator<Item = String> {
    lvslab_core::lab::presets::embedded().into_iter().map(|p| p.spec.name.to_string())
}

/// A running lab's name.
pub fn lab(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(readable_labs().into_iter().map(String::from), current).collect()
}

/// A running lab, an embedded preset, or a preset file (a word with a `/`
/// or a leading `.` completes as a path).
pub fn lab_or_preset(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    if typed.contains('/') || typed.starts_with('.') {
        return PathCompleter::any().complete(current);
    }
    let mut names: Vec<String> =
        embedded_presets().chain(readable_labs().into_iter().map(String::from)).collect();
    names.sort();
    names.dedup();
    matching(names, current).collect()
}

/// A real server's name: clap's completer is not told which lab the line
/// names, so these are the real servers of every readable lab.
pub fn real_server(current: &OsStr) -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = lvslab::ops::state::list()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(_, state)| state.ok())
        .flat_map(|state| state.spec.real_servers.into_iter().map(|rs| rs.name))
        .collect();
    names.sort();
    names.dedup();
    matching(names, current).collect()
}

/// The HA lab's directors (the only names --fail/--cut/--recover take).
pub fn director(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(["director1".to_string(), "director2".to_string()], current).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_candidates_are_the_embedded_presets_starting_with_the_typed_word() {
        let got: Vec<String> = lab_or_preset(OsStr::new("t"))
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert!(
            got.contains(&"tutorial".to_string()) && got.contains(&"tun".to_string()),
            "{got:?}"
        );
        assert!(got.iter().all(|n| n.starts_with('t')), "{got:?}");
    }
}
