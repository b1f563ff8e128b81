//! Bring-up and teardown of a lab's topology: the lab's Plan executed over
//! netlink against the same Plan printed as an `ip` script, side by side in
//! this process on this kernel; then the whole `lvslab up/down` (with the
//! real servers' processes) for reference. Prints figures; asserts nothing.
//!
//!     cargo bench --bench lab            (as root)

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{generated_preset, lvslab_ok};
use lvslab::ops::build::Builder;
use lvslab_core::lab::plan::Plan;
use lvslab_core::lab::presets;
use lvslab_sys::netns;

const ROUNDS: usize = 5;

fn main() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the lab benchmark builds namespaces: run it as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let big = generated_preset(dir.path(), "bench64", 64, "rr");
    let labs = [
        ("tutorial (2 RS)", "tutorial".to_string()),
        ("generated (64 RS)", big.display().to_string()),
    ];

    println!(
        "topology: the lab's Plan over netlink vs the same Plan as an `ip` script (median of {ROUNDS})"
    );
    println!(
        "{:<20} {:>11} {:>11} {:>7} {:>11} {:>11} {:>7}",
        "lab", "lvslab up", "shell up", "ratio", "lvslab del", "shell del", "ratio"
    );
    for (label, arg) in &labs {
        let spec = presets::load(arg).unwrap().spec;
        let plan = Plan::topology(&spec);
        let script = plan.to_shell();
        let names: Vec<String> = spec.hosts().map(|(h, _)| spec.netns(h)).collect();
        let teardown: String = names.iter().map(|ns| format!("ip netns del {ns}\n")).collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (mut up, mut down, mut sh_up, mut sh_down) = (vec![], vec![], vec![], vec![]);
        for _ in 0..ROUNDS {
            up.push(time(|| {
                runtime.block_on(async { Builder::new().run(&plan, |_, _, _| {}).await.unwrap() })
            }));
            down.push(time(|| names.iter().for_each(|ns| netns::delete(ns).unwrap())));
            sh_up.push(time(|| sh(&script)));
            sh_down.push(time(|| sh(&teardown)));
        }
        row(label, median(up), median(sh_up), median(down), median(sh_down));
    }

    println!(
        "\nwhole lab with `lvslab up/down --dataplane none` (adds the record and one HTTP server process per real server; the script starts none)"
    );
    println!("{:<20} {:>11} {:>11}", "lab", "lvslab up", "lvslab down");
    for (label, arg) in &labs {
        let name = presets::load(arg).unwrap().spec.name;
        let (mut up, mut down) = (vec![], vec![]);
        for _ in 0..ROUNDS {
            up.push(time(|| drop(lvslab_ok(&["up", arg, "--dataplane", "none"]))));
            down.push(time(|| drop(lvslab_ok(&["down", &name]))));
        }
        println!("{label:<20} {:>9.1}ms {:>9.1}ms", ms(median(up)), ms(median(down)));
    }
}

fn row(label: &str, up: Duration, sh_up: Duration, down: Duration, sh_down: Duration) {
    println!(
        "{label:<20} {:>9.1}ms {:>9.1}ms {:>6.1}x {:>9.1}ms {:>9.1}ms {:>6.1}x",
        ms(up),
        ms(sh_up),
        sh_up.as_secs_f64() / up.as_secs_f64(),
        ms(down),
        ms(sh_down),
        sh_down.as_secs_f64() / down.as_secs_f64()
    );
}

fn sh(script: &str) {
    let status = Command::new("sh").arg("-c").arg(script).status().unwrap();
    assert!(status.success(), "shell script failed");
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
