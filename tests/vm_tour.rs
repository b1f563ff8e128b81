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

/// All `n` connections on `busy`, none on the lab's other `servers`.
fn only(servers: &[&str], busy: &str, n: u64) -> Counts {
    servers.iter().map(|rs| (rs.to_string(), if *rs == busy { n } else { 0 })).collect()
}

#[test]
fn fo_sends_everything_to_the_highest_weight_and_moves_when_it_is_drained_or_gone() {
    let servers = &["rs1", "rs2", "rs3"];
    let lab = Lab::up("fo", servers);
    let (_, by_server) = lab.traffic(&[]);
    assert_eq!(by_server, only(servers, "rs2", 20), "weights 1, 3, 2: rs2 takes all");
    assert_eq!(lab.ipvsadm_conns(20), [by_server]);

    // Drained (weight 0): the next weight down takes all.
    lvslab_ok(&["set", "fo", "--drain", "rs2"]);
    let (_, drained) = lab.traffic(&[]);
    assert_eq!(drained, only(servers, "rs3", 20), "rs2 drained: rs3 (weight 2) takes all");
    let conns = counts(&[("rs1", 0), ("rs2", 20), ("rs3", 20)]);
    assert_eq!(lab.ipvsadm_conns(40), [conns]);

    // Removed: the last one left with a weight takes all.
    lvslab_ok(&["set", "fo", "--del-rs", "rs3"]);
    let (_, removed) = lab.traffic(&[]);
    assert_eq!(removed, only(servers, "rs1", 20), "rs3 gone, rs2 drained: rs1 takes all");
    let deadline = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = per_service(&lab.ipvsadm(&["-Ln", "--stats"]), 1).remove(0);
        if rows.get("rs1") == Some(&20) || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(rows, counts(&[("rs1", 20), ("rs2", 20)]), "ipvsadm: rs3's row is gone");
}

#[test]
fn ovf_fills_the_highest_weight_past_its_weight_then_overflows() {
    let lab = Lab::up("ovf", &["rs1", "rs2"]);
    let (_, by_server, active) = lab.traffic_held(8);
    // The kernel passes a server over once active > weight: rs2 (weight 4)
    // takes 5, then rs1 (weight 2) the other 3.
    let expected = counts(&[("rs1", 3), ("rs2", 5)]);
    assert_eq!(by_server, expected);
    assert_eq!(active, expected, "ActiveConn while the 8 are held");
    assert_eq!(lab.ipvsadm_conns(8), [expected]);

    // Short connections one at a time never fill rs2.
    let (_, short) = lab.traffic(&["--hold", "0", "--concurrency", "1"]);
    assert_eq!(short, counts(&[("rs1", 0), ("rs2", 8)]));
}

/// The scheduler and its flags of each TCP service in `ipvsadm -Ln`, by
/// port: `mh (mh-port)` is ("mh", ["mh-port"]).
fn ipvsadm_schedulers(text: &str) -> BTreeMap<u16, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("TCP")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port = fields[1].rsplit(':').next().unwrap().parse().unwrap();
        let flags = match fields.get(3) {
            Some(f) if f.starts_with('(') => {
                f.trim_matches(|c| c == '(' || c == ')').split(',').map(String::from).collect()
            }
            _ => Vec::new(),
        };
        out.insert(port, (fields[2].to_string(), flags));
    }
    out
}

/// The same from `lvslab status --json`.
fn status_schedulers(lab: &str) -> BTreeMap<u16, (String, Vec<String>)> {
    let status = common::lab::status_json(lab);
    let services = status["services"].as_array().unwrap();
    let flags = |s: &Value| -> Vec<String> {
        let names = s["scheduler_flags"].as_array().unwrap();
        names.iter().map(|f| f.as_str().unwrap().to_string()).collect()
    };
    services
        .iter()
        .map(|s| {
            let port = s["port"].as_u64().unwrap() as u16;
            (port, (s["scheduler"].as_str().unwrap().to_string(), flags(s)))
        })
        .collect()
}

/// Which servers each client reached, from a `--clients` report.
fn servers_per_client(report: &Value) -> BTreeMap<String, Vec<String>> {
    let by_client = report["by_client"].as_object().unwrap();
    by_client
        .iter()
        .map(|(c, servers)| (c.clone(), servers.as_object().unwrap().keys().cloned().collect()))
        .collect()
}

#[test]
fn mh_keeps_each_client_on_one_server_and_mh_port_spreads_one_client() {
    let servers = &["rs1", "rs2", "rs3"];
    let lab = Lab::up("mh", servers);
    let schedulers = |flags: &[&str]| {
        let f: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        (String::from("mh"), f)
    };
    let table = ipvsadm_schedulers(&lab.ipvsadm(&["-Ln"]));
    let want = BTreeMap::from([(80, schedulers(&[])), (8080, schedulers(&["mh-port"]))]);
    assert_eq!(table, want, "ipvsadm -Ln shows the preset's flags");
    assert_eq!(status_schedulers("mh"), table, "lvslab status says what ipvsadm says");

    // Port 80: 20 clients, 5 connections each, each client on one server.
    let (report, by_server) = lab.traffic(&["--clients", "20", "--requests", "100"]);
    let per_client = servers_per_client(&report);
    assert_eq!(per_client.len(), 20, "{report:#}");
    for (client, reached) in &per_client {
        assert_eq!(reached.len(), 1, "client {client} reached {reached:?}: mh keeps it on one");
    }
    let mut clients = Counts::new();
    for reached in per_client.values() {
        *clients.entry(reached[0].clone()).or_insert(0) += 1;
    }
    eprintln!("mh: clients per server {clients:?}, connections {by_server:?}");
    assert_eq!(clients.len(), 3, "the 20 clients spread over all three: {clients:?}");
    assert_eq!(lab.ipvsadm_conns(100)[0], by_server);

    // Port 8080 (mh-port): one client's 30 connections spread over all three.
    let (_, spread) = lab.traffic(&["--to", "192.0.2.1:8080", "--requests", "30"]);
    eprintln!("mh-port: one client's 30 connections {spread:?}");
    assert!(spread.values().all(|n| *n > 0), "every server serves the one client: {spread:?}");

    // The flags are the kernel's: cleared by set, the client sticks again.
    lvslab_ok(&["set", "mh", "--scheduler-flags", "none"]);
    let table = ipvsadm_schedulers(&lab.ipvsadm(&["-Ln"]));
    assert_eq!(table, BTreeMap::from([(80, schedulers(&[])), (8080, schedulers(&[]))]));
    assert_eq!(status_schedulers("mh"), table);
    let (_, sticky) = lab.traffic(&["--to", "192.0.2.1:8080", "--requests", "30"]);
    assert_eq!(sticky.values().filter(|n| **n > 0).count(), 1, "no mh-port: {sticky:?}");

    // Both flags on every service; a scheduler that reads none drops them.
    lvslab_ok(&["set", "mh", "--scheduler-flags", "mh-fallback,mh-port"]);
    let both = schedulers(&["mh-fallback", "mh-port"]);
    let table = ipvsadm_schedulers(&lab.ipvsadm(&["-Ln"]));
    assert_eq!(table, BTreeMap::from([(80, both.clone()), (8080, both)]));
    assert_eq!(status_schedulers("mh"), table);
    let out = lvslab_ok(&["set", "mh", "--scheduler", "wrr"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("flags mh-fallback,mh-port dropped"), "{said}");
    let table = ipvsadm_schedulers(&lab.ipvsadm(&["-Ln"]));
    let wrr = (String::from("wrr"), Vec::new());
    assert_eq!(table, BTreeMap::from([(80, wrr.clone()), (8080, wrr)]));
    assert_eq!(status_schedulers("mh"), table);
    let out = lvslab().args(["set", "mh", "--scheduler-flags", "mh-port"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("--scheduler mh --scheduler-flags mh-port"),
        "{said}"
    );
}

/// Whether this kernel runs twos, asked of ipvsadm in a scratch namespace.
fn ipvsadm_runs_twos() -> bool {
    let ns = "lvstest-twos";
    let ip = |args: &[&str]| Command::new("ip").args(args).status().unwrap();
    assert!(ip(&["netns", "add", ns]).success());
    let added = Command::new("ip")
        .args(["netns", "exec", ns, "ipvsadm", "-A", "-t", "192.0.2.1:80", "-s", "twos"])
        .output()
        .unwrap();
    ip(&["netns", "del", ns]);
    eprintln!("ipvsadm -A ... -s twos: {}", String::from_utf8_lossy(&added.stderr).trim());
    added.status.success()
}

#[test]
fn twos_is_refused_before_anything_is_built_where_the_kernel_cannot_load_it() {
    common::require_vm();
    let _guard = LabGuard::fresh("twos");
    let dir = tempfile::tempdir().unwrap();
    let preset = common::generated_preset(dir.path(), "twos", 2, "twos");
    let out = lvslab().args(["up", preset.to_str().unwrap()]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    if ipvsadm_runs_twos() {
        assert!(out.status.success(), "this kernel has twos, so up builds the lab: {said}");
        let table = ipvsadm_schedulers(&lab_ipvsadm("twos"));
        assert_eq!(table[&80].0, "twos");
        return;
    }
    assert!(!out.status.success(), "ipvsadm cannot add twos, so neither can up");
    for needed in ["scheduler 'twos' is not in this kernel", "ip_vs_twos", "CONFIG_IP_VS_TWOS"] {
        assert!(said.contains(needed), "{needed:?} in: {said}");
    }
    assert!(said.contains("scheduler = \"wlc\"") && said.contains("Nothing was changed"), "{said}");
    assert_eq!(common::lab::lab_namespaces("twos"), Vec::<String>::new(), "nothing built");
}

fn lab_ipvsadm(lab: &str) -> String {
    let director = format!("lvs-{lab}-director");
    let out = Command::new("ip").args(["netns", "exec", &director, "ipvsadm", "-Ln"]).output();
    String::from_utf8_lossy(&out.unwrap().stdout).into_owned()
}
