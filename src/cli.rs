//! The command line: what each command does, as `--help` teaches it.

use clap::{Parser, Subcommand};
use clap_complete::engine::ArgValueCompleter;

use crate::candidates as complete;
use lvslab_core::lab::model::{Dataplane, LabName};
use lvslab_core::lab::ranges;

mod metrics;
mod parse;
mod set;
#[cfg(test)]
mod tests;

pub use metrics::MetricsArgs;
use parse::{lab_name, lab_or_preset, parse_bucket, parse_rate};
pub use set::SetChanges;

/// Build a Linux Virtual Server (LVS/IPVS) lab in network namespaces and
/// watch the load balancer work.
///
/// A lab is a client, a director (the load balancer: VIP on the client side,
/// DIP on the servers' side, forwarding on) and real servers whose gateway is
/// the DIP, each in its own network namespace named lvs-<lab>-<host>, so any
/// shell can use it:  ip netns exec lvs-tutorial-client curl http://192.0.2.1/
#[derive(Debug, Parser)]
#[command(name = "lvslab", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Start with:  sudo lvslab up tutorial   then   lvslab status tutorial\n\
It balances with IPVS where the kernel has it, else with nftables (`--dataplane ipvs` insists).")]
pub struct Cli {
    /// What to do; without a command, the dashboard opens on the preset picker.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Dashboard theme for the picker: dark, light, mono, or a theme file.
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Dataplane for the labs the picker brings up: ipvs, nft or none (default: ipvs where
    /// the kernel has it, else nft).
    #[arg(long, value_enum)]
    pub dataplane: Option<Dataplane>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a lab from a preset (by name, e.g. `tutorial`, or a .toml path) and leave it running.
    #[command(
        after_help = "Forwarding: `tutorial` is LVS-NAT (replies cross the director); `dr` and `tun` \
are the\nsame cluster by direct routing and IP tunnelling (replies go from the real servers\n\
straight to the client through a router); `nat-vs-dr` puts both side by side.\n\n\
Examples:\n  lvslab up tutorial\n  lvslab up dr\n  lvslab up tutorial --dataplane nft     # nftables even where the kernel has IPVS\n  \
lvslab up labs/nat-rr-4rs.toml --dataplane none\n  \
lvslab up tutorial --control keepalived   # keepalived programs IPVS and health-checks the servers\n\n\
With --control keepalived (or `control = \"keepalived\"` in the preset), lvslab writes\n\
/run/lvslab/LAB/keepalived.conf (1 s HTTP checks of /health) and runs keepalived in the\n\
director's namespace; a stopped real server (`lvslab set LAB --stop rs1`) leaves the table\n\
within about 2 s and returns when it answers again (`--start rs1`). Watch it with\n\
  watch -n0.5 ip netns exec lvs-LAB-director ipvsadm -Ln"
    )]
    Up {
        /// Preset name (see `lvslab ls --presets`) or path to a preset file.
        #[arg(value_parser = lab_or_preset, add = ArgValueCompleter::new(complete::lab_or_preset))]
        lab: String,
        /// `ipvs`: program the kernel's IPVS (needs CONFIG_IP_VS). `nft`: nftables DNAT as
        /// kube-proxy's nftables mode builds it (rr, wrr, sh, dh; needs nft and conntrack).
        /// `none`: build the topology only (namespaces, links, routes, forwarding), no load
        /// balancing. Default: the preset's `dataplane`, else ipvs where the kernel has it, else nft.
        #[arg(long, value_enum)]
        dataplane: Option<Dataplane>,
        /// Who programs IPVS: `lvslab` (the preset's table, no health checks) or
        /// `keepalived` (health checks; a dead real server leaves the table).
        /// Default: the preset's `control`, else lvslab.
        #[arg(long, value_enum)]
        control: Option<lvslab_core::lab::model::Control>,
        /// HA lab (preset `ha`): do not synchronise IPVS connections between the
        /// directors (keepalived's lvs_sync_daemon), whatever the preset's `[ha] sync`
        /// says; connections held across a failover then break.
        #[arg(long)]
        no_sync: bool,
    },
    /// Remove a lab: its processes, namespaces (with their links and IPVS table) and record.
    #[command(
        after_help = "Examples:\n  lvslab down tutorial\n  lvslab down --all    # every lab, and lvs-* namespaces left by a crash"
    )]
    Down {
        /// Lab name.
        #[arg(required_unless_present = "all", conflicts_with = "all", value_parser = lab_name,
              add = ArgValueCompleter::new(complete::lab))]
        lab: Option<LabName>,
        /// Remove every lab, including lvs-* namespaces that a crash left without a record.
        #[arg(long)]
        all: bool,
        /// Also remove lvs-* namespaces lvslab did not make, and stop every process inside.
        #[arg(long)]
        force: bool,
    },
    /// Open the dashboard on a lab: attach to a running one, or bring a preset up.
    #[command(
        after_help = "Keys: space traffic on/off, +/- rate, l short/long connections, s scheduler, \
w/W weight, d drain, x stop/start a server, K keepalived ⇄ plain IPVS, F fail/recover the VRRP master (HA lab), a/r add/remove a server, z zero, t theme, g tutorial guide, c connection table, ? help, q quit.\n\
A lab the dashboard brought up is torn down on quit unless --keep; an attached lab keeps running."
    )]
    Tui {
        /// A running lab, or a preset (name or .toml file) to bring up.
        #[arg(value_parser = lab_or_preset, add = ArgValueCompleter::new(complete::lab_or_preset))]
        lab: String,
        /// For a preset: `ipvs` (needs CONFIG_IP_VS), `nft` (nftables DNAT) or `none` (topology
        /// only). Default: the preset's `dataplane`, else ipvs where the kernel has it, else nft.
        #[arg(long, value_enum)]
        dataplane: Option<Dataplane>,
        /// Leave the lab running on quit, even if the dashboard brought it up.
        #[arg(long)]
        keep: bool,
        /// Colour theme: dark (default), light, mono (16 colours), or a theme file.
        #[arg(long, value_name = "NAME|FILE")]
        theme: Option<String>,
    },
    /// Show a running lab: hosts, addresses, gateways, forwarding, services.
    ///
    /// The services are the director's as the kernel has them: anything added
    /// there outside lvslab (by hand with ipvsadm, by another tool) is listed
    /// and marked, and a lab service missing from the kernel is marked as not
    /// programmed.
    Status {
        /// Lab name.
        #[arg(value_parser = lab_name, add = ArgValueCompleter::new(complete::lab))]
        lab: LabName,
        /// Print JSON (schema: assets/schemas/status.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Show the director's connection table: every connection IPVS tracks, on which real server.
    #[command(
        after_help = "What `ipvsadm -Lnc` shows, read from /proc/net/ip_vs_conn in the director's namespace, with real servers named as the lab names them: protocol, client, virtual service, real server, state and time to expiry; then the counts per state and per real server. ESTABLISHED connections are what ipvsadm -Ln counts as ActiveConn, every other connection (handshake, closing, TIME_WAIT) as InActConn. A persistence template (client port 0, state NONE) is no connection: it pins a client to a real server for the service's persistence timeout.

Examples:
  lvslab conns tutorial
  lvslab conns tutorial --server rs1 --watch
  lvslab traffic tutorial --hold 5000 --concurrency 20 --requests 20 & sleep 2; lvslab conns tutorial"
    )]
    Conns {
        /// Lab name.
        #[arg(value_parser = lab_name, add = ArgValueCompleter::new(complete::lab))]
        lab: LabName,
        /// Print JSON (schema: assets/schemas/conns.schema.json); with --watch, one document per line.
        #[arg(long)]
        json: bool,
        /// Read again every second until interrupted (Ctrl-C).
        #[arg(long)]
        watch: bool,
        /// Only the connections of this real server (its name in the lab).
        #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(complete::real_server))]
        server: Option<String>,
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
        #[arg(value_parser = lab_or_preset, add = ArgValueCompleter::new(complete::lab_or_preset))]
        file: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send HTTP requests from the client to a service's VIP and show how the director spread them.
    #[command(
        after_help = "Each request uses a new TCP connection unless --keep-alive: IPVS schedules \
connections, not requests.\nWithout options, the preset's [traffic] profile is used (the tutorial: 1000 requests, 4 at a time).\n\
Exit status 3 when some requests failed.\n\nExamples:\n  lvslab traffic tutorial\n  \
lvslab traffic tutorial --rate 200 --duration 10s\n  lvslab traffic rr4 --concurrency 20 --hold 5000 --requests 100\n  \
lvslab traffic dh --to 192.0.2.6:80        # the dh lab's second VIP\n  \
lvslab traffic clients --clients 50        # 50 client addresses: sh keeps each on one server\n  \
lvslab traffic clients --clients 50 --requests 1000 --predict   # predicted vs answered, per connection"
    )]
    Traffic {
        /// Lab name.
        #[arg(value_parser = lab_name, add = ArgValueCompleter::new(complete::lab))]
        lab: LabName,
        /// Total requests.
        #[arg(long, conflicts_with = "duration", value_parser = |s: &str| ranges::REQUESTS.parse::<u64>(s))]
        requests: Option<u64>,
        /// Run for this long instead (e.g. 10s, 500ms, 2m).
        #[arg(long, value_parser = ranges::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Open loop: new connections per second.
        #[arg(long, conflicts_with = "concurrency", value_parser = parse_rate)]
        rate: Option<f64>,
        /// Closed loop: requests in flight at once.
        #[arg(long, value_parser = |s: &str| ranges::CONCURRENCY.parse::<u32>(s))]
        concurrency: Option<u32>,
        /// Hold each connection open this many milliseconds (loads lc/wlc/sed/nq).
        #[arg(long, value_name = "MS", value_parser = |s: &str| ranges::HOLD_MS.parse::<u64>(s))]
        hold: Option<u64>,
        /// Reuse connections (HTTP keep-alive) instead of one per request.
        #[arg(long)]
        keep_alive: bool,
        /// Send from N client addresses (the first N the client owns, `[client]
        /// addresses` in the preset), one per new connection in turn; shows
        /// which server each client reached (sh, dh and persistence keep each on one).
        #[arg(long, value_name = "N", value_parser = |s: &str| ranges::CLIENTS.parse::<u32>(s))]
        clients: Option<u32>,
        /// Predict each new connection's real server with the kernel's algorithm (rr, wrr,
        /// sh, dh, lc, wlc, sed, nq, persistence), then compare with the server that
        /// answered: agreement per server and overall, and the first mismatches. Runs one
        /// connection at a time; rr/wrr synchronise their hidden position on the first answers;
        /// lc/wlc/sed/nq read the director's connection counts before each connection.
        #[arg(long)]
        predict: bool,
        /// Send to this lab address instead of the first service: another
        /// service's VIP:PORT, or a real server's ADDR:PORT.
        #[arg(long, value_name = "ADDR:PORT")]
        to: Option<std::net::SocketAddrV4>,
        /// Width of each bucket of the JSON report's `timeline` (ok and failed
        /// requests, and who answered, over time), e.g. 1s (the default), 250ms.
        #[arg(long, value_parser = parse_bucket)]
        bucket: Option<std::time::Duration>,
        /// Print the report as JSON (schema: tests/fixtures/traffic-report.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Change a running lab live: scheduler, weights, drain, real servers, counters, who programs IPVS, a director's failure.
    #[command(
        after_help = "On --dataplane nft each change replaces the director's nftables maps in one \
`nft -f` transaction; nftables runs rr, wrr, sh and dh only.\n\n\
Examples:\n  lvslab set tutorial --scheduler wlc\n  lvslab set tutorial --weight rs1=5\n  \
lvslab set tutorial --drain rs2\n  lvslab set tutorial --add-rs rs3=198.51.100.13:80,2\n  lvslab set tutorial --del-rs rs3\n  \
lvslab set tutorial --zero\n  lvslab set tutorial --stop rs1    # and --start rs1\n  \
lvslab set tutorial --control keepalived   # health checks: a stopped server leaves the table\n  \
lvslab set tutorial --control lvslab       # plain IPVS again: the preset's table, no checks\n  \
lvslab set ha --fail director1    # director2 takes the VIP over; --recover director1\n\n\
In a lab under keepalived (lvslab up --control keepalived), scheduler and weight edits rewrite\n\
keepalived.conf and reload keepalived (SIGHUP); lvslab does not write the table itself.",
        // clap's own usage lists all twelve changes as one unbreakable word.
        override_usage = "lvslab set <LAB> <CHANGE>...   (one or more of the options below)"
    )]
    Set {
        /// Lab name.
        #[arg(value_parser = lab_name, add = ArgValueCompleter::new(complete::lab))]
        lab: LabName,
        /// The edits.
        #[command(flatten)]
        changes: SetChanges,
    },
    /// List or change the director's IPVS settings: net.ipv4.vs.* and the tcp/tcpfin/udp timeouts.
    #[command(
        after_help = "Each with its value, the kernel's default (* marks one that differs) and what it does,\n\
read in the director's namespace: a lab's settings are its own, never the host's.\n\
NAME=VALUE changes one (short name or net.ipv4.vs.NAME; tcp, tcpfin, udp are IPVS's\n\
timeouts in seconds, as `ipvsadm --set`); all are checked before any is changed.\n\n\
Examples:\n  lvslab sysctl tutorial\n  lvslab sysctl tutorial expire_nodest_conn=1 tcp=5"
    )]
    Sysctl {
        /// Lab name.
        #[arg(value_parser = lab_name, add = ArgValueCompleter::new(complete::lab))]
        lab: LabName,
        /// Settings to change, NAME=VALUE.
        settings: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Find the known LVS pitfalls in a running lab, or read-only on this host's director.
    #[command(
        after_help = "Each finding: an id, its severity, the values read, why it breaks things, the fix as\n\
commands, and where lvslab shows it live. Exit status 1 when a warning or an error is found,\n\
0 when nothing (or only notes) is, 2 when diagnose could not run.\n\n\
LAB: the director's IPVS table (or the lab's services on nftables) and sysctls, every real\n\
server's addresses, default route and ARP/rp_filter settings, and keepalived.conf under keepalived.\n\
--host: this namespace only, reading only; ip_vs is never loaded to look (where it is not\n\
loaded, diagnose says so), the real servers' side is named as what to check on each of them.\n\
The catalogue (--list) is docs/diagnose.md.\n\n\
Examples:\n  lvslab diagnose tutorial\n  lvslab diagnose --host --keepalived /etc/keepalived/keepalived.conf\n  \
lvslab diagnose --list"
    )]
    Diagnose {
        /// Lab name.
        #[arg(value_parser = lab_name, add = ArgValueCompleter::new(complete::lab),
              required_unless_present_any = ["host", "list"], conflicts_with_all = ["host", "list"])]
        lab: Option<LabName>,
        /// Diagnose this machine's own network namespace (a real director) instead of a lab.
        #[arg(long, conflicts_with = "list")]
        host: bool,
        /// With --host: also check this keepalived.conf (VRRP instances, health-check timing).
        #[arg(long, value_name = "FILE", requires = "host")]
        keepalived: Option<std::path::PathBuf>,
        /// Print the catalogue of checks and exit.
        #[arg(long)]
        list: bool,
        /// Print JSON (schema_version 1).
        #[arg(long, conflicts_with = "list")]
        json: bool,
    },
    /// Serve a running lab's metrics for Prometheus (node_exporter's IPVS series and lvslab's own).
    Metrics(MetricsArgs),
    /// Write a lab out: as `ipvsadm -Sn` rules, a shell script that builds it by hand, a preset, a keepalived.conf or a containerlab topology.
    #[command(
        after_help = "LAB is a running lab (its current table and every live edit) or a preset \
name/file.\n  ipvsadm  the director's table as `ipvsadm -Sn` prints it; load it with `ipvsadm -R`\n  \
shell    a bash script of ip/sysctl/ipvsadm commands that builds the same lab (run it as root;\n           \
`bash FILE down` removes it); it cannot run while lvslab's own lab of that name is up\n  \
toml     a commented preset: `lvslab up FILE` rebuilds the lab, live edits included\n  \
keepalived  a commented keepalived.conf for real machines: VRRP for the VIP and DIP, a\n           \
virtual_server per service, an HTTP_GET /health check per real server\n  \
containerlab  a containerlab topology: a linux node per host, the veth pairs as links, the\n           \
rest (addresses, routes, sysctls, ipvsadm, lvslab serve) as each node's exec (docs/containerlab.md)\n\n\
Services or real servers someone added in the director outside lvslab are named on stderr\n\
(ipvsadm: the rules still include them, as the kernel has them) or in a closing comment\n\
(shell, toml, keepalived: they are not part of the lab).\n\n\
Examples:\n  lvslab export tutorial --format ipvsadm > tutorial.rules\n  \
lvslab export tutorial --format keepalived -o keepalived.conf && keepalived --config-test -f keepalived.conf\n  \
lvslab export tutorial --format shell -o t.sh && lvslab down tutorial && bash t.sh\n  \
lvslab set tutorial --scheduler lc && lvslab export tutorial --format toml -o mine.toml"
    )]
    Export {
        /// A running lab, or a preset (name or .toml file).
        #[arg(value_parser = lab_or_preset, add = ArgValueCompleter::new(complete::lab_or_preset))]
        lab: String,
        /// What to write.
        #[arg(long, value_enum)]
        format: lvslab_core::lab::export::Format,
        /// Write to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<String>,
    },
    /// Make a preset from `ipvsadm -S`/`-Sn` output or a keepalived.conf, with the topology it implies.
    #[command(
        after_help = "The rules name only VIPs and real servers, so the topology is implied: \
the VIPs go on\nthe client network, the real servers (named rs1.. in order of first appearance) on the\n\
servers' network, each the widest subnet (at most a /24) that keeps the two apart, with a\n\
free DIP and client address. Persistence (-p, -M), firewall-mark (-f), TCP/UDP/SCTP\n\
services and port mapping are kept. With -g (direct routing) or -i (tunnelling) real\n\
servers, the VIPs, DIP and real servers share one segment behind a router (a DR/TUN lab).\n\
Refused, naming the line and the fix: -g/-i with the VIPs and real servers on different\n\
networks, IPv6, --pe/-o/-b, thresholds, and NAT real servers on the VIPs' network.\n\n\
A keepalived.conf (recognised by its first keyword) gives its virtual_server and real_server\n\
blocks; global_defs and vrrp_* are left out (said in the preset), health checks make the\n\
preset's control keepalived; include, groups, sorry_server, DR/TUN are refused with the line.\n\n\
Examples:\n  ip netns exec lvs-tutorial-director ipvsadm -Sn > saved.rules\n  \
lvslab import saved.rules -o saved.toml && lvslab up saved.toml\n  \
ipvsadm -Sn | lvslab import - --name mylab\n  \
lvslab import /etc/keepalived/keepalived.conf --name mine -o mine.toml"
    )]
    Import {
        /// The rules file or keepalived.conf, or `-` for standard input.
        file: String,
        /// Write the preset to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<String>,
        /// Lab name (default: from the file name, e.g. saved.rules -> saved).
        #[arg(long, value_parser = lab_name)]
        name: Option<LabName>,
    },
    /// Serve HTTP as a real server inside a namespace (started by `lvslab up`).
    #[command(hide = true)]
    Serve {
        /// Namespace to enter (without it, the server stays in its own, as in a
        /// containerlab node).
        #[arg(long)]
        netns: Option<String>,
        /// Name to answer with.
        #[arg(long)]
        name: String,
        /// Address to listen on.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Wait this long before every answer (a slow server).
        #[arg(long, default_value_t = 0, value_parser = |s: &str| ranges::DELAY_MS.parse::<u64>(s))]
        delay_ms: u64,
        /// Serve at most this many connections at once; one more is answered
        /// 503 and closed at once, never queued.
        #[arg(long, value_name = "N", default_value_t = lvslab_traffic::server::DEFAULT_MAX_CONNECTIONS,
              value_parser = |s: &str| ranges::MAX_CONNECTIONS.parse::<usize>(s))]
        max_connections: usize,
        /// Close a connection with no request in progress that moves no byte
        /// for this long (an idle keep-alive connection, or a client that
        /// stopped reading), e.g. 60s, 500ms. An answer in progress is never cut.
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = ranges::parse_duration)]
        idle_timeout: std::time::Duration,
    },
    /// Walk through the LVS-NAT (or LVS-DR, LVS-TUN) tutorial step by step on a live lab, in the dashboard.
    #[command(
        after_help = "The tutorial lab comes up bare: hosts, links, addresses and servers, but no \
real-server gateways, no forwarding and an empty IPVS table. The guide adds them one step at a time, \
explaining each, showing the ip/sysctl/ipvsadm command and checking the result on the lab.\n\n\
With --method dr the `dr` preset comes up instead, routes and router in place but no VIP on the real \
servers' loopback, ARP sysctls at the kernel's 0 and an empty IPVS table; the walk adds arp_ignore/\
arp_announce, the VIP on lo, the service with -g real servers, then shows the ARP problem (one real \
server answering ARP for the VIP takes every request, bypassing the director) and its fix.\n\n\
With --method tun the `tun` preset comes up with the ipip module loaded but tunl0 down and without the \
VIP, ARP sysctls at 0, a strict rp_filter on the real servers and an empty IPVS table; the walk adds \
arp_ignore/arp_announce, the VIP on tunl0, the service with -i real servers, then shows the trap (the \
strict reverse-path filter drops the requests tunl0 unwraps: the client times out, the kernel counts \
the drops) and its fix (rp_filter=0).\n\n\
Keys in the guide: Enter/n do the step and go on, s skip, u undo the last step, r do it again, \
p back, g hide the guide, q quit (tears the lab down unless --keep).\n\
In any dashboard (`lvslab tui LAB`), g opens the same guide on that lab.\n\n\
Examples:\n  lvslab tutorial\n  lvslab tutorial --method dr          # direct routing and the ARP problem\n  \
lvslab tutorial --method tun         # IP tunnelling and the rp_filter trap\n  \
lvslab tutorial --dataplane none     # without IPVS: routing steps only (NAT)\n  \
lvslab tutorial --name mylab --keep"
    )]
    Tutorial {
        /// The forwarding method to walk: nat (masquerading, -m), dr (direct routing, -g)
        /// or tun (IP tunnelling, -i).
        #[arg(long, value_enum, default_value_t = lvslab_core::lab::model::Forward::Nat)]
        method: lvslab_core::lab::model::Forward,
        /// `ipvs` (needs CONFIG_IP_VS) or `none`: the IPVS steps are then explained and skipped
        /// (NAT walk only; the DR and TUN walks need IPVS). Default: ipvs where the kernel
        /// has it, else none (the walk teaches ipvsadm; for nftables use `lvslab up tutorial`).
        #[arg(long, value_enum)]
        dataplane: Option<Dataplane>,
        /// Name of the lab (namespaces lvs-NAME-*), so it can run beside a `tutorial` lab.
        #[arg(long, default_value = "tutorial", value_parser = lab_name)]
        name: LabName,
        /// Leave the lab running on quit.
        #[arg(long)]
        keep: bool,
        /// Colour theme: dark (default), light, mono (16 colours), or a theme file.
        #[arg(long, value_name = "NAME|FILE")]
        theme: Option<String>,
    },
    /// Send the same traffic through IPVS and through nftables and print both side by side.
    #[command(
        after_help = "Each dataplane this kernel has gets its own copy of the lab (LAB-ipvs, LAB-nft), \
built, measured and removed; a running lab is not touched. Per dataplane: connections per real server, \
latency p50/p99, kernel CPU per connection (machine-wide), and the time to program a service of 1, 64 \
and 1,024 real servers. Without IPVS (this kernel has no CONFIG_IP_VS) only nftables runs, and the \
IPVS column says why; in the test VM both run.\n\nExamples:\n  lvslab compare tutorial\n  \
lvslab compare rr4 --requests 5000 --json"
    )]
    Compare {
        /// Preset name or file.
        #[arg(value_parser = lab_or_preset, add = ArgValueCompleter::new(complete::lab_or_preset))]
        lab: String,
        /// Connections through each dataplane.
        #[arg(long, default_value_t = 1000, value_parser = |s: &str| ranges::REQUESTS.parse::<u64>(s))]
        requests: u64,
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
    /// Print the script that makes SHELL complete lvslab's commands, flags, presets, labs and real servers.
    #[command(after_help = "Load it for this shell, or on every start:\n  \
source <(lvslab completions bash)      # or: lvslab completions bash > /etc/bash_completion.d/lvslab\n  \
source <(lvslab completions zsh)\n  \
lvslab completions fish > ~/.config/fish/completions/lvslab.fish\n\n\
The script asks `lvslab` (found on PATH) for candidates at each TAB, so preset, lab and real-server\n\
names are those that exist then; labs are read from /run/lvslab (root's: run as root to see them).")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write one man page per command (lvslab.1, lvslab-up.1, ...) into a folder.
    #[command(
        after_help = "Example:\n  lvslab man --out /usr/local/share/man/man1 && man lvslab-up"
    )]
    Man {
        /// Folder to write the pages to (made if missing).
        #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        out: std::path::PathBuf,
    },
}

/// The shells `lvslab completions` writes for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}
