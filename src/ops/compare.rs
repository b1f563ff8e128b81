//! `lvslab compare`: the same lab and the same traffic through each
//! dataplane this kernel has (IPVS, nftables), one after the other, and the
//! figures side by side — the distribution, latency, CPU per connection,
//! and the time to program 1, 64 and 1,024 real servers (kube-proxy's own
//! reason for leaving iptables, and now IPVS, for nftables).
//!
//! Each dataplane gets its own copy of the lab (`<lab>-ipvs`, `<lab>-nft`),
//! brought up, measured and torn down; a lab already running is never
//! touched. The programming times are measured in that copy's director, on
//! an extra service (port [`BENCH_PORT`]) with real servers spread over the
//! servers' subnet and many ports, so no extra namespace is needed; it is
//! removed right after.

use lvslab_core::lab::model::hosts;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::state::{LabState, Stored};
use super::{lifecycle, teardown};
use crate::nft::exec;
use crate::nft::ruleset::{Backend, NftService, Pick};
use lvslab_core::lab::model::{Dataplane, LabName, LabSpec};
use lvslab_core::lab::name::MAX_LAB_NAME;
use lvslab_core::lab::nftables;
use lvslab_core::lab::presets::Preset;
use lvslab_ipvs::{self as ipvs, IpvsClient};
use lvslab_sys::netns;
use lvslab_traffic::{Generator, Load, Profile, results};

/// The real-server counts whose programming time is measured.
pub const PROGRAM_SIZES: [usize; 3] = [1, 64, 1024];
/// Each programming time is the median of this many tries.
pub const PROGRAM_TRIES: usize = 3;
/// The port of the throwaway service the programming times use.
pub const BENCH_PORT: u16 = 65_001;

/// One dataplane's figures, or why it did not run.
#[derive(Debug, Clone, Serialize)]
pub struct DataplaneRun {
    /// `ipvs` or `nft`.
    pub dataplane: Dataplane,
    /// Why it did not run here (`None`: it ran).
    pub skipped: Option<String>,
    /// Connections per real server.
    pub by_server: BTreeMap<String, u64>,
    /// Connections sent and answered.
    pub requests: u64,
    /// Answered.
    pub ok: u64,
    /// Latency of answered requests, ms.
    pub p50_ms: f64,
    /// Latency of answered requests, ms.
    pub p99_ms: f64,
    /// Machine-wide system + softirq CPU per connection, µs, during the
    /// traffic (forwarding, NAT and the balancer run there; the client's
    /// and servers' TCP stacks too, alike for both dataplanes).
    pub kernel_cpu_us_per_conn: f64,
    /// Time to add a service with N real servers, ms, by N (median of
    /// [`PROGRAM_TRIES`]).
    pub program_ms: BTreeMap<usize, f64>,
}

impl DataplaneRun {
    fn skipped(dataplane: Dataplane, why: String) -> Self {
        Self {
            dataplane,
            skipped: Some(why),
            by_server: BTreeMap::new(),
            requests: 0,
            ok: 0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            kernel_cpu_us_per_conn: 0.0,
            program_ms: BTreeMap::new(),
        }
    }
}

/// Runs `requests` connections through each dataplane for lab `preset`.
pub async fn compare(
    preset: &Preset,
    requests: u64,
    say: &mut (dyn FnMut(String) + Send),
) -> Vec<DataplaneRun> {
    let mut runs = Vec::new();
    for dataplane in [Dataplane::Ipvs, Dataplane::Nft] {
        let mut spec = preset.spec.clone();
        spec.name = copy_name(&spec.name, dataplane);
        let run =
            match one(Preset { spec, origin: preset.origin.clone() }, dataplane, requests, say)
                .await
            {
                Ok(run) => run,
                Err(why) => DataplaneRun::skipped(dataplane, why),
            };
        runs.push(run);
    }
    runs
}

/// `<lab>-<dataplane>`, cut so it stays a valid lab name.
pub fn copy_name(lab: &LabName, dataplane: Dataplane) -> LabName {
    let suffix = format!("-{dataplane}");
    let keep = MAX_LAB_NAME.saturating_sub(suffix.len()).min(lab.len());
    let name = format!("{}{suffix}", lab[..keep].trim_end_matches('-'));
    LabName::new(&name).expect("a lab name, cut and given a suffix of letters, is one")
}

async fn one(
    preset: Preset,
    dataplane: Dataplane,
    requests: u64,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<DataplaneRun, String> {
    let spec = preset.spec.clone();
    let name = spec.name.clone();
    if <LabState as Stored>::load(&name).ok().flatten().is_some() {
        return Err(format!("a lab '{name}' exists already; `lvslab down {name}` first"));
    }
    lifecycle::prepare(&spec, dataplane, &mut |n| say(n)).map_err(|e| e.to_string())?;
    say(format!("{dataplane}: bringing up '{name}'"));
    lifecycle::bring_up(preset, dataplane, say).await.map_err(|e| e.to_string())?;
    let measured = tokio::task::spawn_blocking(move || measure(&spec, dataplane, requests))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    let _ = teardown::remove(&name);
    say(format!("{dataplane}: '{name}' removed"));
    measured
}

fn measure(spec: &LabSpec, dataplane: Dataplane, requests: u64) -> Result<DataplaneRun, String> {
    let svc = spec.services.iter().find(|s| s.addressable()).ok_or("no address service")?;
    let target = SocketAddr::from((svc.vip, svc.port));
    let mut profile = Profile { requests: Some(requests), ..Profile::default() };
    profile.load = Load::Concurrency(spec.traffic.concurrency.max(1));
    let cpu_before = kernel_cpu_ticks();
    let report =
        netns::run_in(&spec.netns(hosts::CLIENT), move || -> Result<results::Report, String> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                Generator::start(target, profile)
                    .map_err(|e| e.to_string())?
                    .finish()
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .map_err(|e| e.to_string())??;
    let cpu_after = kernel_cpu_ticks();
    let ticks = cpu_after.zip(cpu_before).map_or(0, |(a, b)| a.saturating_sub(b));
    let tick_us = 1e6 / clock_ticks_per_second();
    let mut program_ms = BTreeMap::new();
    for n in PROGRAM_SIZES {
        // The median of a few tries: a shared machine makes single ones jump.
        let mut tries = Vec::with_capacity(PROGRAM_TRIES);
        for _ in 0..PROGRAM_TRIES {
            tries.push(match dataplane {
                Dataplane::Ipvs => program_ipvs(spec, n),
                Dataplane::Nft => program_nft(spec, n),
                Dataplane::None => Ok(Duration::ZERO),
            }?);
        }
        tries.sort();
        program_ms.insert(n, tries[tries.len() / 2].as_secs_f64() * 1000.0);
    }
    Ok(DataplaneRun {
        dataplane,
        skipped: None,
        by_server: report.by_server.clone(),
        requests: report.requests,
        ok: report.ok,
        p50_ms: report.latency_ms.p50,
        p99_ms: report.latency_ms.p99,
        kernel_cpu_us_per_conn: ticks as f64 * tick_us / report.connections.max(1) as f64,
        program_ms,
    })
}

/// `n` distinct real servers on the servers' subnet: addresses cycled over
/// the subnet's hosts, ports counting up.
fn bench_backends(spec: &LabSpec, n: usize) -> Vec<(Ipv4Addr, u16)> {
    let hosts: Vec<Ipv4Addr> =
        spec.servers_net.hosts().filter(|a| *a != spec.director.dip).take(250).collect();
    (0..n).map(|i| (hosts[i % hosts.len()], 20_000 + (i / hosts.len()) as u16)).collect()
}

/// Adds a service with `n` real servers to the director's IPVS table over
/// netlink (as `ipvsadm -A` then `-a` per server, requests pipelined), timed;
/// then removes it.
fn program_ipvs(spec: &LabSpec, n: usize) -> Result<Duration, String> {
    let key = ipvs::ServiceKey::Addr {
        proto: ipvs::Protocol::Tcp,
        addr: IpAddr::V4(spec.director.vip),
        port: BENCH_PORT,
    };
    let dests: Vec<ipvs::Destination> = bench_backends(spec, n)
        .into_iter()
        .map(|(a, p)| ipvs::Destination::new(IpAddr::V4(a), p, ipvs::Forward::Masq))
        .collect();
    let mut client =
        IpvsClient::open_in(&spec.netns(hosts::DIRECTOR)).map_err(|e| e.to_string())?;
    let started = Instant::now();
    client.add_service(&ipvs::Service::new(key, "wrr")).map_err(|e| e.to_string())?;
    client.add_destinations(&key, &dests).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    client.del_service(&key).map_err(|e| e.to_string())?;
    Ok(took)
}

/// Replaces the director's nftables table with one that also has a service
/// of `n` real servers, in one `nft -f` transaction (as a live edit does),
/// timed; then puts the lab's table back.
fn program_nft(spec: &LabSpec, n: usize) -> Result<Duration, String> {
    let lab = nftables::ruleset(spec)?;
    let mut with_bench = lab.clone();
    with_bench.services.push(NftService {
        protocol: ipvs::Protocol::Tcp,
        vip: spec.director.vip,
        port: BENCH_PORT,
        pick: Pick::Inc,
        backends: bench_backends(spec, n)
            .into_iter()
            .enumerate()
            .map(|(i, (addr, port))| Backend { name: format!("b{i}"), addr, port, weight: 1 })
            .collect(),
    });
    let ns = spec.netns(hosts::DIRECTOR);
    let script = with_bench.replace(&lab);
    let started = Instant::now();
    exec::apply(&ns, &script).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    exec::apply(&ns, &lab.replace(&with_bench)).map_err(|e| e.to_string())?;
    Ok(took)
}

/// System + irq + softirq time of all CPUs, in clock ticks (/proc/stat).
fn kernel_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = cpu.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq ...
    Some(fields.get(2)? + fields.get(5)? + fields.get(6)?)
}

fn clock_ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

/// The runs as a table, one column per dataplane (pure).
pub fn render(runs: &[DataplaneRun]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = write!(out, "{:<34}", "");
    for r in runs {
        let _ = write!(out, "{:>18}", r.dataplane.to_string());
    }
    out.push('\n');
    let row = |out: &mut String, label: &str, cell: &dyn Fn(&DataplaneRun) -> String| {
        let _ = write!(out, "{label:<34}");
        for r in runs {
            let text = if r.skipped.is_some() { "-".to_string() } else { cell(r) };
            let _ = write!(out, "{text:>18}");
        }
        out.push('\n');
    };
    let servers: std::collections::BTreeSet<&String> =
        runs.iter().flat_map(|r| r.by_server.keys()).collect();
    row(&mut out, "connections answered", &|r| format!("{}/{}", r.ok, r.requests));
    for s in servers {
        row(&mut out, &format!("  {s}"), &|r| {
            let n = r.by_server.get(s).copied().unwrap_or(0);
            format!("{n} ({:.1}%)", 100.0 * n as f64 / r.ok.max(1) as f64)
        });
    }
    row(&mut out, "latency p50 ms", &|r| format!("{:.2}", r.p50_ms));
    row(&mut out, "latency p99 ms", &|r| format!("{:.2}", r.p99_ms));
    row(&mut out, "kernel CPU µs per connection", &|r| format!("{:.0}", r.kernel_cpu_us_per_conn));
    for n in PROGRAM_SIZES {
        row(&mut out, &format!("program {n} real servers, ms"), &|r| {
            r.program_ms.get(&n).map_or("-".into(), |ms| format!("{ms:.1}"))
        });
    }
    for r in runs {
        if let Some(why) = &r.skipped {
            let _ = writeln!(out, "{} did not run: {why}", r.dataplane);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_named_after_the_lab_and_stay_valid_names() {
        let tutorial = LabName::new("tutorial").unwrap();
        assert_eq!(copy_name(&tutorial, Dataplane::Ipvs), "tutorial-ipvs");
        let long = LabName::new(&"a".repeat(32)).unwrap();
        let name = copy_name(&long, Dataplane::Nft);
        assert!(name.len() <= 32 && name.ends_with("-nft"), "{name}");
    }

    #[test]
    fn a_skipped_dataplane_shows_dashes_and_says_why() {
        let mut nft = DataplaneRun::skipped(Dataplane::Nft, String::new());
        nft.skipped = None;
        nft.by_server = [("rs1".to_string(), 600), ("rs2".to_string(), 400)].into();
        nft.requests = 1000;
        nft.ok = 1000;
        nft.program_ms = [(1, 4.0), (64, 6.5), (1024, 40.0)].into();
        let ipvs = DataplaneRun::skipped(Dataplane::Ipvs, "IPVS is not available".into());
        let text = render(&[ipvs, nft]);
        assert!(text.contains("rs1"), "{text}");
        assert!(text.contains("600 (60.0%)"), "{text}");
        assert!(text.contains("ipvs did not run: IPVS is not available"), "{text}");
        let line = text.lines().find(|l| l.starts_with("program 1024")).unwrap();
        assert!(line.contains('-') && line.ends_with("40.0"), "{line}");
    }
}
