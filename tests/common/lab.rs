//! A lab under test: the guard that takes it down whatever happens to the
//! test, the built-in presets under a lab name of the test's own, and what a
//! test reads of a running lab (`status --json`, its namespaces).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::lvslab;

/// Takes its labs down (`lvslab down NAME`, in the order given) when
/// dropped, so a test that fails half-way leaves nothing behind. Options
/// say what more goes with them; declare the guard before whatever must
/// still run at its `down` (it is dropped after it).
pub struct LabGuard {
    labs: Vec<String>,
    kill_servers: bool,
    then: Option<Box<dyn FnOnce()>>,
}

impl LabGuard {
    /// Guards lab `lab`.
    pub fn new(lab: impl Into<String>) -> Self {
        Self::all([lab])
    }

    /// Guards each of `labs`.
    pub fn all(labs: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { labs: labs.into_iter().map(Into::into).collect(), kill_servers: false, then: None }
    }

    /// Takes `lab` down now as well, before the test brings it up: in the
    /// VM the labs carry the presets' own names, and what an earlier test
    /// left of one must not meet this test.
    pub fn fresh(lab: impl Into<String>) -> Self {
        let guard = Self::new(lab);
        guard.down();
        guard
    }

    /// After each `down`, also kills the lab's `lvslab serve` processes that
    /// are left: a test that kills lvslab mid-way can leave servers that no
    /// record names any more.
    pub fn killing_servers(mut self) -> Self {
        self.kill_servers = true;
        self
    }

    /// Runs `more` once every lab is down (e.g. an exported script's own
    /// teardown, namespaces made by hand).
    pub fn then(mut self, more: impl FnOnce() + 'static) -> Self {
        self.then = Some(Box::new(more));
        self
    }

    fn down(&self) {
        for lab in &self.labs {
            let _ = lvslab().args(["down", lab]).output();
            if self.kill_servers {
                super::sandbox::kill_servers(lab);
            }
        }
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        self.down();
        if let Some(more) = self.then.take() {
            more();
        }
    }
}

/// The built-in preset whose lab is `preset` (the name `lvslab up PRESET`
/// takes, e.g. `tutorial` for labs/tutorial-nat.toml) renamed `name`, written
/// to `dir/NAME.toml`: a test's own copy, which no other test's lab meets.
pub fn renamed_preset(dir: &Path, preset: &str, name: &str) -> PathBuf {
    let source = preset_source(preset);
    let from = format!("name = \"{preset}\"\n");
    assert!(source.contains(&from), "the preset {preset} names its lab on a line {from:?}");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, source.replacen(&from, &format!("name = \"{name}\"\n"), 1))
        .expect("write the renamed preset");
    path
}

/// The text of the built-in preset whose lab is `preset`.
pub fn preset_source(preset: &str) -> &'static str {
    let found = lvslab_core::lab::presets::embedded()
        .into_iter()
        .find(|p| p.spec.name == preset)
        .unwrap_or_else(|| panic!("no built-in preset {preset}"));
    lvslab_core::lab::presets::embedded_source(&found.origin).expect("an embedded preset's text")
}

/// `lvslab status LAB --json`, checked against its committed schema every time.
pub fn status_json(lab: &str) -> Value {
    let out = super::lvslab_ok(&["status", lab, "--json"]);
    let doc = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    super::schema::assert_matches(&doc, &super::schema::load("assets/schemas/status.schema.json"));
    doc
}

/// `lvslab compare --json` of the tutorial renamed `name` (its copies are
/// labs NAME-ipvs and NAME-nft): the run on IPVS, then the one on nftables.
pub fn compare_tutorial(name: &str) -> (Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", name);
    let out = super::lvslab_ok(&["compare", preset.to_str().unwrap(), "--json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).expect("compare --json is JSON");
    match runs.as_array().map(Vec::as_slice) {
        Some([ipvs, nft]) if ipvs["dataplane"] == "ipvs" && nft["dataplane"] == "nft" => {
            (ipvs.clone(), nft.clone())
        }
        _ => panic!("compare --json lists an ipvs run, then an nft one: {runs:#}"),
    }
}

/// Lab `lab`'s network namespaces (`lvs-LAB-*`), sorted.
pub fn lab_namespaces(lab: &str) -> Vec<String> {
    let prefix = format!("lvs-{lab}-");
    lvslab_sys::netns::list()
        .expect("list the network namespaces")
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}
