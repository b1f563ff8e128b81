//! The nft read beside [`lvslab_core::monitor::IpvsRead`]: on `--dataplane nft`
//! the director's nftables counters and conntrack table, shaped as the IPVS
//! table every view already shows (services, real servers, weights,
//! connections, packets, bytes, rates), so `status`, `--json`, `traffic`
//! and the dashboard work unchanged on either dataplane.
//!
//! Where each figure comes from:
//! - connections: the `-conns` counter in each real server's nat chain
//!   (one packet per new connection, since a nat chain sees only the first);
//! - packets and bytes: the `-in`/`-out` counters in the forward hook;
//! - active/inactive connections: conntrack entries DNAT-ed to the server
//!   (active = established TCP, as IPVS counts them);
//! - rates: the difference between two reads (IPVS's estimator has none here);
//! - scheduler and weights: the lab's record, which is what lvslab programmed
//!   (a hand edit of the nftables table shows in its counters only).

use lvslab_core::lab::model::hosts;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::nft::read::{BackendCounters, Counters, Tracked};
use crate::nft::{exec, read};
use lvslab_core::lab::model::LabSpec;
use lvslab_core::lab::table;
use lvslab_core::monitor::{ConnsRead, IpvsRead, Table};
use lvslab_ipvs::Stats;
use lvslab_ipvs::conns::{Conn, Parsed};

/// Rates are the difference over about this long, as IPVS's estimator
/// averages over about 2 s (a read every 100 ms would make them jump).
pub const RATE_WINDOW: Duration = Duration::from_secs(2);

/// Earlier reads, for rates: the oldest is about [`RATE_WINDOW`] old.
#[derive(Debug, Default)]
pub struct NftReader {
    reads: VecDeque<(Instant, Counters)>,
}

impl NftReader {
    /// Reads the director's counters and conntrack table now.
    pub fn read(&mut self, spec: &LabSpec) -> IpvsRead {
        let ns = spec.netns(hosts::DIRECTOR);
        let counters = match exec::list_counters(&ns)
            .map_err(|e| e.to_string())
            .and_then(|json| read::counters(&json))
        {
            Ok(counters) => counters,
            Err(e) => {
                self.reads.clear();
                return IpvsRead::Failed(e);
            }
        };
        let tracked = match exec::conntrack(&ns) {
            Ok(text) => read::conntrack(&text),
            Err(e) => {
                // Balancing goes on; only active/inactive counts are missing.
                tracing::debug!("conntrack in {ns}: {e}");
                Vec::new()
            }
        };
        let now = Instant::now();
        while self.reads.get(1).is_some_and(|(at, _)| now.duration_since(*at) >= RATE_WINDOW) {
            self.reads.pop_front();
        }
        let previous = self.reads.front().map(|(at, c)| (c, now.duration_since(*at)));
        let out = as_table(spec, &counters, &tracked, previous);
        self.reads.push_back((now, counters));
        IpvsRead::Table(out)
    }
}

/// The director's conntrack entries for the lab's services, as `lvslab
/// conns` lists IPVS's connections (same columns, filters and counts).
/// Balancing goes on without `conntrack`; the table then says why it is
/// missing.
pub fn read_conns(spec: &LabSpec) -> ConnsRead {
    match exec::conntrack(&spec.netns(hosts::DIRECTOR)) {
        Ok(text) => ConnsRead::Table(Parsed {
            conns: as_conns(spec, &read::conntrack(&text)),
            skipped: 0,
            skipped_first: Vec::new(),
        }),
        Err(e) => ConnsRead::Failed(format!("conntrack -L in the director: {e}")),
    }
}

/// The tracked connections DNAT-ed from one of the lab's services, in the
/// shape of IPVS's connection entries (pure). conntrack keeps no
/// persistence templates: nftables has no persistence.
pub fn as_conns(spec: &LabSpec, tracked: &[Tracked]) -> Vec<Conn> {
    tracked
        .iter()
        .filter(|t| {
            spec.services.iter().any(|svc| {
                svc.vip == t.vip
                    && svc.port == t.vport
                    && svc.protocol.to_string().eq_ignore_ascii_case(&t.protocol)
            })
        })
        .map(|t| {
            let proto = t.protocol.to_ascii_uppercase();
            Conn {
                // conntrack has TCP states; IPVS names a UDP entry's state `UDP`.
                state: t.state.clone().unwrap_or_else(|| proto.clone()),
                proto,
                client: SocketAddr::new(IpAddr::V4(t.client), t.client_port),
                vip: SocketAddr::new(IpAddr::V4(t.vip), t.vport),
                dest: SocketAddr::new(IpAddr::V4(t.server), t.server_port),
                expires_s: u32::try_from(t.expires_s).unwrap_or(u32::MAX),
                pe: None,
            }
        })
        .collect()
}

/// The lab's services with the counters and connections read from the
/// director (pure). `previous` gives rates: an earlier read and its age.
pub fn as_table(
    spec: &LabSpec,
    counters: &Counters,
    tracked: &[Tracked],
    previous: Option<(&Counters, Duration)>,
) -> Table {
    spec.services
        .iter()
        .enumerate()
        .zip(table::table(spec))
        .map(|((index, svc), (mut service, mut dests))| {
            for (member, dest) in svc.members.iter().zip(dests.iter_mut()) {
                let key = (index, format!("{}-{}", member.name, member.port));
                let Some(now) = counters.get(&key) else { continue };
                let before = previous.and_then(|(c, age)| Some((c.get(&key)?, age)));
                dest.stats = stats(now, before);
                let mine = tracked.iter().filter(|t| {
                    IpAddr::V4(t.server) == dest.addr
                        && t.server_port == dest.port
                        && t.vip == svc.vip
                        && t.vport == svc.port
                });
                for t in mine {
                    if t.active() {
                        dest.active_conns += 1;
                    } else {
                        dest.inactive_conns += 1;
                    }
                }
            }
            service.stats = dests.iter().fold(Stats::default(), |sum, d| add(sum, &d.stats));
            (service, dests)
        })
        .collect()
}

fn stats(now: &BackendCounters, before: Option<(&BackendCounters, Duration)>) -> Stats {
    let rate = |now: u64, then: u64, age: Duration| {
        let secs = age.as_secs_f64();
        if secs > 0.0 { (now.saturating_sub(then) as f64 / secs).round() as u64 } else { 0 }
    };
    let mut s = Stats {
        conns: now.conns,
        in_pkts: now.inbound.packets,
        out_pkts: now.outbound.packets,
        in_bytes: now.inbound.bytes,
        out_bytes: now.outbound.bytes,
        ..Stats::default()
    };
    if let Some((then, age)) = before {
        s.cps = rate(now.conns, then.conns, age);
        s.in_pps = rate(now.inbound.packets, then.inbound.packets, age);
        s.out_pps = rate(now.outbound.packets, then.outbound.packets, age);
        s.in_bps = rate(now.inbound.bytes, then.inbound.bytes, age);
        s.out_bps = rate(now.outbound.bytes, then.outbound.bytes, age);
    }
    s
}

fn add(a: Stats, b: &Stats) -> Stats {
    Stats {
        conns: a.conns + b.conns,
        in_pkts: a.in_pkts + b.in_pkts,
        out_pkts: a.out_pkts + b.out_pkts,
        in_bytes: a.in_bytes + b.in_bytes,
        out_bytes: a.out_bytes + b.out_bytes,
        cps: a.cps + b.cps,
        in_pps: a.in_pps + b.in_pps,
        out_pps: a.out_pps + b.out_pps,
        in_bps: a.in_bps + b.in_bps,
        out_bps: a.out_bps + b.out_bps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nft::read::Count;
    use lvslab_core::lab::presets;

    fn counters(rs1: u64, rs2: u64) -> Counters {
        let c = |conns: u64| BackendCounters {
            conns,
            inbound: Count { packets: conns * 5, bytes: conns * 400 },
            outbound: Count { packets: conns * 4, bytes: conns * 900 },
        };
        [((0, "rs1-80".to_string()), c(rs1)), ((0, "rs2-80".to_string()), c(rs2))].into()
    }

    #[test]
    fn counters_and_conntrack_become_the_tutorials_table() {
        let spec = presets::load("tutorial").unwrap().spec;
        let tracked = read::conntrack(
            "tcp 6 431999 ESTABLISHED src=192.0.2.2 dst=192.0.2.1 sport=40000 dport=80 src=198.51.100.11 dst=192.0.2.2 sport=80 dport=40000 [ASSURED] mark=0 use=1\n\
             tcp 6 100 TIME_WAIT src=192.0.2.2 dst=192.0.2.1 sport=40001 dport=80 src=198.51.100.11 dst=192.0.2.2 sport=80 dport=40001 [ASSURED] mark=0 use=1\n",
        );
        let before = counters(300, 200);
        let table =
            as_table(&spec, &counters(600, 400), &tracked, Some((&before, Duration::from_secs(2))));
        assert_eq!(table.len(), 1);
        let (svc, dests) = &table[0];
        assert_eq!(svc.scheduler, "wrr");
        assert_eq!(svc.stats.conns, 1000);
        assert_eq!(dests.iter().map(|d| d.stats.conns).collect::<Vec<_>>(), [600, 400]);
        assert_eq!(dests.iter().map(|d| d.weight).collect::<Vec<_>>(), [3, 2]);
        assert_eq!((dests[0].active_conns, dests[0].inactive_conns), (1, 1));
        assert_eq!((dests[1].active_conns, dests[1].inactive_conns), (0, 0));
        assert_eq!(dests[0].stats.cps, 150, "300 connections in 2 s");
        assert_eq!(dests[1].stats.out_bytes, 400 * 900);
    }

    #[test]
    fn conntrack_entries_of_the_vip_become_connection_entries() {
        let spec = presets::load("tutorial").unwrap().spec;
        let tracked = read::conntrack(
            "tcp 6 431999 ESTABLISHED src=192.0.2.2 dst=192.0.2.1 sport=40000 dport=80 src=198.51.100.11 dst=192.0.2.2 sport=80 dport=40000 [ASSURED] mark=0 use=1\n\
             tcp 6 100 TIME_WAIT src=192.0.2.2 dst=192.0.2.1 sport=40001 dport=80 src=198.51.100.12 dst=192.0.2.2 sport=80 dport=40001 [ASSURED] mark=0 use=1\n\
             tcp 6 100 TIME_WAIT src=192.0.2.2 dst=192.0.2.9 sport=40002 dport=80 src=198.51.100.12 dst=192.0.2.2 sport=80 dport=40002 [ASSURED] mark=0 use=1\n",
        );
        let conns = as_conns(&spec, &tracked);
        assert_eq!(conns.len(), 2, "the entry to another address is no service's: {conns:?}");
        assert_eq!(conns[0].proto, "TCP");
        assert_eq!(conns[0].client.to_string(), "192.0.2.2:40000");
        assert_eq!(conns[0].vip.to_string(), "192.0.2.1:80");
        assert_eq!(conns[0].dest.to_string(), "198.51.100.11:80");
        assert!(conns[0].is_active() && !conns[1].is_active() && !conns[1].is_template());
        let table = lvslab_core::monitor::conns::table(&spec, &conns, None);
        assert_eq!((table.by_server[0].active, table.by_server[1].inactive), (1, 1));
    }
}
