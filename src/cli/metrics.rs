//! `lvslab metrics`'s arguments.

use std::net::SocketAddr;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use lvslab_core::lab::model::LabName;

use crate::candidates as complete;

/// Where `lvslab metrics` listens unless told: loopback, beside
/// node_exporter's 9100.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9898";

/// Serve a running lab's metrics for Prometheus (node_exporter's IPVS series and lvslab's own).
#[derive(Debug, Args)]
#[command(
    after_help = "GET /metrics answers in Prometheus's text format (0.0.4), read from the lab at each\n\
scrape: node_exporter's ipvs collector series (node_ipvs_*, the same names, labels and values\n\
as node_exporter run in the director's namespace) and lvslab_* for what it lacks: per real\n\
server connection, packet and byte counters (IPVS's, or the nftables dataplane's), the lab\n\
host behind each backend, keepalived's checks and the VRRP MASTER. On --dataplane nft there\n\
are no node_ipvs_* series. The series and a scrape_config: docs/metrics.md.\n\n\
Examples:\n  lvslab metrics tutorial\n  lvslab metrics tutorial --once | promtool check metrics\n  \
lvslab metrics tutorial --listen 127.0.0.1:9899"
)]
pub struct MetricsArgs {
    /// Lab name.
    #[arg(value_parser = super::lab_name, add = ArgValueCompleter::new(complete::lab))]
    pub lab: LabName,
    /// Address to serve GET /metrics on (port 0: any free port, printed at start).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Listen on an address other than loopback: the endpoint has no
    /// authentication, so anyone who reaches it reads the lab's figures.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Print one scrape to standard output and exit (status 1 when a read failed).
    #[arg(long, conflicts_with_all = ["listen", "allow_non_loopback"])]
    pub once: bool,
}
