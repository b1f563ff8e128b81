//! Attacks on what lvslab names and when it is stopped, done as root on this
//! machine's kernel, each inside a private /run (tests/common/sandbox.rs), so
//! `down --all` there sees only what the test made:
//!
//! - namespaces `lvs-..-x` and `lvs-.-x` beside a running lab: `down --all`
//!   removes the lab, lists the planted ones as not lvslab's and leaves
//!   them, and every file in /run and /run/lvslab that is not a lab's;
//! - `down netns` and `down logs` beside a running lab (names of lvslab's
//!   own folders once) find no lab and leave its marks and logs;
//! - a lab folder whose name is no lab name is never used or removed;
//! - SIGHUP during `up`, and SIGHUP/SIGINT/SIGTERM/SIGQUIT during
//!   `set --add-rs`, leave nothing of what was being made.

#![cfg(feature = "root-tests")]

mod common;

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::sandbox::Sandbox;

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the root tests need root: run `sudo cargo test --features root-tests`"
    );
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A lab of `servers` real servers built in `sandbox` with no dataplane.
struct Lab<'a> {
    sandbox: &'a Sandbox,
    name: String,
    _dir: tempfile::TempDir,
}

impl<'a> Lab<'a> {
    fn up(sandbox: &'a Sandbox, name: &str, servers: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let preset = common::generated_preset(dir.path(), name, servers, "rr");
        let lab = Self { sandbox, name: name.to_string(), _dir: dir };
        let out = lab.lvslab(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
        assert!(out.status.success(), "up {name}: {}", text(&out));
        lab
    }

    fn lvslab(&self, args: &[&str]) -> Output {
        self.sandbox.command(common::lvslab_exe()).args(args).output().unwrap()
    }

    fn namespaces(&self) -> Vec<String> {
        let prefix = format!("lvs-{}-", self.name);
        self.sandbox.namespaces().into_iter().filter(|n| n.starts_with(&prefix)).collect()
    }
}

impl Drop for Lab<'_> {
    fn drop(&mut self) {
        let _ = self.lvslab(&["down", &self.name]);
        for pid in serve_processes(&self.name) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// PIDs of `lvslab serve` processes in lab `lab`'s namespaces.
fn serve_processes(lab: &str) -> Vec<u32> {
    let netns = format!("lvs-{lab}-");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("serve") && c.contains(&netns)
            })
        })
        .collect()
}

fn exists(sandbox: &Sandbox, path: &str) -> bool {
    sandbox.sh(&format!("test -e '{path}'")).status.success()
}

#[test]
fn down_all_beside_dot_namespaces_removes_the_lab_and_nothing_else() {
    require_root();
    let sandbox = Sandbox::new();
    let lab = Lab::up(&sandbox, "dots", 2);
    assert_eq!(lab.namespaces().len(), 4, "client, director, rs1, rs2");
    let plant = sandbox
        .sh("ip netns add 'lvs-..-x' && ip netns add 'lvs-.-x' && echo canary > /run/canary \
         && echo canary > /run/lvslab/canary && echo canary > /run/lvslab/labs/canary");
    assert!(plant.status.success(), "{}", text(&plant));

    let out = lab.lvslab(&["down", "--all"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("lab 'dots' removed: 4 namespaces"), "{said}");
    assert!(said.contains("left alone, not made by lvslab: lvs-.-x, lvs-..-x"), "{said}");
    for canary in ["/run/canary", "/run/lvslab/canary", "/run/lvslab/labs/canary"] {
        assert!(exists(&sandbox, canary), "{canary} was removed: {said}");
    }
    let left = sandbox.namespaces();
    assert_eq!(left, ["lvs-.-x", "lvs-..-x"], "the planted namespaces stay, the lab's go");
    assert!(serve_processes("dots").is_empty(), "the lab's servers were stopped");
    assert!(!exists(&sandbox, "/run/lvslab/labs/dots"), "the lab's folder is gone");
    assert!(exists(&sandbox, "/run/netns"), "/run/netns itself is untouched");
}

#[test]
fn down_of_lvslab_folder_names_leaves_a_running_labs_marks_and_logs() {
    require_root();
    let sandbox = Sandbox::new();
    let lab = Lab::up(&sandbox, "beside", 1);
    let marks = "/run/lvslab/netns/lvs-beside-rs1";
    let log = "/run/lvslab/labs/beside/logs/rs1-80.log";
    assert!(exists(&sandbox, marks) && exists(&sandbox, log));
    for name in ["netns", "logs", "labs"] {
        let out = lab.lvslab(&["down", name]);
        assert!(!out.status.success(), "down {name}: {}", text(&out));
        assert!(text(&out).contains(&format!("no lab '{name}' is running")), "{}", text(&out));
    }
    assert!(exists(&sandbox, marks), "down netns removed another lab's marks");
    assert!(exists(&sandbox, log), "down logs removed another lab's logs");
    let status = lab.lvslab(&["status", "beside", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["phase"], "up");
}

#[test]
fn a_folder_that_is_no_lab_name_is_never_a_lab() {
    require_root();
    let sandbox = Sandbox::new();
    let planted = sandbox.sh("mkdir -p /run/lvslab/labs/Not_A_Lab && \
         printf '{\"version\":1}' > /run/lvslab/labs/Not_A_Lab/record.json");
    assert!(planted.status.success());
    let exe = common::lvslab_exe();
    let run = |args: &[&str]| sandbox.command(&exe).args(args).output().unwrap();
    let ls = run(&["ls"]);
    assert!(ls.status.success(), "{}", text(&ls));
    assert!(!text(&ls).contains("Not_A_Lab"), "{}", text(&ls));
    let down = run(&["down", "--all"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(exists(&sandbox, "/run/lvslab/labs/Not_A_Lab/record.json"), "{}", text(&down));
}

/// Starts `lvslab ARGS` in `sandbox` and sends it `signal` once `ready`.
fn signal_when(
    sandbox: &Sandbox,
    args: &[&str],
    signal: nix::sys::signal::Signal,
    ready: impl Fn() -> bool,
) -> (Output, Duration) {
    let child: Child = sandbox
        .command(common::lvslab_exe())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < Duration::from_secs(30), "{args:?} never got there");
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).unwrap();
    let signalled = started.elapsed();
    (child.wait_with_output().unwrap(), signalled)
}

#[test]
fn sighup_during_up_leaves_nothing() {
    require_root();
    let sandbox = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let preset = common::generated_preset(dir.path(), "hup", 8, "rr");
    let args = ["up", preset.to_str().unwrap(), "--dataplane", "none"];
    let building = || sandbox.namespaces().iter().any(|n| n.starts_with("lvs-hup-rs"));
    let (out, at) = signal_when(&sandbox, &args, nix::sys::signal::Signal::SIGHUP, building);
    eprintln!("FIGURE: SIGHUP {} ms into up", at.as_millis());
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("hung up (SIGHUP)") && said.contains("rolled back"), "{said}");
    assert!(sandbox.namespaces().is_empty(), "namespaces left: {:?}", sandbox.namespaces());
    assert!(sandbox.records().is_empty(), "files left: {:?}", sandbox.records());
    assert!(serve_processes("hup").is_empty(), "servers left");
}

#[test]
fn a_signal_during_set_add_rs_leaves_nothing_of_the_new_server() {
    require_root();
    let sandbox = Sandbox::new();
    let lab = Lab::up(&sandbox, "addsig", 1);
    use nix::sys::signal::Signal;
    for (i, signal) in
        [Signal::SIGHUP, Signal::SIGINT, Signal::SIGTERM, Signal::SIGQUIT].into_iter().enumerate()
    {
        let name = format!("rs{}", i + 5);
        let add = format!("{name}=198.18.0.{}:80", 50 + i);
        let ns = format!("lvs-addsig-{name}");
        let args = ["set", "addsig", "--add-rs", &add];
        let (out, _) = signal_when(&sandbox, &args, signal, || sandbox.namespaces().contains(&ns));
        let said = text(&out);
        assert!(!out.status.success(), "{signal}: {said}");
        assert!(said.contains("rolled back"), "{signal}: {said}");
        assert!(!sandbox.namespaces().contains(&ns), "{signal}: {ns} is left");
        assert!(!exists(&sandbox, &format!("/run/lvslab/netns/{ns}")), "{signal}: its mark");
        let status = lab.lvslab(&["status", "addsig", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        let hosts: Vec<&str> =
            status["hosts"].as_array().unwrap().iter().filter_map(|h| h["name"].as_str()).collect();
        assert_eq!(hosts, ["client", "director", "rs1"], "{signal}: the record gained nothing");
    }
    assert_eq!(lab.namespaces().len(), 3, "client, director, rs1 are as they were");
}

/// What a terminal would obey in `said`: any control character but a line
/// break or a tab.
fn obeyed(said: &str) -> Vec<char> {
    said.chars()
        .filter(|c| lvslab_core::lab::text::is_unsafe(*c) && *c != '\n' && *c != '\t')
        .collect()
}

/// Hostile names planted through each way a name reaches lvslab from the
/// machine (namespaces, marks, records; the command line is
/// tests/trust_input.rs, which needs no root): none becomes a lab, none is
/// joined to a path, none reaches the terminal raw, and every hint about
/// what is left is true (`--force` removes exactly the lab-named ones it
/// was offered for; those naming no lab stay, with `ip netns delete` as
/// the way).
#[test]
fn hostile_names_from_namespaces_marks_and_records_never_steer_lvslab() {
    require_root();
    let sandbox = Sandbox::new();
    let lab = Lab::up(&sandbox, "keep", 1);
    let osc = "\u{1b}]0;HACKED\u{7}";
    let no_lab = ["lvs-..-x", "lvs-.-x", &format!("lvs-{osc}-x")].map(str::to_string);
    let of_labs = ["lvs-other-x".to_string(), "lvs-keep-\u{1b}[2J".to_string()];
    for ns in no_lab.iter().chain(&of_labs) {
        let out = sandbox.command("ip").args(["netns", "add", ns]).output().unwrap();
        assert!(out.status.success(), "ip netns add {ns:?}: {}", text(&out));
    }
    let marks = ["lvs-..-x", "lvs-..-y", "lvs-keep-..", &format!("lvs-{osc}-y")];
    for mark in marks {
        std::fs::write(sandbox_path(&sandbox, &format!("/run/lvslab/netns/{mark}")), "").unwrap();
    }
    let plant = sandbox.sh(&format!(
        "echo canary > /run/canary && echo canary > /run/lvslab/canary && \
         cd /run/lvslab/labs && mkdir twin esc sched && cp keep/record.json twin/ && \
         jq '.spec.name = \"\\u001b]0;HACKED\\u0007\"' keep/record.json > esc/record.json && \
         jq '.spec.name = \"sched\" | .spec.services[0].scheduler = \"{}\"' keep/record.json \
           > sched/record.json",
        "\\u001b[2Jrr"
    ));
    assert!(plant.status.success(), "{}", text(&plant));

    // Every command that lists what it found says it escaped.
    for args in [&["ls"][..], &["doctor"], &["status", "keep"]] {
        let said = text(&lab.lvslab(args));
        assert_eq!(obeyed(&said), Vec::<char>::new(), "{args:?}: {said:?}");
        if args[0] != "status" {
            assert!(said.contains("lvs-\\u{1b}]0;HACKED\\u{7}-x"), "{args:?} names it: {said}");
        }
    }
    let ls = text(&lab.lvslab(&["ls"]));
    for broken in ["twin", "esc", "sched"] {
        assert!(ls.contains(&format!("{broken:<12} broken")), "{broken}: {ls}");
    }
    assert!(ls.contains("names lab 'keep', not 'twin'"), "{ls}");
    assert!(ls.contains("it names no lab, so only `ip netns delete lvs-..-x` removes it"), "{ls}");
    // A broken record names no other lab: `down twin` takes only its folder.
    let twin = lab.lvslab(&["down", "twin"]);
    assert_eq!(obeyed(&text(&twin)), Vec::<char>::new());
    assert!(!exists(&sandbox, "/run/lvslab/labs/twin"), "{}", text(&twin));
    let status = lab.lvslab(&["status", "keep", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["phase"], "up", "down twin left lab keep as it was");
    assert!(exists(&sandbox, "/run/lvslab/netns/lvs-keep-rs1"), "and its marks");

    let down = lab.lvslab(&["down", "--all"]);
    let said = text(&down);
    // The two unreadable records are reported (exit 1) and removed.
    let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(
        errors.len() == 2 && errors.iter().all(|e| e.contains("record is unreadable")),
        "{said}"
    );
    assert!(
        !exists(&sandbox, "/run/lvslab/labs/esc") && !exists(&sandbox, "/run/lvslab/labs/sched")
    );
    assert_eq!(obeyed(&said), Vec::<char>::new(), "{said:?}");
    assert!(said.contains("lab 'keep' removed: 3 namespaces"), "{said}");
    assert!(
        !said.contains("lab '.") && !said.contains("lab 'lvs"),
        "no planted name is a lab: {said}"
    );
    let hint = |said: &str, ns: &str| -> String {
        said.lines().filter(|l| l.contains(ns) && !l.starts_with("left alone")).collect()
    };
    let force_hint = hint(&said, "lvs-other-x");
    assert!(force_hint.contains("lvslab down --all --force"), "{said}");
    let plain_hint = hint(&said, "lvs-..-x");
    assert!(plain_hint.contains("ip netns delete") && !plain_hint.contains("down"), "{said}");
    let mut all: Vec<String> = no_lab.iter().chain(&of_labs).cloned().collect();
    all.sort();
    assert_eq!(sorted(sandbox.namespaces()), all, "every planted namespace stays: {said}");
    for canary in ["/run/canary", "/run/lvslab/canary"] {
        assert!(exists(&sandbox, canary), "{canary}: {said}");
    }

    // `--force` does what its hint said: the lab-named ones go, and the
    // others stay with the same true hint.
    let force = lab.lvslab(&["down", "--all", "--force"]);
    let said = text(&force);
    assert!(force.status.success(), "{said}");
    assert_eq!(obeyed(&said), Vec::<char>::new(), "{said:?}");
    let mut left = no_lab.to_vec();
    left.sort();
    assert_eq!(sorted(sandbox.namespaces()), left, "--force took the lab-named ones only: {said}");
    let plain_hint = hint(&said, "lvs-..-x");
    assert!(plain_hint.contains("ip netns delete") && !plain_hint.contains("down"), "{said}");
    assert!(!said.contains("--force"), "no hint offers --force for what it left: {said}");
    for canary in ["/run/canary", "/run/lvslab/canary"] {
        assert!(exists(&sandbox, canary), "{canary}: {said}");
    }
}

/// `path` as seen inside `sandbox` (its private /run), through the holder
/// process's root.
fn sandbox_path(sandbox: &Sandbox, path: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/{}/root{path}", sandbox.pid()))
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}
