//! Smoke test for the VM harness (tests/vm/suite): IPVS works inside a fresh
//! network namespace and stays out of the VM's root namespace.
//!
//! Runs only inside the VM (`tests/vm/suite`); anywhere else it fails, never
//! skips, so a CI run without the VM cannot pass silently. It uses only the
//! `ip` and `ipvsadm` commands, so it tests the harness, not our IPVS code.

mod common;

use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A namespace deleted on drop, even when an assertion fails.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Self {
        let name = format!("lvs-vmsmoke-{tag}-{}", std::process::id());
        run("ip", &["netns", "add", &name]);
        Netns(name)
    }

    fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.0, program];
        full.extend_from_slice(args);
        String::from_utf8(run("ip", &full).stdout).expect("utf-8 output")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Service lines of `ipvsadm -Ln` (the three header lines dropped).
fn services(ipvsadm_ln: &str) -> Vec<&str> {
    ipvsadm_ln
        .lines()
        .filter(|l| l.starts_with("TCP") || l.starts_with("UDP") || l.starts_with("FWM"))
        .collect()
}

#[test]
fn service_added_in_a_namespace_stays_in_it() {
    common::require_vm();
    let ns = Netns::new("svc");
    ns.exec("ipvsadm", &["-A", "-t", "192.0.2.1:80", "-s", "rr"]);

    let inside = ns.exec("ipvsadm", &["-Ln"]);
    let lines = services(&inside);
    assert_eq!(lines.len(), 1, "expected one service in {}:\n{inside}", ns.0);
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(fields, ["TCP", "192.0.2.1:80", "rr"], "{inside}");

    let root = String::from_utf8(run("ipvsadm", &["-Ln"]).stdout).unwrap();
    assert!(
        services(&root).is_empty(),
        "the VM's root namespace must have no IPVS services:\n{root}"
    );
}

#[test]
fn namespace_has_veth_and_bridge() {
    common::require_vm();
    let ns = Netns::new("links");
    ns.exec("ip", &["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    ns.exec("ip", &["link", "add", "br0", "type", "bridge"]);
    ns.exec("ip", &["link", "set", "v1", "master", "br0"]);
    let links = ns.exec("ip", &["-br", "link"]);
    for name in ["v0@v1", "v1@v0", "br0"] {
        assert!(links.contains(name), "{name} missing from:\n{links}");
    }
}
