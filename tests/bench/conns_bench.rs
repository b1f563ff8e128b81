//! `lvslab conns` read+parse time for a large connection table. The host
//! has no IPVS, so the table is synthetic text in the kernel's format
//! (`monitor::conns::synthetic_text`), written to tmpfs and read back from
//! there, then parsed and turned into the named, counted table that
//! `conns` prints. Figures are printed, not asserted.
//!
//! `cargo bench --bench conns` (add `--profile dev` to time the debug build).
//!
//! On a real table (in the VM, after `cargo bench --bench conns --no-run`
//! and `cargo build --release`): `tests/vm/run -- tests/bench/conns-vm`
//! fills the `clients` lab's table with 10,000 real connections and runs this
//! bench inside the director's namespace with `LVSLAB_CONNS_BENCH_LAB=clients`.
//! It then also times, on that table, the in-process read of
//! /proc/net/ip_vs_conn, and the whole commands `ipvsadm -Lnc` and
//! `lvslab conns LAB` (the binary in `LVSLAB_BIN`), and prints their ratio.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lvslab::monitor::conns::{synthetic_text, table};
use lvslab_core::lab::presets;
use lvslab_ipvs::conns::parse;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Wall time of one run of a command, its output discarded.
fn time_command(program: &str, args: &[&str]) -> Duration {
    let t0 = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
    t0.elapsed()
}

/// The real connection table of lab `lab`, read in this process's network
/// namespace (the director's: the driver runs us under `ip netns exec`).
fn real_table(lab: &str) {
    let name = lvslab_core::lab::model::LabName::parse(lab).unwrap();
    let spec = <lvslab::ops::state::LabState as lvslab::ops::state::Stored>::load(&name)
        .unwrap()
        .unwrap_or_else(|| panic!("no lab '{lab}' is running"))
        .spec;
    let path = "/proc/net/ip_vs_conn";
    let runs = 7;
    let (mut read, mut parsed, mut built, mut entries) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let t0 = Instant::now();
        let text = std::fs::read_to_string(path).unwrap();
        let t1 = Instant::now();
        let conns = parse(&text).conns;
        let t2 = Instant::now();
        let t = table(&spec, &conns, None);
        let t3 = Instant::now();
        entries = t.total;
        read.push(t1 - t0);
        parsed.push(t2 - t1);
        built.push(t3 - t2);
    }
    let (r, p, b) = (median(read), median(parsed), median(built));
    println!(
        "real table of lab {lab}: {entries} connections: read {r:.2?}  parse {p:.2?}  table {b:.2?}  \
         total {:.2?}  (median of {runs})",
        r + p + b
    );
    let lvslab = std::env::var("LVSLAB_BIN").expect("LVSLAB_BIN: the lvslab binary to time");
    // Interleaved, so that both see the same table while its oldest
    // connections leave it (TIME_WAIT ends 2 minutes after the last packet).
    let (mut theirs, mut ours, mut ours_json) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        theirs.push(time_command("ipvsadm", &["-Lnc"]));
        ours.push(time_command(&lvslab, &["conns", lab]));
        ours_json.push(time_command(&lvslab, &["conns", lab, "--json"]));
    }
    let left = parse(&std::fs::read_to_string(path).unwrap()).conns.len();
    let (theirs, ours, ours_json) = (median(theirs), median(ours), median(ours_json));
    let ratio = |d: Duration| d.as_secs_f64() / theirs.as_secs_f64();
    println!(
        "  whole commands, median of {runs}, interleaved ({left} connections left at the end):"
    );
    println!("  ipvsadm -Lnc        {theirs:>10.2?}");
    println!("  lvslab conns        {ours:>10.2?}  ({:.2}x ipvsadm -Lnc)", ratio(ours));
    println!("  lvslab conns --json {ours_json:>10.2?}  ({:.2}x ipvsadm -Lnc)", ratio(ours_json));
}

fn main() {
    if let Ok(lab) = std::env::var("LVSLAB_CONNS_BENCH_LAB") {
        real_table(&lab);
        return;
    }
    let spec = presets::load("tutorial").unwrap().spec;
    let dir = tempfile::Builder::new().prefix("lvslab-conns-bench").tempdir_in("/dev/shm").unwrap();
    for n in [1_000usize, 10_000, 100_000] {
        let text = synthetic_text(n, 50, 2);
        let path = dir.path().join(format!("ip_vs_conn-{n}"));
        std::fs::write(&path, &text).unwrap();
        let runs = if n >= 100_000 { 5 } else { 21 };
        let (mut read, mut parsed, mut built) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t0 = Instant::now();
            let text = std::fs::read_to_string(&path).unwrap();
            let t1 = Instant::now();
            let conns = parse(&text).conns;
            let t2 = Instant::now();
            let t = table(&spec, &conns, None);
            let t3 = Instant::now();
            assert_eq!(t.total as usize, n);
            read.push(t1 - t0);
            parsed.push(t2 - t1);
            built.push(t3 - t2);
        }
        let (r, p, b) = (median(read), median(parsed), median(built));
        println!(
            "conns {n:>7} entries ({:>5} KiB): read {:>8.2?}  parse {:>8.2?}  table {:>8.2?}  total {:>8.2?}  (median of {runs})",
            text.len() / 1024,
            r,
            p,
            b,
            r + p + b
        );
    }
}
