//! `lvslab conns` on a kernel with IPVS (run inside the VM by
//! tests/vm/suite), with ipvsadm as the referee: while `lvslab traffic
//! --hold 5000` keeps connections open, the table lists them as
//! ESTABLISHED on the real servers `ipvsadm -Lnc` names, and the counts
//! equal `ipvsadm -Ln`'s ActiveConn and InActConn; with persistence on, the
//! template is shown as such and counted as ipvsadm's PersistConn. They
//! fail, never skip, outside the VM.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::lab::LabGuard;
use common::{lvslab, lvslab_ok};

const LAB: &str = "tutorial";
const HELD: u64 = 10;

fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("lvs-{LAB}-director"), "ipvsadm"])
        .args(args)
        .output()
        .expect("run ipvsadm");
    assert!(out.status.success(), "ipvsadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tutorial's real-server name for a destination address:port.
fn name(dest: &str) -> String {
    match dest.split(':').next().unwrap() {
        "198.51.100.11" => "rs1".into(),
        "198.51.100.12" => "rs2".into(),
        other => other.to_string(),
    }
}

/// From `ipvsadm -Ln` (or `-Ln --persistent-conn`), per real server, the
/// numbers after the weight: (ActiveConn, InActConn) or (PersistConn, ActiveConn, InActConn).
fn ipvsadm_counts(text: &str) -> BTreeMap<String, Vec<u64>> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("-> 198.51.100."))
        .map(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let numbers = fields[3..].iter().map(|f| f.parse().unwrap()).collect();
            (name(&format!("198.51.100.{}", fields[0])), numbers)
        })
        .collect()
}

/// From `ipvsadm -Lnc`: (state, client, destination name) of every entry.
fn ipvsadm_entries(text: &str) -> BTreeSet<(String, String, String)> {
    text.lines()
        .skip(2)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[2].to_string(), f[3].to_string(), name(f[5]))
        })
        .collect()
}

fn conns_json(args: &[&str]) -> Value {
    let out = lvslab_ok(&[&["conns", LAB, "--json"], args].concat());
    let doc: Value = serde_json::from_slice(&out.stdout).expect("conns --json is JSON");
    common::schema::assert_matches(&doc, &common::schema::load("assets/schemas/conns.schema.json"));
    doc
}

fn our_counts(doc: &Value) -> BTreeMap<String, Vec<u64>> {
    doc["by_server"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (s["name"].as_str().unwrap().to_string(), vec![n("active"), n("inactive")])
        })
        .collect()
}

fn our_entries(doc: &Value) -> BTreeSet<(String, String, String)> {
    doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("state"), s("client"), s("server"))
        })
        .collect()
}

#[test]
fn held_connections_are_listed_established_on_ipvsadms_servers_and_counted_alike() {
    common::require_vm();
    let _guard = LabGuard::fresh(LAB);
    lvslab_ok(&["up", LAB]);

    let start = Instant::now();
    let held = HELD.to_string();
    // Four waves of HELD connections, each held 5 s: time enough for ipvsadm
    // and lvslab to read the same moment more than once under TCG.
    let traffic = lvslab()
        .args(["traffic", LAB, "--hold", "5000", "--concurrency", &held])
        .args(["--requests", &(HELD * 4).to_string(), "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start traffic");

    let deadline = Instant::now() + Duration::from_secs(90);
    let mut agreed = None;
    let mut last = String::new();
    while agreed.is_none() && Instant::now() < deadline {
        let before = ipvsadm_counts(&ipvsadm(&["-Ln"]));
        let listed = ipvsadm_entries(&ipvsadm(&["-Lnc"]));
        let doc = conns_json(&[]);
        let after = ipvsadm_counts(&ipvsadm(&["-Ln"]));
        let active: u64 = before.values().map(|v| v[0]).sum();
        let ours = our_entries(&doc);
        if before == after && active == HELD && our_counts(&doc) == before && ours == listed {
            agreed = Some(doc);
        } else {
            last = format!(
                "ipvsadm -Ln {before:?} then {after:?}; ours {:?}\n-Lnc {listed:?}\nours {ours:?}",
                our_counts(&doc)
            );
        }
    }
    let doc = agreed.unwrap_or_else(|| panic!("lvslab conns never agreed with ipvsadm:\n{last}"));
    let established: Vec<&Value> = doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "ESTABLISHED")
        .collect();
    assert_eq!(established.len() as u64, HELD, "{doc:#}");
    assert!(
        established.iter().all(|c| c["active"] == true && c["virtual_service"] == "192.0.2.1:80")
    );
    eprintln!(
        "held connections agreed with ipvsadm after {:.1} s: {}",
        start.elapsed().as_secs_f64(),
        doc["by_server"]
    );

    // The text form names the servers and the states.
    let text = String::from_utf8_lossy(&lvslab_ok(&["conns", LAB]).stdout).into_owned();
    assert!(text.contains("ESTABLISHED") && text.contains("rs1 198.51.100.11:80"), "{text}");
    let only = conns_json(&["--server", "rs2"]);
    assert!(only["connections"].as_array().unwrap().iter().all(|c| c["server"] == "rs2"));

    let out = traffic.wait_with_output().unwrap();
    assert!(out.status.success(), "traffic failed");
}

#[test]
fn a_persistence_template_is_shown_as_such_and_counted_as_persistconn() {
    common::require_vm();
    // Cargo runs the tests of one binary in parallel: this one has a lab of its own.
    let dir = tempfile::tempdir().unwrap();
    let preset = common::generated_preset(dir.path(), "connsp", 2, "wrr");
    let _guard = LabGuard::fresh("connsp");
    lvslab_ok(&["up", preset.to_str().unwrap()]);
    let director = "lvs-connsp-director";
    let ipvsadm_p = |args: &[&str]| {
        let out = Command::new("ip")
            .args(["netns", "exec", director, "ipvsadm"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ipvsadm_p(&["-E", "-t", "203.0.113.1:80", "-s", "wrr", "-p", "300"]);
    // One connection at a time: IPVS looks a client's template up and creates it
    // without a lock between the two, so two first SYNs arriving together on two
    // CPUs can each create a template, to different servers (seen once in CI).
    let report =
        lvslab_ok(&["traffic", "connsp", "--requests", "5", "--concurrency", "1", "--json"]);
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["ok"], 5, "{report}");

    let out = lvslab_ok(&["conns", "connsp", "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::schema::assert_matches(&doc, &common::schema::load("assets/schemas/conns.schema.json"));
    assert_eq!(doc["templates"], 1, "one client, one template: {doc:#}");
    let template = doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["template"] == true)
        .expect("the template is listed");
    assert_eq!(template["client"], "203.0.113.2:0", "{template}");
    // Every connection went where the template points.
    let server = template["server"].as_str().unwrap();
    assert_eq!(report["by_server"][server], 5, "{report}");
    // ipvsadm's PersistConn agrees, server by server.
    let persist = ipvsadm_p(&["-Ln", "--persistent-conn"]);
    for s in doc["by_server"].as_array().unwrap() {
        let addr = if s["name"] == "rs1" { "198.18.0.10" } else { "198.18.0.11" };
        let row = persist.lines().find(|l| l.contains(addr)).expect("a row per server");
        // `-> ADDR:PORT Weight PersistConn ActiveConn InActConn` (no Forward column here).
        let persist_conn: u64 = row.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert_eq!(s["templates"].as_u64().unwrap(), persist_conn, "{persist}\n{doc:#}");
    }
    let text = String::from_utf8_lossy(&lvslab_ok(&["conns", "connsp"]).stdout).into_owned();
    assert!(text.contains("template") && text.contains("1 persistence template"), "{text}");
}
