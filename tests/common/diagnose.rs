//! `lvslab diagnose` as the diagnose tests call it, natively and in the VM.

use serde_json::Value;

/// `lvslab diagnose ARGS --json`: its exit status and report (timed, printed).
pub fn diagnose(args: &[&str]) -> (i32, Value) {
    let started = std::time::Instant::now();
    let out = super::lvslab().arg("diagnose").args(args).arg("--json").output().unwrap();
    eprintln!("[{:5.1} s] diagnose {args:?}", started.elapsed().as_secs_f64());
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", super::output_text(&out)));
    assert_eq!(report["schema_version"], 1);
    (out.status.code().unwrap(), report)
}

/// The ids of a report's findings, in order.
pub fn ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().into())
        .collect()
}
