//! One Prometheus scrape of a running lab: the balancing director's
//! `/proc/net/ip_vs_stats` and `/proc/net/ip_vs`, read from inside its
//! namespace (they are per namespace, so these are the lab's own, as
//! node_exporter run in that namespace reads them), and the table its
//! dataplane balances with (IPVS over netlink, or the nftables counters),
//! written as text by [`lvslab_core::metrics`].
//!
//! A read that fails leaves its series out and sets
//! `lvslab_scrape_success{source}` to 0; the others are still served.

use lvslab_core::lab::model::{Dataplane, hosts};
use lvslab_core::lab::record::LabState;
use lvslab_core::metrics::Exposition;
use lvslab_core::metrics::procfs::{self, ProcBackend, Totals};
use lvslab_core::metrics::series::{self, LabView};
use lvslab_core::monitor::merge::merge;
use lvslab_core::monitor::{IpvsRead, Table};
use lvslab_sys::netns;

use super::observe::KernelObserver;

/// What one scrape gives: the text, and why any read failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrape {
    /// The exposition text.
    pub text: String,
    /// One line per failed read, for the log (`--once` prints them on stderr).
    pub failures: Vec<String>,
}

/// Reads `state`'s director now and writes the scrape.
pub fn scrape(state: &LabState) -> Scrape {
    let spec = &state.spec;
    let master = spec.ha.map(|_| crate::ops::vrrp::master(spec));
    let director = match master {
        Some(m) => m.unwrap_or(hosts::DIRECTOR1),
        None => hosts::DIRECTOR,
    };
    let ns = spec.netns(director);
    let mut e = Exposition::new();
    let mut failures = Vec::new();
    let mut record = |e: &mut Exposition, source: &str, result: Result<(), String>| {
        if let Err(why) = &result {
            failures.push(format!("{source}: {why}"));
        }
        series::read_success(e, source, result.is_ok()).expect("a fixed name");
    };

    if state.dataplane == Dataplane::Ipvs {
        let read = read_proc(&ns).and_then(|(totals, backends)| {
            series::node_ipvs(&mut e, &totals, &backends).map_err(|e| e.to_string())
        });
        record(&mut e, "proc_ip_vs", read);
    }
    let (source, table) = match state.dataplane {
        Dataplane::Ipvs => {
            ("ipvs_netlink", Some(KernelObserver::read_table_of(state).map_err(|e| e.to_string())))
        }
        Dataplane::Nft => ("nft_counters", Some(nft_table(state))),
        Dataplane::None => ("", None),
    };
    let table = table.map(|read| {
        let ok = read.as_ref().ok().cloned();
        record(&mut e, source, read.map(|_| ()));
        ok
    });
    let merged = merge(spec, table.flatten().as_ref());
    let view = LabView { spec, merged: &merged, vrrp_master: master.flatten() };
    if let Err(why) = series::lab_series(&mut e, &view) {
        failures.push(format!("lab series: {why}"));
    }
    Scrape { text: e.render(), failures }
}

/// The two files, read on a thread inside namespace `ns`, and parsed.
fn read_proc(ns: &str) -> Result<(Totals, Vec<ProcBackend>), String> {
    let read = |path: &str| {
        // /proc/net is /proc/self/net, the namespace of the process's main
        // thread; this thread's own (the director's) is under thread-self.
        let own = path.replacen("/proc/", "/proc/thread-self/", 1);
        std::fs::read_to_string(own).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("{path} is missing in {ns}: this kernel has no IPVS (ip_vs not loaded)")
            } else {
                format!("read {path} in {ns}: {e}")
            }
        })
    };
    let (stats, services) =
        netns::run_in(ns, || (read(procfs::STATS_PATH), read(procfs::SERVICES_PATH)))
            .map_err(|e| e.to_string())?;
    let totals = procfs::parse_stats(&stats?).map_err(|e| e.to_string())?;
    let backends = procfs::parse_services(&services?).map_err(|e| e.to_string())?;
    Ok((totals, backends))
}

/// The nftables dataplane's counters, shaped as the IPVS table.
fn nft_table(state: &LabState) -> Result<Table, String> {
    match super::nft::NftReader::default().read(&state.spec) {
        IpvsRead::Table(t) => Ok(t),
        IpvsRead::Failed(why) => Err(why),
        IpvsRead::NotUsed => Err("the lab has no nftables table".into()),
    }
}
