//! The scheduler tour (labs/tour-*.toml) on a kernel with IPVS (run inside
//! the VM by tests/vm/suite): each preset brings its lab up, its own
//! `[traffic]` profile runs, and what its description promises is checked
//! twice, in `lvslab traffic --json`'s per-server counts and by `ipvsadm` in
//! the director's namespace (Conns of `-Ln --stats`; ActiveConn of `-Ln`
//! while connections are held). They fail, never skip, outside the VM.
//!
//! The held-connection presets open one connection at a time (4 a second)
//! so that each is established, and counted as active, before the next is
//! scheduled: a new NAT connection is inactive until the handshake ends,
//! and sed, nq, lblc and lblcr look at active connections only.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::lab::LabGuard;
use common::{lvslab, lvslab_ok};

/// Connections per real server name (every server of the lab, 0 included).
type Counts = BTreeMap<String, u64>;

/// A tour lab, removed when the test ends, even by a failure.
struct Lab {
    name: &'static str,
    servers: &'static [&'static str],
    _guard: LabGuard,
}

impl Lab {
    fn up(name: &'static str, servers: &'static [&'static str]) -> Self {
        common::require_vm();
        let _guard = LabGuard::fresh(name);
        let start = Instant::now();
        lvslab_ok(&["up", &format!("labs/tour-{name}.toml")]);
        eprintln!("{name}: up in {:.1} s", start.elapsed().as_secs_f64());
        Self { name, servers, _guard }
    }

    fn ipvsadm(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &format!("lvs-{}-director", self.name), "ipvsadm"])
            .args(args)
            .output()
            .expect("run ipvsadm");
        assert!(out.status.success(), "ipvsadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `lvslab traffic LAB --json ARGS`: the report, and its per-server counts.
    fn traffic(&self, args: &[&str]) -> (Value, Counts) {
        let report = traffic_json(self.name, args);
        let counts = self.counts(|rs| report["by_server"][rs].as_u64().unwrap_or(0));
        (report, counts)
    }

    fn counts(&self, of: impl Fn(&str) -> u64) -> Counts {
        self.servers.iter().map(|rs| (rs.to_string(), of(rs))).collect()
    }

    /// Per service (in ipvsadm's order), the Conns of each real server from
    /// `ipvsadm -Ln --stats`, once the kernel's estimator (about every 2 s)
    /// has counted `expected_total` connections over all services.
    fn ipvsadm_conns(&self, expected_total: u64) -> Vec<Counts> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let services = per_service(&self.ipvsadm(&["-Ln", "--stats"]), 1);
            let total: u64 = services.iter().flat_map(|s| s.values()).sum();
            if total >= expected_total || Instant::now() > deadline {
                return services.into_iter().map(|s| self.counts(|rs| s[rs])).collect();
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Runs the preset's held-connection profile while sampling `ipvsadm
    /// -Ln`; returns the report, its counts, and the ActiveConn per server of
    /// the first sample with all `held` connections open (else the fullest).
    fn traffic_held(&self, held: u64) -> (Value, Counts, Counts) {
        let name = self.name;
        let run = std::thread::spawn(move || traffic_json(name, &[]));
        let mut fullest = Counts::new();
        while !run.is_finished() {
            let active = &per_service(&self.ipvsadm(&["-Ln"]), 3)[0];
            if active.values().sum::<u64>() > fullest.values().sum() {
                fullest = self.counts(|rs| active[rs]);
            }
            if fullest.values().sum::<u64>() == held {
                break;
            }
        }
        let report = run.join().unwrap();
        let counts = self.counts(|rs| report["by_server"][rs].as_u64().unwrap_or(0));
        (report, counts, fullest)
    }
}

fn traffic_json(lab: &str, args: &[&str]) -> Value {
    let out = lvslab().args(["traffic", lab, "--json"]).args(args).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("traffic: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["ok"], report["requests"], "every request answered: {report}");
    report
}

/// Parses `ipvsadm -Ln` (`column` 3: ActiveConn) or `-Ln --stats` (`column`
/// 1: Conns): per service, the value per real server, named rsN after the
/// address 198.51.100.1N of every tour preset.
fn per_service(text: &str, column: usize) -> Vec<BTreeMap<String, u64>> {
    let mut services: Vec<BTreeMap<String, u64>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("TCP") {
            services.push(BTreeMap::new());
        } else if let Some(row) = line.trim().strip_prefix("-> 198.51.100.1") {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let n = fields[0].split(':').next().unwrap();
            let value = fields[column].parse().unwrap();
            services.last_mut().expect("a service above").insert(format!("rs{n}"), value);
        }
    }
    services
}

fn counts(pairs: &[(&str, u64)]) -> Counts {
    pairs.iter().map(|(rs, n)| (rs.to_string(), *n)).collect()
}

#[test]
fn rr_gives_every_server_the_same_share_whatever_its_weight() {
    let lab = Lab::up("rr", &["rs1", "rs2", "rs3"]);
    let expected = counts(&[("rs1", 20), ("rs2", 20), ("rs3", 20)]);
    let (_, by_server) = lab.traffic(&[]);
    assert_eq!(by_server, expected, "weights 1, 2, 3 do not count under rr");
    assert_eq!(lab.ipvsadm_conns(60), [expected]);
}

#[test]
fn wrr_splits_exactly_in_the_ratio_of_the_weights() {
    let lab = Lab::up("wrr", &["rs1", "rs2", "rs3"]);
    let expected = counts(&[("rs1", 10), ("rs2", 20), ("rs3", 30)]);
    let (_, by_server) = lab.traffic(&[]);
    assert_eq!(by_server, expected);
    assert_eq!(lab.ipvsadm_conns(60), [expected]);
}

#[test]
fn sh_sends_every_connection_of_one_client_to_one_server_where_rr_splits() {
    let lab = Lab::up("sh", &["rs1", "rs2", "rs3"]);
    let (_, by_server) = lab.traffic(&[]);
    // Which server depends on the kernel's hash of 192.0.2.2; that it is
    // one server, and always the same, is what sh promises.
    let busy: Vec<&String> = by_server.iter().filter(|(_, n)| **n > 0).map(|(rs, _)| rs).collect();
    assert!(busy.len() == 1 && by_server[busy[0]] == 30, "one server takes all: {by_server:?}");
    assert_eq!(lab.ipvsadm_conns(30), std::slice::from_ref(&by_server));

    // The same client under rr: the stickiness was sh's doing.
    lvslab_ok(&["set", "sh", "--scheduler", "rr"]);
    let (_, rr) = lab.traffic(&[]);
    assert_eq!(rr, counts(&[("rs1", 10), ("rs2", 10), ("rs3", 10)]));
}

#[test]
fn dh_sends_each_vip_to_its_own_server() {
    let lab = Lab::up("dh", &["rs1", "rs2"]);
    let (_, first) = lab.traffic(&[]);
    let (_, second) = lab.traffic(&["--to", "192.0.2.6:80"]);
    let only = |c: &Counts| {
        let busy: Vec<&String> = c.iter().filter(|(_, n)| **n > 0).map(|(rs, _)| rs).collect();
        assert!(busy.len() == 1 && c[busy[0]] == 20, "one server takes a VIP's 20: {c:?}");
        busy[0].clone()
    };
    // 192.0.2.1 and 192.0.2.6 hash to buckets of different parity, and dh
    // deals its table's buckets to the two servers alternately.
    assert_ne!(only(&first), only(&second), "the two VIPs land on different servers");
    // ipvsadm lists the services by VIP: 192.0.2.1 first.
    assert_eq!(lab.ipvsadm_conns(40), [first, second]);
}

#[test]
fn lc_levels_held_connections_whatever_the_weights_where_wlc_follows_them() {
    let lab = Lab::up("lc", &["rs1", "rs2"]);
    let (_, by_server, active) = lab.traffic_held(8);
    let level = counts(&[("rs1", 4), ("rs2", 4)]);
    assert_eq!(by_server, level, "weights 1 and 3 do not count under lc");
    assert_eq!(active, level, "ActiveConn while the 8 are held");
    assert_eq!(lab.ipvsadm_conns(8), [level]);

    // wlc divides by the weight: rs2 (weight 3) holds three times as many.
    lvslab_ok(&["set", "lc", "--scheduler", "wlc"]);
    let (_, wlc, active) = lab.traffic_held(8);
    assert_eq!(wlc, counts(&[("rs1", 2), ("rs2", 6)]));
    assert_eq!(active, wlc);
}

#[test]
fn sed_leaves_the_small_server_idle_for_the_first_four() {
    let lab = Lab::up("sed", &["rs1", "rs2"]);
    let (_, by_server, active) = lab.traffic_held(4);
    let expected = counts(&[("rs1", 0), ("rs2", 4)]);
    assert_eq!(by_server, expected, "(n+1)/4 < 1/1 for n up to 3: rs2 all along");
    assert_eq!(active, expected);
    assert_eq!(lab.ipvsadm_conns(4), [expected]);
}

#[test]
fn nq_gives_an_idle_server_the_next_connection_whatever_its_weight() {
    let lab = Lab::up("nq", &["rs1", "rs2"]);
    let (_, by_server, active) = lab.traffic_held(4);
    let expected = counts(&[("rs1", 1), ("rs2", 3)]);
    assert_eq!(by_server, expected, "idle rs1 gets one, the rest follow sed");
    assert_eq!(active, expected);
    assert_eq!(lab.ipvsadm_conns(4), [expected]);
}

#[test]
fn lblc_moves_an_overloaded_destination_to_another_server_for_good() {
    let lab = Lab::up("lblc", &["rs1", "rs2"]);
    let (_, by_server, active) = lab.traffic_held(10);
    // rs2 (the kernel's first) takes 3; the 4th finds it over its weight
    // of 2 with rs1 idle, and the VIP moves to rs1, which keeps it.
    let expected = counts(&[("rs1", 7), ("rs2", 3)]);
    assert_eq!(by_server, expected);
    assert_eq!(active, expected);
    assert_eq!(lab.ipvsadm_conns(10), [expected]);

    // Short connections afterwards: the VIP stays on rs1.
    let (_, short) = lab.traffic(&["--hold", "0", "--concurrency", "1"]);
    assert_eq!(short, counts(&[("rs1", 10), ("rs2", 0)]));
}

#[test]
fn lblcr_replicates_an_overloaded_destination_and_keeps_both_servers() {
    let lab = Lab::up("lblcr", &["rs1", "rs2"]);
    let (_, by_server, active) = lab.traffic_held(10);
    // rs2 takes 3, then rs1 joins the VIP's set and the least loaded member
    // of the set takes each next one.
    let expected = counts(&[("rs1", 5), ("rs2", 5)]);
    assert_eq!(by_server, expected);
    assert_eq!(active, expected);
    assert_eq!(lab.ipvsadm_conns(10), [expected]);

    // Short connections afterwards still use both members of the set. The
    // exact split depends on which earlier connections have closed when
    // each is placed (the set picks by open + closing connections), so
    // only that both serve is asserted.
    let (_, short) = lab.traffic(&["--hold", "0", "--concurrency", "1"]);
    assert!(short["rs1"] >= 3 && short["rs2"] >= 3, "both members serve the VIP: {short:?}");
}
