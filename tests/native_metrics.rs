//! `lvslab metrics` on this machine's kernel (no IPVS, so the nftables
//! dataplane): after the tutorial's traffic, one scrape passes `promtool
//! check metrics`, has no node_ipvs_* series (there is no IPVS to read),
//! and its per real server counters are the wrr 3:2 split exactly as the
//! traffic report counted the answers; the served endpoint says the same,
//! and a non-loopback address is refused. Run with `--features
//! root-tests`; without root it fails, never skips. The IPVS side, beside
//! node_exporter itself, runs in the VM (tests/vm_metrics.rs).

mod common;

use common::lab::{LabGuard, renamed_preset};
use common::prom::{self, Endpoint};
use common::{lvslab, lvslab_ok, require_no_ipvs, require_root};
use serde_json::Value;

#[test]
fn an_nft_labs_scrape_passes_promtool_and_counts_the_wrr_split_as_the_traffic_report() {
    require_root();
    require_no_ipvs();
    let lab = "metricsnft";
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", lab);
    let _guard = LabGuard::new(lab);
    lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "nft"]);

    let report: Value =
        serde_json::from_slice(&lvslab_ok(&["traffic", lab, "--json"]).stdout).unwrap();
    assert_eq!(
        (report["ok"].as_u64(), report["requests"].as_u64()),
        (Some(1000), Some(1000)),
        "{report}"
    );
    let answered: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(report["by_server"].clone()).unwrap();
    assert_eq!(answered.values().copied().collect::<Vec<_>>(), [600, 400], "wrr 3:2: {report}");

    let once = lvslab_ok(&["metrics", lab, "--once"]);
    let text = String::from_utf8(once.stdout).unwrap();
    prom::promtool_check(&text);
    let all = prom::samples(&text);
    assert!(!all.iter().any(|s| s.name.starts_with("node_ipvs_")), "no IPVS here:\n{text}");
    assert_eq!(
        prom::connections_by_server(&all),
        answered,
        "lvslab's counters vs the report:\n{text}"
    );
    assert_eq!(prom::value_where(&all, "lvslab_scrape_success", "source", "nft_counters"), [1.0]);
    // Packets both ways per server: at least the handshake, request and answer.
    for name in ["lvslab_backend_incoming_packets_total", "lvslab_backend_outgoing_packets_total"] {
        let rs1 = prom::value_where(&all, name, "remote_address", "198.51.100.11");
        assert!(rs1.len() == 1 && rs1[0] >= 3.0 * 600.0, "{name}: {rs1:?}\n{text}");
    }

    // The endpoint serves the same figures, and only at /metrics.
    let endpoint = Endpoint::start(lab);
    let (status, body) = endpoint.get("/metrics");
    assert!(status.contains("200"), "{status}");
    assert_eq!(prom::connections_by_server(&prom::samples(&body)), answered);
    assert!(endpoint.get("/").0.contains("404"));

    let refused = lvslab().args(["metrics", lab, "--listen", "0.0.0.0:9898"]).output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("--allow-non-loopback"), "{said}");
}
