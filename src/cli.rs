//! The command line: what each command does, as `--help` teaches it.

use clap::{Parser, Subcommand};
use lvslab::lab::state::Dataplane;

/// Build a Linux Virtual Server (LVS/IPVS) lab in network namespaces and
/// watch the load balancer work.
///
/// A lab is a client, a director (the load balancer: VIP on the client side,
/// DIP on the servers' side, forwarding on) and real servers whose gateway is
/// the DIP, each in its own network namespace named lvs-<lab>-<host>, so any
/// shell can use it:  ip netns exec lvs-tutorial-client curl http://192.0.2.1/
#[derive(Debug, Parser)]
#[command(name = "lvslab", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Start with:  sudo lvslab up tutorial   then   lvslab status tutorial")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a lab from a preset (by name, e.g. `tutorial`, or a .toml path) and leave it running.
    #[command(
        after_help = "Examples:\n  lvslab up tutorial\n  lvslab up labs/nat-rr-4rs.toml --dataplane none"
    )]
    Up {
        /// Preset name (see `lvslab ls --presets`) or path to a preset file.
        lab: String,
        /// `ipvs`: program the kernel's IPVS (needs CONFIG_IP_VS). `none`: build the
        /// topology only (namespaces, links, routes, forwarding), no load balancing.
        #[arg(long, value_enum, default_value_t = Dataplane::Ipvs)]
        dataplane: Dataplane,
    },
    /// Remove a lab: its processes, namespaces (with their links and IPVS table) and record.
    #[command(
        after_help = "Examples:\n  lvslab down tutorial\n  lvslab down --all    # every lab, and lvs-* namespaces left by a crash"
    )]
    Down {
        /// Lab name.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        lab: Option<String>,
        /// Remove every lab, including lvs-* namespaces that a crash left without a record.
        #[arg(long)]
        all: bool,
    },
    /// Show a running lab: hosts, addresses, gateways, forwarding, services.
    Status {
        /// Lab name.
        lab: String,
        /// Print JSON (schema: assets/schemas/status.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// List running labs (and, with --presets, the presets that can be brought up).
    Ls {
        /// List the embedded presets instead.
        #[arg(long)]
        presets: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a preset file without building anything (needs no root).
    #[command(
        after_help = "Exit status 0 when valid; 1 with one line per problem, as FILE:LINE:COL: what, then how to fix it."
    )]
    Check {
        /// Preset file (or embedded preset name).
        file: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Report what this machine and user can do: privileges, namespaces, veth, IPVS, labs.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
