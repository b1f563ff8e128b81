//! `ipvsadm -Ln` text, character for character: the plain listing,
//! `--stats`, `--rate` and `--thresholds`, rendered from a polled table.
//!
//! Matching ipvsadm 1.31 exactly lets users compare lvslab with the tool they
//! know, and lets the VM tests compare the two outputs as strings. The
//! `-S`/`-R` rule format lives in [`super::rules`].

use std::cmp::Ordering;
use std::fmt::Write;
use std::net::IpAddr;

use crate::{AddressFamily, Destination, Info, Service, ServiceKey};

/// A polled table: each service with its destinations.
pub type Table = [(Service, Vec<Destination>)];

/// `addr:port` as ipvsadm writes it; defined beside the types it names.
pub use super::types::addr_port;

/// The 32-bit words of an address as ipvsadm compares them (as `int`s).
fn words(addr: &IpAddr) -> [i32; 4] {
    let mut w = [0i32; 4];
    match addr {
        IpAddr::V4(a) => w[0] = u32::from(*a) as i32,
        IpAddr::V6(a) => {
            for (i, chunk) in a.octets().chunks(4).enumerate() {
                w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as i32;
            }
        }
    }
    w
}

/// ipvsadm's service order: fwmark, family, protocol, address, port.
pub fn cmp_services(a: &Service, b: &Service) -> Ordering {
    let key = |s: &Service| match s.key {
        ServiceKey::Fwmark { af, mark } => (mark, af.to_raw(), 0, [0; 4], 0),
        ServiceKey::Addr { proto, addr, port } => {
            (0, AddressFamily::of(&addr).to_raw(), proto.to_raw(), words(&addr), port)
        }
    };
    key(a).cmp(&key(b))
}

/// ipvsadm's destination order: address, then port.
pub fn cmp_dests(a: &Destination, b: &Destination) -> Ordering {
    (words(&a.addr), a.port).cmp(&(words(&b.addr), b.port))
}

/// The table sorted as ipvsadm lists it.
pub fn sorted(table: &Table) -> Vec<(&Service, Vec<&Destination>)> {
    let mut out: Vec<_> = table
        .iter()
        .map(|(s, d)| {
            let mut dests: Vec<&Destination> = d.iter().collect();
            dests.sort_by(|a, b| cmp_dests(a, b));
            (s, dests)
        })
        .collect();
    out.sort_by(|a, b| cmp_services(a.0, b.0));
    out
}

fn truncate(mut s: String, max: usize) -> String {
    s.truncate(max);
    s
}

/// `TCP  192.0.2.1:80`, `FWM  42 IPv6`: the service column.
fn service_name(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Fwmark { af: AddressFamily::Inet, mark } => format!("FWM  {mark}"),
        ServiceKey::Fwmark { af: AddressFamily::Inet6, mark } => format!("FWM  {mark} IPv6"),
        ServiceKey::Addr { proto, addr, port } => {
            let name = format!("{:<4} {}", proto.to_string().to_uppercase(), addr_port(addr, port));
            if addr.is_ipv4() { truncate(name, 33) } else { name }
        }
    }
}

/// The destination column (cut at 28 characters for IPv4 services).
fn dest_name(svc: &Service, d: &Destination) -> String {
    let name = addr_port(d.addr, d.port);
    if svc.key.af() == AddressFamily::Inet { truncate(name, 28) } else { name }
}

/// A persistence netmask as ipvsadm prints it: dotted for IPv4, a prefix length for IPv6.
pub fn netmask_text(af: AddressFamily, netmask: u32) -> String {
    match af {
        AddressFamily::Inet => std::net::Ipv4Addr::from(netmask).to_string(),
        AddressFamily::Inet6 => netmask.to_string(),
    }
}

/// `wrr (sh-port) persistent 300 mask 255.255.255.0 pe sip ops`.
fn service_settings(svc: &Service) -> String {
    let mut out = format!("{} {}", service_name(&svc.key), svc.scheduler);
    let sched_flags = svc.flags.sched_flag_names(&svc.scheduler);
    if !sched_flags.is_empty() {
        let _ = write!(out, " ({})", sched_flags.join(","));
    }
    if svc.flags.persistent {
        let _ = write!(out, " persistent {}", svc.persistence_timeout);
        let af = svc.key.af();
        if svc.netmask != super::types::default_netmask(af) {
            let _ = write!(out, " mask {}", netmask_text(af, svc.netmask));
        }
    }
    if let Some(pe) = &svc.pe_name {
        let _ = write!(out, " pe {pe}");
    }
    if svc.flags.one_packet {
        out.push_str(" ops");
    }
    out
}

/// ipvsadm's `print_largenum`: 9 columns, scaled with K/M/G/T unless exact.
pub fn largenum(n: u64, exact: bool) -> String {
    if exact {
        let len = n.to_string().len();
        return format!("{n:>width$}", width = if len <= 8 { 9 } else { len + 1 });
    }
    match n {
        0..100_000_000 => format!("{n:>9}"),
        100_000_000..1_000_000_000 => format!("{:>8}K", n / 1_000),
        1_000_000_000..100_000_000_000 => format!("{:>8}M", n / 1_000_000),
        100_000_000_000..100_000_000_000_000 => format!("{:>8}G", n / 1_000_000_000),
        _ => format!("{:>8}T", n / 1_000_000_000_000),
    }
}

/// `ipvsadm -Ln`.
pub fn list(info: &Info, table: &Table) -> String {
    let mut out = format!(
        "{info}\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    );
    for (svc, dests) in sorted(table) {
        let _ = writeln!(out, "{}", service_settings(svc));
        for d in dests {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                dest_name(svc, d),
                d.forward.to_string(),
                d.weight as i32,
                d.active_conns,
                d.inactive_conns
            );
        }
    }
    out
}

fn counters_header(info: &Info, cols: [&str; 5]) -> String {
    format!(
        "{info}\n{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
        "Prot LocalAddress:Port", cols[0], cols[1], cols[2], cols[3], cols[4]
    )
}

/// `ipvsadm -Ln --stats` (with `--exact` when `exact`).
pub fn list_stats(info: &Info, table: &Table, exact: bool) -> String {
    let mut out = counters_header(info, ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]);
    let nums = |s: &super::types::Stats| {
        [s.conns, s.in_pkts, s.out_pkts, s.in_bytes, s.out_bytes]
            .map(|n| largenum(n, exact))
            .concat()
    };
    for (svc, dests) in sorted(table) {
        let _ = writeln!(out, "{:<33}{}", service_name(&svc.key), nums(&svc.stats));
        for d in dests {
            let _ = writeln!(out, "  -> {:<28}{}", dest_name(svc, d), nums(&d.stats));
        }
    }
    out
}

/// `ipvsadm -Ln --rate` (with `--exact` when `exact`).
pub fn list_rate(info: &Info, table: &Table, exact: bool) -> String {
    let mut out = counters_header(info, ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]);
    for (svc, dests) in sorted(table) {
        let s = &svc.stats;
        let nums =
            [s.cps, s.in_pps, s.out_pps, s.in_bps, s.out_bps].map(|n| largenum(n, exact)).concat();
        let _ = writeln!(out, "{:<33}{nums}", service_name(&svc.key));
        for d in dests {
            let s = &d.stats;
            let _ = writeln!(
                out,
                "  -> {:<28} {:>8} {:>8} {:>8}{}{}",
                dest_name(svc, d),
                s.cps,
                s.in_pps,
                s.out_pps,
                largenum(s.in_bps, exact),
                largenum(s.out_bps, exact)
            );
        }
    }
    out
}

/// `ipvsadm -Ln --thresholds`.
pub fn list_thresholds(info: &Info, table: &Table) -> String {
    let mut out = format!(
        "{info}\n{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
        "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
    );
    for (svc, dests) in sorted(table) {
        let _ = writeln!(out, "{}", service_settings(svc));
        for d in dests {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<10} {:<10} {:<10} {:<10}",
                dest_name(svc, d),
                d.upper_threshold,
                d.lower_threshold,
                d.active_conns,
                d.inactive_conns
            );
        }
    }
    out
}
