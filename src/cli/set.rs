//! `lvslab set`'s changes: the flags, and the `NAME=...` values they take.

use clap_complete::engine::ArgValueCompleter;

use crate::candidates as complete;
use lvslab_core::lab::ranges;

/// `--add-rs NAME=ADDR:PORT[,WEIGHT]`.
#[derive(Debug, Clone)]
pub struct AddRs {
    /// Host name.
    pub name: String,
    /// Address on the servers' network.
    pub addr: std::net::Ipv4Addr,
    /// Port its HTTP server listens on.
    pub port: u16,
    /// Weight in every service.
    pub weight: u32,
}

fn parse_weight(s: &str) -> Result<(String, u32), String> {
    let (name, weight) = s.split_once('=').ok_or("write NAME=WEIGHT, e.g. rs1=5")?;
    Ok((name.to_string(), ranges::WEIGHT.parse(weight)?))
}

fn parse_add_rs(s: &str) -> Result<AddRs, String> {
    let usage = "write NAME=ADDR:PORT[,WEIGHT], e.g. rs3=198.51.100.13:80,2";
    let (name, rest) = s.split_once('=').ok_or(usage)?;
    let (addr_port, weight) = match rest.split_once(',') {
        Some((a, w)) => (a, ranges::WEIGHT.parse(w).map_err(|e| format!("{e}; {usage}"))?),
        None => (rest, 1),
    };
    let sock: std::net::SocketAddrV4 =
        addr_port.parse().map_err(|_| format!("'{addr_port}' is not ADDR:PORT; {usage}"))?;
    ranges::PORT.checked::<u16>(sock.port().into()).map_err(|e| format!("{e}; {usage}"))?;
    Ok(AddRs { name: name.to_string(), addr: *sock.ip(), port: sock.port(), weight })
}

/// What `lvslab set` changes: at least one, applied in the order `set` says.
#[derive(Debug, clap::Args)]
#[group(id = "change", required = true, multiple = true)]
pub struct SetChanges {
    /// Scheduler for every service.
    #[arg(long, value_enum)]
    pub scheduler: Option<lvslab_core::lab::model::Scheduler>,
    /// Scheduler flags of every service (ipvsadm -b), applied after --scheduler:
    /// sh-fallback, sh-port, mh-fallback, mh-port, comma-separated; `none` clears them.
    #[arg(long, value_name = "FLAGS")]
    pub scheduler_flags: Option<lvslab_core::lab::schedulers::SchedFlags>,
    /// NAME=WEIGHT: a real server's weight (0 drains it).
    #[arg(long, value_name = "NAME=WEIGHT", value_parser = parse_weight)]
    pub weight: Vec<(String, u32)>,
    /// Weight 0: no new connections; existing ones finish.
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(complete::real_server))]
    pub drain: Vec<String>,
    /// NAME=ADDR:PORT[,WEIGHT]: a new real server in every service, built and forwarded like
    /// the lab's others (NAT, DR or TUN, as each service's members are).
    #[arg(long, value_name = "NAME=ADDR:PORT[,WEIGHT]", value_parser = parse_add_rs)]
    pub add_rs: Vec<AddRs>,
    /// Remove a real server: its destinations, its process, its namespace.
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(complete::real_server))]
    pub del_rs: Vec<String>,
    /// Zero the counters (IPVS's, or the nftables table's).
    #[arg(long)]
    pub zero: bool,
    /// Stop a real server's HTTP process (the server fails; with keepalived
    /// it leaves the table, without it IPVS keeps sending it its share).
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(complete::real_server))]
    pub stop: Vec<String>,
    /// Start a stopped real server's HTTP process again.
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(complete::real_server))]
    pub start: Vec<String>,
    /// Hand the director's table to keepalived (health checks: a failed server
    /// leaves it) or back to lvslab (plain IPVS: the preset's table, no checks).
    #[arg(long, value_enum)]
    pub control: Option<lvslab_core::lab::model::Control>,
    /// HA lab: stop director DIRECTOR (director1 or director2) as a crash would: its
    /// forwarding off, its keepalived stopped; the other director's VRRP takes the VIP
    /// and the DIP over.
    #[arg(long, value_name = "DIRECTOR", add = ArgValueCompleter::new(complete::director))]
    pub fail: Option<String>,
    /// HA lab: pull DIRECTOR's cables (its two ports on the switch go down): it runs on,
    /// cut off, and no last advert gets out, so the other director takes the VIP and the
    /// DIP over only after three missed adverts (2.6-3.6 s).
    #[arg(long, value_name = "DIRECTOR", add = ArgValueCompleter::new(complete::director))]
    pub cut: Option<String>,
    /// HA lab: undo --fail or --cut: DIRECTOR's switch ports up, its forwarding on and its
    /// keepalived started again (director1, the higher priority, then takes the VIP back).
    #[arg(long, value_name = "DIRECTOR", add = ArgValueCompleter::new(complete::director))]
    pub recover: Option<String>,
}
