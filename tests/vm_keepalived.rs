//! keepalived against real IPVS (inside the VM, by tests/vm/suite), with
//! ipvsadm as the referee:
//! - `up --control keepalived`: keepalived runs in the director and programs
//!   the preset's table; a stopped real server leaves the table within 3
//!   check intervals, traffic then runs with 0 errors (the JSON timeline's
//!   buckets fail only in that window), the server returns when started
//!   again, and `down` leaves no keepalived process;
//! - `set --control lvslab` hands the table back to plain IPVS (the preset's
//!   table, no keepalived; a stopped server keeps failing), and
//!   `set --control keepalived` hands it to keepalived again;
//! - `failed-check = "weight-0"`: a stopped server stays with weight 0;
//! - the exported keepalived.conf, run by keepalived in a fresh namespace,
//!   builds the table lvslab builds.
//!
//! Figures are printed (run with --nocapture to see them).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::LabGuard;
use common::lvslab;
use lvslab_core::lab::export::keepalived::Checks;
use lvslab_ipvs::IpvsClient;
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
    lvslab_core::lab::export::rules::from_table(&table)
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

/// PIDs of every keepalived (the VM has no other keepalived than the tests').
fn keepalived_pids() -> Vec<u32> {
    common::pids_named("keepalived")
}

/// `lvslab traffic tutorial ARGS --json` (exit status 3 when requests
/// failed, which some of these runs expect), parsed.
fn traffic_json(args: &[&str]) -> Value {
    let out = Command::new(common::lvslab_exe())
        .args(["traffic", "tutorial", "--json"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("traffic --json: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The report's timeline as (start s, ok, failed, rs1's answers) per bucket.
fn buckets(report: &Value) -> Vec<(f64, u64, u64, u64)> {
    report["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|b| {
            (
                b["at_s"].as_f64().unwrap(),
                b["ok"].as_u64().unwrap(),
                b["failed"].as_u64().unwrap(),
                b["servers"]["rs1"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn keepalived_owns_the_table_and_a_dead_server_leaves_it() {
    common::require_vm();
    let _down = LabGuard::new("tutorial");
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
    let spec = lvslab_core::lab::presets::load("tutorial").unwrap().spec;
    let want = lvslab_core::lab::export::rules::from_spec(&spec);
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
    // The timeline: failures only within about 3 check intervals, then
    // every bucket ok and answered by rs2 alone.
    let timeline = buckets(&report);
    for (at, ok, failed, rs1) in &timeline {
        eprintln!("FIGURE: bucket {at:>4.1} s: {ok:>3} ok {failed:>3} failed, rs1 answered {rs1}");
    }
    let window = &report["failure_window"];
    let (first, last) = (window["first_s"].as_f64().unwrap(), window["last_s"].as_f64().unwrap());
    let interval = f64::from(Checks::LAB.delay_loop);
    assert!(last - first <= 3.0 * interval, "failures from {first} s to {last} s: {report}");
    let failing: Vec<usize> = (0..timeline.len()).filter(|&i| timeline[i].2 > 0).collect();
    let last_failing = *failing.last().expect("requests to rs1 failed after it stopped");
    let after = &timeline[last_failing + 1..];
    assert!(
        after.iter().any(|&(_, ok, _, _)| ok > 0),
        "no bucket after the failures had answers: {timeline:?}"
    );
    assert!(
        after.iter().all(|&(_, _, failed, rs1)| failed == 0 && rs1 == 0),
        "after the window: 0 failed, nothing from rs1: {timeline:?}"
    );
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
    let log =
        std::fs::read_to_string("/run/lvslab/labs/tutorial/keepalived.log").unwrap_or_default();
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

    // The same failure without keepalived: the table goes back to lvslab,
    // equal to the preset's, and a stopped rs1 stays in it, failing.
    let said = lvslab_ok(&["set", "tutorial", "--control", "lvslab"]);
    eprintln!("set --control lvslab: {said}");
    assert!(said.contains("control keepalived → lvslab"), "{said}");
    assert!(keepalived_pids().is_empty(), "keepalived still runs under --control lvslab");
    assert_eq!(sorted(&ipvsadm_sn(director)), sorted(&want), "lvslab's table is not the preset's");
    lvslab_ok(&["set", "tutorial", "--stop", "rs1"]);
    let plain = traffic_json(&["--duration", "3s", "--rate", "20"]);
    let plain_buckets = buckets(&plain);
    eprintln!("FIGURE: without keepalived, rs1 stopped: {plain_buckets:?}");
    let failing_buckets = plain_buckets.iter().filter(|b| b.2 > 0).count();
    assert!(
        failing_buckets + 1 >= plain_buckets.len(),
        "under plain IPVS the failures go on in every bucket: {plain_buckets:?}"
    );
    assert!(table_now(director).contains("198.51.100.11"), "rs1 left the table without checks");

    // Back to keepalived with rs1 still stopped: its check fails, it leaves.
    let said = lvslab_ok(&["set", "tutorial", "--control", "keepalived"]);
    eprintln!("set --control keepalived: {said}");
    assert!(said.contains("control lvslab → keepalived"), "{said}");
    assert!(!keepalived_pids().is_empty(), "no keepalived after --control keepalived");
    wait_table(director, Duration::from_secs(30), |t| !t.contains("198.51.100.11"))
        .expect("under keepalived again, the stopped rs1 never left the table");
    lvslab_ok(&["set", "tutorial", "--start", "rs1"]);
    wait_table(director, Duration::from_secs(30), |t| sorted(t) == sorted(&want))
        .expect("rs1 never returned under keepalived");

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
    assert!(
        !std::path::Path::new("/run/lvslab/labs/tutorial").exists(),
        "the lab's folder is left"
    );
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
        let _down = LabGuard::new("tutorial");
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

/// `failed-check = "weight-0"` (keepalived's inhibit_on_failure): a stopped
/// real server stays in the table with weight 0, as `ipvsadm -Ln` shows,
/// and gets its weight back when it answers again.
#[test]
fn with_weight_0_on_failure_a_dead_server_stays_with_weight_0() {
    common::require_vm();
    let _down = LabGuard::new("inhibit");
    let director = "lvs-inhibit-director";
    let tutorial = include_str!("../labs/tutorial-nat.toml");
    let (head, rest) = tutorial.split_once("\n[networks]").expect("the tutorial has [networks]");
    let head = head.replace("name = \"tutorial\"", "name = \"inhibit\"");
    assert!(head.contains("name = \"inhibit\""), "the tutorial's name line moved");
    let preset = "/run/lvslab-inhibit.toml";
    std::fs::write(
        preset,
        format!(
            "{head}\ncontrol = \"keepalived\"\nfailed-check = \"weight-0\"\n\n[networks]{rest}"
        ),
    )
    .unwrap();
    lvslab_ok(&["up", preset]);
    let status = lvslab_ok(&["status", "inhibit"]);
    assert!(status.contains("keeps weight 0 (failed-check = \"weight-0\")"), "{status}");
    lvslab_ok(&["set", "inhibit", "--stop", "rs1"]);
    let zero = wait_table(director, Duration::from_secs(30), |t| {
        t.contains("-r 198.51.100.11:80 -m -w 0")
    });
    let zero = zero.expect("rs1 never got weight 0");
    let ln = String::from_utf8_lossy(
        &common::ok(Command::new("ip").args(["netns", "exec", director, "ipvsadm", "-Ln"])).stdout,
    )
    .into_owned();
    eprintln!("FIGURE: rs1 at weight 0 {:.2} s after --stop\n{ln}", zero.as_secs_f64());
    let row = ln.lines().find(|l| l.contains("198.51.100.11:80")).expect("rs1 is still listed");
    let weight = row.split_whitespace().nth(3).expect("a weight column");
    assert_eq!(weight, "0", "ipvsadm -Ln: {row}");
    lvslab_ok(&["set", "inhibit", "--start", "rs1"]);
    wait_table(director, Duration::from_secs(30), |t| t.contains("-r 198.51.100.11:80 -m -w 3"))
        .expect("rs1 never got its weight back");
    lvslab_ok(&["down", "inhibit"]);
    let _ = std::fs::remove_file(preset);
}

/// The dashboard on a keepalived lab, in a real terminal: `x` on rs1 under
/// its own traffic shows the timeline (left the table, how many failed,
/// back), `K` hands the table to lvslab (ipvsadm -Sn is the preset's, no
/// keepalived), and the same `x` then fails without end: rs1 never leaves.
#[test]
fn the_dashboard_shows_the_failure_and_k_switches_to_plain_ipvs() {
    use common::tmux::Tmux;
    common::require_vm();
    let _down = LabGuard::new("katui");
    let director = "lvs-katui-director";
    let tutorial = include_str!("../labs/tutorial-nat.toml");
    let (head, rest) = tutorial.split_once("\n[networks]").expect("the tutorial has [networks]");
    let head = head.replace("name = \"tutorial\"", "name = \"katui\"");
    let preset = "/run/lvslab-katui.toml";
    std::fs::write(preset, format!("{head}\ncontrol = \"keepalived\"\n\n[networks]{rest}"))
        .unwrap();
    let want = lvslab_core::lab::export::rules::from_spec(
        &lvslab_core::lab::presets::load(preset).unwrap().spec,
    );
    let exe = common::lvslab_exe();
    let tui = Tmux::start("ka", 160, 48, &format!("{} tui {preset}", exe.display()));
    tui.wait_for("keepalived's table and traffic", Duration::from_secs(120), |s| {
        s.contains("katui · keepalived")
            && s.contains("198.51.100.11:80")
            && common::tmux::number_after(s, "ok").is_some_and(|n| n >= 20)
    });

    // rs1 (the first row) stops: its check fails, it leaves the table.
    tui.keys(&["x"]);
    let screen = tui.wait_for("rs1 leaving the table", Duration::from_secs(30), |s| {
        s.contains("⏱ rs1 left the IPVS table")
    });
    let line = screen.lines().find(|l| l.contains("rs1 left the IPVS table")).unwrap();
    eprintln!("FIGURE: dashboard: {}", line.trim_matches(|c| c == '│' || c == ' '));
    assert!(screen.contains("gw=DIP down    out"), "the topology marks rs1 out:\n{screen}");
    assert!(!table_now(director).contains("198.51.100.11"));
    // x again: the selection stayed on rs1 although its row is gone.
    tui.keys(&["x"]);
    let screen = tui.wait_for("rs1 back", Duration::from_secs(30), |s| {
        s.contains("⏱ rs1 back in the IPVS table")
    });
    let line = screen.lines().find(|l| l.contains("rs1 back in the IPVS table")).unwrap();
    eprintln!("FIGURE: dashboard: {}", line.trim_matches(|c| c == '│' || c == ' '));

    // K: plain IPVS. The table is the preset's, keepalived is gone.
    tui.keys(&["K"]);
    tui.wait_for("the switch", Duration::from_secs(30), |s| {
        s.contains("control keepalived → lvslab")
    });
    assert!(keepalived_pids().is_empty(), "keepalived runs after K");
    assert_eq!(
        sorted(&ipvsadm_sn(director)),
        sorted(&want),
        "after K the table is not the preset's"
    );
    tui.keys(&["x"]);
    let screen = tui.wait_for("the outage without checks", Duration::from_secs(30), |s| {
        s.contains("rs1: outage starts (no health checks")
    });
    let errors = common::tmux::number_after(&screen, "errors").unwrap_or(0);
    std::thread::sleep(Duration::from_secs(3));
    let screen = tui.screen();
    let later = common::tmux::number_after(&screen, "errors").unwrap_or(0);
    assert!(later >= errors + 10, "rs1's share fails on: errors {errors} -> {later}\n{screen}");
    assert!(table_now(director).contains("198.51.100.11"), "rs1 left the table without checks");
    tui.keys(&["x"]);
    let screen = tui.wait_for("the outage's end", Duration::from_secs(30), |s| {
        s.contains("it never left the table (no health checks)")
    });
    let line = screen.lines().find(|l| l.contains("it never left the table")).unwrap();
    eprintln!("FIGURE: dashboard: {}", line.trim_matches(|c| c == '│' || c == ' '));

    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", Duration::from_secs(60), |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0") && screen.contains("torn down"), "{screen}");
    assert!(keepalived_pids().is_empty(), "keepalived left after q");
    assert!(!std::path::Path::new("/run/netns/lvs-katui-director").exists());
    let _ = std::fs::remove_file(preset);
}
