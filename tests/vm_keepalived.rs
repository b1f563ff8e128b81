//! keepalived against real IPVS (inside the VM, by tests/vm/suite), with
//! ipvsadm as the referee:
//! - `up --control keepalived`: keepalived runs in the director and programs
//!   the preset's table; a stopped real server leaves the table within 3
//!   check intervals, traffic then runs with 0 errors, the server returns
//!   when started again, and `down` leaves no keepalived process;
//! - the exported keepalived.conf, run by keepalived in a fresh namespace,
//!   builds the table lvslab builds.
//!
//! Figures are printed (run with --nocapture to see them).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::lvslab;
use lvslab::ipvs::IpvsClient;
use lvslab::lab::export::keepalived::Checks;
use serde_json::Value;

fn lvslab_ok(args: &[&str]) -> String {
    String::from_utf8_lossy(&common::ok(lvslab().args(args)).stdout).into_owned()
}

fn ipvsadm_sn(netns: &str) -> String {
    String::from_utf8_lossy(
        &common::ok(Command::new("ip").args(["netns", "exec", netns, "ipvsadm", "-Sn"])).stdout,
    )
    .into_owned()
}

fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The table of `netns` read in this process (no `ip netns exec`, which
/// costs about a second under TCG), as `ipvsadm -Sn` text.
fn table_now(netns: &str) -> String {
    let table = IpvsClient::open_in(netns).expect("IPVS in the namespace").table().unwrap();
    lvslab::lab::export::rules::from_table(&table)
}

/// Polls the table of `netns` until `done` holds; the time it took.
fn wait_table(netns: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if done(&table_now(netns)) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// PIDs of every process named keepalived on the machine (the VM has no
/// other keepalived than the tests').
fn keepalived_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "keepalived")
        })
        .collect()
}

struct Down(&'static str);
impl Drop for Down {
    fn drop(&mut self) {
        let _ = lvslab().args(["down", self.0]).output();
    }
}

#[test]
fn keepalived_owns_the_table_and_a_dead_server_leaves_it() {
    common::require_vm();
    let _down = Down("tutorial");
    let director = "lvs-tutorial-director";
    let started = Instant::now();
    let up = lvslab_ok(&["up", "tutorial", "--control", "keepalived"]);
    eprintln!("up --control keepalived: {:.1} s\n{up}", started.elapsed().as_secs_f64());
    assert!(up.contains("keepalived"), "{up}");

    // keepalived runs in the director and its table is the preset's.
    let pids = keepalived_pids();
    assert!(!pids.is_empty(), "no keepalived process after up");
    let director_ns = std::fs::metadata(format!("/run/netns/{director}")).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.ino()
    });
    let in_director = pids.iter().any(|pid| {
        std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.ino()
            })
            .ok()
            == director_ns.as_ref().ok().copied()
    });
    assert!(in_director, "keepalived does not run in {director}");
    let spec = lvslab::lab::presets::load("tutorial").unwrap().spec;
    let want = lvslab::lab::export::rules::from_spec(&spec);
    assert_eq!(
        sorted(&ipvsadm_sn(director)),
        sorted(&want),
        "ipvsadm -Sn is not the preset's table"
    );
    let status = lvslab_ok(&["status", "tutorial"]);
    assert!(status.contains("CONTROL keepalived in the director (pid"), "{status}");

    // Traffic across the failure: rs1's HTTP server stops 2 s into an 8 s run.
    let traffic = Command::new(common::lvslab_exe())
        .args(["traffic", "tutorial", "--duration", "8s", "--rate", "20", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let said = lvslab_ok(&["set", "tutorial", "--stop", "rs1"]);
    assert!(said.contains("leaves the table"), "{said}");
    let stopped_at = Instant::now();
    let limit = Duration::from_secs(3 * u64::from(Checks::LAB.delay_loop));
    let gone = wait_table(director, Duration::from_secs(30), |t| !t.contains("198.51.100.11"));
    let gone = gone.expect("rs1 never left the table");
    let during = traffic.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&during.stdout).unwrap_or_else(|e| {
        panic!("traffic --json: {e}: {}", String::from_utf8_lossy(&during.stderr))
    });
    let failed = report["requests"].as_u64().unwrap() - report["ok"].as_u64().unwrap();
    let times: Vec<f64> = report["error_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["at_s"].as_f64())
        .collect();
    eprintln!(
        "FIGURE: rs1 left the table {:.2} s after `set --stop` returned (check interval {} s); \
         {failed} of {} requests failed, the first at {:.2} s, the last at {:.2} s of the run",
        gone.as_secs_f64(),
        Checks::LAB.delay_loop,
        report["requests"],
        times.first().copied().unwrap_or(0.0),
        times.last().copied().unwrap_or(0.0),
    );
    // What keepalived's checker said, with its own timestamps.
    let log = std::fs::read_to_string("/run/lvslab/tutorial/keepalived.log").unwrap_or_default();
    for line in log.lines().filter(|l| l.contains("198.51.100.11")) {
        eprintln!("keepalived: {line}");
    }
    assert!(gone <= limit, "rs1 took {gone:?} to leave the table (limit {limit:?})");
    assert!(stopped_at.elapsed() < Duration::from_secs(60));

    // With rs1 out, every request succeeds (all on rs2).
    let after: Value =
        serde_json::from_str(&lvslab_ok(&["traffic", "tutorial", "--requests", "100", "--json"]))
            .unwrap();
    assert_eq!(after["ok"], 100, "errors after rs1 left the table: {after}");
    assert_eq!(after["by_server"]["rs2"], 100, "{after}");

    // Started again: keepalived's check passes and rs1 returns with its weight.
    lvslab_ok(&["set", "tutorial", "--start", "rs1"]);
    let back = wait_table(director, Duration::from_secs(30), |t| sorted(t) == sorted(&want));
    let back = back.expect("rs1 never returned to the table");
    eprintln!("FIGURE: rs1 was back in the table {:.2} s after it started", back.as_secs_f64());

    // A live edit goes through keepalived: rewrite, reload, the table follows.
    let said = lvslab_ok(&["set", "tutorial", "--weight", "rs2=5"]);
    assert!(said.contains("keepalived reloaded"), "{said}");
    wait_table(director, Duration::from_secs(30), |t| t.contains("198.51.100.12:80 -m -w 5"))
        .expect("the weight edit never reached the table");

    lvslab_ok(&["down", "tutorial"]);
    assert!(
        keepalived_pids().is_empty(),
        "keepalived still runs after down: {:?}",
        keepalived_pids()
    );
    assert!(!std::path::Path::new("/run/lvslab/tutorial").exists(), "keepalived's folder is left");
}

/// Kills the test's own keepalived and namespace, even when the test fails.
struct Fresh(Option<Child>);
impl Drop for Fresh {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", "ka-fresh"]).status();
        let _ = std::fs::remove_dir_all("/run/ka-fresh");
    }
}

#[test]
fn the_exported_keepalived_conf_builds_lvslabs_table() {
    common::require_vm();
    let mut fresh = Fresh(None);
    let built = {
        let _down = Down("tutorial");
        lvslab_ok(&["up", "tutorial"]);
        let table = ipvsadm_sn("lvs-tutorial-director");
        let conf = lvslab_ok(&["export", "tutorial", "--format", "keepalived"]);
        lvslab_ok(&["down", "tutorial"]);
        (table, conf)
    };
    let (lvslab_table, conf) = built;
    std::fs::create_dir_all("/run/ka-fresh").unwrap();
    std::fs::write("/run/ka-fresh/keepalived.conf", &conf).unwrap();
    // A director with the lab's interfaces; the servers' network on br0 (a
    // NAT destination needs a route).
    common::ok(Command::new("sh").args([
        "-c",
        "ip netns add ka-fresh && ip -n ka-fresh link add eth0 type veth peer name peer0 && \
         ip -n ka-fresh link add br0 type bridge && ip -n ka-fresh link set eth0 up && \
         ip -n ka-fresh link set br0 up && ip -n ka-fresh addr add 198.51.100.1/24 dev br0",
    ]));
    let log = std::fs::File::create("/run/ka-fresh/log").unwrap();
    fresh.0 = Some(
        Command::new("ip")
            .args(["netns", "exec", "ka-fresh", "keepalived", "-n", "-l", "-D", "-G"])
            .args(["-f", "/run/ka-fresh/keepalived.conf", "-p", "/run/ka-fresh/k.pid"])
            .args([
                "-c",
                "/run/ka-fresh/c.pid",
                "-r",
                "/run/ka-fresh/v.pid",
                "-b",
                "/run/ka-fresh/b.pid",
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    // Its first checks come after delay_loop (6 s in the export), so the
    // whole table stands until then: compare it as soon as it is complete.
    let rows = lvslab_table.lines().count();
    let took = wait_table("ka-fresh", Duration::from_secs(60), |t| t.lines().count() == rows);
    let said = std::fs::read_to_string("/run/ka-fresh/log").unwrap_or_default();
    assert!(took.is_some(), "keepalived never built the table; it said:\n{said}");
    let keepalived_table = ipvsadm_sn("ka-fresh");
    eprintln!(
        "FIGURE: keepalived built the exported table in {:.2} s",
        took.unwrap().as_secs_f64()
    );
    assert_eq!(keepalived_table, lvslab_table, "ipvsadm -Sn differs; keepalived said:\n{said}");
}
