//! `lvslab doctor`: what this machine and user can do, and what is left over.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lvslab::net::kconfig::{self, Built};
use lvslab::net::privilege;
use lvslab::ops::{state, teardown};
use serde::Serialize;

#[derive(Serialize)]
struct Report {
    root: bool,
    cap_net_admin: bool,
    netns: Check,
    veth: Check,
    bridge: Check,
    ipvs: Check,
    schedulers: Vec<String>,
    nftables: Check,
    labs: Vec<String>,
    leftovers: Vec<String>,
    /// lvs-* namespaces lvslab did not make (left alone by `down --all`).
    foreign_namespaces: Vec<String>,
}

#[derive(Serialize)]
struct Check {
    ok: bool,
    detail: String,
}

impl Check {
    fn new(ok: bool, detail: impl Into<String>) -> Self {
        Self { ok, detail: detail.into() }
    }
}

pub async fn run(json: bool) -> Result<ExitCode> {
    let root = nix::unistd::geteuid().is_root();
    let cap = privilege::has_net_admin();
    let (netns, veth, bridge) = probe_links().await;
    let labs = state::lab_names().unwrap_or_default();
    let foreign_namespaces = teardown::foreign_namespaces().unwrap_or_default();
    let leftovers: Vec<String> = teardown::labs_with_namespaces()
        .unwrap_or_default()
        .into_iter()
        .filter(|l| !labs.contains(l))
        .filter(|l| {
            let namespaces = teardown::lab_namespaces(l).unwrap_or_default();
            namespaces.iter().any(|ns| !foreign_namespaces.contains(ns))
        })
        .collect();
    let report = Report {
        root,
        cap_net_admin: cap,
        netns,
        veth,
        bridge,
        ipvs: ipvs_check(),
        schedulers: scheduler_modules(),
        nftables: nftables_check(),
        labs,
        leftovers,
        foreign_namespaces,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(r: &Report) {
    let mark = |ok: bool| if ok { "ok  " } else { "NO  " };
    println!(
        "{}running as root{}",
        mark(r.root),
        if r.root { "" } else { ": lvslab up/down/status need root (sudo)" }
    );
    println!("{}CAP_NET_ADMIN", mark(r.cap_net_admin));
    for (name, c) in [
        ("network namespaces", &r.netns),
        ("veth pairs", &r.veth),
        ("bridges", &r.bridge),
        ("IPVS", &r.ipvs),
        ("nftables", &r.nftables),
    ] {
        println!("{}{name}: {}", mark(c.ok), c.detail);
    }
    if !r.schedulers.is_empty() {
        println!("    scheduler modules: {}", r.schedulers.join(" "));
    }
    println!(
        "    labs running: {}",
        if r.labs.is_empty() { "none".into() } else { r.labs.join(", ") }
    );
    if !r.leftovers.is_empty() {
        println!(
            "NO  leftovers: namespaces of {} without a record; `lvslab down --all` removes them",
            r.leftovers.join(", ")
        );
    }
    if !r.foreign_namespaces.is_empty() {
        println!(
            "    not lvslab's: {} (lvslab did not make these and leaves them alone; \
             `ip netns delete NAME` or `lvslab down --all --force` removes them)",
            r.foreign_namespaces.join(", ")
        );
    }
}

/// Tries namespaces, veth and bridge in a throwaway, anonymous namespace (on a
/// thread that unshares): nothing is mounted, nothing outlives the probe.
async fn probe_links() -> (Check, Check, Check) {
    if !privilege::can_build_labs() {
        let why = "not checked: needs root";
        return (Check::new(false, why), Check::new(false, why), Check::new(false, why));
    }
    let outcome = std::thread::spawn(|| -> Result<(bool, bool), String> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("unshare: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let veth = handle
                .link()
                .add(rtnetlink::LinkVeth::new("probe0", "probe1").build())
                .execute()
                .await
                .is_ok();
            let bridge = handle
                .link()
                .add(rtnetlink::LinkBridge::new("probebr").build())
                .execute()
                .await
                .is_ok();
            Ok((veth, bridge))
        })
    })
    .join()
    .unwrap_or_else(|_| Err("probe thread panicked".into()));
    match outcome {
        Ok((veth, bridge)) => (
            Check::new(true, "created one"),
            Check::new(
                veth,
                if veth { "created one" } else { "creating one failed (CONFIG_VETH?)" },
            ),
            Check::new(
                bridge,
                if bridge { "created one" } else { "creating one failed (CONFIG_BRIDGE?)" },
            ),
        ),
        Err(e) => (
            Check::new(false, e),
            Check::new(false, "not checked"),
            Check::new(false, "not checked"),
        ),
    }
}

fn ipvs_check() -> Check {
    if Path::new("/proc/net/ip_vs").exists() {
        return Check::new(true, "loaded");
    }
    let installed = !scheduler_modules().is_empty();
    match kconfig::option("CONFIG_IP_VS") {
        Some(Built::Module) | None if installed => {
            Check::new(false, "built as a module but not loaded: modprobe ip_vs")
        }
        Some(Built::Module) => {
            Check::new(false, "CONFIG_IP_VS=m but no ip_vs module is installed for this kernel")
        }
        _ => Check::new(
            false,
            "not in this kernel (CONFIG_IP_VS is not set); use `lvslab up LAB --dataplane none`, or boot a kernel with IPVS",
        ),
    }
}

fn nftables_check() -> Check {
    match kconfig::option("CONFIG_NF_TABLES") {
        Some(Built::Yes) => Check::new(true, "built in"),
        Some(Built::Module) => Check::new(true, "module"),
        Some(Built::No) => Check::new(false, "CONFIG_NF_TABLES is not set"),
        None => {
            let loaded = Path::new("/sys/module/nf_tables").exists();
            Check::new(loaded, if loaded { "loaded" } else { "unknown (no /proc/config.gz)" })
        }
    }
}

fn module_dir() -> std::path::PathBuf {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Path::new("/lib/modules").join(release).join("kernel/net/netfilter/ipvs")
}

/// Scheduler modules installed for the running kernel (ip_vs_rr.ko -> rr).
fn scheduler_modules() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(module_dir()) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            n.strip_prefix("ip_vs_").and_then(|r| r.split('.').next()).map(str::to_string)
        })
        .filter(|n| lvslab::lab::schedulers::is_known(n))
        .collect();
    names.sort();
    names
}
