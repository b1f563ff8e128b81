//! `lvslab export` and `lvslab import` against real IPVS (run inside the VM
//! by tests/vm/suite), with ipvsadm as the referee: the exported script
//! builds a lab whose table and traffic split equal lvslab's own; exported
//! rules restore the same table in a fresh namespace; a table made by hand
//! with ipvsadm survives import and `up`; a preset exported after live edits
//! rebuilds the edited table. They fail, never skip, outside the VM.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::lab::LabGuard;
use common::lvslab;

/// `lvslab ARGS`, which must succeed.
fn lvslab_ok(args: &[&str]) -> Output {
    common::ok(lvslab().args(args))
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sh(script: &str) -> Output {
    common::ok(Command::new("sh").args(["-c", script]))
}

fn ipvsadm_sn(netns: &str) -> String {
    text(&common::ok(Command::new("ip").args(["netns", "exec", netns, "ipvsadm", "-Sn"])))
}

fn netns_list() -> String {
    text(&common::ok(Command::new("ip").args(["netns", "list"])))
}

/// Removes the labs and namespaces a test made, even when it fails.
fn cleanup(lab: &str) -> LabGuard {
    LabGuard::new(lab).then(|| {
        for script in ["/run/ex-tutorial.sh", "/run/ex-ha.sh"] {
            if std::path::Path::new(script).exists() {
                let _ = Command::new("bash").args([script, "down"]).output();
            }
        }
        for ns in ["ex-fresh", "ex-scratch"] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    })
}

/// Opens 100 new connections from `client` to `vip` and counts the
/// real-server names in the answers. One curl process does it (a process
/// start, and above all an `ip netns exec`, costs up to a second under TCG):
/// its URL range makes 100 requests, and `Connection: close` makes each one
/// a new connection, which is what IPVS schedules.
fn hundred_answers(client: &str, vip: &str) -> BTreeMap<String, u32> {
    let url = format!("http://{vip}/?n=[1-100]");
    let out = common::ok(
        Command::new("ip")
            .args(["netns", "exec", client, "curl", "-sf", "--max-time", "20"])
            .args(["-H", "Connection: close", &url]),
    );
    let mut counts = BTreeMap::new();
    for line in text(&out).lines().filter(|l| !l.trim().is_empty()) {
        let name = line.split_whitespace().next().unwrap_or_default().to_string();
        *counts.entry(name).or_default() += 1;
    }
    counts
}

#[test]
fn the_exported_script_builds_the_same_lab_by_hand() {
    common::require_vm();
    let _cleanup = cleanup("tutorial");
    lvslab_ok(&["up", "tutorial"]);
    let rules = ipvsadm_sn("lvs-tutorial-director");
    let split = hundred_answers("lvs-tutorial-client", "192.0.2.1");
    let expected: BTreeMap<String, u32> = [("rs1".to_string(), 60), ("rs2".to_string(), 40)].into();
    assert_eq!(split, expected, "wrr 3:2 over 100 new connections");
    lvslab_ok(&["export", "tutorial", "--format", "shell", "-o", "/run/ex-tutorial.sh"]);
    lvslab_ok(&["down", "tutorial"]);
    assert_eq!(netns_list(), "", "lvslab down left namespaces");
    assert!(!std::path::Path::new("/run/lvslab/labs/tutorial").exists());

    let built = common::ok(Command::new("bash").arg("/run/ex-tutorial.sh"));
    assert!(text(&built).contains("lab 'tutorial' is up"), "{}", text(&built));
    assert_eq!(ipvsadm_sn("lvs-tutorial-director"), rules, "the script's table");
    assert_eq!(hundred_answers("lvs-tutorial-client", "192.0.2.1"), expected);

    // A second run must refuse before changing anything.
    let before = netns_list();
    let again = Command::new("bash").arg("/run/ex-tutorial.sh").output().unwrap();
    assert!(!again.status.success());
    let why = String::from_utf8_lossy(&again.stderr);
    assert!(why.contains("exists already") && why.contains("down"), "{why}");
    assert_eq!(netns_list(), before);

    common::ok(Command::new("bash").args(["/run/ex-tutorial.sh", "down"]));
    assert_eq!(netns_list(), "", "the script's teardown left namespaces");
}

/// Whether namespace `netns` holds address `addr` on one of its links.
fn holds(netns: &str, addr: &str) -> bool {
    let out = common::ok(Command::new("ip").args(["-n", netns, "-4", "-o", "addr", "show"]));
    text(&out).contains(&format!(" {addr}/"))
}

/// The `ha` preset as a script: two directors, each with keepalived from
/// the script's own files, the same IPVS table in both (as lvslab's),
/// director1 MASTER; killing its keepalived moves the VIP to director2,
/// which answers; `down` leaves no namespace and no keepalived.
#[test]
fn the_exported_ha_script_builds_two_directors_that_fail_over() {
    common::require_vm();
    let _cleanup = cleanup("ha");
    lvslab_ok(&["export", "ha", "--format", "shell", "-o", "/run/ex-ha.sh"]);
    let built = common::ok(Command::new("bash").arg("/run/ex-ha.sh"));
    assert!(text(&built).contains("lab 'ha' is up"), "{}", text(&built));
    assert!(holds("lvs-ha-director1", "192.0.2.1"), "director1 holds the VIP");
    let spec = lvslab_core::lab::presets::load("ha").unwrap().spec;
    let sorted = |t: String| {
        let mut l: Vec<String> = t.lines().map(str::to_string).collect();
        l.sort();
        l
    };
    let want = sorted(lvslab_core::lab::export::rules::from_spec(&spec));
    // keepalived adds a real server once its first check passes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while ["lvs-ha-director1", "lvs-ha-director2"].iter().any(|d| sorted(ipvsadm_sn(d)) != want) {
        assert!(std::time::Instant::now() < deadline, "{}", ipvsadm_sn("lvs-ha-director1"));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let even: BTreeMap<String, u32> = [("rs1".to_string(), 50), ("rs2".to_string(), 50)].into();
    assert_eq!(hundred_answers("lvs-ha-client", "192.0.2.1"), even, "rr through director1");

    let pid = std::fs::read_to_string("/run/lvslab-sh/ha/director1-keepalived.pid").unwrap();
    common::ok(Command::new("kill").arg(pid.trim()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !holds("lvs-ha-director2", "192.0.2.1") {
        assert!(std::time::Instant::now() < deadline, "director2 never took the VIP");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(hundred_answers("lvs-ha-client", "192.0.2.1"), even, "rr through director2");

    common::ok(Command::new("bash").args(["/run/ex-ha.sh", "down"]));
    assert_eq!(netns_list(), "", "the script's teardown left namespaces");
    assert!(common::pids_named("keepalived").is_empty(), "keepalived left behind");
}

/// A table as a person makes it with ipvsadm: port mapping, persistence
/// with a netmask, UDP on a second VIP, a fwmark service, an empty service.
const HAND_MADE: &str = "
-A -t 192.0.2.1:80 -s wrr
-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 3
-a -t 192.0.2.1:80 -r 198.51.100.12:80 -m -w 2
-A -t 192.0.2.1:443 -s sh -p 300 -M 255.255.255.0
-a -t 192.0.2.1:443 -r 198.51.100.12:8443 -m -w 1
-a -t 192.0.2.1:443 -r 198.51.100.13:8443 -m -w 4
-A -u 192.0.2.5:53 -s rr
-a -u 192.0.2.5:53 -r 198.51.100.13:5353 -m -w 1
-A -f 42 -s lc -p 60
-a -f 42 -r 198.51.100.11 -m -w 1
-a -f 42 -r 198.51.100.14:8080 -m -w 2
-A -t 192.0.2.1:8080 -s mh
";

#[test]
fn a_hand_made_table_survives_import_and_up() {
    common::require_vm();
    let _cleanup = cleanup("handmade");
    sh("ip netns add ex-scratch && ip -n ex-scratch link add d0 type dummy && \
        ip -n ex-scratch addr add 198.51.100.1/24 dev d0 && ip -n ex-scratch link set d0 up");
    // One `ip netns exec` for all the ipvsadm commands (each costs ~1 s under TCG).
    let commands: Vec<String> =
        HAND_MADE.lines().filter(|l| !l.is_empty()).map(|l| format!("ipvsadm {l}")).collect();
    common::ok(Command::new("ip").args([
        "netns",
        "exec",
        "ex-scratch",
        "sh",
        "-c",
        &commands.join(" && "),
    ]));
    let original = ipvsadm_sn("ex-scratch");
    std::fs::write("/run/ex-handmade.rules", &original).unwrap();
    lvslab_ok(&[
        "import",
        "/run/ex-handmade.rules",
        "--name",
        "handmade",
        "-o",
        "/run/handmade.toml",
    ]);
    lvslab_ok(&["up", "/run/handmade.toml"]);
    assert_eq!(ipvsadm_sn("lvs-handmade-director"), original);
    let status = text(&lvslab_ok(&["status", "handmade"]));
    assert!(status.contains("FWM 42 lc"), "{status}");
}

/// Both exports of a live-edited lab carry the edits: the rules restore the
/// same table in a fresh namespace, and the preset rebuilds it.
#[test]
fn live_edits_survive_export_as_rules_and_as_a_preset() {
    common::require_vm();
    let _cleanup = cleanup("tutorial");
    lvslab_ok(&["up", "tutorial"]);
    lvslab_ok(&["set", "tutorial", "--scheduler", "lc", "--weight", "rs1=5"]);
    let edited = ipvsadm_sn("lvs-tutorial-director");
    assert!(edited.contains("-s lc") && edited.contains("-w 5"), "{edited}");

    let exported = text(&lvslab_ok(&["export", "tutorial", "--format", "ipvsadm"]));
    assert_eq!(exported, edited);
    // The kernel refuses a NAT real server it has no route to ("address not
    // unicast"), so the fresh namespace gets the servers' network on a dummy.
    sh("ip netns add ex-fresh && ip -n ex-fresh link add d0 type dummy && \
        ip -n ex-fresh addr add 198.51.100.1/24 dev d0 && ip -n ex-fresh link set d0 up");
    let mut restore = Command::new("ip")
        .args(["netns", "exec", "ex-fresh", "ipvsadm", "-R"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    restore.stdin.take().unwrap().write_all(exported.as_bytes()).unwrap();
    assert!(restore.wait().unwrap().success(), "ipvsadm -R refused:\n{exported}");
    assert_eq!(ipvsadm_sn("ex-fresh"), edited, "ipvsadm -R of the exported rules");
    lvslab_ok(&["export", "tutorial", "--format", "toml", "-o", "/run/ex-edited.toml"]);
    lvslab_ok(&["down", "tutorial"]);
    lvslab_ok(&["up", "/run/ex-edited.toml"]);
    assert_eq!(ipvsadm_sn("lvs-tutorial-director"), edited);
}
