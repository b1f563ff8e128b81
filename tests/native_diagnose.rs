//! `lvslab diagnose` on this machine's kernel (no IPVS): a fresh lab is
//! clean, a fault made by hand with `ip netns exec` is named with its id,
//! the fix the finding prints repairs it, and `--host` reads without
//! loading ip_vs. Run with `--features root-tests`; without root they
//! fail, never skip. The IPVS checks run in the VM (tests/vm_diagnose.rs).

mod common;

use common::diagnose::{diagnose, ids};

use std::process::Command;

use common::lab::{LabGuard, renamed_preset};
use common::{lvslab, lvslab_ok, require_no_ipvs, require_root};
use serde_json::Value;

fn sh(line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let out = Command::new(words[0]).args(&words[1..]).output().unwrap();
    assert!(out.status.success(), "{line}: {}", common::output_text(&out));
}

/// Runs every fix the report's findings give (each a command line).
fn apply_fixes(report: &Value) {
    for f in report["findings"].as_array().unwrap() {
        for line in f["fix"].as_array().unwrap() {
            sh(line.as_str().unwrap());
        }
    }
}

fn up(preset: &str, name: &str, dataplane: &str) -> (LabGuard, tempfile::TempDir) {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let file = renamed_preset(dir.path(), preset, name);
    let guard = LabGuard::new(name);
    lvslab_ok(&["up", file.to_str().unwrap(), "--dataplane", dataplane]);
    (guard, dir)
}

#[test]
fn a_nat_lab_on_nftables_with_forwarding_off_and_a_wrong_gateway_is_named_and_fixed() {
    let lab = "diagnat";
    let (_guard, _dir) = up("tutorial", lab, "nft");
    let (code, report) = diagnose(&[lab]);
    assert_eq!((code, ids(&report)), (0, vec![]), "a fresh preset is clean: {report}");
    assert_eq!(report["ipvs"]["state"], "not-used");

    sh(&format!("ip netns exec lvs-{lab}-director sysctl -qw net.ipv4.ip_forward=0"));
    sh(&format!("ip -n lvs-{lab}-rs2 route replace default via 198.51.100.254"));
    let (code, report) = diagnose(&[lab]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(ids(&report), ["nat-forwarding-off", "nat-gateway-not-dip"]);
    let gw = &report["findings"][1];
    assert_eq!(gw["subject"], "rs2");
    assert_eq!(gw["evidence"][0], "default gateway 198.51.100.254, DIP 198.51.100.1");
    assert_eq!(
        report["findings"][0]["evidence"][0],
        "net.ipv4.ip_forward=0 with 2 NAT destinations"
    );

    // The text names the same, and the fixes it prints repair the lab.
    let text =
        String::from_utf8(lvslab().args(["diagnose", lab]).output().unwrap().stdout).unwrap();
    assert!(text.contains("error [nat-gateway-not-dip] rs2"), "{text}");
    assert!(
        text.contains(&format!(
            "fix:   ip netns exec lvs-{lab}-rs2 ip route replace default via 198.51.100.1"
        )),
        "{text}"
    );
    apply_fixes(&report);
    let (code, report) = diagnose(&[lab]);
    assert_eq!((code, ids(&report)), (0, vec![]), "{report}");
    lvslab_ok(&["traffic", lab, "--requests", "20"]);
}

#[test]
fn a_dr_lab_whose_real_servers_lost_the_vip_or_the_arp_settings_is_named_and_fixed() {
    let lab = "diagdr";
    let (_guard, _dir) = up("dr", lab, "none");
    let (code, report) = diagnose(&[lab]);
    assert_eq!((code, ids(&report)), (0, vec![]), "a fresh preset is clean: {report}");

    sh(&format!("ip netns exec lvs-{lab}-rs1 sysctl -qw net.ipv4.conf.all.arp_ignore=0"));
    sh(&format!("ip -n lvs-{lab}-rs2 addr del 198.51.100.100/32 dev lo"));
    let (code, report) = diagnose(&[lab]);
    assert_eq!(code, 1);
    assert_eq!(ids(&report), ["dr-vip-missing", "dr-arp-ignore"]);
    assert_eq!(report["findings"][0]["subject"], "rs2");
    assert_eq!(report["findings"][1]["subject"], "rs1");
    assert_eq!(
        report["findings"][1]["evidence"][0],
        "arp_ignore on eth0 is 0 (all=0, eth0=0), needs 1"
    );
    assert_eq!(report["findings"][1]["see"], "lvslab tutorial --method dr");
    apply_fixes(&report);
    let (code, report) = diagnose(&[lab]);
    assert_eq!((code, ids(&report)), (0, vec![]), "{report}");
}

#[test]
fn the_host_is_read_without_loading_ip_vs_and_a_keepalived_file_is_checked() {
    require_root();
    require_no_ipvs();
    let (code, report) = diagnose(&["--host"]);
    assert_eq!(code, 0, "notes only: {report}");
    assert_eq!(ids(&report), ["ipvs-not-loaded", "real-servers-not-visible"]);
    assert_eq!(report["ipvs"]["state"], "not-loaded");
    assert!(!std::path::Path::new("/sys/module/ip_vs").exists(), "diagnose loaded nothing");

    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n nopreempt\n}\n\
         virtual_server 192.0.2.1 80 {\n delay_loop 10\n real_server 10.0.0.1 80 {\n  TCP_CHECK {\n   connect_timeout 2\n  }\n }\n}\n",
    )
    .unwrap();
    let (code, report) = diagnose(&["--host", "--keepalived", conf.to_str().unwrap()]);
    assert_eq!(code, 1, "{report}");
    let found = ids(&report);
    assert_eq!(found[0], "vrrp-nopreempt-master", "{found:?}");
    let timing = &report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "keepalived-removal-time")
        .unwrap()["evidence"][0];
    // 10 + 2 + 1 x (1 + 2): TCP_CHECK's default retry 1 and delay_before_retry 1 s.
    assert!(timing.as_str().unwrap().starts_with("up to 15 s"), "{timing}");

    // A broken file: diagnose cannot run (2), and says where.
    std::fs::write(&conf, "vrrp_instance VI_1 {\n state MASTER\n").unwrap();
    let out = lvslab()
        .args(["diagnose", "--host", "--keepalived", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keepalived.conf:1") && err.contains("never closed"), "{err}");
}
