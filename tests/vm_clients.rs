//! Many clients on a kernel with IPVS (run inside the VM by tests/vm/suite):
//! the `clients` tour preset (labs/tour-clients.toml) keeps what its
//! comments promise. 50 client addresses send 500 connections; under sh
//! and under wrr with persistence, every client's connections land on one
//! real server, and the clients spread over the servers by weight (3 : 1).
//! ipvsadm referees the per-server counts; the persistence templates are
//! counted in `lvslab conns`. They fail, never skip, outside the VM.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::lab::LabGuard;
use common::lvslab_ok;

const LAB: &str = "clients";

fn traffic(args: &[&str]) -> Value {
    let out = lvslab_ok(
        &[&["traffic", LAB, "--json", "--clients", "50", "--requests", "500"], args].concat(),
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::schema::assert_matches(
        &report,
        &serde_json::from_str(include_str!("fixtures/traffic-report.schema.json")).unwrap(),
    );
    assert_eq!(report["ok"], 500, "every request answered: {report}");
    report
}

/// Clients per real server, asserting that each of the 50 stayed on one
/// server for all of its 10 connections.
fn clients_per_server(report: &Value) -> BTreeMap<String, u64> {
    let by_client = report["by_client"].as_object().unwrap();
    assert_eq!(by_client.len(), 50, "50 clients: {report:#}");
    let mut per_server = BTreeMap::new();
    for (client, servers) in by_client {
        let servers = servers.as_object().unwrap();
        assert_eq!(servers.len(), 1, "client {client} reached {servers:?}: it must stay on one");
        let (server, n) = servers.iter().next().unwrap();
        assert_eq!(n, 10, "client {client}: all its 10 connections answered by {server}");
        *per_server.entry(server.clone()).or_insert(0) += 1;
    }
    per_server
}

/// `ipvsadm -Ln --stats` Conns per real server of the service on `port`,
/// once the estimator has counted `total`.
fn ipvsadm_conns(port: u16, total: u64) -> BTreeMap<String, u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut settling = false;
    loop {
        let out = Command::new("ip")
            .args(["netns", "exec", "lvs-clients-director", "ipvsadm", "-Ln", "--stats"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut counts = BTreeMap::new();
        let mut in_service = false;
        for line in text.lines() {
            if line.starts_with("TCP") {
                in_service = line.contains(&format!("192.0.2.1:{port} "));
            } else if in_service && let Some(row) = line.trim().strip_prefix("-> 198.51.100.1") {
                let fields: Vec<&str> = row.split_whitespace().collect();
                let n = fields[0].split(':').next().unwrap();
                counts.insert(format!("rs{n}"), fields[1].parse::<u64>().unwrap());
            }
        }
        let sum = counts.values().sum::<u64>();
        // The estimator folds counts in about every 2 s; a reused connection
        // (see assert_counted_alike) never adds its own.
        if sum >= total || Instant::now() > deadline {
            return counts;
        }
        if sum + 2 >= total && !settling {
            settling = true;
            std::thread::sleep(Duration::from_millis(2500));
            continue;
        } else if settling {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// ipvsadm's Conns per server against the connections the client made.
/// They agree but for a rare reuse: when the server closes first, the
/// client may open a new connection on the same address and port at once,
/// and the director still holds the old one in TIME_WAIT, so IPVS takes it
/// up without a new scheduling decision (seen once in 500: 129 for 130).
/// The server is the same either way, so each may lag by at most 2.
fn assert_counted_alike(ipvsadm: &BTreeMap<String, u64>, ours: &BTreeMap<String, u64>) {
    assert_eq!(ipvsadm.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
    for (server, &made) in ours {
        let counted = ipvsadm[server];
        assert!(
            counted <= made && made - counted <= 2,
            "ipvsadm counted {counted} connections to {server}, the client made {made}: {ipvsadm:?} vs {ours:?}"
        );
    }
}

#[test]
fn sh_and_persistence_keep_each_of_50_clients_on_one_server_spread_by_weight() {
    common::require_vm();
    let _guard = LabGuard::fresh(LAB);
    lvslab_ok(&["up", LAB]);

    // sh: the hash decides; 3 : 1 weights fill 3/4 of its 256 buckets with
    // rs1, so about 37 of 50 clients land there (the exact figure depends
    // on the addresses' hashes).
    let report = traffic(&[]);
    let sh = clients_per_server(&report);
    eprintln!("sh: clients per server {sh:?}, connections {}", report["by_server"]);
    let rs1 = sh.get("rs1").copied().unwrap_or(0);
    assert!((28..=46).contains(&rs1) && rs1 + sh.get("rs2").copied().unwrap_or(0) == 50, "{sh:?}");
    let by_server: BTreeMap<String, u64> =
        serde_json::from_value(report["by_server"].clone()).unwrap();
    assert_counted_alike(&ipvsadm_conns(80, 500), &by_server);

    // wrr with persistence: wrr picks each new client's server 3 : 1, then
    // the template keeps the client there. 37 / 13 for 50, not 38 / 12: the
    // kernel's wrr starts where adding rs1 (weight 3) then rs2 (weight 1) left
    // it, at current weight 1, so the first new client goes to rs2
    // (src/monitor/predict.rs models this).
    let report = traffic(&["--to", "192.0.2.1:8080"]);
    let persistent = clients_per_server(&report);
    eprintln!("wrr -p: clients per server {persistent:?}, connections {}", report["by_server"]);
    assert_eq!(persistent, BTreeMap::from([("rs1".into(), 37), ("rs2".into(), 13)]));
    let by_server: BTreeMap<String, u64> =
        serde_json::from_value(report["by_server"].clone()).unwrap();
    assert_eq!(by_server, BTreeMap::from([("rs1".into(), 370), ("rs2".into(), 130)]));
    assert_counted_alike(&ipvsadm_conns(8080, 500), &by_server);

    // The templates are in the connection table: one per client, on its server.
    let out = lvslab_ok(&["conns", LAB, "--json"]);
    let conns: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(conns["templates"], 50, "one template per client");
    let templates: BTreeMap<String, u64> = conns["by_server"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["templates"].as_u64().unwrap()))
        .collect();
    assert_eq!(templates, BTreeMap::from([("rs1".into(), 37), ("rs2".into(), 13)]));
}
