//! Root tests on this machine's kernel (no IPVS needed): labs are built,
//! reached, observed and removed for real. Run with `--features root-tests`;
//! without root they fail, they never skip.
//!
//! They share one lock: `down --all` and the before/after comparisons of the
//! machine must not see another test's lab.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::{LabGuard, lab_namespaces, status_json};
use common::{generated_preset, lvslab, lvslab_ok, machine_state, require_no_ipvs, serial};
use lvslab_sys::netns;

#[test]
fn tutorial_without_ipvs_routes_client_to_real_servers_and_leaves_nothing() {
    let _lock = serial();
    let before = machine_state();
    {
        let _guard = LabGuard::new("tutorial");
        lvslab_ok(&["up", "tutorial", "--dataplane", "none"]);
        assert_eq!(
            lab_namespaces("tutorial"),
            [
                "lvs-tutorial-client",
                "lvs-tutorial-director",
                "lvs-tutorial-rs1",
                "lvs-tutorial-rs2"
            ]
        );

        let ping = Command::new("ip")
            .args(["netns", "exec", "lvs-tutorial-client", "ping", "-c1", "-W2", "198.51.100.11"])
            .output()
            .unwrap();
        assert!(
            ping.status.success(),
            "ping rs1 from the client: {}{}",
            String::from_utf8_lossy(&ping.stdout),
            String::from_utf8_lossy(&ping.stderr)
        );

        // A TCP listener in rs1, a connection from the client, across the director.
        let listener =
            netns::run_in("lvs-tutorial-rs1", || TcpListener::bind("198.51.100.11:8080"))
                .unwrap()
                .unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, peer) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf).unwrap();
            conn.write_all(b"pong").unwrap();
            (peer, buf)
        });
        let mut client =
            netns::run_in("lvs-tutorial-client", || TcpStream::connect("198.51.100.11:8080"))
                .unwrap()
                .unwrap();
        client.write_all(b"ping!").unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).unwrap();
        let (peer, got) = server.join().unwrap();
        assert_eq!((&got, reply.as_str()), (b"ping!", "pong"));
        assert_eq!(
            peer.ip().to_string(),
            "192.0.2.2",
            "NAT-less routing keeps the client's address"
        );

        let status = status_json("tutorial");
        assert_eq!(status["dataplane"], "none");
        assert_eq!(status["phase"], "up");
        let hosts = status["hosts"].as_array().unwrap();
        let host = |name: &str| hosts.iter().find(|h| h["name"] == name).unwrap().clone();
        for rs in ["rs1", "rs2"] {
            assert_eq!(host(rs)["default_gateway"], "198.51.100.1", "{rs} routes via the DIP");
        }
        assert_eq!(host("client")["default_gateway"], "192.0.2.1");
        assert_eq!(host("director")["ip_forward"], true);
        let addrs = |h: &serde_json::Value| {
            h["interfaces"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|i| i["addresses"].as_array().unwrap().clone())
                .collect::<Vec<_>>()
        };
        assert!(addrs(&host("director")).contains(&"192.0.2.1/24".into()));
        assert!(addrs(&host("director")).contains(&"198.51.100.1/24".into()));
        assert!(addrs(&host("rs2")).contains(&"198.51.100.12/24".into()));
        let members = &status["services"][0]["real_servers"];
        assert_eq!(
            (members[0]["name"].as_str(), members[0]["weight"].as_u64()),
            (Some("rs1"), Some(3))
        );
        assert_eq!(
            members[1]["active_conns"],
            serde_json::Value::Null,
            "no IPVS counters without IPVS"
        );

        lvslab_ok(&["down", "tutorial"]);
    }
    assert_eq!(
        machine_state(),
        before,
        "down must leave netns, links and /run/lvslab as they were"
    );
}

#[test]
fn kill_9_during_up_then_down_all_restores_the_machine() {
    let _lock = serial();
    let before = machine_state();
    let dir = tempfile::tempdir().unwrap();
    let preset = generated_preset(dir.path(), "killed", 64, "rr");
    let mut up = lvslab()
        .args(["up", preset.to_str().unwrap(), "--dataplane", "none"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| netns::exists("lvs-killed-client"));
    up.kill().unwrap(); // SIGKILL: no rollback can run
    up.wait().unwrap();
    assert!(
        netns::exists("lvs-killed-client"),
        "the killed up left namespaces behind (the case under test)"
    );
    let ls = lvslab_ok(&["ls"]);
    assert!(String::from_utf8_lossy(&ls.stdout).contains("killed"), "ls shows the half-built lab");

    lvslab_ok(&["down", "--all"]);
    assert_eq!(machine_state(), before);
}

#[test]
fn sigterm_during_up_rolls_back() {
    let _lock = serial();
    let before = machine_state();
    let dir = tempfile::tempdir().unwrap();
    let preset = generated_preset(dir.path(), "termed", 64, "rr");
    let up = lvslab()
        .args(["up", preset.to_str().unwrap(), "--dataplane", "none"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| netns::exists("lvs-termed-client"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = up.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("terminated") && err.contains("rolled back"), "{err}");
    assert_eq!(machine_state(), before);
}

#[test]
fn two_labs_run_side_by_side_and_down_removes_only_one() {
    let _lock = serial();
    let _guards = LabGuard::all(["rr4", "tutorial"]);
    lvslab_ok(&["up", "tutorial", "--dataplane", "none"]);
    lvslab_ok(&["up", "rr4", "--dataplane", "none"]);
    // Both labs use 198.51.100.0/24 for their servers: isolation is what makes that fine.
    for (client, target) in
        [("lvs-tutorial-client", "198.51.100.12"), ("lvs-rr4-client", "198.51.100.14")]
    {
        let ping = Command::new("ip")
            .args(["netns", "exec", client, "ping", "-c1", "-W2", target])
            .output()
            .unwrap();
        assert!(
            ping.status.success(),
            "{client} -> {target}: {}",
            String::from_utf8_lossy(&ping.stderr)
        );
    }
    lvslab_ok(&["down", "rr4"]);
    assert!(!netns::exists("lvs-rr4-client"));
    assert!(netns::exists("lvs-tutorial-rs2"), "the other lab is untouched");
    assert_eq!(status_json("tutorial")["phase"], "up");
}

#[test]
fn up_of_a_running_lab_restarts_dead_servers_and_a_crashed_one_is_cleaned() {
    let _lock = serial();
    let _guard = LabGuard::new("tutorial");
    lvslab_ok(&["up", "tutorial", "--dataplane", "none"]);
    let again = lvslab_ok(&["up", "tutorial", "--dataplane", "none"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already up and every real server answers")
    );

    // A real server's process dies: traffic to it is refused; `up` brings it back.
    let rs1 = server_pid(&status_json("tutorial"), "rs1");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(rs1 as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for(|| !std::path::Path::new(&format!("/proc/{rs1}/stat")).exists() || is_zombie(rs1));
    let refused = lvslab()
        .args(["traffic", "tutorial", "--to", "198.51.100.11:80", "--requests", "20", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["errors"]["refused"], 20, "rs1 is down: every connection is refused");
    assert_eq!(refused.status.code(), Some(3), "failed requests give exit status 3");
    let again = lvslab_ok(&["up", "tutorial", "--dataplane", "none"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("restarted 1 real-server process"));
    assert_ne!(server_pid(&status_json("tutorial"), "rs1"), rs1);
    let healed = lvslab_ok(&[
        "traffic",
        "tutorial",
        "--to",
        "198.51.100.11:80",
        "--requests",
        "20",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&healed.stdout).unwrap();
    assert_eq!((report["ok"].as_u64(), report["by_server"]["rs1"].as_u64()), (Some(20), Some(20)));

    // A crash that lost the record: the namespaces are leftovers, cleaned by the next up.
    std::fs::remove_file("/run/lvslab/labs/tutorial/record.json").unwrap();
    let out = lvslab_ok(&["up", "tutorial", "--dataplane", "none"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("removed leftovers"),
        "up says what it cleaned"
    );
    assert_eq!(status_json("tutorial")["phase"], "up");
}

#[test]
fn without_root_up_says_so_and_changes_nothing() {
    let _lock = serial();
    let before = machine_state();
    use std::os::unix::process::CommandExt;
    let out = lvslab()
        .args(["up", "tutorial", "--dataplane", "none"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs root (CAP_NET_ADMIN"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(machine_state(), before);
}

#[test]
fn ipvs_dataplane_on_a_kernel_without_ipvs_fails_before_creating_anything() {
    let _lock = serial();
    // This test is about a kernel without IPVS, like this suite's machines:
    // on one with IPVS it fails rather than pass without checking anything.
    require_no_ipvs();
    let before = machine_state();
    // `--dataplane ipvs` insists (without it, nftables is chosen: native_nft.rs).
    let out = lvslab().args(["up", "tutorial", "--dataplane", "ipvs"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    for needle in ["CONFIG_IP_VS", "modprobe ip_vs", "--dataplane none", "Nothing was changed"] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    assert_eq!(machine_state(), before);
}

fn server_pid(status: &serde_json::Value, host: &str) -> u64 {
    let hosts = status["hosts"].as_array().unwrap();
    let h = hosts.iter().find(|h| h["name"] == host).unwrap();
    assert_eq!(h["http_servers"][0]["running"], true, "{host}'s HTTP server runs");
    h["http_servers"][0]["pid"].as_u64().unwrap()
}

fn is_zombie(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
}

fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_micros(200));
    }
}
