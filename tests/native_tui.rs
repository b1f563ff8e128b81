//! The dashboard in a real terminal (tmux) on a real lab, on this machine's
//! kernel (dataplane none): it comes up, shows the topology and live
//! traffic, and `q` tears down everything it built. Root; fails without it.

mod common;

use std::time::Duration;

use common::tmux::{Tmux, number_after};
use common::{machine_state, serial};

#[test]
fn dashboard_shows_the_lab_and_quitting_leaves_nothing_behind() {
    let _lock = serial();
    let before = machine_state();
    let exe = env!("CARGO_BIN_EXE_lvslab");
    let tui = Tmux::start("native", 160, 48, &format!("{exe} tui tutorial --dataplane none"));
    let screen = tui.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("Topology") && s.contains("Traffic")
    });
    for needle in [
        "client 192.0.2.2",
        "VIP 192.0.2.1",
        "DIP 198.51.100.1",
        "rs1",
        "198.51.100.12",
        "ip_forward on",
    ] {
        assert!(screen.contains(needle), "missing {needle:?} on:\n{screen}");
    }
    // Without IPVS the dashboard's traffic goes to rs1 directly, and it flows.
    let screen = tui.wait_for("requests answered", Duration::from_secs(20), |s| {
        number_after(s, "ok").is_some_and(|n| n >= 20)
    });
    assert!(
        screen.contains("traffic goes to rs1"),
        "the events log says where traffic goes:\n{screen}"
    );
    assert_eq!(number_after(&screen, "errors"), Some(0), "{screen}");

    // Space stops the traffic; the panel says so.
    tui.keys(&["Space"]);
    tui.wait_for("traffic stopped", Duration::from_secs(10), |s| s.contains("traffic stopped"));

    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", Duration::from_secs(20), |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert!(screen.contains("lab 'tutorial' torn down"), "{screen}");
    assert_eq!(machine_state(), before, "quitting removes everything the dashboard built");
}

/// `x` stops rs1 under the dashboard's traffic: the events log carries the
/// failure's timeline (outage start, first failed request, the end with its
/// count); `K` needs IPVS for keepalived and says so. A lab of its own name
/// (healthtui), so other dashboards on the machine are not in its way.
#[test]
fn stopping_a_server_shows_its_failure_timeline() {
    let _lock = serial();
    let before = machine_state();
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("healthtui.toml");
    let tutorial = include_str!("../labs/tutorial-nat.toml");
    let renamed = tutorial.replace("name = \"tutorial\"", "name = \"healthtui\"");
    assert_ne!(renamed, tutorial, "the tutorial's name line moved");
    std::fs::write(&preset, renamed).unwrap();
    let exe = env!("CARGO_BIN_EXE_lvslab");
    let command = format!("{exe} tui {} --dataplane none", preset.display());
    let tui = Tmux::start("health", 160, 48, &command);
    tui.wait_for("answers", Duration::from_secs(20), |s| {
        number_after(s, "ok").is_some_and(|n| n >= 10)
    });
    // rs1 (selected first) is where the traffic goes without IPVS.
    tui.keys(&["x"]);
    // The first failures come in the poll that sees rs1 down, or just
    // before or after it: the timeline words each case.
    let screen = tui.wait_for("the first failure", Duration::from_secs(20), |s| {
        ["rs1: first failed request", "failed as it stopped answering", "had already failed"]
            .iter()
            .any(|said| s.contains(said))
    });
    assert!(screen.contains("⏱ rs1: outage starts (no health checks"), "{screen}");
    tui.keys(&["x"]);
    let screen = tui.wait_for("the outage's end", Duration::from_secs(20), |s| {
        s.contains("rs1: outage over after")
    });
    let line = screen.lines().find(|l| l.contains("outage over after")).unwrap();
    let failed = line
        .split("outage over after ")
        .nth(1)
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(failed.is_some_and(|n| n > 0), "the count of failed requests: {line}");
    tui.keys(&["K"]);
    let screen = tui.wait_for("the refusal", Duration::from_secs(20), |s| {
        s.contains("only an IPVS table can be handed")
    });
    assert!(screen.contains("none dataplane"), "{screen}");
    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", Duration::from_secs(20), |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert_eq!(machine_state(), before, "quitting removes everything the dashboard built");
}

#[test]
fn an_attached_dashboard_leaves_the_lab_running() {
    let _lock = serial();
    let exe = env!("CARGO_BIN_EXE_lvslab");
    common::lvslab_ok(&["up", "rr4", "--dataplane", "none"]);
    let tui = Tmux::start("attach", 100, 30, &format!("{exe} tui rr4"));
    tui.wait_for("the dashboard", Duration::from_secs(20), |s| s.contains("rs4"));
    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", Duration::from_secs(20), |s| s.contains("EXITED="));
    assert!(screen.contains("lab 'rr4' is still running"), "{screen}");
    assert!(lvslab_sys::netns::exists("lvs-rr4-rs4"));
    common::lvslab_ok(&["down", "rr4"]);
}

#[test]
fn without_a_terminal_the_dashboard_says_so_and_builds_nothing() {
    let _lock = serial();
    let before = machine_state();
    let out = common::lvslab()
        .args(["tui", "tutorial", "--dataplane", "none"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the dashboard needs a terminal"));
    assert_eq!(machine_state(), before);
}
