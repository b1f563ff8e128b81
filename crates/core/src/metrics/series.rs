//! The series of a scrape: node_exporter's `node_ipvs_*` from the
//! director's `/proc` files, with its names, labels and sums, and
//! `lvslab_*` for what node_exporter does not show (per real server
//! counters, which lab host a backend is, keepalived's checks, the VRRP
//! MASTER, and whether each read worked).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::exposition::{Error, Exposition, Kind};
use super::procfs::{ProcBackend, ProcService, Totals};
use crate::lab::model::{Control, FailedCheck, LabSpec};
use crate::monitor::merge::{MergedService, Origin};
use lvslab_ipvs::{Protocol, ServiceKey, Stats};

/// node_exporter's backend labels, in its order.
pub const BACKEND_LABELS: [&str; 6] =
    ["local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark"];

/// A counter family and the figure of [`Totals`] / [`Stats`] it carries.
struct Counter {
    suffix: &'static str,
    what: &'static str,
    /// The same for one real server.
    backend: &'static str,
    /// Said after the scope, as a sentence of its own.
    note: &'static str,
    totals: fn(&Totals) -> u64,
    stats: fn(&Stats) -> u64,
}

/// Why DR and TUN count nothing out: the replies go around the director.
const NAT_ONLY: &str = " Counted only where replies cross the director (NAT).";

/// The five counters node_exporter gives for the namespace and lvslab
/// gives per real server, as `node_ipvs_<suffix>` / `lvslab_backend_<suffix>`.
const COUNTERS: [Counter; 5] = [
    Counter {
        suffix: "connections_total",
        what: "Connections scheduled",
        backend: "Connections scheduled to this real server",
        note: "",
        totals: |t| t.connections,
        stats: |s| s.conns,
    },
    Counter {
        suffix: "incoming_packets_total",
        what: "Packets from clients",
        backend: "Packets from clients to this real server",
        note: "",
        totals: |t| t.incoming_packets,
        stats: |s| s.in_pkts,
    },
    Counter {
        suffix: "outgoing_packets_total",
        what: "Packets to clients",
        backend: "Packets from this real server to clients",
        note: NAT_ONLY,
        totals: |t| t.outgoing_packets,
        stats: |s| s.out_pkts,
    },
    Counter {
        suffix: "incoming_bytes_total",
        what: "Bytes from clients",
        backend: "Bytes from clients to this real server",
        note: "",
        totals: |t| t.incoming_bytes,
        stats: |s| s.in_bytes,
    },
    Counter {
        suffix: "outgoing_bytes_total",
        what: "Bytes to clients",
        backend: "Bytes from this real server to clients",
        note: NAT_ONLY,
        totals: |t| t.outgoing_bytes,
        stats: |s| s.out_bytes,
    },
];

/// A service as `/proc/net/ip_vs` names it, from lvslab's table key.
pub fn proc_service(key: &ServiceKey) -> ProcService {
    match *key {
        ServiceKey::Addr { proto, addr, port } => ProcService::Addr {
            proto: match proto {
                Protocol::Tcp => "TCP",
                Protocol::Udp => "UDP",
                Protocol::Sctp => "SCTP",
            },
            addr,
            port,
        },
        ServiceKey::Fwmark { mark, .. } => ProcService::Fwmark(mark),
    }
}

/// node_exporter's label values for a real server of `service`: a
/// firewall-mark service has proto `FWM`, an empty local address, local
/// port 0 and its mark as the file writes it (8 hex digits); the others an
/// empty mark.
pub fn backend_labels(
    service: &ProcService,
    addr: IpAddr,
    port: u16,
) -> Vec<(&'static str, String)> {
    let (local_address, local_port, proto, mark) = match *service {
        ProcService::Addr { proto, addr, port } => (ip_text(addr), port, proto, String::new()),
        ProcService::Fwmark(mark) => (String::new(), 0, "FWM", format!("{mark:08X}")),
    };
    let values = [
        local_address,
        local_port.to_string(),
        ip_text(addr),
        port.to_string(),
        proto.into(),
        mark,
    ];
    BACKEND_LABELS.into_iter().zip(values).collect()
}

/// An address as Go's `net.IP.String` writes it: an IPv4-mapped IPv6
/// address as plain IPv4, IPv6 otherwise compressed (RFC 5952, as Rust).
fn ip_text(addr: IpAddr) -> String {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// node_exporter's ipvs collector on the files' contents: the five
/// namespace totals, and per label set the sums of ActiveConn, InActConn
/// and weight (node_exporter adds up real servers whose labels are equal).
///
/// # Errors
/// Only if a name here were wrong (a bug): the values cannot make one.
pub fn node_ipvs(
    e: &mut Exposition,
    totals: &Totals,
    backends: &[ProcBackend],
) -> Result<(), Error> {
    for c in &COUNTERS {
        let help =
            format!("{} in the director's namespace since IPVS started there.{}", c.what, c.note);
        e.add(
            &format!("node_ipvs_{}", c.suffix),
            &help,
            Kind::Counter,
            &[],
            (c.totals)(totals) as f64,
        )?;
    }
    let mut sums: BTreeMap<Vec<(&'static str, String)>, [u64; 3]> = BTreeMap::new();
    for b in backends {
        let sum = sums.entry(backend_labels(&b.service, b.addr, b.port)).or_default();
        sum[0] += b.active;
        sum[1] += b.inactive;
        sum[2] += b.weight;
    }
    let gauges = [
        (
            "node_ipvs_backend_connections_active",
            "Established connections per real server (ActiveConn).",
        ),
        (
            "node_ipvs_backend_connections_inactive",
            "Other connections per real server, e.g. TIME_WAIT (InActConn).",
        ),
        ("node_ipvs_backend_weight", "Weight per real server (0: no new connections)."),
    ];
    for (labels, sum) in &sums {
        for ((name, help), value) in gauges.iter().zip(sum) {
            e.add(name, help, Kind::Gauge, labels, *value as f64)?;
        }
    }
    Ok(())
}

/// What a scrape knows of the lab beside the kernel's files.
#[derive(Debug, Clone, Copy)]
pub struct LabView<'a> {
    /// The lab.
    pub spec: &'a LabSpec,
    /// Its services merged with the table its dataplane balances with
    /// (IPVS's over netlink, or the nftables counters shaped as it).
    pub merged: &'a [MergedService],
    /// HA labs: the director holding the VIP now (`None`: none does).
    pub vrrp_master: Option<&'a str>,
}

/// The `lvslab_*` series: per real server the five counters (IPVS's or
/// the nftables dataplane's) under node_exporter's backend labels,
/// `lvslab_backend_info` naming the lab host behind them, keepalived's
/// check state, and the VRRP MASTER of an HA lab.
///
/// # Errors
/// As [`node_ipvs`].
pub fn lab_series(e: &mut Exposition, lab: &LabView<'_>) -> Result<(), Error> {
    let keepalived = lab.spec.control == Control::Keepalived || lab.spec.ha.is_some();
    for svc in lab.merged {
        let service = proc_service(&svc.key);
        for d in &svc.dests {
            let current = d.current();
            let labels = backend_labels(&service, current.addr, current.port);
            if let Some(kernel) = &d.kernel {
                for c in &COUNTERS {
                    let name = format!("lvslab_backend_{}", c.suffix);
                    let help = format!("{} since it was added.{}", c.backend, c.note);
                    e.add(&name, &help, Kind::Counter, &labels, (c.stats)(&kernel.stats) as f64)?;
                }
            }
            let mut info = labels.clone();
            info.push(("server", d.name.clone()));
            info.push((
                "origin",
                match d.origin {
                    Origin::Lab => "lab",
                    Origin::Outside => "outside",
                }
                .into(),
            ));
            info.push(("programmed", if d.programmed() { "true" } else { "false" }.into()));
            e.add(
                "lvslab_backend_info",
                "The lab host behind a backend's labels, and whether the table has it (always 1).",
                Kind::Gauge,
                &info,
                1.0,
            )?;
            if keepalived && d.origin == Origin::Lab {
                let planned_weight = d.planned.as_ref().map_or(0, |p| p.weight);
                let up = d.kernel.as_ref().is_some_and(|k| {
                    lab.spec.failed_check != FailedCheck::WeightZero
                        || k.weight > 0
                        || planned_weight == 0
                });
                e.add(
                    "lvslab_keepalived_backend_up",
                    "1 while keepalived's health check keeps the real server in service, 0 once it took it out.",
                    Kind::Gauge,
                    &labels,
                    f64::from(u8::from(up)),
                )?;
            }
        }
    }
    if lab.spec.ha.is_some() {
        for director in lab.spec.directors() {
            let master = lab.vrrp_master == Some(director);
            e.add(
                "lvslab_vrrp_master",
                "1 for the director holding the VIP (the VRRP MASTER), 0 for the others.",
                Kind::Gauge,
                &[("director", director.to_string())],
                f64::from(u8::from(master)),
            )?;
        }
    }
    Ok(())
}

/// `lvslab_scrape_success{source}`: whether one read of the scrape worked
/// (the others' series are still served).
///
/// # Errors
/// As [`node_ipvs`].
pub fn read_success(e: &mut Exposition, source: &str, ok: bool) -> Result<(), Error> {
    e.add(
        "lvslab_scrape_success",
        "1 when this read of the lab worked in this scrape, 0 when it failed (see lvslab's log).",
        Kind::Gauge,
        &[("source", source.to_string())],
        f64::from(u8::from(ok)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::procfs;
    use super::*;
    use crate::lab::presets;
    use crate::lab::table;
    use crate::monitor::merge::merge;

    fn labels(e: &Exposition, family: &str) -> Vec<Vec<String>> {
        e.family(family)
            .map(|f| {
                f.samples
                    .iter()
                    .map(|s| s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn node_ipvs_series_have_node_exporters_names_labels_and_values() {
        let mut e = Exposition::new();
        let totals = procfs::parse_stats(procfs::tests::STATS).unwrap();
        let backends = procfs::parse_services(procfs::tests::SERVICES).unwrap();
        node_ipvs(&mut e, &totals, &backends).unwrap();
        assert_eq!(e.family("node_ipvs_connections_total").unwrap().samples[0].value, 1000.0);
        assert_eq!(e.family("node_ipvs_outgoing_bytes_total").unwrap().samples[0].value, 459_156.0);
        let rs1 = [
            ("local_address", "192.0.2.1"),
            ("local_port", "80"),
            ("remote_address", "198.51.100.11"),
            ("remote_port", "80"),
            ("proto", "TCP"),
            ("local_mark", ""),
        ];
        assert_eq!(e.family("node_ipvs_backend_weight").unwrap().get(&rs1), Some(3.0));
        assert_eq!(
            e.family("node_ipvs_backend_connections_inactive").unwrap().get(&rs1),
            Some(600.0)
        );
        let fwm = [
            ("local_address", ""),
            ("local_port", "0"),
            ("remote_address", "198.51.100.11"),
            ("remote_port", "80"),
            ("proto", "FWM"),
            ("local_mark", "0000002A"),
        ];
        assert_eq!(e.family("node_ipvs_backend_weight").unwrap().get(&fwm), Some(1.0));
        let all = labels(&e, "node_ipvs_backend_connections_active");
        assert_eq!(all.len(), 5, "{all:?}");
        assert!(
            all.iter().any(|l| l.contains(&"remote_address=2001:db8::11".to_string())),
            "{all:?}"
        );
    }

    #[test]
    fn real_servers_with_equal_labels_are_summed_as_node_exporter_does() {
        let line = "  -> C633640B:0050      Masq    3      2          5\n";
        let text = format!("TCP  C0000201:0050 wrr\n{line}{line}");
        let backends = procfs::parse_services(&text).unwrap();
        let mut e = Exposition::new();
        node_ipvs(&mut e, &Totals::default(), &backends).unwrap();
        let f = e.family("node_ipvs_backend_weight").unwrap();
        assert_eq!((f.samples.len(), f.samples[0].value), (1, 6.0));
        assert_eq!(e.family("node_ipvs_backend_connections_active").unwrap().samples[0].value, 4.0);
    }

    #[test]
    fn lvslab_series_carry_each_real_servers_counters_under_the_same_labels() {
        let spec = presets::load("tutorial").unwrap().spec;
        let mut kernel = table::table(&spec);
        for (d, conns) in kernel[0].1.iter_mut().zip([600, 400]) {
            d.stats.conns = conns;
            d.stats.in_bytes = conns * 100;
        }
        kernel.push(kernel[0].clone());
        kernel[1].0.key = ServiceKey::Fwmark { af: lvslab_ipvs::AddressFamily::Inet, mark: 7 };
        let merged = merge(&spec, Some(&kernel));
        let mut e = Exposition::new();
        lab_series(&mut e, &LabView { spec: &spec, merged: &merged, vrrp_master: None }).unwrap();
        let conns = e.family("lvslab_backend_connections_total").unwrap();
        let rs = |addr: &'static str| {
            [
                ("local_address", "192.0.2.1"),
                ("local_port", "80"),
                ("remote_address", addr),
                ("remote_port", "80"),
                ("proto", "TCP"),
                ("local_mark", ""),
            ]
        };
        assert_eq!(conns.get(&rs("198.51.100.11")), Some(600.0));
        assert_eq!(conns.get(&rs("198.51.100.12")), Some(400.0));
        assert_eq!(
            e.family("lvslab_backend_incoming_bytes_total").unwrap().get(&rs("198.51.100.12")),
            Some(40_000.0)
        );
        assert_eq!(conns.samples.len(), 4, "the fwmark service added outside lvslab too");
        let info = labels(&e, "lvslab_backend_info");
        assert!(
            info[0].contains(&"server=rs1".to_string())
                && info[0].contains(&"origin=lab".to_string()),
            "{info:?}"
        );
        assert!(
            info[3].contains(&"local_mark=00000007".to_string())
                && info[3].contains(&"origin=outside".to_string()),
            "{info:?}"
        );
        assert!(e.family("lvslab_keepalived_backend_up").is_none(), "no keepalived in this lab");
        assert!(e.family("lvslab_vrrp_master").is_none(), "one director");
    }

    #[test]
    fn keepalived_check_state_and_the_vrrp_master_are_shown_where_the_lab_has_them() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.control = Control::Keepalived;
        let mut kernel = table::table(&spec);
        kernel[0].1.remove(1); // keepalived took rs2 out
        let merged = merge(&spec, Some(&kernel));
        let mut e = Exposition::new();
        lab_series(&mut e, &LabView { spec: &spec, merged: &merged, vrrp_master: None }).unwrap();
        let up = e.family("lvslab_keepalived_backend_up").unwrap();
        assert_eq!(up.samples.iter().map(|s| s.value).collect::<Vec<_>>(), [1.0, 0.0]);
        assert_eq!(e.family("lvslab_backend_connections_total").unwrap().samples.len(), 1);

        let ha = presets::load("ha").unwrap().spec;
        let merged = merge(&ha, None);
        let mut e = Exposition::new();
        lab_series(&mut e, &LabView { spec: &ha, merged: &merged, vrrp_master: Some("director2") })
            .unwrap();
        let m = e.family("lvslab_vrrp_master").unwrap();
        assert_eq!(
            (m.get(&[("director", "director1")]), m.get(&[("director", "director2")])),
            (Some(0.0), Some(1.0))
        );
    }
}
