//! Both dataplanes on one kernel (the test VM has IPVS and nftables), the
//! side of tests/native_nft.rs that needs IPVS: `lvslab compare` runs the
//! tutorial's traffic through each and both split it exactly 600/400, so
//! the nft dataplane runs where IPVS is loaded too; and doctor says both
//! work. Runs only inside the VM (`tests/vm/suite`); elsewhere it fails,
//! never skips.

mod common;

use common::lab::{compare_tutorial, lab_namespaces};
use common::{lvslab_ok, require_vm};
use serde_json::Value;

#[test]
fn compare_runs_ipvs_and_nftables_from_one_run_with_the_same_split() {
    require_vm();
    let (ipvs, nft) = compare_tutorial("vmcmp");
    for run in [&ipvs, &nft] {
        let dataplane = &run["dataplane"];
        assert!(run["skipped"].is_null(), "{dataplane} ran in the VM: {run}");
        assert_eq!(run["by_server"]["rs1"], 600, "{run}");
        assert_eq!(run["by_server"]["rs2"], 400, "{run}");
        for n in ["1", "64", "1024"] {
            assert!(run["program_ms"][n].as_f64().is_some_and(|ms| ms > 0.0), "{n}: {run}");
        }
    }
    assert!(lab_namespaces("vmcmp-nft").is_empty() && lab_namespaces("vmcmp-ipvs").is_empty());
    // The figures, for the record (printed with --nocapture).
    eprintln!("{ipvs:#}\n{nft:#}");
}

/// Where the kernel has IPVS, doctor says it is loaded, and that nftables
/// works too, with the schedulers `--dataplane nft` offers.
#[test]
fn doctor_says_ipvs_is_loaded_and_nftables_works_too() {
    require_vm();
    let out = lvslab_ok(&["doctor", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("doctor --json is JSON");
    assert_eq!(report["ipvs"]["ok"], true, "{report}");
    assert_eq!(report["ipvs"]["detail"], "loaded", "{report}");
    assert_eq!(report["nftables"]["ok"], true, "{report}");
    let detail = report["nftables"]["detail"].as_str().unwrap();
    assert!(detail.contains("--dataplane nft") && detail.contains("rr, wrr, sh, dh"), "{detail}");
}

/// Where the kernel has IPVS, `up` without `--dataplane` chooses IPVS and
/// says so in one line; the table is programmed and traffic splits 600/400
/// as it always did (nftables is chosen only without IPVS: native_nft.rs).
#[test]
fn up_without_a_dataplane_chooses_ipvs_where_the_kernel_has_it() {
    require_vm();
    let lab = "vmauto";
    let dir = tempfile::tempdir().unwrap();
    let preset = common::lab::renamed_preset(dir.path(), "tutorial", lab);
    let _guard = common::lab::LabGuard::new(lab);
    let up = lvslab_ok(&["up", preset.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&up.stderr);
    let said: Vec<&str> = err.lines().filter(|l| l.starts_with("dataplane ")).collect();
    assert_eq!(
        said,
        ["dataplane ipvs: this kernel has IPVS (`--dataplane nft` for nftables)"],
        "{err}"
    );
    assert_eq!(common::lab::status_json(lab)["dataplane"], "ipvs");
    let out = lvslab_ok(&["traffic", lab, "--requests", "1000", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("traffic --json is JSON");
    assert_eq!(
        (report["by_server"]["rs1"].as_u64(), report["by_server"]["rs2"].as_u64()),
        (Some(600), Some(400)),
        "{report}"
    );
    lvslab_ok(&["down", lab]);
    assert!(lab_namespaces(lab).is_empty());
}
