//! The preset file as written (`labs/*.toml`), before validation.
//!
//! Every field is optional or spanned so that [`super::validate`] can point at
//! the exact line and column of a bad value and say how to fix it. Unknown keys
//! are refused rather than ignored: a typo must not silently change a lab.

use serde::Deserialize;
use toml::Spanned;

/// A preset file: one lab.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SpecFile {
    /// The lab's name; namespaces are called `lvs-<name>-<host>`.
    pub name: Spanned<String>,
    /// One line saying what the lab shows.
    #[serde(default)]
    pub description: Option<Spanned<String>>,
    /// What balances it unless `--dataplane` says otherwise: "ipvs" (the
    /// default), "nft" or "none".
    #[serde(default)]
    pub dataplane: Option<Spanned<String>>,
    /// The two subnets, one on each side of the director.
    pub networks: NetworksFile,
    /// The client host.
    pub client: ClientFile,
    /// The director (load balancer).
    pub director: DirectorFile,
    /// The real servers.
    #[serde(default, rename = "real-server")]
    pub real_servers: Vec<RealServerFile>,
    /// The virtual services the director balances.
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceFile>,
    /// The default traffic profile of `lvslab traffic`.
    #[serde(default)]
    pub traffic: Option<TrafficFile>,
    /// Who programs the director's IPVS table: `lvslab` (default) or `keepalived`.
    #[serde(default)]
    pub control: Option<Spanned<String>>,
    /// What a failed health check does: `remove` (default) or `weight-0`.
    #[serde(default)]
    pub failed_check: Option<Spanned<String>>,
    /// The router of a DR/TUN lab, between the client and the servers' segment.
    #[serde(default)]
    pub router: Option<RouterFile>,
    /// Director failover: a second director, VRRP between the two.
    #[serde(default)]
    pub ha: Option<Spanned<HaFile>>,
}

/// `[ha]`: two directors, `director1` (VRRP MASTER) and `director2` (BACKUP).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HaFile {
    /// director1's own addresses.
    pub director1: HaDirectorFile,
    /// director2's own addresses.
    pub director2: HaDirectorFile,
    /// Synchronise IPVS connections between them (default true).
    #[serde(default)]
    pub sync: Option<bool>,
}

/// `director1 = { client = "...", servers = "..." }`: a director's own
/// addresses (the VIP and DIP move between directors; these stay).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HaDirectorFile {
    /// On the client network.
    pub client: Spanned<String>,
    /// On the servers' network.
    pub servers: Spanned<String>,
}

/// `[router]`: the client's gateway, on both networks (DR/TUN labs).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RouterFile {
    /// Its address on the client network.
    pub outside: Spanned<String>,
    /// Its address on the servers' network.
    pub inside: Spanned<String>,
    /// Its address on the remote network (with `[networks] remote`).
    #[serde(default)]
    pub remote: Option<Spanned<String>>,
}

/// `[networks]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NetworksFile {
    /// The outside network: client and VIP.
    pub client: Spanned<String>,
    /// The inside network: DIP and real servers.
    pub servers: Spanned<String>,
    /// A network behind the router, for TUN real servers away from the
    /// director's segment.
    #[serde(default)]
    pub remote: Option<Spanned<String>>,
}

/// `[client]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientFile {
    /// The client's address on the client network.
    pub address: Spanned<String>,
    /// How many addresses the client owns, from `address` up (default 1).
    #[serde(default)]
    pub addresses: Option<Spanned<i64>>,
}

/// `[director]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DirectorFile {
    /// The virtual IP on the client side.
    pub vip: Spanned<String>,
    /// The director's IP on the servers' side.
    pub dip: Spanned<String>,
    /// `[director.sysctl]`: IPVS settings by short name (`expire_nodest_conn
    /// = 1`, `tcp = 5`), checked against the sysctl facts.
    #[serde(default)]
    pub sysctl: std::collections::BTreeMap<String, Spanned<toml::Value>>,
}

/// `[[real-server]]`: a host on the servers' network.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RealServerFile {
    /// Host name, also the name of its link in the director.
    pub name: Spanned<String>,
    /// Its address (RIP).
    pub address: Spanned<String>,
    /// Milliseconds its HTTP server waits before every answer (a slow server).
    #[serde(default)]
    pub delay_ms: Option<Spanned<i64>>,
}

/// `[[service]]`: one IPVS virtual service.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceFile {
    /// `tcp`, `udp` or `sctp`.
    #[serde(default)]
    pub protocol: Option<Spanned<String>>,
    /// Defaults to the director's VIP.
    #[serde(default)]
    pub vip: Option<Spanned<String>>,
    /// The virtual port (absent for a firewall-mark service).
    #[serde(default)]
    pub port: Option<Spanned<i64>>,
    /// A firewall-mark service (ipvsadm -f) instead of an address and port.
    #[serde(default)]
    pub fwmark: Option<Spanned<i64>>,
    /// IPVS scheduler name.
    pub scheduler: Spanned<String>,
    /// Scheduler flags (ipvsadm -b), e.g. `["mh-port"]`.
    #[serde(default)]
    pub scheduler_flags: Option<Spanned<Vec<Spanned<String>>>>,
    /// Persistence timeout in seconds (ipvsadm -p).
    #[serde(default)]
    pub persistence: Option<Spanned<i64>>,
    /// Persistence granularity as a netmask (ipvsadm -M), e.g. "255.255.255.0".
    #[serde(default)]
    pub persistence_netmask: Option<Spanned<String>>,
    /// The service's real servers.
    #[serde(default, rename = "real-server")]
    pub real_servers: Vec<MemberFile>,
}

/// `[[service.real-server]]`: a real server inside one service.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MemberFile {
    /// The name of a `[[real-server]]`.
    pub name: Spanned<String>,
    /// The port on the real server; defaults to the service's port.
    #[serde(default)]
    pub port: Option<Spanned<i64>>,
    /// Defaults to 1.
    #[serde(default)]
    pub weight: Option<Spanned<i64>>,
    /// Defaults to `nat`.
    #[serde(default)]
    pub forward: Option<Spanned<String>>,
}

/// `[traffic]`: the default profile of `lvslab traffic`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrafficFile {
    /// Total requests.
    pub requests: Option<Spanned<i64>>,
    /// Or a duration in seconds.
    pub duration: Option<Spanned<f64>>,
    /// Open loop: new connections per second.
    pub rate: Option<Spanned<f64>>,
    /// Closed loop: connections in flight.
    pub concurrency: Option<Spanned<i64>>,
    /// Reuse connections instead of one per request.
    pub keep_alive: Option<bool>,
    /// Hold each connection open this long (ms), to load lc/wlc/sed/nq.
    pub hold_ms: Option<Spanned<i64>>,
}

/// A value as if read from a file, at no place in it.
fn at_none<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

impl SpecFile {
    /// The preset file `spec` is, as [`super::export::toml::to_toml`] writes
    /// it, without writing and parsing the text: so a spec built in memory
    /// (an import) meets the validator's rules at the cost of the spec
    /// alone (parsing its TOML held some 30 times the text). Every value
    /// is at no place (span `0..0`).
    pub fn from_spec(spec: &super::model::LabSpec) -> Self {
        let s = |v: &dyn std::fmt::Display| at_none(v.to_string());
        let int = |v: i64| at_none(v);
        let t = &spec.traffic;
        Self {
            name: s(&spec.name),
            description: Some(s(&spec.description)),
            dataplane: spec.dataplane.map(|d| s(&d)),
            networks: NetworksFile {
                client: s(&spec.client_net),
                servers: s(&spec.servers_net),
                remote: spec.remote_net.map(|n| s(&n)),
            },
            client: ClientFile {
                address: s(&spec.client),
                addresses: (spec.client_addresses > 1)
                    .then(|| int(i64::from(spec.client_addresses))),
            },
            director: DirectorFile {
                vip: s(&spec.director.vip),
                dip: s(&spec.director.dip),
                sysctl: spec
                    .director
                    .sysctl
                    .iter()
                    .map(|(k, v)| (k.clone(), at_none(toml::Value::String(v.clone()))))
                    .collect(),
            },
            real_servers: spec
                .real_servers
                .iter()
                .map(|rs| RealServerFile {
                    name: s(&rs.name),
                    address: s(&rs.addr),
                    delay_ms: (rs.delay_ms != 0).then(|| int(rs.delay_ms as i64)),
                })
                .collect(),
            services: spec
                .services
                .iter()
                .map(|svc| {
                    let by_address = svc.fwmark.is_none();
                    ServiceFile {
                        protocol: by_address.then(|| s(&svc.protocol)),
                        vip: by_address.then(|| s(&svc.vip)),
                        port: by_address.then(|| int(i64::from(svc.port))),
                        fwmark: svc.fwmark.map(|m| int(i64::from(m))),
                        scheduler: s(&svc.scheduler.name()),
                        scheduler_flags: (!svc.scheduler_flags.is_empty())
                            .then(|| at_none(svc.scheduler_flags.iter().map(|f| s(f)).collect())),
                        persistence: svc.persistence.map(|p| int(i64::from(p))),
                        persistence_netmask: svc.persistence_netmask.map(|m| s(&m)),
                        real_servers: svc
                            .members
                            .iter()
                            .map(|m| MemberFile {
                                name: s(&m.name),
                                port: Some(int(i64::from(m.port))),
                                weight: Some(int(i64::from(m.weight))),
                                forward: Some(s(&m.forward)),
                            })
                            .collect(),
                    }
                })
                .collect(),
            traffic: Some(TrafficFile {
                requests: t.requests.map(|r| int(r as i64)),
                duration: t.duration_s.map(at_none),
                rate: t.rate.map(at_none),
                concurrency: Some(int(i64::from(t.concurrency))),
                keep_alive: Some(t.keep_alive),
                hold_ms: Some(int(t.hold_ms as i64)),
            }),
            control: (!spec.control.is_lvslab()).then(|| s(&spec.control)),
            failed_check: (!spec.failed_check.is_remove()).then(|| s(&spec.failed_check)),
            router: spec.router.map(|r| RouterFile {
                outside: s(&r.outside),
                inside: s(&r.inside),
                remote: r.remote.map(|a| s(&a)),
            }),
            ha: spec.ha.map(|ha| {
                let [(c1, s1), (c2, s2)] = ha.own;
                at_none(HaFile {
                    director1: HaDirectorFile { client: s(&c1), servers: s(&s1) },
                    director2: HaDirectorFile { client: s(&c2), servers: s(&s2) },
                    sync: Some(ha.sync),
                })
            }),
        }
    }
}
