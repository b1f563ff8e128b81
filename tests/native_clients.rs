//! Many clients on this machine's kernel (no IPVS needed): a preset's
//! `[client] addresses = 50` gives the client namespace 50 addresses, and
//! `lvslab traffic --clients 50` sends from every one of them, through the
//! director's forwarding, to a real server. Run with `--features
//! root-tests`; without root they fail, they never skip. The lab lives in a
//! private /run (common/sandbox.rs).

mod common;

use std::process::Output;

use common::sandbox::{self, Sandbox};
use serde_json::Value;

fn lvslab_in(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox.command(common::lvslab_exe()).args(args).output().expect("run lvslab")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn fifty_client_addresses_each_reach_a_real_server() {
    assert!(nix::unistd::geteuid().is_root(), "root tests need root: run them as root (CI does)");
    let sandbox = Sandbox::new();
    let up = lvslab_in(&sandbox, &["up", "clients", "--dataplane", "none"]);
    assert!(up.status.success(), "up: {}", text(&up));

    // The client namespace owns the 50 addresses, the first one primary.
    let addrs = sandbox.sh("ip -n lvs-clients-client -4 -o addr show dev eth0");
    let listed = String::from_utf8_lossy(&addrs.stdout);
    assert_eq!(listed.lines().count(), 50, "{listed}");
    assert!(listed.contains("192.0.2.100/24") && listed.contains("192.0.2.149/24"), "{listed}");

    let out = lvslab_in(
        &sandbox,
        &[
            "traffic",
            "clients",
            "--clients",
            "50",
            "--requests",
            "100",
            "--to",
            "198.51.100.11:80",
            "--json",
        ],
    );
    assert!(out.status.success(), "traffic: {}", text(&out));
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
    let out = lvslab_in(
        &sandbox,
        &["traffic", "clients", "--clients", "50", "--requests", "50", "--to", "198.51.100.12:80"],
    );
    assert!(text(&out).contains("50 clients, each on one server: rs2 50"), "{}", text(&out));
    let out =
        lvslab_in(&sandbox, &["traffic", "clients", "--clients", "51", "--to", "198.51.100.12:80"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("client owns 50 addresses"), "{}", text(&out));

    // Prediction needs a director that chooses.
    let out = lvslab_in(&sandbox, &["traffic", "clients", "--predict", "--to", "198.51.100.12:80"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--predict needs IPVS"), "{}", text(&out));

    let down = lvslab_in(&sandbox, &["down", "clients"]);
    assert!(down.status.success(), "down: {}", text(&down));
    sandbox::kill_servers("clients");
}
