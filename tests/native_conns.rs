//! `lvslab conns` on this machine's kernel, which has no IPVS: what a user
//! is told instead of a table on a lab that balances nothing (nftables'
//! table: native_nft.rs). Run with `--features root-tests`; without
//! root they fail, they never skip. Each test works in a private /run (see
//! common/sandbox.rs), so its lab cannot meet another test's.

mod common;

use common::sandbox::{self, Sandbox};
use common::{output_text, require_root};

#[test]
fn conns_explains_a_lab_without_ipvs_and_an_unknown_server() {
    require_root();
    let sandbox = Sandbox::new();
    // A name of its own: the process table is shared, and the cleanup below
    // must never meet another test's `tutorial`.
    let dir = tempfile::tempdir().unwrap();
    let preset = common::generated_preset(dir.path(), "connsnat", 2, "wrr");
    let up = sandbox.lvslab(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
    assert!(up.status.success(), "up: {}", output_text(&up));

    let out = sandbox.lvslab(&["conns", "connsnat"]);
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("balances nothing (dataplane none)")
            && output_text(&out).contains("no connection table"),
        "{}",
        output_text(&out)
    );
    let out = sandbox.lvslab(&["conns", "connsnat", "--server", "rs9"]);
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("no real server 'rs9'")
            && output_text(&out).contains("rs1, rs2"),
        "{}",
        output_text(&out)
    );
    let out = sandbox.lvslab(&["conns", "nolab"]);
    assert!(!out.status.success());
    assert!(output_text(&out).contains("no lab 'nolab' is running"), "{}", output_text(&out));

    let down = sandbox.lvslab(&["down", "connsnat"]);
    assert!(down.status.success(), "down: {}", output_text(&down));
    sandbox::kill_servers("connsnat");
}
