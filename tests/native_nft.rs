//! `--dataplane nft` on this machine's kernel (nftables, no IPVS): real
//! balancing through the director's nftables table, checked the way a user
//! would — `lvslab traffic --json` splits, `status --json` counters, the
//! rules in `nft list table`, live edits, and nothing left after `down`.
//! Run with `--features root-tests`; without root they fail, never skip. The
//! machine without IPVS is part of what they check (doctor's advice, the
//! refusal of `up`, compare's empty IPVS column): on a kernel with IPVS those
//! fail too, and that side is checked in the VM by tests/vm_nft.rs.
//!
//! Each test uses its own lab name (its own namespaces), so they run in
//! parallel with each other and with the other native tests.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::lab::{LabGuard, compare_tutorial, lab_namespaces, renamed_preset, status_json};
use common::{lvslab, lvslab_ok, require_no_ipvs, require_root};
use serde_json::Value;

/// Brings preset `preset` up as lab `name` on nftables.
fn up_nft(preset: &str, name: &str) -> (LabGuard, tempfile::TempDir) {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), preset, name);
    let guard = LabGuard::new(name);
    lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "nft"]);
    (guard, dir)
}

fn traffic(lab: &str, requests: u32) -> Value {
    let n = requests.to_string();
    let out = lvslab_ok(&["traffic", lab, "--requests", &n, "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("traffic --json is JSON");
    assert_eq!(report["ok"], requests, "every request answered: {report}");
    report
}

fn split(report: &Value, servers: &[&str]) -> Vec<u64> {
    servers.iter().map(|s| report["by_server"][s].as_u64().unwrap_or(0)).collect()
}

/// `nft ARGS` inside namespace `ns` (or on the host with `None`).
fn nft(ns: Option<&str>, args: &[&str]) -> String {
    let out = match ns {
        Some(ns) => Command::new("ip").args(["netns", "exec", ns, "nft"]).args(args).output(),
        None => Command::new("nft").args(args).output(),
    }
    .expect("run nft");
    assert!(out.status.success(), "nft {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The README's first command with no flags on this kernel (no IPVS, nft
/// installed): nftables is chosen, the line says why, the tutorial's wrr 3:2
/// splits exactly, and `down` leaves nothing. (IPVS chosen where the kernel
/// has it: tests/vm_lab.rs, unchanged.)
#[test]
fn up_without_a_dataplane_chooses_nftables_here_says_why_and_splits_600_400() {
    require_root();
    require_no_ipvs();
    let lab = "nftauto";
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", lab);
    let guard = LabGuard::new(lab);
    let up = lvslab_ok(&["up", preset.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&up.stderr);
    let line: Vec<&str> = err.lines().filter(|l| l.starts_with("dataplane ")).collect();
    assert_eq!(line.len(), 1, "one line says which and why: {err}");
    for needle in ["dataplane nft", "no IPVS", "nft is installed", "--dataplane ipvs"] {
        assert!(line[0].contains(needle), "{needle:?} in {line:?}");
    }
    assert!(String::from_utf8_lossy(&up.stdout).contains("dataplane nft"), "the summary says nft");
    assert_eq!(status_json(lab)["dataplane"], "nft");
    // The director's bridge ports are shown as its ports, not as addresses.
    let status = String::from_utf8_lossy(&lvslab_ok(&["status", lab]).stdout).into_owned();
    let director = status.lines().find(|l| l.trim_start().starts_with("director")).unwrap();
    assert!(director.contains("198.51.100.1/24 (ports rs1 rs2)"), "{director}");
    assert!(!director.contains("rs1 ,"), "{director}");
    let report = traffic(lab, 1000);
    assert_eq!(split(&report, &["rs1", "rs2"]), [600, 400], "{report}");
    lvslab_ok(&["down", lab]);
    assert!(lab_namespaces(lab).is_empty(), "down leaves no namespace");
    assert!(!Path::new(&format!("/run/lvslab/labs/{lab}")).exists(), "down leaves no record");
    drop(guard);
}

#[test]
fn the_tutorials_wrr_3_2_on_nftables_splits_1000_connections_600_400_and_down_leaves_nothing() {
    let lab = "nftwrr";
    let host_rules = nft(None, &["list", "ruleset"]);
    {
        let (_guard, _dir) = up_nft("tutorial", lab);
        let rules = nft(Some(&format!("lvs-{lab}-director")), &["list", "table", "ip", "lvslab"]);
        assert!(rules.contains("numgen inc mod 5 vmap @s0-pick"), "{rules}");
        assert!(rules.contains("0-2 : goto s0-rs1-80, 3-4 : goto s0-rs2-80"), "{rules}");

        let report = traffic(lab, 1000);
        assert_eq!(split(&report, &["rs1", "rs2"]), [600, 400], "{report}");

        // The same split in the director's own counters, as status shows them.
        let status = status_json(lab);
        assert_eq!(status["dataplane"], "nft");
        let rs = &status["services"][0]["real_servers"];
        assert_eq!((rs[0]["conns"].as_u64(), rs[1]["conns"].as_u64()), (Some(600), Some(400)));
        assert!(rs[0]["in_pkts"].as_u64() > Some(600 * 3), "packets counted: {rs}");
        assert!(rs[0]["out_bytes"].as_u64() > Some(0), "{rs}");
        // Each connection ended in TIME_WAIT, which conntrack still lists.
        assert_eq!(rs[0]["inactive_conns"].as_u64(), Some(600), "{rs}");
        assert_eq!(host_rules, nft(None, &["list", "ruleset"]), "the host's ruleset is untouched");
        lvslab_ok(&["down", lab]);
    }
    assert_eq!(lab_namespaces(lab), Vec::<String>::new(), "no namespace is left");
    assert!(!Path::new(&format!("/run/lvslab/labs/{lab}")).exists(), "no record is left");
    assert_eq!(host_rules, nft(None, &["list", "ruleset"]), "no ruleset is left on the host");
}

/// rr4 with `dataplane = "nft"` in the preset itself: no flag needed.
#[test]
fn rr_over_four_servers_on_nftables_gives_each_250_of_1000() {
    require_root();
    let lab = "nftrr4";
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "rr4", lab);
    let text = std::fs::read_to_string(&preset).unwrap();
    let from = format!("name = \"{lab}\"\n");
    std::fs::write(&preset, text.replacen(&from, &format!("{from}dataplane = \"nft\"\n"), 1))
        .unwrap();
    let _guard = LabGuard::new(lab);
    let up = lvslab_ok(&["up", preset.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&up.stdout).contains("dataplane nft"), "the preset's choice");
    let report = traffic(lab, 1000);
    assert_eq!(split(&report, &["rs1", "rs2", "rs3", "rs4"]), [250, 250, 250, 250], "{report}");
}

#[test]
fn live_edits_on_nftables_change_the_split_atomically_and_refuse_what_nftables_cannot_do() {
    let lab = "nftedit";
    let (_guard, _dir) = up_nft("tutorial", lab);

    lvslab_ok(&["set", lab, "--weight", "rs2=3"]);
    assert_eq!(split(&traffic(lab, 600), &["rs1", "rs2"]), [300, 300]);

    lvslab_ok(&["set", lab, "--drain", "rs1"]);
    assert_eq!(split(&traffic(lab, 100), &["rs1", "rs2"]), [0, 100]);

    let refused = lvslab().args(["set", lab, "--scheduler", "wlc"]).output().unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "wlc must be refused on nftables");
    assert!(err.contains("scheduler wlc cannot run on nftables"), "{err}");
    assert!(err.contains("closest nftables equivalent is wrr"), "{err}");
    assert_eq!(status_json(lab)["services"][0]["scheduler"], "wrr", "nothing changed");

    // The DIP's MAC (the director's bridge) stays put while servers come
    // and go: a bridge left to itself takes its lowest port's MAC, and the
    // other servers' replies then went to the old one for ~5 s (4 of 100
    // requests timed out once here).
    let dip_mac = || {
        let ns = format!("lvs-{lab}-director");
        let out = Command::new("ip").args(["-n", &ns, "-br", "link", "show", "br0"]).output();
        String::from_utf8_lossy(&out.unwrap().stdout).split_whitespace().nth(2).map(str::to_string)
    };
    let mac = dip_mac();
    assert!(mac.as_deref().is_some_and(|m| m.starts_with("02:")), "br0's own MAC: {mac:?}");
    lvslab_ok(&["set", lab, "--weight", "rs1=1", "--weight", "rs2=1"]);
    lvslab_ok(&["set", lab, "--add-rs", "rs3=198.51.100.13:80,2"]);
    assert_eq!(dip_mac(), mac, "adding rs3 moved the DIP's MAC");
    assert_eq!(split(&traffic(lab, 400), &["rs1", "rs2", "rs3"]), [100, 100, 200]);

    lvslab_ok(&["set", lab, "--del-rs", "rs2", "--scheduler", "rr"]);
    assert_eq!(dip_mac(), mac, "removing rs2 moved the DIP's MAC");
    assert_eq!(split(&traffic(lab, 100), &["rs1", "rs3"]), [50, 50], "rr ignores weights");
    let rules = nft(Some(&format!("lvs-{lab}-director")), &["list", "table", "ip", "lvslab"]);
    assert!(!rules.contains("rs2"), "the removed server's chain and counters are gone: {rules}");

    lvslab_ok(&["set", lab, "--zero"]);
    let status = status_json(lab);
    let conns: Vec<_> = status["services"][0]["real_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["conns"].as_u64().unwrap())
        .collect();
    assert_eq!(conns, [0, 0], "zeroed");
}

/// The Conns column of real server `rs` in the dashboard's table pane.
fn dashboard_conns(screen: &str, rs: &str, rip: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains(&format!("{rs}    {rip}:80")))?;
    // Server RIP:Port Fwd Wt Active InAct Conns ...
    let after = &line[line.find(rip)?..];
    after.split_whitespace().nth(5)?.parse().ok()
}

#[test]
fn the_dashboard_shows_live_per_server_counts_from_nftables() {
    let lab = "nftdash";
    let (_guard, _dir) = up_nft("tutorial", lab);
    let exe = env!("CARGO_BIN_EXE_lvslab");
    let tui = common::tmux::Tmux::start("nftdash", 160, 48, &format!("{exe} tui {lab}"));
    let screen = tui.wait_for("the dashboard", Duration::from_secs(20), |s| s.contains("rs2"));
    assert!(screen.contains("nftables (DNAT maps"), "the pane names the dataplane:\n{screen}");
    tui.keys(&["Space"]);
    let screen = tui.wait_for("60 connections counted", Duration::from_secs(30), |s| {
        let total = dashboard_conns(s, "rs1", "198.51.100.11")
            .zip(dashboard_conns(s, "rs2", "198.51.100.12"))
            .map(|(a, b)| a + b);
        total.is_some_and(|t| t >= 60)
    });
    let rs1 = dashboard_conns(&screen, "rs1", "198.51.100.11").unwrap();
    let rs2 = dashboard_conns(&screen, "rs2", "198.51.100.12").unwrap();
    // numgen inc hands out 3 then 2; a read may land mid-round.
    assert!(
        rs1 * 2 >= (rs2 * 3).saturating_sub(6) && rs1 * 2 <= rs2 * 3 + 6,
        "3:2 live: {rs1}:{rs2}\n{screen}"
    );
    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", Duration::from_secs(20), |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0"), "{screen}");
}

/// Natively only nftables runs: its column has the exact split and the
/// programming times, the IPVS column says why it is empty, and both copies
/// of the lab are gone afterwards. (Both columns splitting alike, where the
/// kernel has IPVS: tests/vm_nft.rs.)
#[test]
fn compare_runs_nftables_here_and_says_why_ipvs_did_not() {
    require_root();
    require_no_ipvs();
    let (ipvs, nft) = compare_tutorial("nftcmp");
    let why = ipvs["skipped"].as_str();
    assert!(why.is_some_and(|w| w.contains("IPVS is not available")), "IPVS ran here: {ipvs}");
    assert!(nft["skipped"].is_null(), "{nft}");
    assert_eq!(
        (nft["by_server"]["rs1"].as_u64(), nft["by_server"]["rs2"].as_u64()),
        (Some(600), Some(400))
    );
    for n in ["1", "64", "1024"] {
        assert!(nft["program_ms"][n].as_f64().is_some_and(|ms| ms > 0.0), "{n}: {nft}");
    }
    assert!(lab_namespaces("nftcmp-nft").is_empty() && lab_namespaces("nftcmp-ipvs").is_empty());
}

/// On this kernel (nftables, no IPVS) doctor says nftables works and points
/// the missing IPVS to `--dataplane nft`; so does `up --dataplane ipvs`.
/// (doctor where the kernel has IPVS: tests/vm_nft.rs.)
#[test]
fn doctor_and_the_no_ipvs_error_point_to_the_nft_dataplane() {
    require_root();
    require_no_ipvs();
    let out = lvslab_ok(&["doctor", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("doctor --json is JSON");
    assert_eq!(report["nftables"]["ok"], true, "{report}");
    let detail = report["nftables"]["detail"].as_str().unwrap();
    assert!(detail.contains("--dataplane nft") && detail.contains("rr, wrr, sh, dh"), "{detail}");
    assert_eq!(report["ipvs"]["ok"], false, "doctor found IPVS here: {report}");
    let ipvs = report["ipvs"]["detail"].as_str().unwrap();
    assert!(ipvs.contains("--dataplane nft"), "{ipvs}");
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", "nftnoipvs");
    let _guard = LabGuard::new("nftnoipvs");
    let up =
        lvslab().args(["up", preset.to_str().unwrap(), "--dataplane", "ipvs"]).output().unwrap();
    let err = String::from_utf8_lossy(&up.stderr);
    assert!(!up.status.success(), "IPVS was asked for and is absent");
    assert!(err.contains("--dataplane nft") && err.contains("Nothing was changed"), "{err}");
    assert!(lab_namespaces("nftnoipvs").is_empty());
}

/// `conns` on nftables lists the director's conntrack entries for the VIP,
/// in the columns and with the filter it has on IPVS, while held
/// connections are open: each is ESTABLISHED (active) on the server that
/// answers it, and the counts per server agree with `--server`.
#[test]
fn conns_lists_conntracks_entries_for_the_vip_during_held_connections() {
    const HELD: u64 = 4;
    let lab = "nftconns";
    let (_guard, _dir) = up_nft("tutorial", lab);
    let mut traffic = lvslab()
        .args(["traffic", lab, "--hold", "4000", "--concurrency", &HELD.to_string()])
        .args(["--requests", &HELD.to_string(), "--json"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start traffic");
    let conns = |args: &[&str]| -> Value {
        let mut all = vec!["conns", lab, "--json"];
        all.extend_from_slice(args);
        serde_json::from_slice(&lvslab_ok(&all).stdout).expect("conns --json is JSON")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let doc = loop {
        let doc = conns(&[]);
        if doc["by_state"]["ESTABLISHED"].as_u64() == Some(HELD) {
            break doc;
        }
        assert!(std::time::Instant::now() < deadline, "the held connections never showed: {doc}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let listed = doc["connections"].as_array().unwrap();
    let held: Vec<&Value> = listed.iter().filter(|c| c["state"] == "ESTABLISHED").collect();
    assert_eq!(held.len() as u64, HELD, "{doc}");
    for c in &held {
        assert_eq!(c["proto"], "TCP", "{c}");
        assert_eq!(c["virtual_service"], "192.0.2.1:80", "{c}");
        assert!(c["client"].as_str().unwrap().starts_with("192.0.2.2:"), "{c}");
        let (server, addr) = (c["server"].as_str().unwrap(), c["server_addr"].as_str().unwrap());
        assert!(
            (server, addr) == ("rs1", "198.51.100.11:80")
                || (server, addr) == ("rs2", "198.51.100.12:80"),
            "{c}"
        );
        assert_eq!(c["active"], true, "{c}");
        assert_eq!(c["template"], false, "{c}");
    }
    let active: Vec<u64> = doc["by_server"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["active"].as_u64().unwrap())
        .collect();
    assert_eq!(active.iter().sum::<u64>(), HELD, "{doc}");
    // --server narrows to one server's entries, with the same count.
    let rs1 = conns(&["--server", "rs1"]);
    let rs1_held =
        rs1["connections"].as_array().unwrap().iter().filter(|c| c["active"] == true).count();
    assert_eq!(rs1_held as u64, active[0], "{rs1}");
    assert!(rs1["connections"].as_array().unwrap().iter().all(|c| c["server"] == "rs1"), "{rs1}");
    // The text form has the IPVS form's columns.
    let text = String::from_utf8_lossy(&lvslab_ok(&["conns", lab]).stdout).into_owned();
    assert!(text.contains("REAL SERVER") && text.contains("ESTABLISHED"), "{text}");
    assert!(traffic.wait().unwrap().success(), "every held request answered");
    lvslab_ok(&["down", lab]);
}

/// 100 new connections from the client to `vip`, counted by the server
/// that answered (each server's page starts with its name).
fn hundred_answers(client: &str, vip: &str) -> std::collections::BTreeMap<String, u32> {
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..100 {
        let out = Command::new("ip")
            .args(["netns", "exec", client, "curl", "-sf", "--max-time", "5"])
            .args(["-H", "Connection: close", &format!("http://{vip}/")])
            .output()
            .expect("run curl");
        assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        let name = body.split_whitespace().next().unwrap_or_default().to_string();
        *counts.entry(name).or_default() += 1;
    }
    counts
}

/// `export --format shell` of a running nftables lab writes what runs (its
/// ruleset, no ipvsadm): run after `down`, the script rebuilds the lab on
/// this kernel without IPVS, the director's table is the one lvslab
/// programmed, and traffic splits as before; its `down` leaves nothing.
#[test]
fn the_shell_export_of_a_running_nftables_lab_rebuilds_it() {
    let lab = "nftsh";
    let (director, client) = (format!("lvs-{lab}-director"), format!("lvs-{lab}-client"));
    let (_guard, dir) = up_nft("tutorial", lab);
    let table = nft(Some(&director), &["list", "table", "ip", "lvslab"]);
    let expected: std::collections::BTreeMap<String, u32> =
        [("rs1".to_string(), 60), ("rs2".to_string(), 40)].into();
    assert_eq!(hundred_answers(&client, "192.0.2.1"), expected, "wrr 3:2 under lvslab");
    let script = dir.path().join("nftsh.sh");
    lvslab_ok(&["export", lab, "--format", "shell", "-o", script.to_str().unwrap()]);
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("nft -f") && !text.contains("ipvsadm"), "{text}");
    lvslab_ok(&["down", lab]);
    assert!(lab_namespaces(lab).is_empty());

    let built = Command::new("bash").arg(&script).output().unwrap();
    let said = String::from_utf8_lossy(&built.stdout).into_owned();
    assert!(built.status.success(), "{said}{}", String::from_utf8_lossy(&built.stderr));
    assert!(said.contains(&format!("lab '{lab}' is up")), "{said}");
    // The same table, its counters zero again as in a fresh lab.
    let rebuilt = nft(Some(&director), &["list", "table", "ip", "lvslab"]);
    let zeroed = |t: &str| {
        t.lines()
            .map(|l| match l.find("packets ") {
                Some(i) => l[..i].to_string(),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(zeroed(&rebuilt), zeroed(&table), "the script's table is lvslab's");
    assert_eq!(hundred_answers(&client, "192.0.2.1"), expected, "the same split by hand");

    let down = Command::new("bash").arg(&script).arg("down").output().unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert!(lab_namespaces(lab).is_empty(), "the script's down leaves no namespace");
}
