//! Many clients on this machine's kernel (no IPVS needed): a preset's
//! `[client] addresses = 50` gives the client namespace 50 addresses, and
//! `lvslab traffic --clients 50` sends from every one of them, through the
//! director's forwarding, to a real server. Run with `--features
//! root-tests`; without root they fail, they never skip. The lab lives in a
//! private /run (common/sandbox.rs).

mod common;

use common::sandbox::{self, Sandbox};
use common::{output_text, require_root};
use serde_json::Value;

#[test]
fn fifty_client_addresses_each_reach_a_real_server() {
    require_root();
    let sandbox = Sandbox::new();
    let up = sandbox.lvslab(&["up", "clients", "--dataplane", "none"]);
    assert!(up.status.success(), "up: {}", output_text(&up));

    // The client namespace owns the 50 addresses, the first one primary.
    let addrs = sandbox.sh("ip -n lvs-clients-client -4 -o addr show dev eth0");
    let listed = String::from_utf8_lossy(&addrs.stdout);
    assert_eq!(listed.lines().count(), 50, "{listed}");
    assert!(listed.contains("192.0.2.100/24") && listed.contains("192.0.2.149/24"), "{listed}");

    let out = sandbox.lvslab(&[
        "traffic",
        "clients",
        "--clients",
        "50",
        "--requests",
        "100",
        "--to",
        "198.51.100.11:80",
        "--json",
    ]);
    assert!(out.status.success(), "traffic: {}", output_text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::schema::assert_matches(
        &report,
        &serde_json::from_str(include_str!("fixtures/traffic-report.schema.json")).unwrap(),
    );
    assert_eq!(report["ok"], 100, "{report:#}");
    let by_client = report["by_client"].as_object().unwrap();
    assert_eq!(by_client.len(), 50, "{report:#}");
    for i in 100..150 {
        let client = format!("192.0.2.{i}");
        assert_eq!(by_client[&client]["rs1"], 2, "two connections from {client}: {report:#}");
    }

    // The text says it too; more clients than addresses is refused.
    let out = sandbox.lvslab(&[
        "traffic",
        "clients",
        "--clients",
        "50",
        "--requests",
        "50",
        "--to",
        "198.51.100.12:80",
    ]);
    assert!(
        output_text(&out).contains("50 clients, each on one server: rs2 50"),
        "{}",
        output_text(&out)
    );
    let out =
        sandbox.lvslab(&["traffic", "clients", "--clients", "51", "--to", "198.51.100.12:80"]);
    assert!(!out.status.success());
    assert!(output_text(&out).contains("client owns 50 addresses"), "{}", output_text(&out));

    // Prediction needs a director that chooses.
    let out = sandbox.lvslab(&["traffic", "clients", "--predict", "--to", "198.51.100.12:80"]);
    assert!(!out.status.success());
    assert!(output_text(&out).contains("--predict needs IPVS"), "{}", output_text(&out));

    let down = sandbox.lvslab(&["down", "clients"]);
    assert!(down.status.success(), "down: {}", output_text(&down));
    sandbox::kill_servers("clients");
}
