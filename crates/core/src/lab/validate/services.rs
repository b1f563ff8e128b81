//! The services half of preset validation: virtual services, their real
//! servers (port, weight, forwarding method), and the traffic profile.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::ops::Range;

use ipnet::Ipv4Net;
use toml::Spanned;

use super::super::model::{Forward, Member, Protocol, Service, TrafficProfile};
use super::super::ranges;
use super::super::schedulers::{self, SchedFlag, Scheduler};
use super::super::spec::{MemberFile, ServiceFile, TrafficFile};
use super::super::{table, text};
use super::{AddressBook, Checker, Hosts};

impl Checker<'_> {
    pub(super) fn services(
        &mut self,
        raw: &[ServiceFile],
        servers: &Hosts<'_>,
        vip: Option<Ipv4Addr>,
        vip_net: Ipv4Net,
        used: &AddressBook,
    ) -> Vec<Service> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for svc in raw {
            let Some(service) = self.service(svc, servers, vip, vip_net, used) else { continue };
            if !seen.insert(table::key(&service)) {
                self.error(
                    key_span(svc),
                    format!("service {} is defined twice", service.label()),
                    "merge the two [[service]] entries or change the port (or fwmark)",
                );
                continue;
            }
            out.push(service);
        }
        out
    }

    fn service(
        &mut self,
        svc: &ServiceFile,
        servers: &Hosts<'_>,
        vip: Option<Ipv4Addr>,
        vip_net: Ipv4Net,
        used: &AddressBook,
    ) -> Option<Service> {
        let protocol = match &svc.protocol {
            None => Some(Protocol::Tcp),
            Some(p) => p.get_ref().parse::<Protocol>().ok().or_else(|| {
                self.error(
                    p.span(),
                    format!("unknown protocol '{}'", p.get_ref()),
                    "use \"tcp\", \"udp\" or \"sctp\"",
                );
                None
            }),
        };
        let vip = match &svc.vip {
            None => vip,
            Some(v) => self.service_vip(v, vip_net, used),
        };
        let (port, fwmark) = self.port_or_fwmark(svc);
        let scheduler = Scheduler::named(svc.scheduler.get_ref());
        if scheduler.is_none() {
            self.error(
                svc.scheduler.span(),
                format!("unknown scheduler '{}'", svc.scheduler.get_ref()),
                format!("use one of {}", schedulers::names()),
            );
        }
        let scheduler_flags = scheduler.and_then(|s| self.scheduler_flags(svc, s));
        let persistence = svc.persistence.as_ref().and_then(|p| self.int(p, ranges::PERSISTENCE));
        let persistence_netmask = self.persistence_netmask(svc, persistence);
        let members = self.members(&svc.real_servers, servers, port, fwmark.is_some());
        Some(Service {
            protocol: protocol?,
            vip: vip?,
            port: port?,
            scheduler: scheduler?,
            scheduler_flags: scheduler_flags?,
            persistence,
            persistence_netmask: persistence_netmask?,
            fwmark,
            members,
        })
    }

    /// A service is either `port = N` (with protocol and VIP) or `fwmark = N`.
    /// Returns (port, fwmark): port 0 for a firewall-mark service.
    fn port_or_fwmark(&mut self, svc: &ServiceFile) -> (Option<u16>, Option<u32>) {
        match (&svc.port, &svc.fwmark) {
            (Some(port), None) => (self.port(port, "service port"), None),
            (None, Some(mark)) => {
                let fwmark = self.int(mark, ranges::FWMARK);
                if let Some(p) = &svc.protocol {
                    self.error(
                        p.span(),
                        "a firewall-mark service has no protocol".into(),
                        "remove `protocol`: the mark alone selects the packets (ipvsadm -f)",
                    );
                }
                (Some(0), fwmark)
            }
            (Some(_), Some(mark)) => {
                self.error(
                    mark.span(),
                    "a service has either a port or a fwmark, not both".into(),
                    "keep `port` for an address service (ipvsadm -t/-u), or `fwmark` for a \
                     firewall-mark service (ipvsadm -f)",
                );
                (None, None)
            }
            (None, None) => {
                self.error(
                    svc.scheduler.span(),
                    "this service has no port".into(),
                    "add `port = 80` (or `fwmark = 1` for a firewall-mark service)",
                );
                (None, None)
            }
        }
    }

    /// `scheduler-flags`: known names, each one `scheduler` reads, once.
    fn scheduler_flags(
        &mut self,
        svc: &ServiceFile,
        scheduler: Scheduler,
    ) -> Option<Vec<SchedFlag>> {
        let Some(list) = &svc.scheduler_flags else { return Some(Vec::new()) };
        let mut flags = Vec::new();
        for name in list.get_ref() {
            let Some(flag) = SchedFlag::named(name.get_ref()) else {
                self.error(
                    name.span(),
                    format!("unknown scheduler flag '{}'", text::shown(name.get_ref())),
                    format!("use {} (sh's and mh's, as ipvsadm -b)", schedulers::flag_names()),
                );
                return None;
            };
            flags.push(flag);
            if let Err((why, fix)) = SchedFlag::check(scheduler, &flags) {
                self.error(name.span(), why, fix);
                return None;
            }
        }
        Some(flags)
    }

    /// `persistence-netmask`: a contiguous IPv4 netmask, only with persistence.
    /// `Some(None)` when absent or /32 (ipvsadm's default).
    fn persistence_netmask(
        &mut self,
        svc: &ServiceFile,
        persistence: Option<u32>,
    ) -> Option<Option<Ipv4Addr>> {
        let Some(mask) = &svc.persistence_netmask else { return Some(None) };
        let parsed = mask.get_ref().parse::<Ipv4Addr>().ok();
        let Some(netmask) = parsed.filter(|m| ipnet::ipv4_mask_to_prefix(*m).is_ok()) else {
            self.error(
                mask.span(),
                format!("'{}' is not an IPv4 netmask", mask.get_ref()),
                "write a netmask like \"255.255.255.0\" (clients in one /24 stick together)",
            );
            return None;
        };
        if persistence.is_none() {
            self.error(
                mask.span(),
                "persistence-netmask without persistence".into(),
                "add `persistence = 300` (seconds), or remove persistence-netmask",
            );
            return None;
        }
        Some((netmask != Ipv4Addr::BROADCAST).then_some(netmask))
    }

    fn service_vip(
        &mut self,
        value: &Spanned<String>,
        vip_net: Ipv4Net,
        used: &AddressBook,
    ) -> Option<Ipv4Addr> {
        let why = format!(
            "a service's VIP is an address of the director, on the network where the director \
             receives the clients' packets ({vip_net}; the servers' segment when the lab has a \
             [router]): use an address in {vip_net}"
        );
        let addr = self.addr_in(value, "service VIP", vip_net, &why)?;
        match used.0.get(&addr) {
            Some(owner) if owner != "the director's VIP" => {
                let owner = owner.clone();
                self.error(
                    value.span(),
                    format!("service VIP {addr} is already {owner}'s address"),
                    "use the director's VIP or a free address of the client network",
                );
                None
            }
            _ => Some(addr),
        }
    }

    fn members(
        &mut self,
        raw: &[MemberFile],
        servers: &Hosts<'_>,
        service_port: Option<u16>,
        fwmark: bool,
    ) -> Vec<Member> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for m in raw {
            let name = m.name.get_ref();
            if !servers.valid.contains(name.as_str()) {
                if servers.declared.contains(name.as_str()) {
                    continue; // its [[real-server]] entry has an error of its own
                }
                // A few names are enough to show what a name looks like.
                const SHOWN: usize = 10;
                let mut known: Vec<&str> = servers.declared.iter().copied().take(SHOWN).collect();
                let rest = servers.declared.len().saturating_sub(SHOWN);
                let rest = if rest > 0 { format!(" and {rest} more") } else { String::new() };
                if known.is_empty() {
                    known.push("(none)");
                }
                self.error(
                    m.name.span(),
                    format!("no real server is called '{}'", super::text::shown(name)),
                    format!("name one of the [[real-server]] entries: {}{rest}", known.join(", ")),
                );
                continue;
            }
            let port = match &m.port {
                // A firewall-mark service may keep the packet's port (0).
                Some(p) if fwmark && *p.get_ref() == 0 => Some(0),
                Some(p) => self.port(p, "real server port"),
                None => service_port,
            };
            let weight = m.weight.as_ref().map_or(Some(1), |w| self.int(w, ranges::WEIGHT));
            let forward = m.forward.as_ref().map_or(Some(Forward::Nat), |f| self.forward(f));
            let (Some(port), Some(weight), Some(forward)) = (port, weight, forward) else {
                continue;
            };
            if !seen.insert((name.clone(), port)) {
                self.error(
                    m.name.span(),
                    format!("real server '{name}' port {port} is in this service twice"),
                    "list each real server once per service",
                );
                continue;
            }
            out.push(Member { name: name.clone(), port, weight, forward });
        }
        out
    }

    fn forward(&mut self, value: &Spanned<String>) -> Option<Forward> {
        match value.get_ref().as_str() {
            "nat" | "masq" | "masquerading" => Some(Forward::Nat),
            "dr" | "route" | "direct" | "gatewaying" => Some(Forward::Dr),
            "tun" | "tunnel" | "ipip" => Some(Forward::Tun),
            other => {
                self.error(
                    value.span(),
                    format!("unknown forwarding method '{other}'"),
                    "use \"nat\" (masquerading, ipvsadm -m), \"dr\" (direct routing, -g) or \
                     \"tun\" (IP tunnelling, -i)",
                );
                None
            }
        }
    }

    fn port(&mut self, value: &Spanned<i64>, what: &'static str) -> Option<u16> {
        let range = ranges::IntRange { what, ..ranges::PORT };
        self.int(value, range)
    }

    /// A number in `range`, else an error at its place naming the range.
    pub(super) fn int<T: TryFrom<i64>>(
        &mut self,
        value: &Spanned<i64>,
        range: ranges::IntRange,
    ) -> Option<T> {
        match range.check(*value.get_ref()).ok().and_then(|v| T::try_from(v).ok()) {
            Some(v) => Some(v),
            None => {
                self.error(
                    value.span(),
                    format!("{} {} is out of range", range.what, value.get_ref()),
                    range.help,
                );
                None
            }
        }
    }

    fn float(&mut self, value: &Spanned<f64>, range: ranges::FloatRange) -> Option<f64> {
        let checked = range.check(*value.get_ref());
        if let Err(message) = &checked {
            self.error(value.span(), message.clone(), range.help);
        }
        checked.ok()
    }

    pub(super) fn traffic(&mut self, raw: Option<&TrafficFile>) -> TrafficProfile {
        let mut profile = TrafficProfile::default();
        let Some(raw) = raw else { return profile };
        if let Some(d) = &raw.duration {
            profile.duration_s = self.float(d, ranges::DURATION_S);
            profile.requests = None;
        }
        if let Some(r) = &raw.requests {
            profile.requests = self.int(r, ranges::REQUESTS);
        }
        profile.rate = raw.rate.as_ref().and_then(|r| self.float(r, ranges::RATE));
        if let Some(c) = &raw.concurrency {
            profile.concurrency = self.int(c, ranges::CONCURRENCY).unwrap_or(1);
        }
        profile.keep_alive = raw.keep_alive.unwrap_or(false);
        if let Some(h) = &raw.hold_ms {
            profile.hold_ms = self.int(h, ranges::HOLD_MS).unwrap_or(0);
        }
        profile
    }
}

/// Where a service's key is written: its port, else its fwmark, else its scheduler.
pub(super) fn key_span(svc: &ServiceFile) -> Range<usize> {
    svc.port
        .as_ref()
        .map(Spanned::span)
        .or_else(|| svc.fwmark.as_ref().map(Spanned::span))
        .unwrap_or_else(|| svc.scheduler.span())
}
