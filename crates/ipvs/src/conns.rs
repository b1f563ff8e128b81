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

/// How many skipped lines [`parse`] describes; beyond them it only counts.
pub const SKIPPED_KEPT: usize = 10;

/// What [`parse`] read: every entry it could, and the lines it could not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Every entry, in the kernel's order.
    pub conns: Vec<Conn>,
    /// Lines not in the kernel's format.
    pub skipped: usize,
    /// The first [`SKIPPED_KEPT`] of them: line number and why. The reason
    /// quotes the line's bad field escaped and shortened, never raw.
    pub skipped_first: Vec<ParseError>,
}

/// Parses the text of `/proc/net/ip_vs_conn`: every entry, in the kernel's
/// order. The header line (and blank lines) are skipped; any other line not
/// in the kernel's format is skipped and counted, so one odd line does not
/// hide the table. Never panics.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with("Pro ") {
            continue;
        }
        match parse_line(line) {
            Ok(conn) => parsed.conns.push(conn),
            Err(reason) => {
                parsed.skipped += 1;
                if parsed.skipped_first.len() < SKIPPED_KEPT {
                    parsed.skipped_first.push(ParseError { line: i + 1, reason });
                }
            }
        }
    }
    parsed
}

/// Longest part of a bad field a reason quotes.
const QUOTED_MAX: usize = 32;

/// `field` for a reason: control characters escaped, at most [`QUOTED_MAX`]
/// characters, so a line of the table cannot write to the terminal.
fn quoted(field: &str) -> String {
    let mut out: String = field.chars().take(QUOTED_MAX).flat_map(char::escape_debug).collect();
    if field.chars().nth(QUOTED_MAX).is_some() {
        out.push('…');
    }
    out
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
        .map_err(|_| format!("expiry '{}' is not a number of seconds", quoted(fields[8])))?;
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
        .map_err(|_| format!("'{}' is no address", quoted(text)))
}

fn parse_port(text: &str) -> Result<u16, String> {
    if text.len() == 4 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u16::from_str_radix(text, 16).map_err(|e| e.to_string())
    } else {
        Err(format!("'{}' is no port", quoted(text)))
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
        let parsed = parse(CAPTURED);
        assert_eq!(parsed.skipped, 0);
        let conns = parsed.conns;
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
        assert_eq!(parse(&format!("{HEADER}\n")), Parsed::default());
        assert_eq!(parse(""), Parsed::default());
    }

    #[test]
    fn ipv6_and_a_persistence_engine_parse() {
        let text = "TCP 2001:0db8:0000:0000:0000:0000:0000:0002 9C40 \
                    2001:0db8:0000:0000:0000:0000:0000:0001 0050 \
                    2001:0db8:0001:0000:0000:0000:0000:000b 1F90 SYN_RECV         59 sip abc123";
        let conns = parse(text).conns;
        assert_eq!(conns[0].client, "[2001:db8::2]:40000".parse().unwrap());
        assert_eq!(conns[0].dest, "[2001:db8:1::b]:8080".parse().unwrap());
        assert_eq!(conns[0].pe, Some(("sip".into(), "abc123".into())));
    }

    /// The one reason `parse` gives for `line` alone.
    fn skipped(line: &str) -> ParseError {
        let parsed = parse(line);
        assert!(parsed.conns.is_empty() && parsed.skipped == 1, "{parsed:?}");
        parsed.skipped_first[0].clone()
    }

    #[test]
    fn a_broken_line_is_named() {
        assert!(skipped("TCP C0000202 D6F2 C0000201").reason.contains("4 fields"));
        let err = skipped("TCP C00002ZZ D6F2 C0000201 0050 C633640B 0050 ESTABLISHED 899");
        assert!(err.reason.contains("no address"), "{err}");
        let err = skipped("TCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED -1");
        assert!(err.reason.contains("expiry"), "{err}");
        let err = skipped("TCP +0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED 1");
        assert!(err.reason.contains("no address"), "{err}");
    }

    #[test]
    fn malformed_lines_are_skipped_counted_and_named_and_the_rest_is_read() {
        let good = |port: u16| {
            format!("TCP C0000202 {port:04X} C0000201 0050 C633640B 0050 ESTABLISHED     899")
        };
        let text = format!(
            "{HEADER}\n{}\nTCP C0000202 D6F2\n{}\n\nTCP C0000202 D6F4 C0000201 0050 \
             C633640B 0050 ESTABLISHED soon\n{}\n",
            good(1),
            good(2),
            good(3)
        );
        let parsed = parse(&text);
        let ports: Vec<u16> = parsed.conns.iter().map(|c| c.client.port()).collect();
        assert_eq!(ports, [1, 2, 3], "every good line, in order");
        assert_eq!(parsed.skipped, 2);
        let lines: Vec<usize> = parsed.skipped_first.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 6], "the file's own line numbers (the header is line 1)");
        assert_eq!(
            parsed.skipped_first[1].to_string(),
            "ip_vs_conn line 6: expiry 'soon' is not a number of seconds"
        );

        // Many bad lines: all counted, the first few described.
        let parsed = parse(&"garbage\n".repeat(1000));
        assert_eq!((parsed.skipped, parsed.skipped_first.len()), (1000, SKIPPED_KEPT));
    }

    #[test]
    fn a_line_with_terminal_escapes_is_never_quoted_raw() {
        let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m";
        for line in [
            format!("TCP {evil} D6F2 C0000201 0050 C633640B 0050 ESTABLISHED 1"),
            format!("TCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED {evil}"),
            format!("TCP C0000202 {evil} C0000201 0050 C633640B 0050 ESTABLISHED 1"),
            format!(
                "TCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED 1{}",
                "x".repeat(5000)
            ),
        ] {
            let reason = skipped(&line).reason;
            assert!(!reason.chars().any(char::is_control), "{reason:?}");
            assert!(reason.len() < 200, "a reason quotes a field shortened: {reason}");
        }
        assert!(
            skipped(&format!("TCP {evil} D6F2 C0000201 0050 C633640B 0050 E 1"))
                .reason
                .contains("\\u{1b}]0;owned")
        );
    }

    #[test]
    fn the_kernels_line_round_trips() {
        for conn in parse(CAPTURED).conns {
            assert_eq!(parse(&kernel_line(&conn)).conns, vec![conn]);
        }
    }
}
