//! `lvslab metrics` beside node_exporter on a kernel with IPVS (run inside
//! the VM by tests/vm/suite): Debian's prometheus-node-exporter, run inside
//! the tutorial's director namespace with only its ipvs collector, and
//! lvslab's endpoint are scraped at the same moment after the tutorial's
//! traffic; every node_ipvs_* series agrees (same label sets, same values)
//! and the comparison is printed; promtool passes lvslab's text; the per
//! real server counters are what the traffic report counted. Fails, never
//! skips, outside the VM.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::LabGuard;
use common::prom::{self, Endpoint, Sample};
use common::{lvslab_ok, output_text};
use serde_json::Value;

const LAB: &str = "tutorial";
const DIRECTOR: &str = "lvs-tutorial-director";
/// node_exporter's own port, on the director's loopback.
const NODE_PORT: u16 = 9100;

/// node_exporter in the director's namespace, killed when dropped.
struct NodeExporter(Child);

impl NodeExporter {
    fn start() -> Self {
        let child = Command::new("ip")
            .args(["netns", "exec", DIRECTOR, "prometheus-node-exporter"])
            .arg(format!("--web.listen-address=127.0.0.1:{NODE_PORT}"))
            .args(["--collector.disable-defaults", "--collector.ipvs"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter runs (tests/vm/setup installs it)");
        let node = Self(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while scrape_node().is_err() {
            assert!(Instant::now() < deadline, "node_exporter did not answer in 60 s");
            std::thread::sleep(Duration::from_millis(500));
        }
        node
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// node_exporter's /metrics, fetched from inside the director's namespace.
fn scrape_node() -> Result<String, String> {
    let out = Command::new("ip")
        .args(["netns", "exec", DIRECTOR, "curl", "-sf"])
        .arg(format!("http://127.0.0.1:{NODE_PORT}/metrics"))
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(output_text(&out))
    }
}

fn ipvs_series(text: &str) -> BTreeMap<String, f64> {
    prom::samples(text)
        .into_iter()
        .filter(|s| s.name.starts_with("node_ipvs_"))
        .map(|s: Sample| (s.key(), s.value))
        .collect()
}

/// The two sides, series by series, as the note shows them.
fn table(node: &BTreeMap<String, f64>, ours: &BTreeMap<String, f64>) -> String {
    let keys: std::collections::BTreeSet<&String> = node.keys().chain(ours.keys()).collect();
    let show = |v: Option<&f64>| v.map_or("-".to_string(), |v| format!("{v}"));
    let mut out = "| series | node_exporter | lvslab |\n|---|---:|---:|\n".to_string();
    for k in keys {
        out.push_str(&format!("| `{k}` | {} | {} |\n", show(node.get(k)), show(ours.get(k))));
    }
    out
}

#[test]
fn every_node_ipvs_series_agrees_with_node_exporter_in_the_directors_namespace() {
    common::require_vm();
    let _guard = LabGuard::fresh(LAB);
    lvslab_ok(&["up", LAB]);
    let report: Value =
        serde_json::from_slice(&lvslab_ok(&["traffic", LAB, "--json"]).stdout).unwrap();
    let answered: BTreeMap<String, u64> =
        serde_json::from_value(report["by_server"].clone()).unwrap();
    assert_eq!(report["ok"].as_u64(), Some(1000), "{report}");

    // The files both sides read, as this kernel writes them (the unit
    // tests' fixtures, tests/fixtures/proc/, are copies of these).
    let proc = Command::new("ip")
        .args([
            "netns",
            "exec",
            DIRECTOR,
            "sh",
            "-c",
            "cat /proc/net/ip_vs_stats; echo ---; cat /proc/net/ip_vs",
        ])
        .output()
        .unwrap();
    println!(
        "the director's /proc/net/ip_vs_stats, then ip_vs:\n{}",
        String::from_utf8_lossy(&proc.stdout)
    );
    let _node = NodeExporter::start();
    let endpoint = Endpoint::start(LAB);
    // IPVS's counters come from its estimator, about 2 s late: let them settle.
    std::thread::sleep(Duration::from_secs(3));

    // Both at once; the gauges move as TIME_WAIT entries expire, the counters
    // only every estimator tick, so a mismatch is read again (at most twice).
    let mut attempt = 0;
    let (node, ours, text) = loop {
        attempt += 1;
        let theirs = std::thread::spawn(scrape_node);
        let (status, text) = endpoint.get("/metrics");
        let node_text = theirs.join().unwrap().expect("node_exporter answers");
        assert!(status.contains("200"), "{status}");
        let (node, ours) = (ipvs_series(&node_text), ipvs_series(&text));
        if node == ours || attempt == 3 {
            break (node, ours, text);
        }
        eprintln!("attempt {attempt}: the two differ, reading again:\n{}", table(&node, &ours));
        std::thread::sleep(Duration::from_secs(2));
    };
    println!(
        "node_ipvs_* after `lvslab traffic {LAB}` (1000 connections), attempt {attempt}:\n{}",
        table(&node, &ours)
    );
    assert_eq!(node.len(), 5 + 3 * 2, "5 totals and 3 gauges per real server: {node:?}");
    assert_eq!(node, ours, "every node_ipvs_* series, label set and value");

    prom::promtool_check(&text);
    let all = prom::samples(&text);
    let counted = prom::connections_by_server(&all);
    println!(
        "per real server: traffic report {answered:?}, lvslab_backend_connections_total {counted:?}"
    );
    assert_eq!(counted, answered, "lvslab's per real server counters vs the report");
    let total: u64 = answered.values().sum();
    assert_eq!(
        ours["node_ipvs_connections_total{}"], total as f64,
        "a fresh lab: the namespace's total is the service's"
    );
    for source in ["proc_ip_vs", "ipvs_netlink"] {
        assert_eq!(
            prom::value_where(&all, "lvslab_scrape_success", "source", source),
            [1.0],
            "{source}"
        );
    }

    if std::env::var("LVSLAB_LONG").as_deref() == Ok("1") {
        prometheus_minute(&endpoint.addr);
    } else {
        println!(
            "LVSLAB_LONG is not 1: the minute under a real Prometheus (rate() per backend) is left out"
        );
    }
}

/// A real Prometheus scrapes the endpoint every 5 s while traffic flows for
/// a minute; `rate()` per backend then gives the wrr 3:2 split.
fn prometheus_minute(endpoint: &str) {
    const PORT: u16 = 9090;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: lvslab\n    static_configs:\n      - targets: [\"{endpoint}\"]\n"
        ),
    )
    .unwrap();
    let out = Command::new("promtool").arg("check").arg("config").arg(&config).output().unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let mut prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{PORT}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus runs (Debian package prometheus)");
    let query = |q: &str| -> Value {
        let out = Command::new("curl")
            .args(["-sfG", &format!("http://127.0.0.1:{PORT}/api/v1/query"), "--data-urlencode"])
            .arg(format!("query={q}"))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while query("up")["data"]["result"][0]["value"][1] != "1" {
        assert!(Instant::now() < deadline, "Prometheus did not scrape lvslab in 90 s");
        std::thread::sleep(Duration::from_secs(1));
    }
    // Gently: Prometheus under TCG leaves the VM little time, and at 20/s
    // some connections timed out. Who answered does not matter here: the
    // rates are of the connections IPVS scheduled.
    let out = common::lvslab()
        .args(["traffic", LAB, "--duration", "60s", "--rate", "5"])
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
    std::thread::sleep(Duration::from_secs(7));
    let rates = query("sum by (remote_address) (rate(lvslab_backend_connections_total[1m]))");
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    let by: BTreeMap<String, f64> = rates["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{rates}"))
        .iter()
        .map(|r| {
            let addr = r["metric"]["remote_address"].as_str().unwrap().to_string();
            (addr, r["value"][1].as_str().unwrap().parse().unwrap())
        })
        .collect();
    println!(
        "Prometheus, rate(lvslab_backend_connections_total[1m]) per backend after a minute at 5/s: {by:?}"
    );
    let (rs1, rs2) = (by["198.51.100.11"], by["198.51.100.12"]);
    assert!(rs2 > 0.0 && ((rs1 / rs2) - 1.5).abs() < 0.15, "wrr 3:2 as rates: {by:?}");
}
