//! Director failover against real IPVS (inside the VM, by tests/vm/suite):
//! the `ha` preset's two directors run keepalived, both program the same
//! table (ipvsadm as the referee), director1 is VRRP MASTER. Then
//! `set ha --fail director1` while traffic runs:
//! - director2 becomes MASTER and the VIP answers again within 5 s; the gap
//!   (longest time between two answered probes) and the failed requests of
//!   a concurrent `lvslab traffic` are printed;
//! - connections held open across the failover (`traffic --hold`) complete
//!   with connection sync (keepalived's lvs_sync_daemon) and break without
//!   it (`up ha --no-sync`); both figures are printed;
//! - `set ha --cut director1` (cables pulled) hands over after three missed
//!   adverts, and held connections survive it with sync;
//! - `down` leaves no keepalived and no namespace;
//! - a real server added to the running lab (`set --add-rs`) enters both
//!   directors' tables (keepalived reloads in each) and answers its share
//!   through either MASTER; `--del-rs` takes it out of both.
//!
//! Run with --nocapture to see the figures (lines starting FIGURE).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::lab::LabGuard;
use common::lvslab;
use lvslab_ipvs::IpvsClient;
use serde_json::Value;

const VIP: &str = "192.0.2.1:80";
/// How long each held connection streams: long enough to be established
/// and synchronised before director1 fails, and to go on well after the
/// takeover.
const HOLD_MS: u64 = 10000;
const HELD: u32 = 4;

fn lvslab_ok(args: &[&str]) -> String {
    String::from_utf8_lossy(&common::ok(lvslab().args(args)).stdout).into_owned()
}

/// PIDs of every keepalived (the VM has no other keepalived than the tests').
fn keepalived_pids() -> Vec<u32> {
    common::pids_named("keepalived")
}

fn sorted_table(netns: &str) -> Vec<String> {
    let table = IpvsClient::open_in(netns).expect("IPVS in the namespace").table().unwrap();
    let mut lines: Vec<String> =
        lvslab_core::lab::export::rules::from_table(&table).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// One probe: a new connection to the VIP, `GET /`, an answer; its start
/// and whether it was answered within 500 ms.
type Probe = (Instant, bool);

fn probe() -> bool {
    let addr: SocketAddr = VIP.parse().unwrap();
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = Vec::new();
    // lvslab's server answers an HTTP/1.0 request in HTTP/1.0.
    s.read_to_end(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.0 200")
}

/// Probes the VIP from the client's namespace every 100 ms until `stop`.
fn prober(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Probe>> {
    std::thread::spawn(move || {
        lvslab_sys::netns::run_in("lvs-ha-client", || {
            let mut probes = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                probes.push((at, probe()));
                std::thread::sleep(Duration::from_millis(100).saturating_sub(at.elapsed()));
            }
            probes
        })
        .expect("enter the client's namespace")
    })
}

fn traffic(args: &[&str]) -> Child {
    Command::new(common::lvslab_exe())
        .args(["traffic", "ha", "--json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(child: Child) -> Value {
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("traffic --json: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn failed(report: &Value) -> u64 {
    report["requests"].as_u64().unwrap() - report["ok"].as_u64().unwrap()
}

/// How director1 fails: `--fail` (stopped) or `--cut` (cables pulled).
#[derive(Clone, Copy)]
enum How {
    Fail,
    Cut,
}

impl How {
    fn flag(self) -> &'static str {
        match self {
            Self::Fail => "--fail",
            Self::Cut => "--cut",
        }
    }
}

/// Brings `ha` up (with or without sync), fails director1 (as `how` says)
/// under traffic, and returns how many held connections completed and how
/// long the VIP went unanswered.
fn fail_over(sync: bool, how: How) -> (u64, Duration) {
    let _down = LabGuard::new("ha");
    let started = Instant::now();
    let up = if sync { lvslab_ok(&["up", "ha"]) } else { lvslab_ok(&["up", "ha", "--no-sync"]) };
    eprintln!("up ha (sync {sync}): {:.1} s", started.elapsed().as_secs_f64());
    assert!(up.contains(if sync { "connection sync on" } else { "connection sync off" }), "{up}");
    let spec = lvslab_core::lab::presets::load("ha").unwrap().spec;
    let want = {
        let mut l: Vec<String> =
            lvslab_core::lab::export::rules::from_spec(&spec).lines().map(str::to_string).collect();
        l.sort();
        l
    };
    // Both directors program the same table; director1 holds the VIP.
    assert_eq!(sorted_table("lvs-ha-director1"), want);
    assert_eq!(sorted_table("lvs-ha-director2"), want);
    assert_eq!(lvslab::ops::vrrp::master(&spec), Some("director1"));
    let status = lvslab_ok(&["status", "ha"]);
    assert!(status.contains("VRRP MASTER director1"), "{status}");

    let stop = Arc::new(AtomicBool::new(false));
    let probes = prober(stop.clone());
    let hold = HOLD_MS.to_string();
    let held = traffic(&[
        "--hold",
        &hold,
        "--requests",
        &HELD.to_string(),
        "--concurrency",
        &HELD.to_string(),
    ]);
    // Fail director1 once the held connections are established there and,
    // with sync, once director2 has them too (the sync daemon sends its
    // buffer within about 2 s); without sync director2 must have none.
    let held_in = |director: &str| {
        let ns = format!("lvs-ha-{director}");
        let read = lvslab::monitor::observe::read_conns(&ns);
        let conns = read.table().map(<[_]>::to_vec).unwrap_or_default();
        conns.iter().filter(|c| c.state == "ESTABLISHED").count()
    };
    let waited = Instant::now();
    while held_in("director1") < HELD as usize {
        assert!(waited.elapsed() < Duration::from_secs(20), "the held connections never opened");
        std::thread::sleep(Duration::from_millis(100));
    }
    if sync {
        while held_in("director2") < HELD as usize {
            assert!(
                waited.elapsed() < Duration::from_secs(20),
                "director2 never received the held connections by sync"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    } else {
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(held_in("director2"), 0, "director2 has connections without sync");
    }
    eprintln!(
        "held connections established on director1{} {:.2} s after traffic started",
        if sync { " and synchronised to director2" } else { "" },
        waited.elapsed().as_secs_f64()
    );
    // New connections across the failover: a steady 20 per second.
    let rate = traffic(&["--rate", "20", "--duration", "6s"]);
    std::thread::sleep(Duration::from_millis(1500));

    let failed_at = Instant::now();
    let said = lvslab_ok(&["set", "ha", how.flag(), "director1"]);
    assert!(said.contains("director2 is MASTER now"), "{said}");
    let set_took = failed_at.elapsed();
    assert_eq!(lvslab::ops::vrrp::master(&spec), Some("director2"));

    // What each director's connection table and each side's ARP cache say
    // after the takeover (read when a figure looks wrong).
    for wait in [1, 3] {
        std::thread::sleep(Duration::from_secs(wait));
        for d in ["director1", "director2"] {
            let read = lvslab::monitor::observe::read_conns(&format!("lvs-ha-{d}"));
            let conns = read.table().map(<[_]>::to_vec).unwrap_or_default();
            let est: Vec<String> = conns
                .iter()
                .filter(|c| c.state == "ESTABLISHED")
                .map(|c| format!("{}->{} {}s", c.client, c.dest, c.expires_s))
                .collect();
            eprintln!(
                "{:.1} s after {}, {d} ESTABLISHED: {est:?}",
                failed_at.elapsed().as_secs_f64(),
                how.flag()
            );
        }
        for host in ["client", "rs1"] {
            let out = Command::new("ip")
                .args(["-n", &format!("lvs-ha-{host}"), "neigh"])
                .output()
                .unwrap();
            eprintln!(
                "{host} neigh: {}",
                String::from_utf8_lossy(&out.stdout).replace('\n', " | ")
            );
        }
    }
    let rate = report(rate);
    let held = report(held);
    stop.store(true, Ordering::Relaxed);
    let probes = probes.join().unwrap();
    // The gap: the longest time between two answered probes across the
    // failure, i.e. how long the VIP did not answer.
    let answered_at: Vec<Instant> =
        probes.iter().filter(|(_, ok)| *ok).map(|(at, _)| *at).collect();
    assert!(
        answered_at.iter().any(|at| *at > failed_at + set_took),
        "the VIP never answered again after the failover"
    );
    let gap = answered_at
        .windows(2)
        .filter(|w| w[1] > failed_at)
        .map(|w| w[1].duration_since(w[0]))
        .max()
        .unwrap_or_default();
    let unanswered = probes.iter().filter(|(at, ok)| !ok && *at >= failed_at).count();
    let sync_word = match how {
        How::Fail if sync => "on",
        How::Fail => "off",
        How::Cut => "on, director1 cut off",
    };
    eprintln!(
        "FIGURE: sync {sync_word}: VIP unreachable for {} ms across the failover (longest time \
         between two answered probes, one every 100 ms; {unanswered} probes unanswered); \
         `set {}` returned after {:.2} s; traffic --rate 20: {} of {} requests failed ({})",
        gap.as_millis(),
        how.flag(),
        set_took.as_secs_f64(),
        failed(&rate),
        rate["requests"],
        rate["errors"],
    );
    let held_ok = held["ok"].as_u64().unwrap();
    eprintln!(
        "FIGURE: sync {}: {held_ok} of {HELD} connections held {HOLD_MS} ms across the failover \
         completed ({})",
        sync_word, held["errors"],
    );
    lvslab_ok(&["down", "ha"]);
    assert!(keepalived_pids().is_empty(), "keepalived runs after down: {:?}", keepalived_pids());
    let netns = String::from_utf8_lossy(
        &Command::new("ip").args(["netns", "list"]).output().unwrap().stdout,
    )
    .into_owned();
    assert!(!netns.contains("lvs-ha-"), "{netns}");
    (held_ok, gap)
}

#[test]
fn the_backup_takes_over_and_sync_keeps_held_connections() {
    common::require_vm();
    let (with_sync, gap) = fail_over(true, How::Fail);
    assert!(gap < Duration::from_secs(5), "the VIP did not answer again within 5 s: {gap:?}");
    let (without_sync, gap) = fail_over(false, How::Fail);
    assert!(gap < Duration::from_secs(5), "the VIP did not answer again within 5 s: {gap:?}");
    eprintln!(
        "FIGURE: held connections that survived the failover: {with_sync}/{HELD} with sync, \
         {without_sync}/{HELD} without"
    );
    assert_eq!(with_sync, u64::from(HELD), "with sync every held connection completes");
    assert!(without_sync < u64::from(HELD), "without sync the held connections cannot all survive");
}

/// director1's cables pulled: no last advert gets out, so director2 takes
/// over only after three missed adverts and its skew (3.6 s after
/// director1's last advert, up to 1 s before the cut), and the
/// connections it has by sync carry on.
#[test]
fn a_director_cut_off_is_replaced_after_three_adverts_and_sync_keeps_held_connections() {
    common::require_vm();
    let (held, gap) = fail_over(true, How::Cut);
    assert_eq!(held, u64::from(HELD), "with sync every held connection completes");
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(8)).contains(&gap),
        "a cut director is replaced after 3 missed adverts (2.6-3.6 s), not {gap:?}"
    );
}

/// Both directors' tables, once they are equal to `want` (keepalived
/// reloads on SIGHUP and applies the new table a moment later).
fn wait_tables(want: &[String], within: Duration) {
    let started = Instant::now();
    loop {
        let tables = [sorted_table("lvs-ha-director1"), sorted_table("lvs-ha-director2")];
        if tables.iter().all(|t| t == want) {
            eprintln!(
                "both tables as wanted {:.2} s after the edit",
                started.elapsed().as_secs_f64()
            );
            return;
        }
        assert!(started.elapsed() < within, "tables {tables:?}, wanted {want:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// rr over rs1, rs2 and rs3, one connection at a time: each answers 10 of
/// 30 (9 to 11: once in about a thousand connections the VM showed rr move
/// on by one decision the answers do not show; see tests/vm_predict.rs).
fn assert_three_way_split() {
    let run = report(traffic(&["--requests", "30", "--concurrency", "1"]));
    assert_eq!(run["ok"], 30, "{run}");
    eprintln!("30 connections: {}", run["by_server"]);
    for rs in ["rs1", "rs2", "rs3"] {
        let answered = run["by_server"][rs].as_u64().unwrap_or(0);
        assert!((9..=11).contains(&answered), "{rs}: {}", run["by_server"]);
    }
}

#[test]
fn a_real_server_added_live_is_balanced_by_either_master() {
    common::require_vm();
    let _down = LabGuard::new("ha");
    lvslab_ok(&["up", "ha"]);
    let preset = lvslab_core::lab::presets::load("ha").unwrap().spec;
    let rules = |spec: &lvslab_core::lab::model::LabSpec| {
        let mut l: Vec<String> =
            lvslab_core::lab::export::rules::from_spec(spec).lines().map(str::to_string).collect();
        l.sort();
        l
    };

    lvslab_ok(&["set", "ha", "--add-rs", "rs3=198.51.100.13:80"]);
    let state = <lvslab::ops::state::LabState as lvslab::ops::state::Stored>::load(
        &lvslab_core::lab::model::LabName::new("ha").unwrap(),
    )
    .unwrap()
    .expect("the lab's record");
    assert_eq!(state.spec.real_servers.len(), 3, "rs3 recorded");
    let with_rs3 = rules(&state.spec);
    assert!(with_rs3.iter().any(|l| l.contains("198.51.100.13:80")), "{with_rs3:?}");
    wait_tables(&with_rs3, Duration::from_secs(10));
    assert_three_way_split();

    lvslab_ok(&["set", "ha", "--fail", "director1"]);
    let spec = &state.spec;
    let started = Instant::now();
    while lvslab::ops::vrrp::master(spec) != Some("director2") {
        assert!(started.elapsed() < Duration::from_secs(10), "director2 never became MASTER");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_three_way_split();

    lvslab_ok(&["set", "ha", "--del-rs", "rs3"]);
    let without = rules(&preset);
    // director1's keepalived is stopped: its table is empty; director2's
    // is the preset's again.
    let started = Instant::now();
    while sorted_table("lvs-ha-director2") != without {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            sorted_table("lvs-ha-director2")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    lvslab_ok(&["set", "ha", "--recover", "director1"]);
    wait_tables(&without, Duration::from_secs(20));
    let netns = String::from_utf8_lossy(
        &Command::new("ip").args(["netns", "list"]).output().unwrap().stdout,
    )
    .into_owned();
    assert!(!netns.contains("lvs-ha-rs3"), "{netns}");
    lvslab_ok(&["down", "ha"]);
}
