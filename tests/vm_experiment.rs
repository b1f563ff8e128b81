//! `lvslab experiment` on a kernel with IPVS (run inside the VM by
//! tests/vm/suite), ipvsadm and sysctl as the referees: the directions each
//! experiment exists to show, and after each run the director's `ipvsadm
//! -Sn`, timeouts and `net.ipv4.vs.*` exactly as they were. The lab is the
//! tutorial with a `[director.sysctl]`, so `up` applying it and `status`
//! showing it are proven on the way. Fails, never skips, outside the VM.

mod common;

use serde_json::Value;

use common::lab::{LabGuard, renamed_preset};
use common::lvslab_ok;

const LAB: &str = "expt";

fn in_director(program: &str, args: &[&str]) -> String {
    common::in_netns_ok(&format!("lvs-{LAB}-director"), program, args)
}

/// What the experiment must leave as it found it, read by the kernel's own
/// tools: `ipvsadm -Sn` (its lines sorted: a destination deleted and added
/// back is listed last), the timeouts, every `net.ipv4.vs.*`.
fn director_as_ipvsadm_and_sysctl_see_it() -> Vec<String> {
    let mut lines: Vec<String> =
        in_director("ipvsadm", &["-Sn"]).lines().map(String::from).collect();
    lines.sort();
    lines.push(in_director("ipvsadm", &["-L", "--timeout"]).trim().to_string());
    // `sysctl` names a key it may not read (debug_level) on stderr.
    lines.extend(
        in_director("sh", &["-c", "sysctl net.ipv4.vs 2>/dev/null; true"])
            .lines()
            .map(String::from),
    );
    lines
}

fn run_json(name: &str) -> Value {
    let out = lvslab_ok(&["experiment", LAB, name, "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("experiment --json is JSON");
    common::schema::assert_matches(
        &doc,
        &common::schema::load("assets/schemas/experiment.schema.json"),
    );
    eprintln!("{name}: {doc:#}");
    doc
}

fn n(arm: &Value, key: &str) -> u64 {
    arm["measured"][key].as_u64().unwrap_or_else(|| panic!("{key} in {arm}"))
}

#[test]
fn experiments_show_their_directions_and_leave_the_director_as_it_was() {
    common::require_vm();
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", LAB);
    let mut text = std::fs::read_to_string(&preset).unwrap();
    text.push_str("\n[director.sysctl]\nsloppy_tcp = 1\nudp = 7\n");
    std::fs::write(&preset, text).unwrap();
    let _guard = LabGuard::fresh(LAB);
    lvslab_ok(&["up", preset.to_str().unwrap()]);
    let before = director_as_ipvsadm_and_sysctl_see_it();
    // The preset's settings, as the kernel's tools read them, and in status.
    assert!(before.contains(&"net.ipv4.vs.sloppy_tcp = 1".to_string()), "{before:#?}");
    assert!(before.contains(&"Timeout (tcp tcpfin udp): 900 120 7".to_string()), "{before:#?}");
    let status = String::from_utf8_lossy(&lvslab_ok(&["status", LAB]).stdout).into_owned();
    assert!(status.contains("sloppy_tcp=1 (default 0), udp=7 (default 300)"), "{status}");
    assert!(!status.contains("expire_nodest_conn="), "only those off the default: {status}");

    // 1: removal under held, busy connections.
    let doc = run_json("removal-held-tcp");
    let arms = doc["arms"].as_array().unwrap();
    let (zero, one, drain) = (&arms[0], &arms[1], &arms[2]);
    assert_eq!(zero["label"], "expire_nodest_conn=0", "{doc:#}");
    for arm in arms {
        assert!(n(arm, "held") > 0, "the removed server held connections: {arm}");
    }
    assert_eq!(n(zero, "hung"), n(zero, "held"), "=0: every held connection hangs: {zero}");
    assert_eq!(n(one, "reset"), n(one, "held"), "=1: every one is reset fast: {one}");
    assert_eq!(n(drain, "completed"), n(drain, "held"), "drain first: all finish: {drain}");
    // The hang lasts about IPVS's tcp timeout: the entry must expire before
    // the director's own stack answers with a reset. Its clock started at
    // the connection's last packet, before the change (the runner pauses the
    // requests 0.3 s around it, and a request comes every 0.1 s), so the
    // hang counted from the change is at least the timeout less that.
    let timeout = n(zero, "tcp_timeout_s") as f64;
    let hang = zero["measured"]["time_to_fail_s"].as_f64().unwrap();
    let fast = one["measured"]["time_to_fail_s"].as_f64().unwrap();
    assert!(hang >= timeout - 0.5, "the hang ({hang} s) against the tcp timeout ({timeout} s)");
    assert!(hang > fast * 4.0, "=0 hangs {hang} s, =1 fails in {fast} s");
    assert!(doc["verdict"].as_str().unwrap().contains("drain first"), "{doc:#}");
    assert_eq!(director_as_ipvsadm_and_sysctl_see_it(), before, "after removal-held-tcp");

    // 3: a drained server and persistence, in the text form a person reads.
    let out = lvslab_ok(&["experiment", LAB, "drained-persistence"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}");
    assert!(
        text.contains("TO DRAINED") && text.contains("sets expire_quiescent_template=1"),
        "{text}"
    );
    assert_eq!(director_as_ipvsadm_and_sysctl_see_it(), before, "after drained-persistence (text)");
    let doc = run_json("drained-persistence");
    let arms = doc["arms"].as_array().unwrap();
    assert_eq!(
        n(&arms[0], "to_drained"),
        n(&arms[0], "new_connections"),
        "=0 keeps the client: {doc:#}"
    );
    assert_eq!(n(&arms[1], "to_drained"), 0, "=1 moves it: {doc:#}");
    assert_eq!(n(&arms[0], "failed") + n(&arms[1], "failed"), 0, "{doc:#}");
    assert_eq!(director_as_ipvsadm_and_sysctl_see_it(), before, "after drained-persistence");
}
