//! `lvslab conns` read+parse time for a large connection table. The host
//! has no IPVS, so the table is synthetic text in the kernel's format
//! (`monitor::conns::synthetic_text`), written to tmpfs and read back from
//! there, then parsed and turned into the named, counted table that
//! `conns` prints. Figures are printed, not asserted.
//!
//! `cargo bench --bench conns` (add `--profile dev` to time the debug build).

use std::time::{Duration, Instant};

use lvslab::ipvs::conns::parse;
use lvslab::lab::presets;
use lvslab::monitor::conns::{synthetic_text, table};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
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
            let conns = parse(&text).unwrap();
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
