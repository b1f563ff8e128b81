//! Bring-up and teardown of a lab: `lvslab up/down` against the equivalent
//! `ip` shell script (the lab's own Plan printed as shell), run side by side
//! in this process on this kernel. Prints figures; asserts nothing about time.
//!
//!     cargo bench --bench lab            (as root)

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{generated_preset, lvslab_ok};
use lvslab::lab::plan::Plan;
use lvslab::lab::presets;

const ROUNDS: usize = 5;

fn main() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the lab benchmark builds namespaces: run it as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let big = generated_preset(dir.path(), "bench64", 64, "rr");
    println!("lab bring-up/teardown, median of {ROUNDS} rounds (dataplane none)");
    println!(
        "{:<22} {:>12} {:>12} {:>12} {:>12} {:>8} {:>8}",
        "lab", "lvslab up", "shell up", "lvslab down", "shell down", "up x", "down x"
    );
    for (label, arg) in [
        ("tutorial (2 RS)", "tutorial".to_string()),
        ("generated (64 RS)", big.display().to_string()),
    ] {
        let spec = presets::load(&arg).unwrap().spec;
        let script = Plan::topology(&spec).to_shell();
        let teardown: String =
            spec.hosts().map(|(h, _)| format!("ip netns del {}\n", spec.netns(h))).collect();
        let (mut up, mut down, mut sh_up, mut sh_down) = (vec![], vec![], vec![], vec![]);
        for _ in 0..ROUNDS {
            up.push(time(|| drop(lvslab_ok(&["up", &arg, "--dataplane", "none"]))));
            down.push(time(|| drop(lvslab_ok(&["down", &spec.name]))));
            sh_up.push(time(|| sh(&script)));
            sh_down.push(time(|| sh(&teardown)));
        }
        let (up, down, sh_up, sh_down) = (median(up), median(down), median(sh_up), median(sh_down));
        println!(
            "{label:<22} {:>10.1}ms {:>10.1}ms {:>10.1}ms {:>10.1}ms {:>7.1}x {:>7.1}x",
            ms(up),
            ms(sh_up),
            ms(down),
            ms(sh_down),
            sh_up.as_secs_f64() / up.as_secs_f64(),
            sh_down.as_secs_f64() / down.as_secs_f64()
        );
    }
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
