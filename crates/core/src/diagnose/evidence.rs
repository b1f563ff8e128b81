//! What `diagnose` reads, as plain data: the checks are pure functions of
//! an [`Evidence`], so each can be tested by writing the fault down, and
//! the binary's `ops::diagnose` is the only place that touches a kernel
//! (or a file) to fill one in.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::keepalived::KeepalivedConf;
use crate::lab::model::Forward;

/// Where the evidence came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Scope {
    /// A running lab: its director(s) and its real servers.
    Lab {
        /// The lab's name.
        name: String,
    },
    /// The network namespace lvslab runs in (`--host`): one machine's view.
    Host,
}

/// The IPVS table, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Ipvs {
    /// `ip_vs` is not loaded: lvslab did not load it to look.
    NotLoaded,
    /// The lab balances without IPVS (nftables): the services are the lab's.
    NotUsed,
    /// The table could not be read (the reason, e.g. no root).
    Unreadable {
        /// Why.
        why: String,
    },
    /// The table was read.
    Read,
}

/// One destination of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dest {
    /// Its address.
    pub addr: Ipv4Addr,
    /// Its port.
    pub port: u16,
    /// Its forwarding method.
    pub forward: Forward,
    /// Its weight.
    pub weight: u32,
    /// Persistence templates pointing at it (ipvsadm's PersistConn).
    pub templates: u32,
}

/// One virtual service and its destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// As ipvsadm names it: `tcp 192.0.2.1:80`, `fwmark 3`.
    pub label: String,
    /// Its VIP (none for a firewall-mark service).
    pub vip: Option<Ipv4Addr>,
    /// Persistent (`-p`).
    pub persistent: bool,
    /// Its destinations.
    pub dests: Vec<Dest>,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Its name.
    pub name: String,
    /// Administratively up.
    pub up: bool,
    /// `NOARP`: it never answers ARP (loopback does not either).
    pub noarp: bool,
    /// Its IPv4 addresses.
    pub addrs: Vec<Ipv4Net>,
}

/// What one namespace (a director, a real server, the host) shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The host's name in the lab (`director`, `rs1`), or `this host`.
    pub name: String,
    /// Its namespace (`lvs-LAB-HOST`), `None` for the host's own.
    pub netns: Option<String>,
    /// The sysctls read, by full name (`net.ipv4.ip_forward`,
    /// `net.ipv4.vs.conn_reuse_mode`, `net.ipv4.conf.all.arp_ignore`); a
    /// key absent was not there to read (no ip_vs: no `net.ipv4.vs.*`).
    pub sysctls: BTreeMap<String, String>,
    /// Its interfaces.
    pub links: Vec<Link>,
    /// Its IPv4 default gateway (main table).
    pub gateway: Option<Ipv4Addr>,
}

impl Node {
    /// A sysctl as a number, if read and numeric.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.sysctls.get(key).and_then(|v| v.trim().parse().ok())
    }

    /// The kernel's effective value of a per-interface IPv4 setting that
    /// takes the larger of `all` and the interface's (arp_ignore,
    /// arp_announce, rp_filter), with the two values it came from.
    pub fn conf_max(&self, link: &str, key: &str) -> Option<(i64, String)> {
        let all = self.int(&format!("net.ipv4.conf.all.{key}"));
        let dev = self.int(&format!("net.ipv4.conf.{link}.{key}"));
        let effective = all.max(dev)?;
        let shown = |v: Option<i64>| v.map_or("unread".to_string(), |v| v.to_string());
        Some((effective, format!("all={}, {link}={}", shown(all), shown(dev))))
    }

    /// The interfaces holding `addr`.
    pub fn holders(&self, addr: Ipv4Addr) -> Vec<&Link> {
        self.links.iter().filter(|l| l.addrs.iter().any(|a| a.addr() == addr)).collect()
    }

    /// The interfaces that answer ARP with an address in `net` (where the
    /// host meets its neighbours on that segment).
    pub fn on_net(&self, net: Ipv4Net) -> Vec<&Link> {
        self.links
            .iter()
            .filter(|l| !l.noarp && l.addrs.iter().any(|a| net.contains(&a.addr())))
            .collect()
    }

    /// `ip netns exec NS ` for a fix typed on the lab's host, or nothing.
    pub fn exec(&self) -> String {
        self.netns.as_ref().map_or_else(String::new, |ns| format!("ip netns exec {ns} "))
    }
}

/// A real server of a lab, as the lab made it and as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RealServer {
    /// Its address.
    pub rip: Ipv4Addr,
    /// Whether it is on the director's segment (a TUN server behind the
    /// router is not: nobody asks it for the VIP by ARP).
    pub on_segment: bool,
    /// What it shows.
    pub node: Node,
}

/// Everything the checks look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// A lab or this host.
    pub scope: Scope,
    /// The IPVS table's state.
    pub ipvs: Ipvs,
    /// The services: IPVS's table, or the lab's own where it balances with
    /// nftables.
    pub services: Vec<Service>,
    /// The director (the first of an HA lab; the host for `--host`).
    pub director: Node,
    /// The director's DIP (lab only).
    pub dip: Option<Ipv4Addr>,
    /// The servers' segment (lab only).
    pub servers_net: Option<Ipv4Net>,
    /// The real servers (lab only: `None` for `--host`).
    pub real_servers: Option<Vec<RealServer>>,
    /// keepalived's configuration(s): per director of a lab, or the file
    /// given with `--keepalived`.
    pub keepalived: Vec<KeepalivedConf>,
    /// Whether a failed health check removes the destination (a lab under
    /// keepalived without `inhibit_on_failure`); read from the configs
    /// otherwise.
    pub checks_remove: bool,
}

impl Evidence {
    /// Evidence with nothing in it, for `scope`.
    pub fn empty(scope: Scope) -> Self {
        Self {
            scope,
            ipvs: Ipvs::Read,
            services: Vec::new(),
            director: Node::default(),
            dip: None,
            servers_net: None,
            real_servers: None,
            keepalived: Vec::new(),
            checks_remove: false,
        }
    }

    /// Whether any destination is forwarded by `forward`.
    pub fn uses(&self, forward: Forward) -> bool {
        self.services.iter().flat_map(|s| &s.dests).any(|d| d.forward == forward)
    }

    /// The VIPs of services that send `rip`'s traffic by `forward`.
    pub fn vips_of(&self, rip: Ipv4Addr, forward: Forward) -> Vec<Ipv4Addr> {
        let mut out: Vec<Ipv4Addr> = self
            .services
            .iter()
            .filter(|s| s.dests.iter().any(|d| d.addr == rip && d.forward == forward))
            .filter_map(|s| s.vip)
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
