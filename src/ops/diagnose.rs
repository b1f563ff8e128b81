//! `lvslab diagnose`: the evidence its checks look at, read from the
//! kernel and from keepalived's files, and nothing written anywhere. The
//! checks themselves are [`lvslab_core::diagnose`]'s pure functions.
//!
//! `--host` reads lvslab's own namespace. Asking the kernel for IPVS's
//! generic-netlink family loads `ip_vs` where it is not loaded (genetlink
//! requests the module by family name), so the module is looked for in
//! /sys/module and /proc/modules first and the table left unread without it.

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::Path;

use lvslab_core::diagnose::evidence::{
    Dest, Evidence, Ipvs, Link, Node, RealServer, Scope, Service,
};
use lvslab_core::diagnose::keepalived;
use lvslab_core::lab::model::{Control, Dataplane, Forward, LabSpec};
use lvslab_core::lab::record::LabState;
use lvslab_core::lab::text::shown;
use lvslab_ipvs::{IpvsClient, ServiceKey};
use lvslab_sys::netns;

use super::error::LabError;
use super::state;
use crate::net::rtnl::{self, Rtnl};

/// The IPv4 settings read per interface (and for `all`): the kernel uses
/// the larger of the two for each.
const CONF_KEYS: &[&str] = &["arp_ignore", "arp_announce", "rp_filter"];

/// The evidence of a running lab: its (first) director, every real server,
/// and each director's keepalived.conf when keepalived controls it.
///
/// # Errors
/// A namespace of the lab cannot be read (the lab is half torn down), or
/// its IPVS table cannot.
pub fn lab(st: &LabState) -> Result<Evidence, LabError> {
    let spec = &st.spec;
    let mut e = Evidence::empty(Scope::Lab { name: spec.name.to_string() });
    let director = spec.directors()[0];
    let ns = spec.netns(director);
    e.director = node(director, Some(&ns))?;
    (e.ipvs, e.services) = match st.dataplane {
        Dataplane::Ipvs => (Ipvs::Read, table(IpvsClient::open_in(&ns)?)?),
        // Without IPVS the lab's services say what each server must hold.
        Dataplane::Nft | Dataplane::None => (Ipvs::NotUsed, spec_services(spec)),
    };
    e.dip = Some(spec.director.dip);
    e.servers_net = Some(spec.servers_net);
    let mut servers = Vec::new();
    for rs in &spec.real_servers {
        servers.push(RealServer {
            rip: rs.addr,
            on_segment: !spec.is_remote(&rs.name),
            node: node(&rs.name, Some(&spec.netns(&rs.name)))?,
        });
    }
    e.real_servers = Some(servers);
    if spec.control == Control::Keepalived {
        e.checks_remove = spec.failed_check.is_remove();
        for host in spec.directors() {
            let path = state::config_path_of(&spec.name, host);
            // Written at `up`; absent only while the lab is being built.
            if let Ok(text) = fs::read_to_string(&path) {
                e.keepalived.push(read_conf(&path, &text)?);
            }
        }
    }
    Ok(e)
}

/// The evidence of lvslab's own namespace (`--host`), and of `keepalived`
/// (a keepalived.conf) if given. Reads only.
///
/// # Errors
/// The namespace's links or sysctls cannot be read, or the keepalived file
/// cannot be read or is not keepalived's syntax (the error names the line).
pub fn host(keepalived_file: Option<&Path>) -> Result<Evidence, LabError> {
    let mut e = Evidence::empty(Scope::Host);
    if let Some(path) = keepalived_file {
        let text = fs::read_to_string(path).map_err(|source| LabError::Io {
            what: format!("read {}", shown(&path.display().to_string())),
            source,
        })?;
        e.keepalived.push(read_conf(path, &text)?);
    }
    e.director = node("this host", None)?;
    (e.ipvs, e.services) = if !ipvs_loaded() {
        (Ipvs::NotLoaded, Vec::new())
    } else {
        match IpvsClient::open().and_then(table) {
            Ok(services) => (Ipvs::Read, services),
            Err(err) => (Ipvs::Unreadable { why: err.to_string() }, Vec::new()),
        }
    };
    Ok(e)
}

/// Whether `ip_vs` is loaded (or built in: its parameters are then under
/// /sys/module too), looked at without asking netlink.
pub fn ipvs_loaded() -> bool {
    Path::new("/sys/module/ip_vs").exists()
        || fs::read_to_string("/proc/modules")
            .is_ok_and(|m| m.lines().any(|l| l.split_whitespace().next() == Some("ip_vs")))
}

fn read_conf(path: &Path, text: &str) -> Result<keepalived::KeepalivedConf, LabError> {
    // The error names the file and line, and its help.
    keepalived::read(&path.display().to_string(), text)
        .map_err(|e| LabError::Refused(e.to_string()))
}

/// The IPVS table the client's namespace has.
fn table(mut client: IpvsClient) -> Result<Vec<Service>, lvslab_ipvs::Error> {
    let mut out = Vec::new();
    for (svc, dests) in client.table()? {
        let vip = match svc.key {
            ServiceKey::Addr { addr: IpAddr::V4(a), .. } => Some(a),
            _ => None,
        };
        let dests = dests
            .iter()
            .filter_map(|d| {
                let IpAddr::V4(addr) = d.addr else { return None };
                Some(Dest {
                    addr,
                    port: d.port,
                    forward: Forward::from_ipvs(d.forward)?,
                    weight: d.weight,
                    templates: d.persist_conns,
                })
            })
            .collect();
        out.push(Service {
            label: svc.key.to_string(),
            vip,
            persistent: svc.flags.persistent,
            dests,
        });
    }
    Ok(out)
}

/// The lab's own services, for a lab that balances with nftables (or
/// not at all).
fn spec_services(spec: &LabSpec) -> Vec<Service> {
    spec.services
        .iter()
        .map(|s| Service {
            label: match s.fwmark {
                Some(mark) => format!("fwmark {mark}"),
                None => format!("{} {}:{}", s.protocol, s.vip, s.port),
            },
            vip: s.fwmark.is_none().then_some(s.vip),
            persistent: s.persistence.is_some(),
            dests: s
                .members
                .iter()
                .filter_map(|m| {
                    Some(Dest {
                        addr: spec.real_server(&m.name)?.addr,
                        port: m.port,
                        forward: m.forward,
                        weight: m.weight,
                        templates: 0,
                    })
                })
                .collect(),
        })
        .collect()
}

/// What namespace `netns` (lvslab's own for `None`) shows: its links, its
/// default gateway, and the sysctls the checks read.
fn node(name: &str, netns_name: Option<&str>) -> Result<Node, LabError> {
    let (infos, noarp, gateway) = rtnl::block_on(async {
        let mut r = match netns_name {
            Some(ns) => Rtnl::connect(ns)?,
            None => Rtnl::connect_here()?,
        };
        Ok((r.links().await?, r.noarp_links().await?, r.default_gateway().await?))
    })?;
    let links: Vec<Link> = infos
        .into_iter()
        .map(|l| Link {
            noarp: noarp.contains(&l.name),
            addrs: l
                .addresses
                .iter()
                .filter_map(|a| a.parse::<ipnet::IpNet>().ok())
                .filter_map(|a| match a {
                    ipnet::IpNet::V4(v4) => Some(v4),
                    ipnet::IpNet::V6(_) => None,
                })
                .collect(),
            name: l.name,
            up: l.up,
        })
        .collect();
    let names: Vec<String> = links.iter().map(|l| l.name.clone()).collect();
    let read = move || sysctls(&names);
    let sysctls = match netns_name {
        Some(ns) => netns::run_in(ns, read)?,
        None => read(),
    };
    Ok(Node {
        name: name.to_string(),
        netns: netns_name.map(str::to_string),
        sysctls,
        links,
        gateway,
    })
}

/// The sysctls the checks read, in the calling thread's namespace: IP
/// forwarding, every `net.ipv4.vs.*` (absent without ip_vs), and the ARP
/// and reverse-path settings of `all` and of each link. A file that cannot
/// be read is left out (the check that needs it stays silent).
fn sysctls(links: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut read = |key: String, path: &Path| {
        if let Ok(v) = fs::read_to_string(path) {
            out.insert(key, v.trim().to_string());
        }
    };
    read("net.ipv4.ip_forward".into(), Path::new("/proc/sys/net/ipv4/ip_forward"));
    if let Ok(entries) = fs::read_dir("/proc/sys/net/ipv4/vs") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            read(format!("net.ipv4.vs.{name}"), &entry.path());
        }
    }
    // Interface names never hold '/' (the kernel refuses them), so each is
    // one folder; they may hold '.', so the path is built, not derived
    // from the dotted key.
    for link in std::iter::once("all").chain(links.iter().map(String::as_str)) {
        for key in CONF_KEYS {
            let path = Path::new("/proc/sys/net/ipv4/conf").join(link).join(key);
            read(format!("net.ipv4.conf.{link}.{key}"), &path);
        }
    }
    out
}
