//! Predict, then verify, on a kernel with IPVS (run inside the VM by
//! tests/vm/suite): `lvslab traffic --predict` sends 1,000 connections from
//! 50 client addresses, one at a time, and the real server that answered
//! each must be the one lvslab predicted from the kernel's algorithm and
//! the director's table, for at least 99 % of them, under rr, wrr, sh, dh
//! and wrr with persistence. The figures are printed. They fail, never
//! skip, outside the VM.

mod common;

use serde_json::Value;

use common::{lvslab, lvslab_ok};

const LAB: &str = "clients";

struct LabGuard;
impl Drop for LabGuard {
    fn drop(&mut self) {
        let _ = lvslab().args(["down", LAB]).output();
    }
}

/// One predicted run; returns its agreement in percent after printing it.
fn predicted(label: &str, args: &[&str]) -> f64 {
    let out = lvslab_ok(
        &[&["traffic", LAB, "--predict", "--json", "--clients", "50", "--requests", "1000"], args]
            .concat(),
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::schema::assert_matches(
        &report,
        &serde_json::from_str(include_str!("fixtures/traffic-report.schema.json")).unwrap(),
    );
    assert_eq!(report["ok"], 1000, "every request answered: {report}");
    let v = &report["prediction"];
    let percent = v["percent"].as_f64().unwrap();
    eprintln!(
        "prediction {label}: {} of {} agreed ({percent:.1} %), synced on {}, resynced {} times, per server {}, first mismatches {}",
        v["agreed"], v["compared"], v["synced_on"], v["resyncs"], v["per_server"], v["mismatches"]
    );
    percent
}

#[test]
fn predictions_agree_with_the_kernel_for_rr_wrr_sh_dh_and_persistence() {
    common::require_vm();
    let _ = lvslab().args(["down", LAB]).output();
    let _guard = LabGuard;
    lvslab_ok(&["up", LAB]);

    let mut figures = vec![
        ("sh (3:1)", predicted("sh (3:1)", &[])),
        ("wrr -p 300 (3:1)", predicted("wrr -p 300 (3:1)", &["--to", "192.0.2.1:8080"])),
    ];
    for scheduler in ["rr", "wrr", "dh"] {
        lvslab_ok(&["set", LAB, "--scheduler", scheduler]);
        figures.push((scheduler, predicted(scheduler, &[])));
    }
    for (label, percent) in &figures {
        eprintln!("  {label:<18} {percent:>6.1} %");
    }
    for (label, percent) in figures {
        assert!(
            percent >= 99.0,
            "{label}: only {percent:.1} % of connections went where predicted"
        );
    }
}
