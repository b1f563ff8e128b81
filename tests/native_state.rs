//! Lab records under faults: concurrent writers, a corrupt record, a
//! teardown that meets an error half-way. Root; fails without it.

mod common;

use common::sandbox::{Sandbox, ServersGuard, serve_processes};
use common::{generated_preset, output_text, require_root};
use lvslab::ops::state::{self, LabProcess, LabState, Stored};
use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::presets;

struct RemoveRecord(LabName);
impl Drop for RemoveRecord {
    fn drop(&mut self) {
        let _ = state::remove(&self.0);
        let _ = std::fs::remove_file(state::lock_path(&self.0));
        let _ = std::fs::remove_dir(state::lab_dir(&self.0));
        lvslab::ops::teardown::remove_empty_state_dir();
    }
}

/// Two writers each make many read-modify-writes of the same record, one
/// adding processes, the other changing another field; none is lost.
#[test]
fn concurrent_writers_lose_no_edit() {
    require_root();
    let name = LabName::new(&format!("rmw{}", std::process::id())).unwrap();
    let _cleanup = RemoveRecord(name.clone());
    let mut preset = presets::load("tutorial").unwrap();
    preset.spec.name = name.clone();
    let record = LabState::new(preset.spec, "test".into(), Dataplane::None);
    record.create().unwrap();
    let start = record.created_unix;
    const EDITS: u32 = 300;
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..EDITS {
                state::update(&name, |r| {
                    r.processes.push(LabProcess {
                        host: "a".into(),
                        role: "test".into(),
                        port: None,
                        pid: i,
                        start_ticks: 0,
                    });
                })
                .unwrap();
            }
        });
        s.spawn(|| {
            for _ in 0..EDITS {
                state::update(&name, |r| r.created_unix += 1).unwrap();
            }
        });
        // A third writer in another process: `lvslab ls` reads while they write.
        s.spawn(|| {
            for _ in 0..20 {
                let out = common::lvslab().arg("ls").output().unwrap();
                assert!(out.status.success(), "{}", output_text(&out));
                assert!(
                    !output_text(&out).contains("broken"),
                    "a reader saw a half-written record"
                );
            }
        });
    });
    let last = LabState::load(&name).unwrap().unwrap();
    assert_eq!(last.processes.len() as u32, EDITS, "every added process is recorded");
    let pids: Vec<u32> = last.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, (0..EDITS).collect::<Vec<_>>());
    assert_eq!(
        last.created_unix,
        start + u64::from(EDITS),
        "every change of the other writer kept"
    );
    let temps: Vec<String> = std::fs::read_dir(state::lab_dir(&name))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "no temporary left: {temps:?}");
}

#[test]
fn a_corrupt_record_is_listed_as_broken_and_the_others_still_are() {
    require_root();
    let sandbox = Sandbox::new();
    let good = format!("good{}", std::process::id());
    let bad = format!("bad{}", std::process::id());
    let _servers = ServersGuard::new(&good);
    let dir = tempfile::tempdir().unwrap();
    let preset = generated_preset(dir.path(), &good, 1, "rr");
    let lvslab = |args: &[&str]| sandbox.lvslab(args);
    let up = lvslab(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
    assert!(up.status.success(), "{}", output_text(&up));
    let out = sandbox.sh(&format!(
        "mkdir -p /run/lvslab/labs/{bad} && printf '{{\"version\": 1, trunc' > /run/lvslab/labs/{bad}/record.json"
    ));
    assert!(out.status.success());

    let ls = lvslab(&["ls"]);
    assert!(ls.status.success(), "one broken record does not fail ls: {}", output_text(&ls));
    let listing = output_text(&ls);
    assert!(listing.lines().any(|l| l.starts_with(&good) && l.contains("up")), "{listing}");
    assert!(listing.lines().any(|l| l.starts_with(&bad) && l.contains("broken")), "{listing}");

    let ls = lvslab(&["ls", "--json"]);
    assert!(ls.status.success(), "{}", output_text(&ls));
    let json: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(json["labs"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["labs"][0]["lab"], serde_json::json!(good));
    assert_eq!(json["broken"][0]["lab"], serde_json::json!(bad), "{json}");
    assert!(
        json["broken"][0]["error"].as_str().unwrap().contains(&format!("labs/{bad}/record.json"))
    );

    // down of the broken lab removes the record and says it was unreadable.
    let down = lvslab(&["down", &bad]);
    assert!(!down.status.success(), "the fault is reported: {}", output_text(&down));
    assert!(output_text(&down).contains("unreadable"), "{}", output_text(&down));
    let down = lvslab(&["down", &good]);
    assert!(down.status.success(), "{}", output_text(&down));
    assert!(sandbox.records().is_empty(), "{:?}", sandbox.records());
    assert!(sandbox.namespaces().is_empty());
}

/// `down` meets a namespace it cannot remove (a second mount stacked on its
/// name) in the middle of the lab: it removes everything else, reports the
/// fault, exits non-zero; a second `down` after the fault is gone finishes.
#[test]
fn down_goes_past_a_fault_in_the_middle_and_reports_it() {
    require_root();
    let sandbox = Sandbox::new();
    let lab = format!("fault{}", std::process::id());
    let _servers = ServersGuard::new(&lab);
    let dir = tempfile::tempdir().unwrap();
    let preset = generated_preset(dir.path(), &lab, 3, "rr");
    let lvslab = |args: &[&str]| sandbox.lvslab(args);
    let up = lvslab(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
    assert!(up.status.success(), "{}", output_text(&up));
    assert_eq!(serve_processes(&lab).len(), 3);
    let stuck = format!("lvs-{lab}-rs2");
    let out = sandbox.sh(&format!("mount --bind /run/netns/{stuck} /run/netns/{stuck}"));
    assert!(out.status.success(), "{}", output_text(&out));

    let down = lvslab(&["down", &lab]);
    assert!(!down.status.success(), "a fault makes down fail: {}", output_text(&down));
    assert!(output_text(&down).contains(&stuck), "the fault is named: {}", output_text(&down));
    assert_eq!(sandbox.namespaces(), vec![stuck.clone()], "everything else was removed");
    assert!(serve_processes(&lab).is_empty(), "every server was stopped");
    let ls = lvslab(&["ls"]);
    assert!(
        output_text(&ls).contains("leftover"),
        "the rest is still lvslab's: {}",
        output_text(&ls)
    );

    let down = lvslab(&["down", &lab]);
    assert!(down.status.success(), "{}", output_text(&down));
    assert!(sandbox.namespaces().is_empty());
    assert!(sandbox.records().is_empty(), "{:?}", sandbox.records());
}
