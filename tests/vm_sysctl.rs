//! `lvslab sysctl` on a kernel with IPVS (run inside the VM by
//! tests/vm/suite): a lab's settings are changed in its director only, and
//! read back alike by lvslab, `sysctl` in the namespace and `ipvsadm -L
//! --timeout`. Fails, never skips, outside the VM.

mod common;

use serde_json::Value;

use common::lab::LabGuard;
use common::{lvslab, lvslab_ok};

const LAB: &str = "tutorial";

fn in_director(program: &str, args: &[&str]) -> String {
    common::in_netns_ok(&format!("lvs-{LAB}-director"), program, args).trim().to_string()
}

fn ours() -> Vec<Value> {
    let out = lvslab_ok(&["sysctl", LAB, "--json"]);
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

fn value<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    &rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} listed"))["value"]
}

#[test]
fn settings_change_in_the_lab_only_and_read_back_as_sysctl_and_ipvsadm_say() {
    common::require_vm();
    let _guard = LabGuard::fresh(LAB);
    lvslab_ok(&["up", LAB]);

    // Fresh lab: the kernel's defaults, listed with their meaning.
    let rows = ours();
    assert_eq!(value(&rows, "expire_nodest_conn"), "0");
    assert_eq!(value(&rows, "tcp"), "900");
    for r in &rows {
        assert_eq!(r["value"], in_director_value(r), "{r}");
    }
    let text = String::from_utf8_lossy(&lvslab_ok(&["sysctl", LAB]).stdout).into_owned();
    assert!(text.contains("expire_nodest_conn") && text.contains("until their timeout"), "{text}");
    let host_before = std::fs::read_to_string("/proc/sys/net/ipv4/vs/expire_nodest_conn").unwrap();

    lvslab_ok(&[
        "sysctl",
        LAB,
        "expire_nodest_conn=1",
        "net.ipv4.vs.sloppy_tcp=1",
        "tcp=5",
        "udp=7",
    ]);
    assert_eq!(in_director("sysctl", &["-n", "net.ipv4.vs.expire_nodest_conn"]), "1");
    assert_eq!(in_director("sysctl", &["-n", "net.ipv4.vs.sloppy_tcp"]), "1");
    let timeouts = in_director("ipvsadm", &["-L", "--timeout"]);
    assert_eq!(timeouts, "Timeout (tcp tcpfin udp): 5 120 7");
    let rows = ours();
    assert_eq!(value(&rows, "expire_nodest_conn"), "1");
    assert_eq!(
        (value(&rows, "tcp"), value(&rows, "tcpfin"), value(&rows, "udp")),
        (&"5".into(), &"120".into(), &"7".into())
    );
    let differs: Vec<&str> =
        rows.iter().filter(|r| r["differs"] == true).map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(differs, ["expire_nodest_conn", "sloppy_tcp", "tcp", "udp"]);
    // The host's own IPVS is untouched.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/vs/expire_nodest_conn").unwrap(),
        host_before
    );

    // A bad value changes nothing, the earlier good one included.
    let out =
        lvslab().args(["sysctl", LAB, "expire_quiescent_template=1", "tcp=0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcp takes 1 to"), "{out:?}");
    assert_eq!(in_director("sysctl", &["-n", "net.ipv4.vs.expire_quiescent_template"]), "0");
}

/// The namespace's own reading of a row: `sysctl -n` or ipvsadm's timeouts.
fn in_director_value(row: &Value) -> Value {
    let name = row["name"].as_str().unwrap();
    let timeouts = || in_director("ipvsadm", &["-L", "--timeout"]);
    let field = |i: usize| {
        timeouts().rsplit(':').next().unwrap().split_whitespace().nth(i).unwrap().to_string()
    };
    match name {
        "tcp" => field(0).into(),
        "tcpfin" => field(1).into(),
        "udp" => field(2).into(),
        _ => in_director("sysctl", &["-n", &format!("net.ipv4.vs.{name}")]).into(),
    }
}
