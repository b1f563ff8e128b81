//! `lvslab doctor`: what this machine and user can do, and what is left over.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lvslab::net::privilege;
use lvslab::net::probe::{self, LinkSupport};
use lvslab::ops::{state, teardown};
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::text::shown;
use lvslab_ipvs::probe::{self as ipvs_probe, Support};
use lvslab_sys::kconfig::{self, Built};
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
    /// keepalived, for `lvslab up --control keepalived`.
    keepalived: Check,
    /// The host's neighbour-table limit, which big labs share.
    neighbour_table: Check,
    labs: Vec<LabName>,
    leftovers: Vec<LabName>,
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

pub fn run(json: bool) -> Result<ExitCode> {
    let root = nix::unistd::geteuid().is_root();
    let cap = privilege::has_net_admin();
    let (netns, veth, bridge) = probe_links();
    let labs = state::lab_names().unwrap_or_default();
    let foreign_namespaces = teardown::foreign_namespaces().unwrap_or_default();
    let leftovers: Vec<LabName> = teardown::labs_with_namespaces()
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
        keepalived: keepalived_check(),
        neighbour_table: neighbour_check(),
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
        ("keepalived", &r.keepalived),
        ("neighbour table", &r.neighbour_table),
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
    // Anyone can name a namespace: shown escaped, and `--force` offered
    // only for those it removes (see teardown::force_removes).
    let (of_labs, no_lab): (Vec<&String>, Vec<&String>) =
        r.foreign_namespaces.iter().partition(|ns| teardown::force_removes(ns));
    let names = |list: &[&String]| {
        list.iter().map(|ns| shown(ns).into_owned()).collect::<Vec<_>>().join(", ")
    };
    if !of_labs.is_empty() {
        println!(
            "    not lvslab's: {} (lvslab did not make these and leaves them alone; \
             `ip netns delete NAME` or `lvslab down --all --force` removes them)",
            names(&of_labs)
        );
    }
    if !no_lab.is_empty() {
        println!(
            "    not lvslab's, naming no lab: {} (they name no lab, so no lvslab \
             command removes them; `ip netns delete NAME` does)",
            names(&no_lab)
        );
    }
}

/// Namespaces, veth and bridge, tried for real by `net::probe`.
fn probe_links() -> (Check, Check, Check) {
    if !privilege::can_build_labs() {
        let why = "not checked: needs root";
        return (Check::new(false, why), Check::new(false, why), Check::new(false, why));
    }
    match probe::links() {
        Ok(LinkSupport { veth, bridge }) => (
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
            Check::new(false, e.to_string()),
            Check::new(false, "not checked"),
            Check::new(false, "not checked"),
        ),
    }
}

fn ipvs_check() -> Check {
    match ipvs_probe::support() {
        Support::Loaded => Check::new(true, "loaded"),
        Support::NotLoaded => Check::new(false, "built as a module but not loaded: modprobe ip_vs"),
        Support::ModuleMissing => {
            Check::new(false, "CONFIG_IP_VS=m but no ip_vs module is installed for this kernel")
        }
        Support::Absent => Check::new(
            false,
            "not in this kernel (CONFIG_IP_VS is not set); use `lvslab up LAB --dataplane nft` \
             (nftables DNAT, see the nftables line), or boot a kernel with IPVS",
        ),
    }
}

fn keepalived_check() -> Check {
    match lvslab::ops::keepalived::version() {
        Some(v) => Check::new(true, format!("{v} (lvslab up LAB --control keepalived)")),
        None => Check::new(
            false,
            "not installed: `--control keepalived` and keepalived presets are refused \
             (apt-get install keepalived)",
        ),
    }
}

/// nftables as `--dataplane nft` uses it: tried for real (a NAT table with
/// numgen and jhash, in a throwaway namespace) when root, else the kernel
/// configuration.
fn nftables_check() -> Check {
    if privilege::can_build_labs() {
        let schedulers = lvslab_core::lab::schedulers::nftables_names();
        return match lvslab::nft::exec::probe() {
            Ok(()) => Check::new(
                true,
                format!(
                    "NAT, numgen and jhash work: `lvslab up LAB --dataplane nft` balances with {schedulers}{}",
                    if lvslab::nft::exec::has_conntrack() {
                        ""
                    } else {
                        "; the conntrack command is missing (apt-get install conntrack): active \
                         connections would show 0"
                    }
                ),
            ),
            Err(e) => Check::new(false, format!("{e}")),
        };
    }
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

/// Scheduler modules installed for the running kernel that lvslab knows.
fn scheduler_modules() -> Vec<String> {
    let mut names = ipvs_probe::scheduler_modules();
    names.retain(|n| lvslab_core::lab::model::Scheduler::named(n).is_some());
    names
}

/// The neighbour table's `gc_thresh3`, global to all namespaces: how many
/// real servers a lab may have before its ARP entries are dropped.
fn neighbour_check() -> Check {
    use lvslab_core::lab::neighbours;
    match lvslab::net::sysctl::read_here(neighbours::GC_THRESH3) {
        Ok(v) => match v.parse::<u64>() {
            Ok(t) => Check::new(true, neighbours::capacity(t)),
            Err(_) => {
                Check::new(false, format!("{} reads '{v}', not a number", neighbours::GC_THRESH3))
            }
        },
        Err(e) => Check::new(false, format!("not read: {e}")),
    }
}
