//! `/proc/net/ip_vs_stats` and `/proc/net/ip_vs` read as node_exporter's
//! ipvs collector reads them (through prometheus/procfs), so the series
//! built from them agree with node_exporter's on the same namespace.
//!
//! - `ip_vs_stats`: two heading lines, then the namespace's totals since
//!   IPVS was loaded in it (deleted services' counts included) as five hex
//!   numbers: connections, packets in, packets out, bytes in, bytes out.
//!   The kernel refreshes them from its estimator, about every 2 s.
//! - `ip_vs`: three heading lines, then each service (`TCP  C0000201:0050
//!   wrr`, `FWM  00000001 rr`, IPv6 as `[2001:0db8::1]:0050`) followed by
//!   its real servers (`  -> C633640B:0050      Masq    3      0          0`:
//!   address, forward, weight, ActiveConn, InActConn, in decimal).
//!
//! Where lvslab differs from procfs 0.8 (Debian's node_exporter 1.5): an
//! SCTP service is read as one (procfs skips its line and counts its real
//! servers under the service before it), and a line it cannot read is an
//! error naming the line, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where the totals are, in a namespace.
pub const STATS_PATH: &str = "/proc/net/ip_vs_stats";
/// Where the services and real servers are, in a namespace.
pub const SERVICES_PATH: &str = "/proc/net/ip_vs";

/// A line of a `/proc` file that is not in the kernel's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {what} (is this the kernel's {path}?)")]
pub struct ParseError {
    /// The file.
    pub path: &'static str,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub what: String,
}

/// The namespace's IPVS totals (`/proc/net/ip_vs_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Connections scheduled.
    pub connections: u64,
    /// Packets in (client to server).
    pub incoming_packets: u64,
    /// Packets out (server to client).
    pub outgoing_packets: u64,
    /// Bytes in.
    pub incoming_bytes: u64,
    /// Bytes out.
    pub outgoing_bytes: u64,
}

/// What identifies a service in `/proc/net/ip_vs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcService {
    /// `TCP`, `UDP` or `SCTP` with its virtual address and port.
    Addr {
        /// The protocol as the file names it.
        proto: &'static str,
        /// Virtual address.
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// `FWM`: a firewall-mark service.
    Fwmark(u32),
}

/// One real server of one service, as node_exporter reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcBackend {
    /// Its service.
    pub service: ProcService,
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
    /// Weight.
    pub weight: u64,
    /// ActiveConn.
    pub active: u64,
    /// InActConn.
    pub inactive: u64,
}

/// Reads `/proc/net/ip_vs_stats`.
///
/// # Errors
/// Fewer than three lines, or a totals line that is not five hex numbers.
pub fn parse_stats(text: &str) -> Result<Totals, ParseError> {
    let err = |line, what: &str| ParseError { path: STATS_PATH, line, what: what.into() };
    let line = text.lines().nth(2).ok_or_else(|| err(text.lines().count(), "too short"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(err(3, &format!("{} fields, the totals line has 5", fields.len())));
    }
    let hex = |i: usize| {
        u64::from_str_radix(fields[i], 16)
            .map_err(|_| err(3, &format!("'{}' is not a hex number", fields[i].escape_debug())))
    };
    Ok(Totals {
        connections: hex(0)?,
        incoming_packets: hex(1)?,
        outgoing_packets: hex(2)?,
        incoming_bytes: hex(3)?,
        outgoing_bytes: hex(4)?,
    })
}

/// Reads `/proc/net/ip_vs`: every real server with its service.
///
/// # Errors
/// A service or real-server line that is not in the kernel's format, or a
/// real server before any service.
pub fn parse_services(text: &str) -> Result<Vec<ProcBackend>, ParseError> {
    let mut out = Vec::new();
    let mut service = None;
    for (i, line) in text.lines().enumerate() {
        let err = |what: String| ParseError { path: SERVICES_PATH, line: i + 1, what };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(&first) = fields.first() else { continue };
        // The three heading lines (the third starts with "->" too).
        if first == "IP" || first == "Prot" || fields.get(1) == Some(&"RemoteAddress:Port") {
            continue;
        }
        let second = fields.get(1).ok_or_else(|| err(format!("'{first}' alone")))?;
        match first {
            "TCP" | "UDP" | "SCTP" => {
                let proto = match first {
                    "TCP" => "TCP",
                    "UDP" => "UDP",
                    _ => "SCTP",
                };
                let (addr, port) = addr_port(second).map_err(err)?;
                service = Some(ProcService::Addr { proto, addr, port });
            }
            "FWM" => {
                let mark = u32::from_str_radix(second, 16)
                    .map_err(|_| err(format!("'{}' is not a hex mark", second.escape_debug())))?;
                service = Some(ProcService::Fwmark(mark));
            }
            "->" => {
                let service =
                    service.ok_or_else(|| err("a real server before any service".into()))?;
                if fields.len() < 6 {
                    return Err(err(format!("{} fields, a real server has 6", fields.len())));
                }
                let (addr, port) = addr_port(second).map_err(err)?;
                let dec = |j: usize| {
                    fields[j].parse::<u64>().map_err(|_| {
                        err(format!("'{}' is not a decimal number", fields[j].escape_debug()))
                    })
                };
                out.push(ProcBackend {
                    service,
                    addr,
                    port,
                    weight: dec(3)?,
                    active: dec(4)?,
                    inactive: dec(5)?,
                });
            }
            other => {
                return Err(err(format!("'{}' is no protocol IPVS lists", other.escape_debug())));
            }
        }
    }
    Ok(out)
}

/// `C0000201:0050` (IPv4 in hex) or `[2001:0db8:...]:0050` (IPv6).
fn addr_port(s: &str) -> Result<(IpAddr, u16), String> {
    let bad = || format!("'{}' is not ADDR:PORT as IPVS writes it", s.escape_debug());
    let (addr, port) = s.rsplit_once(':').ok_or_else(bad)?;
    if port.len() != 4 {
        return Err(bad());
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| bad())?;
    let addr = if let Some(v6) = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        IpAddr::V6(v6.parse::<Ipv6Addr>().map_err(|_| bad())?)
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).map_err(|_| bad())?))
    } else {
        return Err(bad());
    };
    Ok((addr, port))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The tutorial lab after `lvslab traffic tutorial` (1000 connections),
    /// captured in the test VM (Debian's 6.1) by tests/vm_metrics.rs.
    pub const STATS: &str =
        include_str!("../../../../tests/fixtures/proc/tutorial.ip_vs_stats.txt");
    pub const TUTORIAL: &str = include_str!("../../../../tests/fixtures/proc/tutorial.ip_vs.txt");

    /// Every kind of line, composed from the kernel's format strings
    /// (ip_vs_ctl.c, `ip_vs_info_seq_show`): a firewall-mark service with
    /// persistence, SCTP, IPv6.
    pub const SERVICES: &str = "IP Virtual Server version 1.2.1 (size=4096)\n\
Prot LocalAddress:Port Scheduler Flags\n  \
-> RemoteAddress:Port Forward Weight ActiveConn InActConn\n\
TCP  C0000201:0050 wrr \n  \
-> C633640C:0050      Masq    2      1          399       \n  \
-> C633640B:0050      Masq    3      0          600       \n\
FWM  0000002A rr persistent 300 FFFFFFFF\n  \
-> C633640B:0050      Route   1      0          0         \n\
SCTP  C0000206:0050 rr \n  \
-> C633640B:0050      Masq    1      0          0         \n\
UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 sh \n  \
-> [2001:0db8:0000:0000:0000:0000:0000:0011]:0035      Masq    1      0          4         \n";

    #[test]
    fn the_totals_are_the_third_lines_five_hex_numbers() {
        let t = parse_stats(STATS).unwrap();
        assert_eq!(
            t,
            Totals {
                connections: 1000,
                incoming_packets: 5118,
                outgoing_packets: 5003,
                incoming_bytes: 351_136,
                outgoing_bytes: 459_156,
            }
        );
    }

    #[test]
    fn the_tutorials_two_real_servers_are_read_newest_first_as_the_kernel_lists_them() {
        let b = parse_services(TUTORIAL).unwrap();
        let rs: Vec<_> =
            b.iter().map(|b| (b.addr.to_string(), b.weight, b.active, b.inactive)).collect();
        assert_eq!(rs, [("198.51.100.12".into(), 2, 0, 378), ("198.51.100.11".into(), 3, 0, 561)]);
        let vip = ProcService::Addr { proto: "TCP", addr: "192.0.2.1".parse().unwrap(), port: 80 };
        assert!(b.iter().all(|b| b.service == vip && b.port == 80));
    }

    #[test]
    fn every_real_server_is_read_under_its_service_fwmark_sctp_and_ipv6_included() {
        let b = parse_services(SERVICES).unwrap();
        assert_eq!(b.len(), 5);
        let vip = ProcService::Addr { proto: "TCP", addr: "192.0.2.1".parse().unwrap(), port: 80 };
        assert_eq!(
            b[1],
            ProcBackend {
                service: vip,
                addr: "198.51.100.11".parse().unwrap(),
                port: 80,
                weight: 3,
                active: 0,
                inactive: 600
            }
        );
        assert_eq!((b[0].weight, b[0].active, b[0].inactive), (2, 1, 399));
        assert_eq!(b[2].service, ProcService::Fwmark(42));
        assert!(matches!(b[3].service, ProcService::Addr { proto: "SCTP", port: 80, .. }));
        assert_eq!(b[4].addr.to_string(), "2001:db8::11");
        assert!(matches!(b[4].service, ProcService::Addr { proto: "UDP", port: 53, .. }));
        assert_eq!(parse_services(&SERVICES[..SERVICES.find("TCP").unwrap()]).unwrap(), []);
    }

    #[test]
    fn a_line_out_of_the_kernels_format_is_named_with_its_number() {
        let e = parse_stats("a\nb\n1 2 3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/proc/net/ip_vs_stats:3: 3 fields, the totals line has 5 (is this the kernel's \
             /proc/net/ip_vs_stats?)"
        );
        assert_eq!(parse_stats("a\n").unwrap_err().what, "too short");
        assert!(parse_stats("a\nb\n1 2 3 4 zz\n").unwrap_err().what.contains("'zz'"));
        let e =
            parse_services("TCP  C0000201:0050 wrr\n  -> C633640B:0050 Masq x 0 0\n").unwrap_err();
        assert_eq!((e.line, e.what.as_str()), (2, "'x' is not a decimal number"));
        let e = parse_services("  -> C633640B:0050 Masq 1 0 0\n").unwrap_err();
        assert_eq!((e.line, e.what.as_str()), (1, "a real server before any service"));
        for bad in
            ["TCP  C00002:0050 rr", "TCP  C0000201:50 rr", "TCP  [zz]:0050 rr", "ICMP 1 rr", "TCP"]
        {
            assert!(parse_services(bad).is_err(), "{bad}");
        }
    }
}
