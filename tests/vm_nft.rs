//! Both dataplanes on one kernel (the test VM has IPVS and nftables):
//! `lvslab compare` runs the tutorial's traffic through each and both split
//! it exactly 600/400; and the nft dataplane runs where IPVS is loaded too.
//! Runs only inside the VM (`tests/vm/suite`); elsewhere it fails, never skips.

mod common;

use common::{lvslab_ok, require_vm};
use serde_json::Value;

#[test]
fn compare_runs_ipvs_and_nftables_from_one_run_with_the_same_split() {
    require_vm();
    let dir = tempfile::tempdir().unwrap();
    let source = include_str!("../labs/tutorial-nat.toml");
    let preset = dir.path().join("vmcmp.toml");
    std::fs::write(&preset, source.replacen("name = \"tutorial\"\n", "name = \"vmcmp\"\n", 1))
        .unwrap();
    let out = lvslab_ok(&["compare", preset.to_str().unwrap(), "--json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).expect("compare --json is JSON");
    let runs = runs.as_array().expect("one entry per dataplane");
    for (run, dataplane) in runs.iter().zip(["ipvs", "nft"]) {
        assert_eq!(run["dataplane"], dataplane, "{run}");
        assert!(run["skipped"].is_null(), "{dataplane} ran in the VM: {run}");
        assert_eq!(run["by_server"]["rs1"], 600, "{run}");
        assert_eq!(run["by_server"]["rs2"], 400, "{run}");
        for n in ["1", "64", "1024"] {
            assert!(run["program_ms"][n].as_f64().is_some_and(|ms| ms > 0.0), "{n}: {run}");
        }
    }
    // The figures, for the record (printed with --nocapture).
    eprintln!("{}", serde_json::to_string_pretty(&runs).unwrap());
}
