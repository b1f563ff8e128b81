//! The IPVS connection table as the kernel prints it in
//! `/proc/net/ip_vs_conn` (there is no netlink dump of it), parsed into
//! plain data. Pure: the read itself is the monitor's
//! (`monitor::observe`), inside the director's namespace.
//!
//! The kernel's format (net/netfilter/ipvs/ip_vs_conn.c), one header line
//! and then one line per entry:
//!
//! ```text
//! Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
//! TCP C0000202 9C40 C0000201 0050 C633640B 0050 ESTABLISHED     899
//! ```
//!
//! IPv4 addresses and all ports are hexadecimal in host order; IPv6
//! addresses are written out in full (`2001:0db8:…`); `Expires` is in
//! seconds; a persistence engine (e.g. `sip`) adds its name and data.
//! Persistence templates are entries too: their client port is 0 (and a
//! firewall-mark service's template has protocol `IP`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One entry of the connection table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    /// `TCP`, `UDP`, `SCTP`, or `IP` (a firewall-mark template), as the kernel names it.
    pub proto: String,
    /// The client's address and port (port 0 for a template).
    pub client: SocketAddr,
    /// The virtual service's address and port (the mark, as an address, for a fwmark template).
    pub vip: SocketAddr,
    /// The real server's address and port.
    pub dest: SocketAddr,
    /// The protocol state (`ESTABLISHED`, `TIME_WAIT`, …; `NONE`/`ASSURED` for templates).
    pub state: String,
    /// Seconds until the entry expires.
    pub expires_s: u32,
    /// The persistence engine's name and data, when one is in use.
    pub pe: Option<(String, String)>,
}

impl Conn {
    /// Whether this is a persistence template (it ties a client to a real
    /// server for the service's persistence timeout), not a connection.
    pub fn is_template(&self) -> bool {
        self.client.port() == 0 || self.proto == "IP"
    }

    /// Whether the kernel counts it as an active connection (ActiveConn of
    /// `ipvsadm -Ln`): an established connection that is no template.
    pub fn is_active(&self) -> bool {
        !self.is_template() && self.state == "ESTABLISHED"
    }
}

/// A line of the table that is not in the kernel's format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number in the text.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ip_vs_conn line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// The path to read inside the director's namespace. `/proc/net` follows
/// the process's main thread, so a thread that entered the namespace reads
/// its own view through `thread-self`.
pub const PROC_PATH: &str = "/proc/thread-self/net/ip_vs_conn";

/// Parses the text of `/proc/net/ip_vs_conn`: every entry, in the kernel's
/// order. The header line (and blank lines) are skipped; any other line not
/// in the kernel's format is an error naming it. Never panics.
pub fn parse(text: &str) -> Result<Vec<Conn>, ParseError> {
    let mut conns = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() || line.starts_with("Pro ") {
            continue;
        }
        let conn = parse_line(line).map_err(|reason| ParseError { line: line_no, reason })?;
        conns.push(conn);
    }
    Ok(conns)
}

fn parse_line(line: &str) -> Result<Conn, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 9 && fields.len() != 11 && fields.len() != 10 {
        return Err(format!(
            "{} fields, expected 9 (or 11 with a persistence engine)",
            fields.len()
        ));
    }
    let addr = |i: usize| -> Result<SocketAddr, String> {
        Ok(SocketAddr::new(parse_addr(fields[i])?, parse_port(fields[i + 1])?))
    };
    let expires_s = fields[8]
        .parse::<u32>()
        .map_err(|_| format!("expiry '{}' is not a number of seconds", fields[8].escape_debug()))?;
    let pe = match fields.len() {
        11 => Some((fields[9].to_string(), fields[10].to_string())),
        10 => Some((fields[9].to_string(), String::new())),
        _ => None,
    };
    Ok(Conn {
        proto: fields[0].to_string(),
        client: addr(1)?,
        vip: addr(3)?,
        dest: addr(5)?,
        state: fields[7].to_string(),
        expires_s,
        pe,
    })
}

fn parse_addr(text: &str) -> Result<IpAddr, String> {
    if text.len() == 8
        && let Ok(v) = u32::from_str_radix(text, 16)
        && text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(IpAddr::V4(Ipv4Addr::from(v)));
    }
    text.parse::<Ipv6Addr>()
        .map(IpAddr::V6)
        .map_err(|_| format!("'{}' is no address", text.escape_debug()))
}

fn parse_port(text: &str) -> Result<u16, String> {
    if text.len() == 4 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u16::from_str_radix(text, 16).map_err(|e| e.to_string())
    } else {
        Err(format!("'{}' is no port", text.escape_debug()))
    }
}

/// The kernel's line for `conn` (IPv4 only), for tests and benchmarks that
/// need the text the kernel would print.
pub fn kernel_line(conn: &Conn) -> String {
    let hex = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => format!("{:08X} {:04X}", u32::from(v4), a.port()),
        IpAddr::V6(v6) => {
            let s = v6.segments().map(|s| format!("{s:04x}")).join(":");
            format!("{s} {:04X}", a.port())
        }
    };
    let pe = conn.pe.as_ref().map(|(n, d)| format!(" {n} {d}")).unwrap_or_default();
    format!(
        "{:<3} {} {} {} {:<11} {:>7}{pe}",
        conn.proto,
        hex(conn.client),
        hex(conn.vip),
        hex(conn.dest),
        conn.state,
        conn.expires_s
    )
}

/// The header line the kernel prints first.
pub const HEADER: &str =
    "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData";

#[cfg(test)]
mod tests {
    use super::*;

    /// In the kernel's format (seq_printf of ip_vs_conn.c): held, closing
    /// and closed connections, a UDP entry, a persistence template that pins
    /// the client, and a firewall-mark template.
    const CAPTURED: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED     899
TCP C0000202 D6F4 C0000201 0050 C633640C 0050 TIME_WAIT       118
TCP C0000202 0000 C0000201 0050 C633640B 0050 NONE            359
TCP C0000202 D6F6 C0000201 0050 C633640B 0050 FIN_WAIT         98
UDP C0000202 A001 C0000201 0035 C633640C 0035 UDP             299
IP  C0000202 0000 00000001 0000 C633640C 0000 NONE            299
";

    #[test]
    fn every_captured_line_parses_with_addresses_ports_and_states() {
        let conns = parse(CAPTURED).unwrap();
        assert_eq!(conns.len(), 6);
        let first = &conns[0];
        assert_eq!(first.proto, "TCP");
        assert_eq!(first.client, "192.0.2.2:55026".parse().unwrap());
        assert_eq!(first.vip, "192.0.2.1:80".parse().unwrap());
        assert_eq!(first.dest, "198.51.100.11:80".parse().unwrap());
        assert_eq!((first.state.as_str(), first.expires_s), ("ESTABLISHED", 899));
        assert!(first.is_active() && !first.is_template());
        assert!(!conns[1].is_active(), "TIME_WAIT is inactive");
        assert!(conns[2].is_template() && !conns[2].is_active());
        assert_eq!(conns[4].dest.port(), 53);
        assert!(conns[5].is_template(), "a fwmark template");
        assert_eq!(conns[5].vip.ip(), "0.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_empty_table_is_its_header() {
        assert_eq!(parse(&format!("{HEADER}\n")).unwrap(), Vec::new());
        assert_eq!(parse("").unwrap(), Vec::new());
    }

    #[test]
    fn ipv6_and_a_persistence_engine_parse() {
        let text = "TCP 2001:0db8:0000:0000:0000:0000:0000:0002 9C40 \
                    2001:0db8:0000:0000:0000:0000:0000:0001 0050 \
                    2001:0db8:0001:0000:0000:0000:0000:000b 1F90 SYN_RECV         59 sip abc123";
        let conns = parse(text).unwrap();
        assert_eq!(conns[0].client, "[2001:db8::2]:40000".parse().unwrap());
        assert_eq!(conns[0].dest, "[2001:db8:1::b]:8080".parse().unwrap());
        assert_eq!(conns[0].pe, Some(("sip".into(), "abc123".into())));
    }

    #[test]
    fn a_broken_line_is_named() {
        let err = parse("Pro ...\nTCP C0000202 D6F2 C0000201\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err =
            parse("TCP C00002ZZ D6F2 C0000201 0050 C633640B 0050 ESTABLISHED 899").unwrap_err();
        assert!(err.reason.contains("no address"), "{err}");
        let err =
            parse("TCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED -1").unwrap_err();
        assert!(err.reason.contains("expiry"), "{err}");
        let err = parse("TCP +0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED 1").unwrap_err();
        assert!(err.reason.contains("no address"), "{err}");
    }

    #[test]
    fn the_kernels_line_round_trips() {
        for conn in parse(CAPTURED).unwrap() {
            assert_eq!(parse(&kernel_line(&conn)).unwrap(), vec![conn]);
        }
    }
}
