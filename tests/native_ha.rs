//! Director failover on this machine's kernel (root, no IPVS needed): an HA
//! lab without IPVS (`--dataplane none`) runs keepalived's VRRP only, which
//! is all a failover of the VIP needs. The VIP must move to director2 when
//! director1 fails (stopped, or cut off from the switch), back when it
//! recovers, a real server added live must be reached through either
//! director, and `down` must leave no namespace, no keepalived and no file. (The IPVS table and the
//! connection sync need the VM: tests/vm_ha.rs.)

mod common;

use common::tmux::Tmux;

use std::process::Command;
use std::time::{Duration, Instant};

use common::lab::{LabGuard, lab_namespaces, renamed_preset, status_json};
use common::{lvslab, lvslab_ok, require_root};

/// The lab's name: unique to this test, so parallel tests never meet it.
const LAB: &str = "hanative";

fn master() -> Option<String> {
    status_json(LAB)["ha"]["master"].as_str().map(str::to_string)
}

/// Waits for `want` to be MASTER; returns how long it took.
fn wait_master(want: &str, within: Duration) -> Duration {
    let started = Instant::now();
    while master().as_deref() != Some(want) {
        assert!(started.elapsed() < within, "{want} did not become MASTER within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// The client reaches the VIP (whichever director holds it answers ping),
/// and rs1 through the MASTER: the client's gateway is the VIP and rs1's
/// is the DIP, so the answer proves both moved to the same director.
fn client_reaches_vip() -> bool {
    client_reaches(&["192.0.2.1", "198.51.100.11"])
}

/// The client gets an answer to ping from each of `addrs`.
fn client_reaches(addrs: &[&str]) -> bool {
    addrs.iter().all(|addr| {
        Command::new("ip")
            .args(["netns", "exec", &format!("lvs-{LAB}-client"), "ping", "-c1", "-W1", addr])
            .output()
            .expect("run ping")
            .status
            .success()
    })
}

/// Lab `lab`'s keepalived processes (their command line names its folder).
fn keepalived_pids_of(lab: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-f", &format!("keepalived .*/run/lvslab/labs/{lab}/")])
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn keepalived_pids() -> Vec<String> {
    keepalived_pids_of(LAB)
}

#[test]
fn the_vip_moves_to_the_backup_and_back_and_down_leaves_nothing() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "ha", LAB);
    let _guard = LabGuard::new(LAB);
    lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
    assert_eq!(lab_namespaces(LAB).len(), 6, "client, switch, 2 directors, 2 real servers");
    assert_eq!(keepalived_pids().len(), 4, "a parent and its VRRP child in each director");
    assert_eq!(master().as_deref(), Some("director1"));
    let doc = status_json(LAB);
    assert_eq!(doc["ha"]["sync"], false, "no IPVS, so no connection sync: {doc}");
    assert!(client_reaches_vip());

    // A real server added to the running lab hangs off the switch like the
    // others: the client reaches it through whichever director is MASTER.
    let taken = lvslab().args(["set", LAB, "--add-rs", "rs9=198.51.100.2:80"]).output().unwrap();
    assert!(!taken.status.success(), "director1's own address was given to a real server");
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already used"));
    lvslab_ok(&["set", LAB, "--add-rs", "rs3=198.51.100.13:80"]);
    assert_eq!(lab_namespaces(LAB).len(), 7, "rs3's namespace: {:?}", lab_namespaces(LAB));
    assert!(client_reaches(&["198.51.100.13"]), "rs3 does not answer through director1");

    let out = lvslab_ok(&["set", LAB, "--fail", "director1"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("director2 is MASTER now"), "{said}");
    let took = wait_master("director2", Duration::from_secs(5));
    eprintln!("director2 held the VIP {took:?} after `set --fail` returned");
    assert!(client_reaches_vip(), "the VIP does not answer after the failover");
    assert!(client_reaches(&["198.51.100.13"]), "rs3 does not answer through director2");
    assert_eq!(keepalived_pids().len(), 2, "director1's keepalived still runs");
    // status reads each director's forwarding: the failed one's is off.
    let doc = status_json(LAB);
    let forwarding = |name: &str| {
        doc["hosts"].as_array().unwrap().iter().find(|h| h["name"] == name).unwrap()["ip_forward"]
            .clone()
    };
    assert_eq!((forwarding("director1"), forwarding("director2")), (false.into(), true.into()));
    let again = lvslab().args(["set", LAB, "--fail", "director1"]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--recover director1"));
    let wrong = lvslab().args(["set", LAB, "--fail", "rs1"]).output().unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("director1 or director2"));

    lvslab_ok(&["set", LAB, "--recover", "director1"]);
    wait_master("director1", Duration::from_secs(10));
    assert!(client_reaches_vip());
    assert_eq!(keepalived_pids().len(), 4);

    // Cables pulled: director1 runs on, cut off, and no last advert gets
    // out, so director2 waits out three missed adverts and its skew.
    let out = lvslab_ok(&["set", LAB, "--cut", "director1"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("director2 is MASTER now"), "{said}");
    let took: f64 = said
        .split(", ")
        .find_map(|part| part.strip_suffix(" s after the cut\n")?.parse().ok())
        .unwrap_or_else(|| panic!("no time in {said}"));
    eprintln!("FIGURE: director2 held the VIP {took} s after director1 was cut off");
    assert!(took >= 2.0, "a takeover within {took} s needs an advert a cut director cannot send");
    assert_eq!(master().as_deref(), Some("director2"));
    assert!(client_reaches_vip(), "the VIP does not answer with director1 cut off");
    assert!(client_reaches(&["198.51.100.13"]), "rs3 does not answer with director1 cut off");
    assert_eq!(keepalived_pids().len(), 4, "a cut director's keepalived runs on");
    let again = lvslab().args(["set", LAB, "--cut", "director1"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("cut off already"), "{again:?}");
    let out = lvslab_ok(&["set", LAB, "--recover", "director1"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("switch ports up again"), "{out:?}");
    wait_master("director1", Duration::from_secs(10));
    assert!(client_reaches_vip());
    let not_failed = lvslab().args(["set", LAB, "--recover", "director1"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&not_failed.stderr).contains("has not failed"),
        "{not_failed:?}"
    );

    lvslab_ok(&["set", LAB, "--del-rs", "rs3"]);
    assert_eq!(lab_namespaces(LAB).len(), 6, "rs3's namespace stayed: {:?}", lab_namespaces(LAB));
    // The kernel destroys a namespace, and the veth ends in it, a moment
    // after its last reference goes: the switch's end goes with them.
    let switch_has_rs3 = || {
        Command::new("ip")
            .args(["-n", &format!("lvs-{LAB}-switch"), "link", "show", "rs3"])
            .output()
            .unwrap()
            .status
            .success()
    };
    let removed = Instant::now();
    while switch_has_rs3() {
        assert!(removed.elapsed() < Duration::from_secs(5), "rs3's port stayed on the switch");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("rs3's switch port went {:?} after --del-rs returned", removed.elapsed());

    lvslab_ok(&["down", LAB]);
    assert!(lab_namespaces(LAB).is_empty(), "{:?}", lab_namespaces(LAB));
    assert!(keepalived_pids().is_empty(), "keepalived left behind: {:?}", keepalived_pids());
    assert!(!std::path::Path::new(&format!("/run/lvslab/labs/{LAB}")).exists());
}

/// The dashboard on an HA lab (brought up by it, VRRP only): `F` fails the
/// MASTER, the director line names director2 and the failed director1, and
/// the events log carries the failover's ⏱ lines; `F` again recovers
/// director1, which takes the VIP back. Quitting leaves no namespace, no
/// keepalived and no record of the lab.
#[test]
fn f_in_the_dashboard_fails_over_and_back_and_quitting_leaves_nothing() {
    const TUI_LAB: &str = "hatui";
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "ha", TUI_LAB);
    let exe = env!("CARGO_BIN_EXE_lvslab");
    let command = format!("{exe} tui {} --dataplane none", preset.display());
    // Declared first, dropped last: the dashboard goes before `down` runs.
    let cleanup = LabGuard::new(TUI_LAB);
    let tui = Tmux::start("ha", 200, 50, &command);
    tui.wait_for("director1 as MASTER", Duration::from_secs(30), |s| {
        s.contains("director1 MASTER") && common::tmux::number_after(s, "ok").is_some_and(|n| n > 0)
    });
    tui.keys(&["F"]);
    let screen = tui.wait_for("director2 as MASTER", Duration::from_secs(15), |s| {
        s.contains("director2 MASTER")
            && s.contains("director1 failed")
            && s.contains("⏱ director1 lost the VIP")
            && s.contains("⏱ director2 holds the VIP (MASTER)")
    });
    assert!(screen.contains("forwarding off, keepalived (pid"), "{screen}");
    assert_eq!(keepalived_pids_of(TUI_LAB).len(), 2, "director1's keepalived still runs");
    // The sum comes FAILURE_TAIL (6 s) after the takeover.
    let screen = tui.wait_for("the failover's sum", Duration::from_secs(15), |s| {
        s.contains("⏱ failover director1 → director2: the VIP had no master for")
    });
    // The figures, for the README (the log is newest first).
    for line in screen.lines().filter_map(|l| l.split_once('⏱')).rev() {
        eprintln!("FIGURE ⏱{}", line.1.trim_end_matches(|c: char| c == '│' || c.is_whitespace()));
    }
    tui.keys(&["F"]);
    tui.wait_for("director1 back as MASTER", Duration::from_secs(15), |s| {
        s.contains("director1 MASTER")
            && !s.contains("director1 failed")
            && s.contains("⏱ director2 lost the VIP")
            && s.contains("⏱ director1 holds the VIP (MASTER)")
    });
    assert_eq!(keepalived_pids_of(TUI_LAB).len(), 4);
    // A director cut off from the switch by `lvslab set --cut` in another
    // shell is failed too, and `F` brings it back.
    lvslab_ok(&["set", TUI_LAB, "--cut", "director1"]);
    tui.wait_for("director1 cut off", Duration::from_secs(15), |s| {
        s.contains("director2 MASTER") && s.contains("director1 failed")
    });
    tui.keys(&["F"]);
    let screen = tui.wait_for("director1 reconnected", Duration::from_secs(15), |s| {
        s.contains("director1 MASTER") && !s.contains("director1 failed")
    });
    assert!(screen.contains("switch ports up again"), "{screen}");
    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", Duration::from_secs(20), |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert!(lab_namespaces(TUI_LAB).is_empty(), "{:?}", lab_namespaces(TUI_LAB));
    assert!(keepalived_pids_of(TUI_LAB).is_empty(), "{:?}", keepalived_pids_of(TUI_LAB));
    assert!(!std::path::Path::new(&format!("/run/lvslab/labs/{TUI_LAB}")).exists());
    drop(cleanup);
}
