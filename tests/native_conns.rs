//! `lvslab conns` on this machine's kernel, which has no IPVS: what a user
//! is told instead of a table. Run with `--features root-tests`; without
//! root they fail, they never skip. Each test works in a private /run (see
//! common/sandbox.rs), so its lab cannot meet another test's.

mod common;

use std::process::Output;

use common::sandbox::{self, Sandbox};

fn lvslab_in(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox.command(common::lvslab_exe()).args(args).output().expect("run lvslab")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn conns_explains_a_lab_without_ipvs_and_an_unknown_server() {
    assert!(nix::unistd::geteuid().is_root(), "root tests need root: run them as root (CI does)");
    let sandbox = Sandbox::new();
    // A name of its own: the process table is shared, and the cleanup below
    // must never meet another test's `tutorial`.
    let dir = tempfile::tempdir().unwrap();
    let preset = common::generated_preset(dir.path(), "connsnat", 2, "wrr");
    let up = lvslab_in(&sandbox, &["up", preset.to_str().unwrap(), "--dataplane", "none"]);
    assert!(up.status.success(), "up: {}", text(&up));

    let out = lvslab_in(&sandbox, &["conns", "connsnat"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("runs without IPVS") && text(&out).contains("no IPVS connection table"),
        "{}",
        text(&out)
    );
    let out = lvslab_in(&sandbox, &["conns", "connsnat", "--server", "rs9"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no real server 'rs9'") && text(&out).contains("rs1, rs2"),
        "{}",
        text(&out)
    );
    let out = lvslab_in(&sandbox, &["conns", "nolab"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no lab 'nolab' is running"), "{}", text(&out));

    let down = lvslab_in(&sandbox, &["down", "connsnat"]);
    assert!(down.status.success(), "down: {}", text(&down));
    sandbox::kill_servers("connsnat");
}
