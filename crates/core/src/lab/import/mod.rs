//! `ipvsadm -S` output turned into a preset: the services and real servers
//! as saved, plus the LVS-NAT topology they imply (see `topology`).
//!
//! Only what a lab can rebuild is accepted. Anything else (direct routing,
//! tunnels, IPv6, options the preset cannot express, edits or deletions) is
//! refused with the rules file, the line, and what to change; an import
//! never silently drops part of a table.

pub(crate) mod keepalived;
mod places;
mod topology;

pub use keepalived::looks_like as is_keepalived_conf;
pub(crate) use places::{At, Field, Places, Refusal, Refused};
use places::{in_input, rules_places, words};

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use super::error::{SpecError, SpecErrors};
use super::export::toml::to_toml;
use super::model::{
    Control, Director, Forward, LabName, LabSpec, Member, Protocol, RealServer, Service,
};
use super::ranges::{self, IntRange};
use super::schedulers::{SchedFlag, Scheduler};
use super::{text, validate};
use lvslab_ipvs::rules::{self, Rule};
use lvslab_ipvs::{self as ipvs, AddressFamily, ServiceKey};

/// A preset made from saved rules.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The lab (validated by the normal validator).
    pub spec: LabSpec,
    /// Its preset text, commented.
    pub toml: String,
}

/// A real server of a service as read.
struct DraftMember {
    rip: Ipv4Addr,
    port: u16,
    weight: u32,
    forward: Forward,
    places: Places,
}

/// A service as read, before the topology is known.
struct Draft {
    key: ServiceKey,
    scheduler: Scheduler,
    scheduler_flags: Vec<SchedFlag>,
    persistence: Option<u32>,
    netmask: Option<Ipv4Addr>,
    /// In file order.
    members: Vec<DraftMember>,
    places: Places,
}

/// What the rules file holds, with the place each address first appeared at.
///
/// Every lookup goes through an index, so reading a table is linear in its
/// size; each count is checked against its cap (`ranges`) at the line that
/// would pass it, so an oversized table is refused after reading no more
/// than the cap.
pub(crate) struct Table {
    services: Vec<Draft>,
    /// Index in `services` of each service key.
    by_key: HashMap<ServiceKey, usize>,
    /// Addresses of address services, first appearance first, with their place.
    pub(crate) vips: Vec<(Ipv4Addr, At)>,
    vip_seen: HashSet<Ipv4Addr>,
    /// Real servers' addresses, first appearance first, with their place.
    pub(crate) rips: Vec<(Ipv4Addr, At)>,
    /// Index in `rips` of each address (a real server's number, from 0).
    rip_index: HashMap<Ipv4Addr, usize>,
    /// Each member as (service index, address, port), to refuse duplicates.
    members: HashSet<(usize, Ipv4Addr, u16)>,
    /// The first real server by direct routing or tunnelling (it makes the
    /// lab a routed one: see [`topology::infer_routed`]), with its place.
    pub(crate) direct: Option<(Ipv4Addr, At, Forward)>,
}

impl Table {
    pub(crate) fn new() -> Self {
        Self {
            services: Vec::new(),
            by_key: HashMap::new(),
            vips: Vec::new(),
            vip_seen: HashSet::new(),
            rips: Vec::new(),
            rip_index: HashMap::new(),
            members: HashSet::new(),
            direct: None,
        }
    }

    /// Whether `addr` is a VIP of an address service.
    pub(crate) fn is_vip(&self, addr: Ipv4Addr) -> bool {
        self.vip_seen.contains(&addr)
    }

    /// Drops the indexes, once reading is done (they are as large as the
    /// table, and validation comes next).
    fn without_indexes(mut self) -> Self {
        self.by_key = HashMap::new();
        self.vip_seen = HashSet::new();
        self.members = HashSet::new();
        self
    }
}

/// Imports the rules `text`, read from `file`, as lab `name`: `ipvsadm -S`
/// output, or a keepalived.conf (its virtual and real servers).
pub fn import(file: &str, text: &str, name: &LabName) -> Result<Imported, SpecErrors> {
    let (table, source) = if keepalived::looks_like(text) {
        let read = keepalived::read(file, text).map_err(|e| SpecErrors(vec![e]))?;
        let control = if read.checked { Control::Keepalived } else { Control::Lvslab };
        (read.table, Source::Keepalived { control, left_out: read.left_out })
    } else {
        (read(file, text).map_err(|e| SpecErrors(vec![e]))?, Source::Rules)
    };
    let (net, router) = match table.direct {
        None => (topology::infer(file, &table), None),
        Some(_) => match topology::infer_routed(file, &table) {
            Ok((net, router)) => (Ok(net), Some(router)),
            Err(e) => (Err(e), None),
        },
    };
    let net = net.map_err(|e| SpecErrors(vec![e]))?;
    let table = table.without_indexes();
    let rs_name = |addr: Ipv4Addr| {
        let i = table.rip_index.get(&addr).copied().unwrap_or(0);
        format!("rs{}", i + 1)
    };
    let services = table
        .services
        .iter()
        .map(|d| {
            let (protocol, vip, port, fwmark) = match d.key {
                ServiceKey::Addr { proto, addr: IpAddr::V4(a), port } => (proto, a, port, None),
                ServiceKey::Fwmark { mark, .. } => (Protocol::Tcp, net.vip, 0, Some(mark)),
                ServiceKey::Addr { .. } => unreachable!("IPv6 is refused while reading"),
            };
            let members = d
                .members
                .iter()
                .map(|m| Member {
                    name: rs_name(m.rip),
                    port: m.port,
                    weight: m.weight,
                    forward: m.forward,
                })
                .collect();
            Service {
                protocol,
                vip,
                port,
                scheduler: d.scheduler,
                scheduler_flags: d.scheduler_flags.clone(),
                persistence: d.persistence,
                persistence_netmask: d.netmask,
                fwmark,
                members,
            }
        })
        .collect();
    let spec = LabSpec {
        name: name.clone(),
        description: description(file, &source),
        dataplane: None,
        client_net: net.client_net,
        servers_net: net.servers_net,
        client: net.client,
        client_addresses: 1,
        director: Director { vip: net.vip, dip: net.dip, sysctl: Default::default() },
        real_servers: table
            .rips
            .iter()
            .map(|&(addr, _)| RealServer { name: rs_name(addr), addr, delay_ms: 0 })
            .collect(),
        services,
        traffic: Default::default(),
        control: match &source {
            Source::Keepalived { control, .. } => *control,
            Source::Rules => Control::Lvslab,
        },
        failed_check: Default::default(),
        router,
        remote_net: None,
        ha: None,
    };
    // The normal validator has the last word: what it refuses is not
    // written. It checks the spec itself, not its TOML text (parsing that
    // holds some 30 times the text); debug builds (the tests) check on every
    // import that the text reads back as the same spec. The reader refuses
    // what it knows of first, so this is a safety net.
    let toml = to_toml(&spec, &header(&spec, &source));
    let checked = match validate::check_spec(file, &spec) {
        Ok(checked) => checked,
        // Its errors are about the generated preset, which is not written:
        // parse that (only now) to tell them at the input's line that made
        // the refused value.
        Err(errors) => {
            return Err(match validate::parse(&format!("{name}.toml"), &toml) {
                Err(errors) => in_input(file, errors, &toml, &table),
                Ok(_) => errors,
            });
        }
    };
    debug_assert_eq!(checked, spec);
    debug_assert_eq!(validate::parse(&format!("{name}.toml"), &toml).as_ref(), Ok(&checked));
    Ok(Imported { spec: checked, toml })
}

/// What was imported.
enum Source {
    /// `ipvsadm -S` output.
    Rules,
    /// A keepalived.conf.
    Keepalived {
        /// keepalived when its real servers had health checks.
        control: Control,
        /// Top-level blocks left out.
        left_out: Vec<String>,
    },
}

/// "Imported from FILE", when the file's name makes one printable line.
fn description(file: &str, source: &Source) -> String {
    let what = match source {
        Source::Rules => "ipvsadm -S",
        Source::Keepalived { .. } => "keepalived.conf",
    };
    let name = std::path::Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or(file);
    let line = format!("Imported from {name} ({what})");
    match text::line_problem(&line, text::MAX_LINE) {
        None => line,
        Some(_) => format!("Imported from saved rules ({what})"),
    }
}

/// The preset's comment header. It names no file: a path is the user's
/// text, of any length and content, and a header line is the writer's.
fn header(spec: &LabSpec, source: &Source) -> Vec<String> {
    let from = match source {
        Source::Rules => "ipvsadm's saved rules",
        Source::Keepalived { .. } => "a keepalived.conf's virtual_server blocks",
    };
    if let Some(router) = spec.router {
        return vec![
            format!("Made by `lvslab import` from {from}."),
            "The rules hold only the services; the topology is implied. Some real servers".into(),
            "answer the client themselves (-g direct routing, -i tunnelling), so the VIPs,".into(),
            format!(
                "the DIP and the real servers share one segment {}, and a router ({}, {})",
                spec.servers_net, router.inside, router.outside
            ),
            format!(
                "links it to the client network {}. Real servers are named rs1.. in order.",
                spec.client_net
            ),
        ];
    }
    let mut lines = vec![
        format!("Made by `lvslab import` from {from}."),
        "The rules hold only the services; the topology is implied: the VIPs on the".into(),
        format!(
            "client network {}, the real servers (RIPs) on {}, a free DIP and client",
            spec.client_net, spec.servers_net
        ),
        "address, real servers named rs1.. in order of first appearance.".into(),
    ];
    if let Source::Keepalived { control, left_out } = source {
        lines.push(String::new());
        if *control == Control::Keepalived {
            lines
                .push("Its real servers had health checks, so keepalived controls this lab".into());
            lines.push("(control below); the lab writes its own checks of /health.".into());
        }
        if !left_out.is_empty() {
            lines.push(format!("Left out (keepalived's own): {}.", left_out.join(", ")));
        }
    }
    if spec.services.iter().any(|s| s.fwmark.is_some()) {
        lines.push(String::new());
        lines.push("Firewall-mark services are kept, but nothing in the lab marks packets:".into());
        lines.push("they receive no traffic until you add a marking rule in the director.".into());
    }
    lines
}

/// Reads every rule, refusing what a lab cannot express.
fn read(file: &str, text: &str) -> Result<Table, SpecError> {
    let mut table = Table::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let places = rules_places(n, line);
        let refuse = |message: String, help: &str| SpecError {
            file: file.to_string(),
            line: n,
            col: places.rule.1,
            message,
            help: Some(help.to_string()),
        };
        let rule = match rules::parse(line) {
            Ok(mut rules) if rules.len() == 1 => rules.remove(0),
            Ok(_) => continue, // blank or a comment
            Err(ipvs::Error::Rules { detail, .. }) => {
                // The parser quotes the token it stopped at: point at it.
                let col = detail
                    .split('\'')
                    .nth(1)
                    .and_then(|quoted| words(line).into_iter().find(|(_, w)| w == quoted))
                    .map(|(col, _)| col)
                    .unwrap_or(places.rule.1);
                return Err(SpecError {
                    col,
                    ..refuse(
                        format!(
                            "cannot read `{}`: {}",
                            text::shown(line.trim()),
                            text::shown(&detail)
                        ),
                        "give the output of `ipvsadm -Sn` (or `ipvsadm -S`), one rule per line",
                    )
                });
            }
            Err(e) => {
                return Err(refuse(
                    text::shown(&e.to_string()).into_owned(),
                    "give the output of `ipvsadm -Sn`",
                ));
            }
        };
        match rule {
            Rule::Flush => {}
            Rule::AddService(svc) => {
                add_service(&mut table, svc, places.clone()).map_err(|r| r.at(file, &places))?
            }
            Rule::AddDest(key, dest) => {
                add_dest(&mut table, key, &dest, places.clone())
                    .map_err(|r| r.at(file, &places))?;
            }
            _ => {
                return Err(refuse(
                    format!(
                        "`{}` edits or deletes; a saved table only adds",
                        text::shown(line.trim())
                    ),
                    "import reads a table as `ipvsadm -Sn` saves it (-A and -a lines): apply the \
                     change with ipvsadm, then save the table again",
                ));
            }
        }
    }
    if table.services.is_empty() {
        return Err(SpecError {
            file: file.to_string(),
            line: 0,
            col: 0,
            message: "no virtual service (-A line) in the rules".into(),
            help: Some("save a table that has services: ipvsadm -Sn > FILE".into()),
        });
    }
    if table.rips.is_empty() {
        return Err(SpecError {
            file: file.to_string(),
            line: 0,
            col: 0,
            message: "no real server (-a line) in the rules".into(),
            help: Some(
                "a lab needs at least one real server: add one with ipvsadm -a, save again".into(),
            ),
        });
    }
    Ok(table)
}

/// `value` in `range`, else why not (about `field`).
fn in_range(value: i64, range: IntRange, field: Field) -> Result<(), Refused> {
    range.check(value).map(|_| ()).map_err(|message| Refused::about(field, (message, range.help)))
}

fn add_service(table: &mut Table, svc: ipvs::Service, places: Places) -> Result<(), Refused> {
    let key = svc.key;
    if key.af() == AddressFamily::Inet6 {
        return Err(Refused::about(
            Field::Service,
            (format!("service {key} is IPv6"), "lvslab labs are IPv4: leave IPv6 services out"),
        ));
    }
    match key {
        ServiceKey::Addr { port: 0, .. } => {
            return Err(Refused::about(
                Field::Service,
                (
                    format!("service {key} takes every port (port 0)"),
                    "a lab service has one port: give it a port, e.g. -t VIP:80, or use a \
                     fwmark service",
                ),
            ));
        }
        ServiceKey::Fwmark { mark, .. } => in_range(mark.into(), ranges::FWMARK, Field::Service)?,
        ServiceKey::Addr { .. } => {}
    }
    if svc.pe_name.is_some() || svc.flags.one_packet {
        return Err(Refused::about(
            Field::Options,
            (
                format!("service {key} uses --pe or -o, which a preset cannot express"),
                "remove those options from the line (the lab keeps scheduler, -b, -p and -M)",
            ),
        ));
    }
    let Some(scheduler) = Scheduler::named(&svc.scheduler) else {
        return Err(Refused::about(
            Field::Scheduler,
            (
                format!("unknown scheduler '{}'", text::shown(&svc.scheduler)),
                "use one of the IPVS schedulers, e.g. wrr",
            ),
        ));
    };
    let flags = &svc.flags;
    let scheduler_flags = SchedFlag::from_bits(scheduler, flags.sched_flag_1, flags.sched_flag_2)
        .filter(|_| !flags.sched_flag_3);
    let Some(scheduler_flags) = scheduler_flags else {
        return Err(Refused::about(
            Field::SchedFlags,
            (
                format!(
                    "service {key} has scheduler flags ({}) that {scheduler} does not read",
                    flags.sched_flag_names(&svc.scheduler).join(",")
                ),
                "remove -b, or keep only what sh (sh-fallback, sh-port) or mh (mh-fallback, \
                 mh-port) reads with -s sh or -s mh",
            ),
        ));
    };
    if table.by_key.contains_key(&key) {
        return Err(Refused::about(
            Field::Service,
            (format!("service {key} is added twice"), "keep one -A line per service"),
        ));
    }
    let cap = ranges::SERVICES;
    if cap.exceeded_by(table.services.len() + 1) {
        return Err(Refused::about(
            Field::Service,
            (cap.message(&format!("service {key}")), cap.help),
        ));
    }
    if svc.flags.persistent {
        in_range(svc.persistence_timeout.into(), ranges::PERSISTENCE, Field::Persistence)?;
    }
    let netmask =
        (svc.flags.persistent && svc.netmask != u32::MAX).then(|| Ipv4Addr::from(svc.netmask));
    if let Some(mask) = netmask
        && ipnet::ipv4_mask_to_prefix(mask).is_err()
    {
        return Err(Refused::about(
            Field::Netmask,
            (
                format!(
                    "persistence netmask {mask} is not a netmask (its ones are not contiguous)"
                ),
                "write a netmask like 255.255.255.0 (clients in one /24 stick together)",
            ),
        ));
    }
    if let ServiceKey::Addr { addr: IpAddr::V4(vip), .. } = key
        && table.vip_seen.insert(vip)
    {
        table.vips.push((vip, places.of(Field::Service)));
    }
    table.by_key.insert(key, table.services.len());
    table.services.push(Draft {
        key,
        scheduler,
        scheduler_flags,
        persistence: svc.flags.persistent.then_some(svc.persistence_timeout),
        netmask,
        members: Vec::new(),
        places,
    });
    Ok(())
}

fn add_dest(
    table: &mut Table,
    key: ServiceKey,
    dest: &ipvs::Destination,
    places: Places,
) -> Result<(), Refused> {
    let Some(&index) = table.by_key.get(&key) else {
        return Err(Refused::about(
            Field::Service,
            (
                format!("real server for service {key}, which no -A line added before"),
                "add the service (-A) before its real servers (-a), as ipvsadm -S does",
            ),
        ));
    };
    let IpAddr::V4(rip) = dest.addr else {
        return Err(Refused::about(
            Field::RealServer,
            (
                format!("real server {} is IPv6", dest.addr),
                "lvslab labs are IPv4: leave IPv6 real servers out",
            ),
        ));
    };
    let Some(forward) = Forward::from_ipvs(dest.forward) else {
        return Err(Refused::about(
            Field::Method,
            (
                format!("real server {rip} uses a local or bypass method"),
                "a lab's real servers are hosts of their own: use -m, -g or -i",
            ),
        ));
    };
    if dest.upper_threshold != 0 || dest.lower_threshold != 0 {
        return Err(Refused::about(
            Field::Thresholds,
            (
                format!("real server {rip} has connection thresholds (-x/-y)"),
                "a preset has no thresholds: remove -x and -y",
            ),
        ));
    }
    // A firewall-mark service may keep the packet's port (0); others need one.
    if !matches!(key, ServiceKey::Fwmark { .. }) {
        let port = ranges::IntRange { what: "real server port", ..ranges::PORT };
        in_range(dest.port.into(), port, Field::RealPort)?;
    }
    in_range(dest.weight.into(), ranges::WEIGHT, Field::Weight)?;
    if table.members.contains(&(index, rip, dest.port)) {
        return Err(Refused::about(
            Field::RealServer,
            (
                format!("real server {rip}:{} is in service {key} twice", dest.port),
                "keep one -a line per real server and port",
            ),
        ));
    }
    let what = || format!("real server {rip}:{} of service {key}", dest.port);
    let cap = ranges::MEMBERS;
    if cap.exceeded_by(table.members.len() + 1) {
        return Err(Refused::about(Field::RealServer, (cap.message(&what()), cap.help)));
    }
    let cap = ranges::REAL_SERVERS;
    let new = !table.rip_index.contains_key(&rip);
    if new && cap.exceeded_by(table.rips.len() + 1) {
        return Err(Refused::about(Field::RealServer, (cap.message(&what()), cap.help)));
    }
    let at = places.of(Field::RealServer);
    table.members.insert((index, rip, dest.port));
    table.services[index].members.push(DraftMember {
        rip,
        port: dest.port,
        weight: dest.weight,
        forward,
        places,
    });
    if forward.direct_reply() && table.direct.is_none() {
        table.direct = Some((rip, at, forward));
    }
    if new {
        table.rip_index.insert(rip, table.rips.len());
        table.rips.push((rip, at));
    }
    Ok(())
}

/// A lab name from a rules file name: `saved.rules` -> `saved`.
pub fn name_from_file(file: &str) -> LabName {
    let stem = std::path::Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let mut name: String = stem
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name
        .trim_matches('-')
        .chars()
        .take(32)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string();
    LabName::new(&name).unwrap_or_else(|_| LabName::new("imported").expect("a lab name"))
}

#[cfg(test)]
mod tests;
