//! `lvslab experiment` on this machine's kernel (no IPVS): the change–
//! measure–undo journal puts sysctls back exactly, in reverse (a key changed
//! twice ends at its first value), also when the work fails half-way, and
//! fails loudly when the lab was changed behind its back; the command lists
//! its experiments and refuses an unknown one, or a lab that cannot run it,
//! saying why. Run with `--features root-tests`; without root they fail,
//! never skip. The experiments themselves run in the VM
//! (tests/vm_experiment.rs).

mod common;

use std::process::Command;

use common::lab::{LabGuard, renamed_preset};
use common::{lvslab, lvslab_ok, require_no_ipvs, require_root};
use lvslab::net::sysctl;
use lvslab::ops::LabError;
use lvslab::ops::experiment::undo::Journal;

const KEYS: [&str; 3] =
    ["net.ipv4.ip_forward", "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"];

/// A namespace of the test's own, deleted when dropped.
struct Scratch(String);

impl Scratch {
    fn new(name: &str) -> Self {
        require_root();
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        let out = Command::new("ip").args(["netns", "add", name]).output().unwrap();
        assert!(out.status.success(), "{}", common::output_text(&out));
        Self(name.into())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// What `sysctl -n` says of each key in the namespace, read by the kernel's
/// own tool rather than by the code under test.
fn values(ns: &str) -> Vec<String> {
    KEYS.iter()
        .map(|k| {
            let out =
                Command::new("ip").args(["netns", "exec", ns, "sysctl", "-n", k]).output().unwrap();
            assert!(out.status.success(), "{}", common::output_text(&out));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect()
}

fn journal(ns: &str) -> Journal {
    let ns = ns.to_string();
    Journal::open(Box::new(move || {
        KEYS.iter().map(|k| Ok(format!("{k}={}", sysctl::read(&ns, k)?))).collect()
    }))
    .expect("snapshot")
}

/// The work an experiment does, failing after its changes (an injected error).
async fn changes_then_fails(journal: &mut Journal, ns: &[String]) -> Result<(), LabError> {
    journal.set_sysctl(ns, KEYS[0], "1")?;
    journal.set_sysctl(ns, KEYS[1], "1")?;
    journal.set_sysctl(ns, KEYS[1], "2")?;
    journal.set_sysctl(ns, KEYS[2], "2")?;
    Err(LabError::Refused("injected failure".into()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn the_undo_restores_sysctls_exactly_after_success_and_after_an_injected_error() {
    let scratch = Scratch::new("lvsexp-undo");
    let ns = vec![scratch.0.clone()];
    let before = values(&ns[0]);
    assert_eq!(before, ["0", "0", "0"], "a new namespace's defaults");
    runtime().block_on(async {
        // Success: changes made, then undone.
        let mut j = journal(&ns[0]);
        j.set_sysctl(&ns, KEYS[0], "1").unwrap();
        j.set_sysctl(&ns, KEYS[1], "1").unwrap();
        assert_eq!(values(&ns[0]), ["1", "1", "0"]);
        j.undo(None).await.expect("restored");
        assert_eq!(values(&ns[0]), before);

        // An injected error half-way: the caller undoes whatever was done,
        // in reverse (arp_ignore, set twice, ends at 0, not at 1).
        let mut j = journal(&ns[0]);
        let err = changes_then_fails(&mut j, &ns).await.unwrap_err();
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(values(&ns[0]), ["1", "2", "2"]);
        j.undo(None).await.expect("restored after the error");
        assert_eq!(values(&ns[0]), before);

        // A change the kernel refuses records nothing that breaks the undo.
        let mut j = journal(&ns[0]);
        j.set_sysctl(&ns, KEYS[0], "1").unwrap();
        assert!(j.set_sysctl(&ns, "net.ipv4.no_such_key", "1").is_err());
        j.undo(None).await.expect("restored after a refused change");
        assert_eq!(values(&ns[0]), before);
    });
}

#[test]
fn a_lab_changed_behind_the_journals_back_fails_the_undo_loudly() {
    let scratch = Scratch::new("lvsexp-loud");
    let ns = vec![scratch.0.clone()];
    runtime().block_on(async {
        let mut j = journal(&ns[0]);
        j.set_sysctl(&ns, KEYS[0], "1").unwrap();
        // Someone else's change, not in the journal.
        let out = Command::new("ip")
            .args(["netns", "exec", &ns[0], "sysctl", "-qw", "net.ipv4.conf.all.arp_announce=2"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let err = j.undo(None).await.unwrap_err().to_string();
        assert!(err.contains("NOT restored"), "{err}");
        assert!(err.contains("before: net.ipv4.conf.all.arp_announce=0"), "{err}");
        assert!(err.contains("now:    net.ipv4.conf.all.arp_announce=2"), "{err}");
        assert!(!err.contains("ip_forward"), "what the journal made is put back: {err}");
    });
    assert_eq!(values(&ns[0]), ["0", "0", "2"]);
}

#[test]
fn the_list_names_each_experiment_and_what_it_compares() {
    let out = lvslab_ok(&["experiment", "--list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("removal-held-tcp") && text.contains("drained-persistence"), "{text}");
    assert!(text.contains("expire_nodest_conn=0 | expire_nodest_conn=1 | drain first"), "{text}");
}

#[test]
fn an_unknown_experiment_or_a_lab_without_ipvs_is_refused_saying_why() {
    require_root();
    require_no_ipvs();
    let out = lvslab().args(["experiment", "tutorial", "nodest"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown experiment 'nodest'") && err.contains("removal-held-tcp"),
        "{err}"
    );

    let lab = "expnft";
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", lab);
    let _guard = LabGuard::fresh(lab);
    lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "nft"]);
    let out = lvslab().args(["experiment", lab, "removal-held-tcp"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("experiment removal-held-tcp cannot run on lab 'expnft'")
            && err.contains("no IPVS")
            && err.contains("--dataplane ipvs"),
        "{err}"
    );
    let out = lvslab().args(["experiment", "nosuchlab", "removal-held-tcp"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lab 'nosuchlab' is running"));
}
