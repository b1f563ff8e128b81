//! Reading the director's nftables counters and conntrack table back, from
//! the text the `nft -j` and `conntrack -L` commands print. Pure: the
//! commands run in the binary's `nft::exec`.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::ruleset::{CounterKind, TABLE, parse_counter_name};

/// Packets and bytes of one named counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// The counters of one real server of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackendCounters {
    /// Connections sent to it (first packets through its nat chain).
    pub conns: u64,
    /// Client to server.
    pub inbound: Count,
    /// Server to client.
    pub outbound: Count,
}

/// Counters by (service index, `name-port` of the backend).
pub type Counters = HashMap<(usize, String), BackendCounters>;

/// The counters in `nft -j list counters table ip lvslab` output.
pub fn counters(json: &str) -> Result<Counters, String> {
    let doc: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("nft printed no JSON: {e}"))?;
    let items = doc
        .get("nftables")
        .and_then(|v| v.as_array())
        .ok_or("nft's JSON has no \"nftables\" list")?;
    let mut out = Counters::new();
    for counter in items.iter().filter_map(|i| i.get("counter")) {
        if counter.get("table").and_then(|t| t.as_str()) != Some(TABLE) {
            continue;
        }
        let Some(name) = counter.get("name").and_then(|n| n.as_str()) else { continue };
        let Some((index, backend, kind)) = parse_counter_name(name) else { continue };
        let number = |key: &str| counter.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
        let count = Count { packets: number("packets"), bytes: number("bytes") };
        let entry = out.entry((index, backend.to_string())).or_default();
        match kind {
            CounterKind::Conns => entry.conns = count.packets,
            CounterKind::In => entry.inbound = count,
            CounterKind::Out => entry.outbound = count,
        }
    }
    Ok(out)
}

/// One connection the director's conntrack tracks through a DNAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// `tcp`, `udp`...
    pub protocol: String,
    /// TCP state (`ESTABLISHED`, `TIME_WAIT`...); `None` for other protocols.
    pub state: Option<String>,
    /// The client's address.
    pub client: Ipv4Addr,
    /// The client's port.
    pub client_port: u16,
    /// Where the client sent it (the VIP).
    pub vip: Ipv4Addr,
    /// Its port.
    pub vport: u16,
    /// The real server that answers (the reply's source).
    pub server: Ipv4Addr,
    /// Its port.
    pub server_port: u16,
    /// Seconds before conntrack forgets it.
    pub expires_s: u64,
}

impl Tracked {
    /// Active as IPVS counts it: an established TCP connection.
    pub fn active(&self) -> bool {
        self.state.as_deref() == Some("ESTABLISHED")
    }
}

/// The DNAT-ed connections in `conntrack -L` output (lines whose reply
/// comes from another address than the original destination).
pub fn conntrack(text: &str) -> Vec<Tracked> {
    text.lines().filter_map(conntrack_line).collect()
}

fn conntrack_line(line: &str) -> Option<Tracked> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let protocol = (*words.first()?).to_string();
    let expires_s = words.get(2)?.parse().ok()?;
    let state = words.get(3).filter(|w| !w.contains('=')).map(|w| (*w).to_string());
    let values = |key: &str| -> Vec<&str> {
        words.iter().filter_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('='))).collect()
    };
    let (src, dst, sport, dport) = (values("src"), values("dst"), values("sport"), values("dport"));
    if src.len() < 2 || dst.len() < 2 || sport.len() < 2 || dport.len() < 2 {
        return None;
    }
    let tracked = Tracked {
        protocol,
        state,
        client: src[0].parse().ok()?,
        client_port: sport[0].parse().ok()?,
        vip: dst[0].parse().ok()?,
        vport: dport[0].parse().ok()?,
        server: src[1].parse().ok()?,
        server_port: sport[1].parse().ok()?,
        expires_s,
    };
    (tracked.server != tracked.vip).then_some(tracked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_name_and_others_ignored() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
          {"counter": {"family": "ip", "name": "s0-rs1-80-conns", "table": "lvslab", "handle": 7, "packets": 600, "bytes": 36000}},
          {"counter": {"family": "ip", "name": "s0-rs1-80-in", "table": "lvslab", "handle": 8, "packets": 3000, "bytes": 200000}},
          {"counter": {"family": "ip", "name": "s0-rs1-80-out", "table": "lvslab", "handle": 9, "packets": 2400, "bytes": 900000}},
          {"counter": {"family": "ip", "name": "stranger", "table": "lvslab", "handle": 10, "packets": 1, "bytes": 1}},
          {"counter": {"family": "ip", "name": "s0-rs2-80-in", "table": "other", "handle": 1, "packets": 1, "bytes": 1}}]}"#;
        let read = counters(json).unwrap();
        assert_eq!(read.len(), 1);
        let rs1 = read[&(0, "rs1-80".to_string())];
        assert_eq!(rs1.conns, 600);
        assert_eq!(rs1.inbound, Count { packets: 3000, bytes: 200_000 });
        assert_eq!(rs1.outbound.bytes, 900_000);
        assert!(counters("Error: no such table").is_err());
    }

    #[test]
    fn conntrack_lines_give_client_vip_and_real_server() {
        let text = "\
tcp      6 431999 ESTABLISHED src=192.0.2.2 dst=192.0.2.1 sport=40000 dport=80 src=198.51.100.11 dst=192.0.2.2 sport=80 dport=40000 [ASSURED] mark=0 use=1
tcp      6 118 TIME_WAIT src=192.0.2.2 dst=192.0.2.1 sport=40001 dport=80 src=198.51.100.12 dst=192.0.2.2 sport=80 dport=40001 [ASSURED] mark=0 use=1
icmp     1 29 src=192.0.2.2 dst=198.51.100.11 type=8 code=0 id=7 src=198.51.100.11 dst=192.0.2.2 type=0 code=0 id=7 mark=0 use=1
udp      17 29 src=192.0.2.2 dst=192.0.2.1 sport=5353 dport=53 src=198.51.100.11 dst=192.0.2.2 sport=53 dport=5353 mark=0 use=1
garbage line
";
        let read = conntrack(text);
        assert_eq!(read.len(), 3, "{read:?}");
        assert!(read[0].active() && !read[1].active() && !read[2].active());
        assert_eq!((read[1].server, read[1].server_port), ("198.51.100.12".parse().unwrap(), 80));
        assert_eq!(read[2].state, None);
        assert_eq!(read[0].expires_s, 431_999);
    }
}
