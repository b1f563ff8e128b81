//! From a preset file to a [`LabSpec`], enforcing the rules of an LVS-NAT lab.
//!
//! The rules, and why (each error message repeats the why):
//! - the two networks do not overlap: the director routes between them;
//! - the VIP is on the client network and never inside the servers' network
//!   (a real server would answer for it itself, bypassing the director);
//! - the DIP and every RIP share the servers' network: in NAT mode replies
//!   must return through the director, so the real servers use the DIP as
//!   their gateway and reach it directly;
//! - no address is used twice;
//! - host names become link names in the director, so they obey Linux's
//!   15-byte limit and use only `a-z`, `0-9` and `_`.
//!
//! Every problem found is reported, each with file:line:col and a fix.

mod choices;
mod ha;
mod limits;
mod methods;
use crate::lab::model::hosts;
use methods::Nets;
mod services;
mod sysctl;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv4Addr;
use std::ops::Range;

use ipnet::Ipv4Net;
use toml::Spanned;

use super::error::{LineIndex, SpecError, SpecErrors};
use super::model::{Director, LabName, LabSpec, RealServer, links};
use super::spec::SpecFile;
use super::{ranges, text};

/// Linux's limit on a link name (IFNAMSIZ - 1).
const MAX_LINK_NAME: usize = 15;
/// Names a real server may not take: they are links or hosts already (a
/// real server's port is named after it in the director, or in the router
/// for one on the remote network, beside the router's eth1).
const RESERVED_HOST_NAMES: &[&str] = &[
    hosts::CLIENT,
    hosts::DIRECTOR,
    hosts::ROUTER,
    "lo",
    "tunl0",
    links::UPLINK,
    links::BRIDGE,
    super::routed::ROUTER_INSIDE,
    // An HA lab's hosts and switch bridges (see lab::ha).
    hosts::SWITCH,
    hosts::DIRECTOR1,
    hosts::DIRECTOR2,
    crate::lab::ha::CLIENT_BRIDGE,
    crate::lab::ha::SERVERS_BRIDGE,
];

/// The rule for a real server's name, from a preset or added live:
/// `Err((what is wrong, how to fix it))`.
pub fn host_name(name: &str) -> Result<(), (String, String)> {
    let shown = text::shown(name);
    if name.len() > MAX_LINK_NAME {
        let cut = &name[..name.char_indices().nth(MAX_LINK_NAME).map_or(name.len(), |(i, _)| i)];
        return Err((
            format!("real server name '{shown}' is {} bytes long", name.len()),
            format!(
                "a real server's name is also the name of its link in the director, and Linux \
                 limits link names to {MAX_LINK_NAME} bytes: shorten it, e.g. '{}'",
                text::shown(cut.trim_end_matches('_'))
            ),
        ));
    }
    let chars_ok = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if name.is_empty() || !chars_ok || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err((
            format!("real server name '{shown}' is not usable"),
            "use lowercase letters, digits and '_', starting with a letter (the name becomes a \
             link name and part of a namespace name; '-' is reserved as the separator)"
                .into(),
        ));
    }
    if RESERVED_HOST_NAMES.contains(&name) {
        return Err((
            format!("real server name '{name}' is reserved"),
            format!("'{name}' already names a host or link of the lab; call it e.g. 'rs1'"),
        ));
    }
    Ok(())
}

/// Parses and validates preset `source`, read from `file`.
pub fn parse(file: &str, source: &str) -> Result<LabSpec, SpecErrors> {
    let raw: SpecFile = toml::from_str(source).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let error = SpecError::at(file, source, span, e.message().trim().to_string()).help(
            "compare with the commented presets (`lvslab ls --presets`; labs/tutorial-nat.toml)",
        );
        SpecErrors(vec![error])
    })?;
    let mut check = Checker { file, lines: LineIndex::new(source), errors: Vec::new(), more: 0 };
    // Past a cap nothing else is checked: the work would grow with it.
    if check.caps(&raw) {
        return Err(SpecErrors(check.errors));
    }
    let spec = check.lab(raw);
    match spec {
        Some(spec) if check.errors.is_empty() => Ok(spec),
        _ => Err(check.into_errors()),
    }
}

/// Validates `spec`, built in memory (an import), by the same rules as a
/// preset file, without its text: errors are at line 0 of `file`.
pub fn check_spec(file: &str, spec: &LabSpec) -> Result<LabSpec, SpecErrors> {
    let raw = SpecFile::from_spec(spec);
    let mut check = Checker { file, lines: LineIndex::new(""), errors: Vec::new(), more: 0 };
    let checked = if check.caps(&raw) { None } else { check.lab(raw) };
    let errors = match checked {
        Some(spec) if check.errors.is_empty() => return Ok(spec),
        _ => check.into_errors(),
    };
    Err(SpecErrors(errors.0.into_iter().map(|e| SpecError { line: 0, col: 0, ..e }).collect()))
}

struct Checker<'a> {
    file: &'a str,
    lines: LineIndex<'a>,
    errors: Vec<SpecError>,
    /// Errors found past [`ranges::MAX_ERRORS`], counted only.
    more: usize,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String, help: impl Into<String>) {
        if self.errors.len() >= ranges::MAX_ERRORS {
            self.more += 1;
            return;
        }
        let (line, col) = self.lines.line_col(span.start);
        let file = self.file.to_string();
        self.errors.push(SpecError { file, line, col, message, help: Some(help.into()) });
    }

    /// The errors, with a last one counting those not listed.
    fn into_errors(mut self) -> SpecErrors {
        if self.more > 0 {
            self.errors.push(SpecError {
                file: self.file.to_string(),
                line: 0,
                col: 0,
                message: format!(
                    "{} more problems not listed (the first {} are above)",
                    self.more,
                    ranges::MAX_ERRORS
                ),
                help: Some("fix those and check again".into()),
            });
        }
        SpecErrors(self.errors)
    }

    fn lab(&mut self, raw: SpecFile) -> Option<LabSpec> {
        let name = self.lab_name(&raw.name);
        let description = self.description(raw.description.as_ref());
        let client_net = self.network(&raw.networks.client, "client");
        let servers_net = self.network(&raw.networks.servers, "servers");
        if let (Some(c), Some(s)) = (client_net, servers_net)
            && (c.contains(&s.network()) || s.contains(&c.network()))
        {
            self.error(
                raw.networks.servers.span(),
                format!("networks '{c}' and '{s}' overlap"),
                "the director routes between the client and the servers' networks, so they \
                 must be disjoint; pick another subnet, e.g. servers = \"198.51.100.0/24\"",
            );
            // Every address check below would fail for the same reason.
            return None;
        }
        let (client_net, servers_net) = (client_net?, servers_net?);
        let remote_net = self.remote_net(&raw, client_net, servers_net)?;
        let mut used = AddressBook::default();
        let client = self.host_addr(&raw.client.address, hosts::CLIENT, client_net, &mut used);
        let nets = Nets { client: client_net, servers: servers_net, remote: remote_net };
        let router = raw.router.as_ref().map(|r| self.router(r, nets, &mut used));
        // With a router the VIPs live on the servers' segment (see methods.rs).
        let vip_net = if router.is_some() { servers_net } else { client_net };
        let vip = match router {
            Some(_) => self.routed_vip(&raw.director.vip, client_net, servers_net, &mut used),
            None => self.vip(&raw.director.vip, client_net, servers_net, &mut used),
        };
        let dip = self.dip(&raw.director.dip, servers_net, &mut used);
        let real_servers = self.real_servers(&raw, servers_net, remote_net, &mut used);
        let declared: BTreeSet<&str> =
            raw.real_servers.iter().map(|rs| rs.name.get_ref().as_str()).collect();
        let valid: HashSet<&str> = real_servers.iter().map(|rs| rs.name.as_str()).collect();
        let hosts = Hosts { valid: &valid, declared: &declared };
        let services = self.services(&raw.services, &hosts, vip, vip_net, &used);
        self.method_rules(&raw, router.is_some());
        self.remote_rules(&raw, &real_servers, remote_net);
        let traffic = self.traffic(raw.traffic.as_ref());
        let control = self.control(raw.control.as_ref());
        let failed_check = self.failed_check(raw.failed_check.as_ref());
        let client_addresses = self.client_addresses(&raw, client, client_net, &services);
        let dataplane = self.dataplane(&raw);
        let sysctl = self.director_sysctl(&raw.director.sysctl);
        let ha = raw.ha.as_ref().map(|h| self.ha(h, &raw, client_net, servers_net, &mut used));
        let build = || -> Option<LabSpec> {
            Some(LabSpec {
                name: name?,
                description,
                dataplane,
                client_net,
                servers_net,
                client: client?,
                client_addresses,
                director: Director { vip: vip?, dip: dip?, sysctl },
                real_servers,
                services,
                traffic,
                control,
                failed_check,
                router: match router {
                    Some(r) => Some(r?),
                    None => None,
                },
                remote_net,
                ha: match ha {
                    Some(h) => Some(h?),
                    None => None,
                },
            })
        };
        let spec = build()?;
        self.bridge_ports(&raw, &spec);
        Some(spec)
    }

    /// `[client] addresses`: in range, and every one of them a free host
    /// address of the client network (no VIP among them).
    fn client_addresses(
        &mut self,
        raw: &SpecFile,
        client: Option<Ipv4Addr>,
        client_net: Ipv4Net,
        services: &[crate::lab::model::Service],
    ) -> u32 {
        let Some(value) = &raw.client.addresses else { return 1 };
        let Some(count) = self.int::<u32>(value, crate::lab::ranges::CLIENT_ADDRESSES) else {
            return 1;
        };
        let Some(first) = client else { return count };
        let last = Ipv4Addr::from(u32::from(first).saturating_add(count - 1));
        let vips: Vec<Ipv4Addr> = raw
            .director
            .vip
            .get_ref()
            .parse()
            .into_iter()
            .chain(services.iter().map(|s| s.vip))
            .collect();
        if !client_net.contains(&last) || last >= client_net.broadcast() {
            self.error(
                value.span(),
                format!("{count} client addresses from {first} run past the client network {client_net}"),
                format!(
                    "the client's addresses are {first} and the ones after it, all in {client_net}: \
                     use fewer, or start the client lower"
                ),
            );
        } else if let Some(vip) = vips.iter().find(|v| (first..=last).contains(*v)) {
            self.error(
                value.span(),
                format!("client addresses {first}–{last} include the VIP {vip}"),
                "a VIP belongs to the director: start the client above the VIPs (e.g. address = \
                 \"192.0.2.100\") or use fewer addresses",
            );
        }
        count
    }

    fn lab_name(&mut self, name: &Spanned<String>) -> Option<LabName> {
        LabName::new(name.get_ref())
            .map_err(|help| {
                self.error(
                    name.span(),
                    format!("lab name '{}' is not usable", text::shown(name.get_ref())),
                    help,
                );
            })
            .ok()
    }

    /// The description is written into comments of generated scripts and
    /// presets and printed on terminals: one printable line.
    fn description(&mut self, value: Option<&Spanned<String>>) -> String {
        let Some(value) = value else { return String::new() };
        if let Some(problem) = text::line_problem(value.get_ref(), text::MAX_LINE) {
            self.error(
                value.span(),
                format!(
                    "description '{}' is not one printable line: {problem}",
                    text::shown(value.get_ref())
                ),
                format!(
                    "write one line of at most {} characters, without control characters; \
                     explanations longer than that belong in # comments",
                    text::MAX_LINE
                ),
            );
            return String::new();
        }
        value.get_ref().clone()
    }

    fn network(&mut self, value: &Spanned<String>, which: &str) -> Option<Ipv4Net> {
        let text = value.get_ref();
        let Ok(net) = text.parse::<Ipv4Net>() else {
            self.error(
                value.span(),
                format!("'{text}' is not an IPv4 subnet"),
                format!("write the {which} network as address/prefix, e.g. \"192.0.2.0/24\""),
            );
            return None;
        };
        if net.prefix_len() > 30 {
            self.error(
                value.span(),
                format!("subnet '{net}' is too small for a lab"),
                "use a prefix of /30 or shorter (a /24 is usual)",
            );
            return None;
        }
        if net.addr() != net.network() {
            self.error(
                value.span(),
                format!("'{text}' has host bits set"),
                format!("write the network address: \"{}\"", net.trunc()),
            );
            return None;
        }
        Some(net)
    }

    /// An address that must lie in `net` (not its network or broadcast address).
    fn addr_in(
        &mut self,
        value: &Spanned<String>,
        what: &str,
        net: Ipv4Net,
        why: &str,
    ) -> Option<Ipv4Addr> {
        let text = value.get_ref();
        let Ok(addr) = text.parse::<Ipv4Addr>() else {
            self.error(
                value.span(),
                format!("{what} '{text}' is not an IPv4 address"),
                "write a plain address without prefix, e.g. \"192.0.2.10\"",
            );
            return None;
        };
        if !net.contains(&addr) {
            self.error(value.span(), format!("{what} {addr} is outside {net}"), why.to_string());
            return None;
        }
        if addr == net.network() || addr == net.broadcast() {
            self.error(
                value.span(),
                format!("{what} {addr} is the network or broadcast address of {net}"),
                format!(
                    "pick a host address between {} and {}",
                    next(net.network()),
                    prev(net.broadcast())
                ),
            );
            return None;
        }
        Some(addr)
    }

    fn host_addr(
        &mut self,
        value: &Spanned<String>,
        who: &str,
        net: Ipv4Net,
        used: &mut AddressBook,
    ) -> Option<Ipv4Addr> {
        let why = format!("the client sits on the client network; use an address in {net}");
        let addr = self.addr_in(value, &format!("{who} address"), net, &why)?;
        self.claim(used, addr, who, value.span());
        Some(addr)
    }

    fn vip(
        &mut self,
        value: &Spanned<String>,
        client_net: Ipv4Net,
        servers_net: Ipv4Net,
        used: &mut AddressBook,
    ) -> Option<Ipv4Addr> {
        if let Ok(addr) = value.get_ref().parse::<Ipv4Addr>()
            && servers_net.contains(&addr)
        {
            self.error(
                value.span(),
                format!("VIP {addr} is inside the servers' network {servers_net}"),
                format!(
                    "the VIP is what clients connect to, on the director's outside; inside the \
                     servers' network the real servers would answer it directly and bypass the \
                     director. Use an address in the client network {client_net}"
                ),
            );
            return None;
        }
        let why =
            format!("the VIP faces the clients: use an address in the client network {client_net}");
        let addr = self.addr_in(value, "VIP", client_net, &why)?;
        self.claim(used, addr, "the director's VIP", value.span());
        Some(addr)
    }

    fn dip(
        &mut self,
        value: &Spanned<String>,
        servers_net: Ipv4Net,
        used: &mut AddressBook,
    ) -> Option<Ipv4Addr> {
        let why = format!(
            "in NAT mode the real servers use the DIP as their default gateway, so it must be on \
             their network: use an address in {servers_net}"
        );
        let addr = self.addr_in(value, "DIP", servers_net, &why)?;
        self.claim(used, addr, "the director's DIP", value.span());
        Some(addr)
    }

    fn real_servers(
        &mut self,
        raw: &SpecFile,
        servers_net: Ipv4Net,
        remote_net: Option<Ipv4Net>,
        used: &mut AddressBook,
    ) -> Vec<RealServer> {
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        for rs in &raw.real_servers {
            let name = rs.name.get_ref();
            let name_ok = self.host_name(&rs.name);
            if name_ok && !names.insert(name.clone()) {
                self.error(
                    rs.name.span(),
                    format!("real server '{name}' is defined twice"),
                    "give each real server its own name",
                );
                continue;
            }
            let why = match remote_net {
                None => format!(
                    "in NAT mode the real servers (RIPs) and the DIP share one subnet, so the \
                     real servers reach their gateway, the DIP, directly: use an address in \
                     {servers_net}"
                ),
                Some(remote) => format!(
                    "a real server sits on the director's segment {servers_net}, or (TUN only) on \
                     the remote network {remote} behind the router: use an address in one of them"
                ),
            };
            // The remote network, when the address is in it; else the segment.
            let net = remote_net
                .filter(|n| rs.address.get_ref().parse::<Ipv4Addr>().is_ok_and(|a| n.contains(&a)))
                .unwrap_or(servers_net);
            let Some(addr) =
                self.addr_in(&rs.address, &format!("real server '{name}' address"), net, &why)
            else {
                continue;
            };
            self.claim(used, addr, &format!("real server '{name}'"), rs.address.span());
            let delay_ms = match &rs.delay_ms {
                None => 0,
                Some(d) => match self.int(d, super::ranges::DELAY_MS) {
                    Some(ms) => ms,
                    None => continue,
                },
            };
            if name_ok {
                out.push(RealServer { name: name.clone(), addr, delay_ms });
            }
        }
        if raw.real_servers.is_empty() {
            self.error(
                0..0,
                "the lab has no real servers".into(),
                "add at least one [[real-server]] with a name and an address",
            );
        }
        out
    }

    fn host_name(&mut self, value: &Spanned<String>) -> bool {
        match host_name(value.get_ref()) {
            Ok(()) => true,
            Err((message, help)) => {
                self.error(value.span(), message, help);
                false
            }
        }
    }

    fn claim(&mut self, used: &mut AddressBook, addr: Ipv4Addr, who: &str, span: Range<usize>) {
        if let Some(owner) = used.0.get(&addr) {
            let owner = owner.clone();
            self.error(
                span,
                format!("address {addr} is used twice: by {owner} and by {who}"),
                "give every host its own address",
            );
        } else {
            used.0.insert(addr, who.to_string());
        }
    }
}

/// The real servers that passed validation, and every name declared (so a
/// service naming a server whose own entry is broken adds no second error).
struct Hosts<'a> {
    valid: &'a HashSet<&'a str>,
    declared: &'a BTreeSet<&'a str>,
}

/// Which host holds each address, to refuse duplicates.
#[derive(Default)]
struct AddressBook(BTreeMap<Ipv4Addr, String>);

fn next(addr: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(addr).saturating_add(1))
}

fn prev(addr: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(addr).saturating_sub(1))
}
