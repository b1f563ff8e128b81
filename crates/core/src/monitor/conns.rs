//! The connection table as `lvslab conns` (text and `--json`) and the
//! dashboard's connections pane show it: the director's entries from
//! `/proc/net/ip_vs_conn` with each real server named as the lab names it,
//! and the counts per state and per real server. Pure: built from what the
//! observer read ([`super::ConnsRead`]).
//!
//! The counts follow the kernel's own: an established connection is
//! *active* (`ActiveConn` of `ipvsadm -Ln`), any other connection is
//! *inactive* (`InActConn`: the handshake not yet done, closing, or
//! TIME_WAIT), and a persistence template is neither (`ipvsadm -Ln
//! --persistent-conn` counts those).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;

use super::merge::name_of;
use crate::lab::model::LabSpec;
use lvslab_ipvs::conns::{Conn, ParseError, Parsed};

/// Version of the `conns --json` document (assets/schemas/conns.schema.json).
/// 2: `skipped_lines`.
pub const SCHEMA_VERSION: u32 = 2;

/// The connection table of one lab.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConnTable {
    /// Version of this document's schema.
    pub schema_version: u32,
    /// The lab's name.
    pub lab: String,
    /// The real server the table was narrowed to (`--server`), if any.
    pub server: Option<String>,
    /// Connections (templates not included).
    pub total: u64,
    /// Persistence templates.
    pub templates: u64,
    /// Connections per state (templates not included), e.g. `ESTABLISHED`.
    pub by_state: BTreeMap<String, u64>,
    /// Per real server: every real server of the lab (in the preset's order,
    /// zeros included), then any other destination found in the table.
    pub by_server: Vec<ServerConns>,
    /// Every entry: per real server in that order, templates first, then by client.
    pub connections: Vec<ConnEntry>,
    /// Lines of `/proc/net/ip_vs_conn` that were not in the kernel's format:
    /// skipped, so the table holds every other entry.
    pub skipped_lines: u64,
    /// The first of them, with their line numbers (for the text form).
    #[serde(skip)]
    pub skipped_first: Vec<ParseError>,
}

/// The counts of one real server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerConns {
    /// The lab's name for it, or its address when it is no lab host.
    pub name: String,
    /// Established connections (`ActiveConn`).
    pub active: u64,
    /// Other connections (`InActConn`).
    pub inactive: u64,
    /// Persistence templates pointing at it.
    pub templates: u64,
}

/// One entry of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnEntry {
    /// `TCP`, `UDP`, `SCTP`, or `IP` for a firewall-mark template.
    pub proto: String,
    /// Client address:port (port 0 in a template).
    pub client: String,
    /// Virtual service address:port.
    pub virtual_service: String,
    /// The real server's name in the lab (its address when it is no lab host).
    pub server: String,
    /// The real server's address:port.
    pub server_addr: String,
    /// Protocol state as the kernel names it (`NONE` for a template).
    pub state: String,
    /// Seconds until the kernel forgets it.
    pub expires_s: u32,
    /// A persistence template, not a connection.
    pub template: bool,
    /// Whether the kernel counts it as active.
    pub active: bool,
}

fn addr_port(a: SocketAddr) -> String {
    lvslab_ipvs::format::addr_port(a.ip(), a.port())
}

/// The table of `conns` in lab `spec`, narrowed to real server `server` when given.
pub fn table(spec: &LabSpec, conns: &[Conn], server: Option<&str>) -> ConnTable {
    let servers: Vec<String> = spec.real_servers.iter().map(|rs| rs.name.clone()).collect();
    table_named(&spec.name, servers, conns, server, |ip| name_of(spec, ip))
}

/// [`table`] of what was read, saying how many lines were skipped.
pub fn table_read(spec: &LabSpec, read: &Parsed, server: Option<&str>) -> ConnTable {
    ConnTable {
        skipped_lines: read.skipped as u64,
        skipped_first: read.skipped_first.clone(),
        ..table(spec, &read.conns, server)
    }
}

/// [`table`] for a lab named `lab` whose real servers are `servers` (in
/// order), `name_of` naming a destination address.
pub fn table_named(
    lab: &str,
    servers: Vec<String>,
    conns: &[Conn],
    server: Option<&str>,
    name_of: impl Fn(std::net::IpAddr) -> String,
) -> ConnTable {
    let mut order = servers;
    let mut rows: Vec<(usize, ConnEntry)> = Vec::with_capacity(conns.len());
    for c in conns {
        let name = name_of(c.dest.ip());
        if server.is_some_and(|s| s != name) {
            continue;
        }
        let index = order.iter().position(|n| *n == name).unwrap_or_else(|| {
            order.push(name.clone());
            order.len() - 1
        });
        rows.push((
            index,
            ConnEntry {
                proto: c.proto.clone(),
                client: addr_port(c.client),
                virtual_service: addr_port(c.vip),
                server: name,
                server_addr: addr_port(c.dest),
                state: c.state.clone(),
                expires_s: c.expires_s,
                template: c.is_template(),
                active: c.is_active(),
            },
        ));
    }
    if let Some(s) = server {
        order.retain(|n| n == s);
    }
    let mut by_server: Vec<ServerConns> = order
        .iter()
        .map(|name| ServerConns { name: name.clone(), active: 0, inactive: 0, templates: 0 })
        .collect();
    let mut by_state = BTreeMap::new();
    let (mut total, mut templates) = (0, 0);
    for (_, e) in &rows {
        let Some(counts) = by_server.iter_mut().find(|s| s.name == e.server) else { continue };
        if e.template {
            counts.templates += 1;
            templates += 1;
        } else {
            *by_state.entry(e.state.clone()).or_insert(0) += 1;
            total += 1;
            if e.active {
                counts.active += 1;
            } else {
                counts.inactive += 1;
            }
        }
    }
    rows.sort_by(|(ia, a), (ib, b)| {
        ia.cmp(ib).then(b.template.cmp(&a.template)).then_with(|| a.client.cmp(&b.client))
    });
    ConnTable {
        schema_version: SCHEMA_VERSION,
        lab: lab.to_string(),
        server: server.map(str::to_string),
        total,
        templates,
        by_state,
        by_server,
        connections: rows.into_iter().map(|(_, e)| e).collect(),
        skipped_lines: 0,
        skipped_first: Vec::new(),
    }
}

/// Seconds as `ipvsadm -Lnc` shows expiry: `mm:ss`.
pub fn expiry(seconds: u32) -> String {
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

/// Synthetic `/proc/net/ip_vs_conn` text: `n` connections from `clients`
/// client addresses of 203.0.113.0/24 to VIP 192.0.2.1:80, spread over
/// `servers` real servers from 198.51.100.11, in a mix of states, for
/// tests and the parser benchmark.
pub fn synthetic_text(n: usize, clients: u32, servers: u32) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(80 * (n + 1));
    text.push_str(lvslab_ipvs::conns::HEADER);
    text.push('\n');
    let states = ["ESTABLISHED", "ESTABLISHED", "TIME_WAIT", "FIN_WAIT", "SYN_RECV"];
    for i in 0..n as u32 {
        let client = 0xCB00_7100 + 2 + i % clients.max(1);
        let port = 1024 + (i % 60000);
        let dest = 0xC633_640B + i % servers.max(1);
        let state = states[i as usize % states.len()];
        let _ = writeln!(
            text,
            "TCP {client:08X} {port:04X} C0000201 0050 {dest:08X} 0050 {state:<11} {:>7}",
            i % 900
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;
    use lvslab_ipvs::conns::parse;

    fn tutorial() -> LabSpec {
        presets::load("tutorial").unwrap().spec
    }

    const HELD: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED     899
TCP C0000202 D6F3 C0000201 0050 C633640C 0050 ESTABLISHED     899
TCP C0000202 D6F4 C0000201 0050 C633640B 0050 ESTABLISHED     898
TCP C0000202 D6F5 C0000201 0050 C633640C 0050 TIME_WAIT       118
TCP C0000202 0000 C0000201 0050 C633640B 0050 NONE            359
TCP C0000202 D6F6 C0000201 0050 C6336463 0050 SYN_RECV         59
";

    #[test]
    fn entries_are_named_and_counted_like_ipvsadm() {
        let t = table(&tutorial(), &parse(HELD).conns, None);
        assert_eq!((t.total, t.templates), (5, 1));
        assert_eq!(t.by_state["ESTABLISHED"], 3);
        assert_eq!(t.by_state["TIME_WAIT"], 1);
        let counts: Vec<_> = t
            .by_server
            .iter()
            .map(|s| (s.name.as_str(), s.active, s.inactive, s.templates))
            .collect();
        assert_eq!(
            counts,
            [("rs1", 2, 0, 1), ("rs2", 1, 1, 0), ("198.51.100.99", 0, 1, 0)],
            "lab servers in preset order, a stranger by address"
        );
        let first = &t.connections[0];
        assert!(first.template, "templates first");
        assert_eq!(
            (first.server.as_str(), first.client.as_str(), first.virtual_service.as_str()),
            ("rs1", "192.0.2.2:0", "192.0.2.1:80")
        );
        assert_eq!(t.connections[1].server_addr, "198.51.100.11:80");
    }

    #[test]
    fn narrowing_to_one_server_keeps_its_entries_only() {
        let t = table(&tutorial(), &parse(HELD).conns, Some("rs2"));
        assert_eq!(t.total, 2);
        assert_eq!(t.by_server.len(), 1);
        assert!(t.connections.iter().all(|c| c.server == "rs2"));
    }

    #[test]
    fn an_empty_table_still_lists_every_server() {
        let t = table(&tutorial(), &[], None);
        assert_eq!(t.total, 0);
        assert_eq!(t.by_server.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["rs1", "rs2"]);
    }

    #[test]
    fn skipped_lines_are_counted_in_the_table_of_the_rest() {
        let text = format!("{HELD}TCP C0000202 D6F7 oops\nnot a line at all\n");
        let t = table_read(&tutorial(), &parse(&text), None);
        assert_eq!((t.total, t.templates, t.skipped_lines), (5, 1, 2));
        assert_eq!(t.skipped_first.iter().map(|e| e.line).collect::<Vec<_>>(), [8, 9]);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["skipped_lines"], 2);
        assert!(json.get("skipped_first").is_none(), "the JSON counts; the text names them");
    }

    #[test]
    fn expiry_reads_as_minutes_and_seconds() {
        assert_eq!(expiry(899), "14:59");
        assert_eq!(expiry(5), "00:05");
    }

    #[test]
    fn synthetic_text_parses_to_as_many_entries() {
        let conns = parse(&synthetic_text(1000, 50, 2)).conns;
        assert_eq!(conns.len(), 1000);
        let t = table(&tutorial(), &conns, None);
        assert_eq!(t.by_server[0].active + t.by_server[0].inactive, 500);
    }
}
