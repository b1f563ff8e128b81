//! The `--json` report keeps its contract: real output is checked against
//! the committed JSON Schema (`tests/fixtures/traffic-report.schema.json`),
//! and the human table shows shares against weights. No root needed.

mod common;
mod traffic_support;

use std::collections::BTreeMap;
use std::time::Duration;

use lvslab_traffic::results::render_table;
use lvslab_traffic::{Generator, Load, Profile, Report, RequestKind};
use serde_json::Value;
use traffic_support::start;

const SCHEMA: &str = include_str!("fixtures/traffic-report.schema.json");

fn check(report: &Report) -> Value {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let value = serde_json::to_value(report).expect("a report serializes");
    common::schema::assert_matches(&value, &schema);
    // Kept for a look (or another validator) under target/tmp.
    let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("traffic-report-{}.json", report.errors.total()));
    let _ = std::fs::write(keep, format!("{value:#}\n"));
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_match_the_committed_schema() {
    let server = start("a").await;
    let ok = Generator::start(server.addr, Profile { requests: Some(50), ..Profile::default() });
    let ok = ok.unwrap().finish().await.unwrap();
    let value = check(&ok);
    assert_eq!(value["by_server"]["a"], 50);
    assert_eq!(value["errors"]["refused"], 0);
    assert_eq!(value["failure_window"], Value::Null);
    assert_eq!(timeline_sums(&value), (50, 0, 50));

    // A 404 is an `other` error attributed to the server that sent it.
    let p = Profile {
        requests: Some(5),
        request: RequestKind::Path("/nope".into()),
        ..Profile::default()
    };
    let not_found = Generator::start(server.addr, p).unwrap().finish().await.unwrap();
    let value = check(&not_found);
    assert_eq!(value["errors"]["other"], 5);
    assert_eq!(value["servers"]["a"]["errors"], 5);
    assert_eq!(value["error_events"][0]["server"], "a");
    let addr = server.addr;
    server.kill().await;

    // Refused connections: no server known.
    let p = Profile { load: Load::Concurrency(1), requests: Some(3), ..Profile::default() };
    let refused = Generator::start(addr, p).unwrap().finish().await.unwrap();
    let value = check(&refused);
    assert_eq!(value["errors"]["refused"], 3);
    assert_eq!(value["failure_window"]["count"], 3);
    assert_eq!(timeline_sums(&value), (0, 3, 0));
    assert_eq!(value["error_events"][2]["server"], Value::Null);
    assert_eq!(value["error_events"][2]["kind"], "refused");
    let back: Report = serde_json::from_value(value).expect("round trip");
    assert_eq!(back, refused);
}

/// The timeline's ok, failed, and answers of server `a`, summed over its buckets.
fn timeline_sums(report: &Value) -> (u64, u64, u64) {
    let buckets = report["timeline"].as_array().expect("a timeline");
    let sum = |f: &dyn Fn(&Value) -> u64| buckets.iter().map(f).sum::<u64>();
    (
        sum(&|b| b["ok"].as_u64().unwrap()),
        sum(&|b| b["failed"].as_u64().unwrap()),
        sum(&|b| b["servers"]["a"].as_u64().unwrap_or(0)),
    )
}

#[test]
fn the_checker_catches_mistakes() {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let mut bad = serde_json::json!({"version": 2, "requests": -1, "extra": true,
        "errors": {"refused": 0, "reset": 0, "timeout": 0}});
    bad["latency_ms"] = serde_json::json!({"p50": "1", "p90": 1, "p99": 1, "max": 1});
    let mut out = Vec::new();
    common::schema::violations(&schema, &schema, &bad, "$", &mut out);
    let all = out.join("\n");
    for expected in ["$.version", "$.requests", "$.extra", "missing 'other'", "$.latency_ms.p50"] {
        assert!(all.contains(expected), "{expected} not caught in:\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_shows_shares_against_weights() {
    let server = start("rs1").await;
    let p = Profile { requests: Some(30), timeout: Duration::from_secs(2), ..Profile::default() };
    let report = Generator::start(server.addr, p).unwrap().finish().await.unwrap();
    server.kill().await;
    let weights = BTreeMap::from([("rs1".to_string(), 3), ("rs2".to_string(), 2)]);
    let table = render_table(&report, Some(&weights));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("30 requests to 127.0.0.1:"), "{table}");
    assert!(
        lines[1]
            .split_whitespace()
            .eq(["server", "requests", "share", "expected", "errors", "p50", "ms", "p99", "ms"]),
        "{table}"
    );
    let rs1: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(rs1[..5], ["rs1", "30", "100.0%", "60.0%", "0"], "{table}");
    let rs2: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(rs2[..5], ["rs2", "0", "0.0%", "40.0%", "0"], "{table}");
    assert!(table.contains("errors: refused 0, reset 0, timeout 0, other 0"), "{table}");
    let plain = render_table(&report, None);
    assert!(plain.lines().nth(2).unwrap().split_whitespace().nth(3) == Some("-"), "{plain}");
    assert!(!table.contains("failures:"), "no failure line without failures: {table}");
    let mut failed = report.clone();
    failed.failure_window =
        Some(lvslab_traffic::results::FailureWindow { first_s: 2.1, last_s: 3.05, count: 14 });
    let table = render_table(&failed, None);
    assert!(
        table.ends_with("failures: 14 between 2.10 s and 3.05 s of the run (0.95 s)\n"),
        "{table}"
    );
}
