//! `lvslab diagnose` on a kernel with IPVS (run inside the VM by
//! tests/vm/suite): `--host` in the VM's own namespace against a table
//! typed by hand with ipvsadm finds exactly the faults typed, and leaves
//! the table and the sysctls as they were; the fresh tutorial lab is
//! clean, and so is the fresh DR lab; a DR lab with conn_reuse_mode or
//! arp_ignore reset gives its finding. Fails,
//! never skips, outside the VM.

mod common;

use common::diagnose::{diagnose, ids};

use std::process::Command;

use common::lab::LabGuard;
use common::{lvslab_ok, ok};

fn run(program: &str, args: &[&str]) -> String {
    String::from_utf8(ok(Command::new(program).args(args)).stdout).unwrap()
}

/// Every `net.ipv4.vs.*` of the VM's own namespace, as `sysctl` prints them.
fn vs_sysctls() -> String {
    run("sysctl", &["net.ipv4.vs"])
}

const VIP: &str = "10.253.0.100:80";
const LINK: &str = "lvsdiag0";

/// Removes the service and the link the host test made, whatever happens.
struct HostTable;

impl Drop for HostTable {
    fn drop(&mut self) {
        let _ = Command::new("ipvsadm").args(["-D", "-t", VIP]).output();
        let _ = Command::new("ip").args(["link", "del", LINK]).output();
    }
}

#[test]
fn host_finds_exactly_the_faults_typed_with_ipvsadm_and_changes_nothing() {
    common::require_vm();
    assert_eq!(run("ipvsadm", &["-Sn"]), "", "the VM's own table starts empty");
    let _cleanup = HostTable;
    // A link for the servers' network, so the client's SYN has a route.
    ok(Command::new("ip").args(["link", "add", LINK, "type", "dummy"]));
    ok(Command::new("ip").args(["addr", "add", "10.253.0.1/24", "dev", LINK]));
    ok(Command::new("ip").args(["link", "set", LINK, "up"]));
    // A persistent service with one DR destination: a connection from this
    // host makes a template for it; then the destination is drained.
    ok(Command::new("ipvsadm").args(["-A", "-t", VIP, "-s", "rr", "-p", "300"]));
    ok(Command::new("ipvsadm").args(["-a", "-t", VIP, "-r", "10.253.0.2:80", "-g", "-w", "1"]));
    let _ = Command::new("curl").args(["-s", "-m", "1", &format!("http://{VIP}/")]).output();
    ok(Command::new("ipvsadm").args(["-e", "-t", VIP, "-r", "10.253.0.2:80", "-g", "-w", "0"]));
    // A live destination too, so the service still schedules.
    ok(Command::new("ipvsadm").args(["-a", "-t", VIP, "-r", "10.253.0.3:80", "-g", "-w", "1"]));
    let conns = run("ipvsadm", &["-Lnc"]);
    assert!(conns.contains("NONE"), "a persistence template: {conns}");

    let (table, sysctls) = (run("ipvsadm", &["-Ln"]), vs_sysctls());
    let (code, report) = diagnose(&["--host"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ipvs"]["state"], "read");
    // Exactly those: the drained destination's templates, DR with the
    // kernel's conn_reuse_mode=1, and the note that the real servers are
    // out of sight.
    assert_eq!(ids(&report), ["conn-reuse-mode", "quiescent-template", "real-servers-not-visible"]);
    let q = &report["findings"][1];
    assert_eq!(q["subject"], "service tcp 10.253.0.100:80, destination 10.253.0.2:80");
    assert_eq!(q["evidence"][0], "weight 0 with 1 persistence templates");
    assert_eq!(q["fix"][0], "sysctl -w net.ipv4.vs.expire_quiescent_template=1");
    assert!(report["findings"][0]["evidence"][0].as_str().unwrap().contains("conn_reuse_mode=1"));

    // A keepalived.conf whose checks remove servers adds expire_nodest_conn.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 10.253.0.100 80 {\n lb_kind DR\n real_server 10.253.0.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
    )
    .unwrap();
    let (code, report) = diagnose(&["--host", "--keepalived", conf.to_str().unwrap()]);
    assert_eq!(code, 1);
    let found = ids(&report);
    assert!(found.contains(&"nodest-conn".to_string()), "{found:?}");
    let timing = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "keepalived-removal-time");
    // keepalived's defaults: 60 + 5 + 1 x (1 + 5).
    assert!(timing.unwrap()["evidence"][0].as_str().unwrap().starts_with("up to 71 s"), "{report}");

    // Read only: the table and the IPVS sysctls are as they were.
    assert_eq!(run("ipvsadm", &["-Ln"]), table);
    assert_eq!(vs_sysctls(), sysctls);
}

#[test]
fn fresh_tutorial_and_dr_labs_are_clean_and_a_dr_lab_with_settings_reset_is_named() {
    common::require_vm();
    let _guard = LabGuard::fresh("tutorial");
    lvslab_ok(&["up", "tutorial"]);
    let (code, report) = diagnose(&["tutorial"]);
    assert_eq!((code, ids(&report)), (0, vec![]), "{report}");
    assert_eq!(report["ipvs"]["state"], "read");
    lvslab_ok(&["down", "tutorial"]);

    let _guard = LabGuard::fresh("dr");
    lvslab_ok(&["up", "dr"]);
    // lvslab sets conn_reuse_mode=3 on a DR/TUN director: clean; the
    // kernel's 1 is named.
    let (code, report) = diagnose(&["dr"]);
    assert_eq!((code, ids(&report)), (0, vec![]), "{report}");
    lvslab_ok(&["sysctl", "dr", "conn_reuse_mode=1"]);
    let (code, report) = diagnose(&["dr"]);
    assert_eq!((code, ids(&report)), (1, vec!["conn-reuse-mode".to_string()]), "{report}");
    lvslab_ok(&["sysctl", "dr", "conn_reuse_mode=3"]);
    ok(Command::new("ip").args([
        "netns",
        "exec",
        "lvs-dr-rs1",
        "sysctl",
        "-qw",
        "net.ipv4.conf.all.arp_ignore=0",
    ]));
    let (code, report) = diagnose(&["dr"]);
    assert_eq!(code, 1);
    assert_eq!(ids(&report), ["dr-arp-ignore"], "{report}");
    assert_eq!(report["findings"][0]["subject"], "rs1");
    assert_eq!(
        report["findings"][0]["evidence"][0],
        "arp_ignore on eth0 is 0 (all=0, eth0=0), needs 1"
    );
}
