//! The limits of issue "trust" (4), measured: import, check and export of
//! large labs (linear: 4,096 and 16,384 real servers; 64,000 refused at
//! the cap), and the peak resident memory a 20 MB keepalived.conf import
//! adds, as a multiple of the file's size; and how fast, and in how much
//! memory, inputs past the 16 MiB input cap are refused. Each figure is
//! printed beside the bar for it (`of limit`: the figure as a
//! share of the bar, under 100% passes). Prints figures; asserts nothing.
//!
//!     cargo bench --bench limits
//!
//! The bars: a 4,096-real-server rules file imports in under 1 s;
//! a keepalived.conf import adds at most 10x the file's size in peak
//! resident memory (on a 20 MB file); oversized inputs are refused
//! quickly (we take 1 s) within bounded memory (we take twice the cap:
//! a stream's reader holds the cap and one byte before it knows).
//!
//! Each memory figure comes from a child process of its own (the peak of
//! a process never goes down): its peak (VmHWM) once it has read the file,
//! and after the import.

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::time::Instant;

use lvslab_core::lab::export::{keepalived, shell, toml};
use lvslab_core::lab::{import, validate};

const CHILD: &str = "LVSLAB_LIMITS_BENCH_CHILD";
const FILE: &str = "LVSLAB_LIMITS_BENCH_FILE";
const MB20: usize = 20_000_000;
/// The bar for importing 4,096 real servers, in milliseconds.
const IMPORT_BAR_MS: f64 = 1000.0;
/// The bar for keepalived import's memory, times the input's size.
const MEMORY_BAR: f64 = 10.0;
/// Our bar for refusing an oversized input: time (ms), and memory added:
/// twice the cap, as a stream's reader holds up to the cap and one byte
/// before it can tell the input is over it.
const REFUSE_BAR_MS: f64 = 1000.0;
const REFUSE_BAR_BYTES: usize = 2 * (16 << 20);

fn main() {
    if let Ok(which) = std::env::var(CHILD) {
        return child(&which);
    }
    println!(
        "saved rules (ipvsadm -Sn) of N real servers behind one VIP: import, then check and export of the preset"
    );
    println!(
        "{:>8} {:>10} {:>9} {:>10} {:>10} {:>12} {:>10}",
        "servers", "import", "of limit", "check", "toml", "keepalived", "shell"
    );
    let of_bar = |ms: f64| format!("{:.0}%", 100.0 * ms / IMPORT_BAR_MS);
    for servers in [1_023, 4_096, 16_384] {
        let rules = rules(servers);
        let (imported, took) = time(|| {
            import::import(
                "big.rules",
                &rules,
                &lvslab_core::lab::model::LabName::new("big").unwrap(),
            )
        });
        // Past a cap (lab::ranges) the import is refused: how long that
        // takes is the figure. (Past one bridge's ports the servers go to
        // leaf bridges, lab::leaves, so that is no longer a refusal.)
        let imported = match imported {
            Ok(imported) => imported,
            Err(refused) => {
                // Refused after the whole read and check, and a second parse
                // (of the generated preset) that finds the input's line: an
                // upper bound of what a successful import would take.
                println!(
                    "{servers:>8} {took:>8.0}ms {:>9}  refused: {}",
                    of_bar(took),
                    refused.0[0].message
                );
                continue;
            }
        };
        let (_, check) = time(|| validate::parse("big.toml", &imported.toml).unwrap());
        let spec = &imported.spec;
        let (_, to_toml) = time(|| toml::to_toml(spec, &[]));
        let (_, to_k) = time(|| keepalived::to_keepalived(spec, keepalived::Purpose::Export, &[]));
        let (_, to_sh) = time(|| shell::to_shell(spec));
        println!(
            "{servers:>8} {:>8.0}ms {:>9} {:>8.0}ms {:>8.0}ms {:>10.0}ms {:>8.0}ms",
            took,
            of_bar(took),
            check,
            to_toml,
            to_k,
            to_sh
        );
    }
    let rules = rules(64_000);
    let (refused, took) = time(|| {
        import::import("big.rules", &rules, &lvslab_core::lab::model::LabName::new("big").unwrap())
            .unwrap_err()
    });
    println!("{:>8} {took:>8.0}ms {:>9}  refused: {}", 64_000, of_bar(took), refused.0[0].message);

    println!("\nkeepalived.conf import, peak resident memory added (a child process each)");
    println!(
        "{:<44} {:>10} {:>10} {:>8} {:>9} {:>9}",
        "file", "size", "added", "ratio", "of limit", "time"
    );
    let dir = tempfile::tempdir().unwrap();
    for (which, text) in
        [("realistic", realistic(MB20)), ("dense", dense(MB20)), ("members", members(MB20))]
    {
        let path = dir.path().join(format!("{which}.conf"));
        std::fs::write(&path, text).unwrap();
        let exe = std::env::current_exe().unwrap();
        let out =
            std::process::Command::new(exe).env(CHILD, which).env(FILE, &path).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{which}: {said}{}", String::from_utf8_lossy(&out.stderr));
        print!("{said}");
    }

    println!(
        "\ninputs past the 16 MiB cap, refused (a child process each: time, peak memory added)"
    );
    println!("{:<44} {:>10} {:>9} {:>10} {:>9}", "input", "time", "of limit", "added", "of limit");
    let sparse = dir.path().join("sparse.rules");
    std::fs::File::create(&sparse).unwrap().set_len(64 << 20).unwrap();
    for (which, path) in [("sparse", sparse.as_path()), ("zero", std::path::Path::new("/dev/zero"))]
    {
        let exe = std::env::current_exe().unwrap();
        let out =
            std::process::Command::new(exe).env(CHILD, which).env(FILE, path).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{which}: {said}{}", String::from_utf8_lossy(&out.stderr));
        print!("{said}");
    }
}

/// Reads the oversized input at FILE through the capped reader, as every
/// command does, and prints how long the refusal took and the peak
/// resident memory it added.
fn refuse(which: &str) {
    let label = match which {
        "sparse" => "a 64 MiB file (sparse)",
        _ => "/dev/zero (endless)",
    };
    let path = std::path::PathBuf::from(std::env::var_os(FILE).unwrap());
    let before = maxrss_bytes();
    let started = Instant::now();
    let refused = lvslab_core::lab::input::read_file(&path).unwrap_err();
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let added = maxrss_bytes().saturating_sub(before);
    println!(
        "{label:<44} {took:>8.0}ms {:>8.0}% {:>8.1}MB {:>8.0}%   {}",
        100.0 * took / REFUSE_BAR_MS,
        added as f64 / 1e6,
        100.0 * added as f64 / REFUSE_BAR_BYTES as f64,
        refused.message()
    );
}

/// Reads the file `which` (one allocation of its size: the baseline),
/// imports it, prints its line of figures.
fn child(which: &str) {
    if matches!(which, "sparse" | "zero") {
        return refuse(which);
    }
    let label = match which {
        "realistic" => "4,096 virtual servers x 4 real, HTTP_GET urls",
        "dense" => "one virtual server, 20 MB of short tokens",
        _ => "4,096 x 16 members (the cap), then filler",
    };
    let text = std::fs::read_to_string(std::env::var_os(FILE).unwrap()).unwrap();
    let before = maxrss_bytes();
    let started = Instant::now();
    let imported =
        import::import("big.conf", &text, &lvslab_core::lab::model::LabName::new("big").unwrap())
            .unwrap();
    let took = started.elapsed().as_secs_f64();
    let added = maxrss_bytes().saturating_sub(before);
    let mb = |b: usize| b as f64 / 1e6;
    println!(
        "{label:<44} {:>8.1}MB {:>8.1}MB {:>7.2}x {:>8.0}% {:>8.2}s   ({} real servers, {} services)",
        mb(text.len()),
        mb(added),
        added as f64 / text.len() as f64,
        100.0 * added as f64 / text.len() as f64 / MEMORY_BAR,
        took,
        imported.spec.real_servers.len(),
        imported.spec.services.len()
    );
}

/// The process's peak resident memory: VmHWM (getrusage's maxrss would
/// do, but it survives execve, so a child would start with its parent's).
fn maxrss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed().as_secs_f64() * 1000.0)
}

fn rip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(0x0A00_0002u32 + i as u32) // 10.0.0.2 up
}

fn rules(servers: usize) -> String {
    let mut text = String::from("-A -t 192.0.2.1:80 -s wrr\n");
    for i in 0..servers {
        writeln!(text, "-a -t 192.0.2.1:80 -r {}:80 -m -w {}", rip(i), i % 5 + 1).unwrap();
    }
    text
}

/// `services` virtual servers on 192.0.2.1, ports 1.., each with `per`
/// real servers (`per` consecutive of 1,023), each real server with
/// `urls` url blocks in its HTTP_GET.
fn virtual_servers(text: &mut String, services: usize, per: usize, urls: usize) {
    for s in 0..services {
        writeln!(text, "virtual_server 192.0.2.1 {} {{\n    lb_algo wrr\n    lb_kind NAT", s + 1)
            .unwrap();
        for j in 0..per {
            // At most one bridge's worth of distinct real servers, the
            // size these figures have always been measured at.
            let i = (s * 4 + j) % lvslab_core::lab::plan::MAX_BRIDGE_PORTS;
            writeln!(
                text,
                "    real_server {} 80 {{\n        weight 1\n        HTTP_GET {{",
                rip(i)
            )
            .unwrap();
            for u in 0..urls {
                writeln!(
                    text,
                    "            url {{\n                path /health/{u}\n                \
                     digest 640205b7b0fc66c1ea91c463fac6334d\n            }}"
                )
                .unwrap();
            }
            text.push_str("            connect_timeout 3\n        }\n    }\n");
        }
        text.push_str("}\n");
    }
}

fn realistic(size: usize) -> String {
    let mut text = String::with_capacity(size + 4096);
    let mut urls = 1;
    loop {
        text.clear();
        text.push_str("global_defs {\n    router_id big\n}\n");
        virtual_servers(&mut text, 4_096, 4, urls);
        if text.len() >= size {
            return text;
        }
        urls = (urls * size / text.len()).max(urls + 1);
    }
}

/// Filler a keepalived.conf reader must pass over: a global_defs block of
/// short tokens (the worst case for a reader that copies each token).
fn filler(text: &mut String, size: usize) {
    text.push_str("global_defs {\n");
    while text.len() < size {
        text.push_str("    a b c d e f g h i j k l m n o p q r s t u v w x y z\n");
    }
    text.push_str("}\n");
}

fn dense(size: usize) -> String {
    let mut text = String::with_capacity(size + 4096);
    virtual_servers(&mut text, 1, 1, 0);
    filler(&mut text, size);
    text
}

fn members(size: usize) -> String {
    let mut text = String::with_capacity(size + 4096);
    virtual_servers(&mut text, 4_096, 16, 0);
    filler(&mut text, size);
    text
}
