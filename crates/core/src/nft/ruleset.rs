//! The nftables ruleset of a director, as text for `nft -f -`. Pure.
//!
//! The shape follows kube-proxy's nftables mode (KEP-3866), in its own
//! table so nothing else in the namespace is touched:
//!
//! ```text
//! table ip lvslab
//!   map services        VIP . proto . port : goto <service chain>      one lookup, any number of services
//!   chain prerouting    nat hook: ip daddr . meta l4proto . th dport vmap @services
//!   chain s0            numgen inc | numgen random | jhash ip saddr | jhash ip daddr  mod N  vmap @s0-pick
//!   map s0-pick         interval map: each real server owns a run of slots in proportion to its weight
//!   chain s0-rs1-80     counter (connections), dnat to RIP:port
//!   map s0-in, s0-out   RIP . port : counter     each real server's packets/bytes, by direction
//!   chain forward       filter hook: two rules per service, counting through those maps
//! ```
//!
//! A nat chain sees only the first packet of a connection; conntrack keeps
//! the rest of the connection on the real server the first one chose, and
//! rewrites the replies' source back to the VIP. NAT-mode real servers route
//! back through the director (their gateway is the DIP), so no masquerade is
//! needed.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use lvslab_ipvs::Protocol;

/// The table lvslab owns in the director's namespace.
pub const TABLE: &str = "lvslab";
/// Its family: IPv4 only, as the labs are.
pub const FAMILY: &str = "ip";

/// How a service picks a real server for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// `numgen inc`: a counter, so each slot in turn (rr, wrr).
    Inc,
    /// `numgen random`: a random slot (kube-proxy's choice).
    Random,
    /// `jhash ip saddr`: the client address decides (sh).
    SourceHash,
    /// `jhash ip daddr`: the destination address decides (dh).
    DestHash,
}

impl Pick {
    /// The nftables expression, without its `mod N`.
    pub fn expr(self) -> &'static str {
        match self {
            Self::Inc => "numgen inc",
            Self::Random => "numgen random",
            Self::SourceHash => "jhash ip saddr",
            Self::DestHash => "jhash ip daddr",
        }
    }
}

/// One real server of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// Its host name in the lab (names its chain and counters).
    pub name: String,
    /// Its address (RIP).
    pub addr: Ipv4Addr,
    /// Its port.
    pub port: u16,
    /// Its share of new connections; 0 drains it (existing ones stay).
    pub weight: u32,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftService {
    /// Transport protocol.
    pub protocol: Protocol,
    /// Virtual address.
    pub vip: Ipv4Addr,
    /// Virtual port.
    pub port: u16,
    /// How a real server is picked.
    pub pick: Pick,
    /// Its real servers, in the lab's order.
    pub backends: Vec<Backend>,
}

/// The director's whole table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ruleset {
    /// Services, in the lab's order; the index names their chains (`s0`...).
    pub services: Vec<NftService>,
}

/// The counters kept for one real server of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterKind {
    /// First packets of connections sent to it (the nat chain's counter).
    Conns,
    /// Packets and bytes from clients to it (forward hook).
    In,
    /// Packets and bytes from it to clients (forward hook).
    Out,
}

impl CounterKind {
    const ALL: [Self; 3] = [Self::Conns, Self::In, Self::Out];

    fn suffix(self) -> &'static str {
        match self {
            Self::Conns => "conns",
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// The chain of service `index`.
pub fn service_chain(index: usize) -> String {
    format!("s{index}")
}

/// The endpoint chain of `backend` in service `index`.
pub fn backend_chain(index: usize, backend: &Backend) -> String {
    format!("s{index}-{}-{}", backend.name, backend.port)
}

/// The name of one of a backend's counters.
pub fn counter_name(index: usize, backend: &Backend, kind: CounterKind) -> String {
    format!("{}-{}", backend_chain(index, backend), kind.suffix())
}

/// Which counter a name is: (service index, `name-port` of the backend, kind).
pub fn parse_counter_name(name: &str) -> Option<(usize, &str, CounterKind)> {
    let rest = name.strip_prefix('s')?;
    let (index, rest) = rest.split_once('-')?;
    let (backend, suffix) = rest.rsplit_once('-')?;
    let kind = CounterKind::ALL.into_iter().find(|k| k.suffix() == suffix)?;
    Some((index.parse().ok()?, backend, kind))
}

/// The slots of a service: for each backend with weight, the first and
/// last slot it owns, and the number of slots (N of `mod N`). Weights are
/// divided by their greatest common divisor, so 300:200 is 3:2.
pub fn slots(backends: &[Backend]) -> (Vec<(usize, u64, u64)>, u64) {
    let divisor = backends.iter().map(|b| u64::from(b.weight)).fold(0, gcd).max(1);
    let mut next = 0u64;
    let mut out = Vec::new();
    for (i, b) in backends.iter().enumerate() {
        let n = u64::from(b.weight) / divisor;
        if n > 0 {
            out.push((i, next, next + n - 1));
            next += n;
        }
    }
    (out, next)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn proto(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

impl Ruleset {
    /// The whole table, for a namespace that has none yet: one `nft -f`
    /// transaction creates it.
    pub fn create(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "table {FAMILY} {TABLE} {{");
        self.objects(&mut out);
        out.push_str("}\n");
        out
    }

    /// One transaction that turns the table `old` made into this one. The
    /// named counters of real servers that stay keep their values; chains,
    /// maps and counters only `old` had are deleted. Applied atomically: a
    /// new connection sees either the old table or the new one.
    pub fn replace(&self, old: &Ruleset) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "add table {FAMILY} {TABLE}");
        let _ = writeln!(out, "flush table {FAMILY} {TABLE}");
        let (new_chains, new_maps, new_counters) = self.names();
        let (old_chains, old_maps, old_counters) = old.names();
        // Flushed rules no longer jump to old chains: delete what is gone.
        // Service chains are referenced from maps (flushed too).
        // `flush table` empties chains, not maps: the maps are emptied (or
        // deleted) here, and filled again below.
        for map in &old_maps {
            let verb = if new_maps.contains(map) { "flush" } else { "delete" };
            let _ = writeln!(out, "{verb} map {FAMILY} {TABLE} {map}");
        }
        for chain in old_chains.iter().filter(|c| !new_chains.contains(c)) {
            let _ = writeln!(out, "delete chain {FAMILY} {TABLE} {chain}");
        }
        for counter in old_counters.iter().filter(|c| !new_counters.contains(c)) {
            let _ = writeln!(out, "delete counter {FAMILY} {TABLE} {counter}");
        }
        let _ = writeln!(out, "table {FAMILY} {TABLE} {{");
        self.objects(&mut out);
        out.push_str("}\n");
        out
    }

    /// Names of the chains, maps and counters this table has.
    fn names(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut chains = vec!["prerouting".to_string(), "forward".to_string()];
        let mut maps = vec!["services".to_string()];
        let mut counters = Vec::new();
        for (i, svc) in self.services.iter().enumerate() {
            chains.push(service_chain(i));
            maps.extend(["pick", "in", "out"].map(|m| format!("{}-{m}", service_chain(i))));
            for b in &svc.backends {
                chains.push(backend_chain(i, b));
                counters.extend(CounterKind::ALL.map(|k| counter_name(i, b, k)));
            }
        }
        (chains, maps, counters)
    }

    /// The table's body: counters, maps, chains.
    fn objects(&self, out: &mut String) {
        for (i, svc) in self.services.iter().enumerate() {
            for b in &svc.backends {
                for kind in CounterKind::ALL {
                    let _ = writeln!(out, "  counter {} {{ }}", counter_name(i, b, kind));
                }
            }
        }
        out.push_str(
            "  map services {\n    type ipv4_addr . inet_proto . inet_service : verdict\n",
        );
        let elements: Vec<String> = self
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{} . {} . {} : goto {}",
                    s.vip,
                    proto(s.protocol),
                    s.port,
                    service_chain(i)
                )
            })
            .collect();
        if !elements.is_empty() {
            let _ = writeln!(out, "    elements = {{ {} }}", elements.join(", "));
        }
        out.push_str("  }\n");
        for (i, svc) in self.services.iter().enumerate() {
            let (slots, total) = slots(&svc.backends);
            let _ = writeln!(out, "  map {}-pick {{", service_chain(i));
            let _ = writeln!(out, "    typeof numgen inc mod {} : verdict", total.max(1));
            out.push_str("    flags interval\n");
            if !slots.is_empty() {
                let elements: Vec<String> = slots
                    .iter()
                    .map(|&(b, first, last)| {
                        let range = if first == last {
                            first.to_string()
                        } else {
                            format!("{first}-{last}")
                        };
                        format!("{range} : goto {}", backend_chain(i, &svc.backends[b]))
                    })
                    .collect();
                let _ = writeln!(out, "    elements = {{ {} }}", elements.join(", "));
            }
            out.push_str("  }\n");
            for (map, kind) in [("in", CounterKind::In), ("out", CounterKind::Out)] {
                let _ = writeln!(out, "  map {}-{map} {{", service_chain(i));
                out.push_str("    type ipv4_addr . inet_service : counter\n");
                let elements: Vec<String> = svc
                    .backends
                    .iter()
                    .map(|b| format!("{} . {} : \"{}\"", b.addr, b.port, counter_name(i, b, kind)))
                    .collect();
                if !elements.is_empty() {
                    let _ = writeln!(out, "    elements = {{ {} }}", elements.join(", "));
                }
                out.push_str("  }\n");
            }
        }
        out.push_str(
            "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n",
        );
        out.push_str("    ip daddr . meta l4proto . th dport vmap @services\n  }\n");
        for (i, svc) in self.services.iter().enumerate() {
            let (_, total) = slots(&svc.backends);
            let _ = writeln!(out, "  chain {} {{", service_chain(i));
            if total == 0 {
                // Every real server drained: like IPVS, no new connection is
                // accepted (a nat chain cannot reject; the SYN is dropped).
                out.push_str("    drop\n");
            } else {
                let _ = writeln!(
                    out,
                    "    {} mod {total} vmap @{}-pick",
                    svc.pick.expr(),
                    service_chain(i)
                );
            }
            out.push_str("  }\n");
            for b in &svc.backends {
                let _ = writeln!(out, "  chain {} {{", backend_chain(i, b));
                let _ = writeln!(
                    out,
                    "    counter name \"{}\"",
                    counter_name(i, b, CounterKind::Conns)
                );
                let _ = writeln!(
                    out,
                    "    meta l4proto {} dnat to {}:{}",
                    proto(svc.protocol),
                    b.addr,
                    b.port
                );
                out.push_str("  }\n");
            }
        }
        out.push_str(
            "  chain forward {\n    type filter hook forward priority filter; policy accept;\n",
        );
        // One lookup per packet and direction, however many real servers.
        for (i, svc) in self.services.iter().enumerate() {
            let (p, chain) = (proto(svc.protocol), service_chain(i));
            let conn = format!(
                "meta l4proto {p} ct original ip daddr {} ct original proto-dst {}",
                svc.vip, svc.port
            );
            let _ = writeln!(
                out,
                "    {conn} ct direction original counter name ip daddr . {p} dport map @{chain}-in"
            );
            let _ = writeln!(
                out,
                "    {conn} ct direction reply counter name ip saddr . {p} sport map @{chain}-out"
            );
        }
        out.push_str("  }\n");
    }
}

/// `delete table`, for teardown of a namespace that stays (the namespace's
/// deletion removes the table too).
pub fn delete() -> String {
    format!("delete table {FAMILY} {TABLE}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(name: &str, last: u8, weight: u32) -> Backend {
        Backend { name: name.into(), addr: Ipv4Addr::new(198, 51, 100, last), port: 80, weight }
    }

    fn tutorial() -> Ruleset {
        Ruleset {
            services: vec![NftService {
                protocol: Protocol::Tcp,
                vip: Ipv4Addr::new(192, 0, 2, 1),
                port: 80,
                pick: Pick::Inc,
                backends: vec![backend("rs1", 11, 3), backend("rs2", 12, 2)],
            }],
        }
    }

    #[test]
    fn weights_become_runs_of_slots_reduced_by_their_gcd() {
        let (slots, total) =
            slots(&[backend("a", 1, 300), backend("b", 2, 0), backend("c", 3, 200)]);
        assert_eq!((slots, total), (vec![(0, 0, 2), (2, 3, 4)], 5));
        let (runs, total) = super::slots(&[backend("a", 1, 0)]);
        assert_eq!((runs.len(), total), (0, 0), "all drained: no slot");
    }

    #[test]
    fn the_tutorial_ruleset_reads_as_kube_proxy_builds_it() {
        insta::assert_snapshot!(tutorial().create());
    }

    #[test]
    fn a_drained_service_drops_new_connections() {
        let mut rules = tutorial();
        rules.services[0].backends.iter_mut().for_each(|b| b.weight = 0);
        let text = rules.create();
        assert!(text.contains("  chain s0 {\n    drop\n  }"), "{text}");
    }

    #[test]
    fn a_replacement_keeps_shared_counters_and_deletes_what_is_gone() {
        let old = tutorial();
        let mut new = old.clone();
        new.services[0].backends.remove(1);
        new.services[0].backends[0].weight = 5;
        let text = new.replace(&old);
        assert!(text.starts_with("add table ip lvslab\nflush table ip lvslab\n"), "{text}");
        assert!(text.contains("flush map ip lvslab s0-pick\n"), "{text}");
        assert!(text.contains("delete chain ip lvslab s0-rs2-80\n"), "{text}");
        assert!(text.contains("delete counter ip lvslab s0-rs2-80-conns\n"), "{text}");
        assert!(!text.contains("delete counter ip lvslab s0-rs1-80"), "{text}");
        assert!(text.contains("numgen inc mod 1 vmap @s0-pick"), "{text}");
    }

    #[test]
    fn counter_names_parse_back() {
        let b = backend("rs-1", 11, 1);
        let name = counter_name(12, &b, CounterKind::Out);
        assert_eq!(name, "s12-rs-1-80-out");
        assert_eq!(parse_counter_name(&name), Some((12, "rs-1-80", CounterKind::Out)));
        assert_eq!(parse_counter_name("x1-a-in"), None);
    }
}
