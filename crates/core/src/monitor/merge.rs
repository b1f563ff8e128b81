//! What the lab's record says, merged with what the director's IPVS table
//! has. Pure, so it is unit-tested on captured tables.
//!
//! The result lists the lab's services in the record's order, then every
//! service the kernel has that the lab does not (added by hand with
//! ipvsadm, by keepalived, ...). Within a service, the lab's real servers
//! come first in the record's order, then destinations only the kernel has.
//! Each entry says where it comes from and whether the kernel has it, so a
//! view can mark "added outside lvslab" and "not programmed".

use std::net::IpAddr;

use super::observation::Table;
use crate::lab::model::LabSpec;
use crate::lab::table;
use lvslab_ipvs::{Destination, Service, ServiceKey};

/// Where a service or destination comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The lab's record: its preset, with lvslab's live edits.
    Lab,
    /// Only the kernel has it: added outside lvslab.
    Outside,
}

/// One virtual service, from the lab, the kernel or both.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedService {
    /// What identifies it.
    pub key: ServiceKey,
    /// The lab's or someone else's.
    pub origin: Origin,
    /// As the lab describes it.
    pub planned: Option<Service>,
    /// As the kernel has it (counters included); `None`: not programmed.
    pub kernel: Option<Service>,
    /// Its real servers.
    pub dests: Vec<MergedDest>,
}

/// One real server of a service, from the lab, the kernel or both.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedDest {
    /// The lab's host name for its address, or the address itself.
    pub name: String,
    /// The lab's or someone else's.
    pub origin: Origin,
    /// As the lab describes it.
    pub planned: Option<Destination>,
    /// As the kernel has it (weight, connections, counters); `None`: not programmed.
    pub kernel: Option<Destination>,
}

impl MergedService {
    /// Whether the kernel has this service.
    pub fn programmed(&self) -> bool {
        self.kernel.is_some()
    }

    /// The kernel's service when it has one, else the lab's.
    pub fn current(&self) -> &Service {
        self.kernel.as_ref().or(self.planned.as_ref()).expect("a merged service has a side")
    }
}

impl MergedDest {
    /// Whether the kernel has this destination.
    pub fn programmed(&self) -> bool {
        self.kernel.is_some()
    }

    /// The kernel's destination when it has one, else the lab's.
    pub fn current(&self) -> &Destination {
        self.kernel.as_ref().or(self.planned.as_ref()).expect("a merged destination has a side")
    }
}

/// Merges the lab `spec` with the director's `table`; `None` when there is
/// no table to compare with (no IPVS, or the read failed): then every
/// service is the lab's and none is programmed.
pub fn merge(spec: &LabSpec, table: Option<&Table>) -> Vec<MergedService> {
    let kernel_service = |key: &ServiceKey| table?.iter().find(|(s, _)| s.key == *key);
    let mut out: Vec<MergedService> = table::table(spec)
        .into_iter()
        .map(|(planned, planned_dests)| {
            let kernel = kernel_service(&planned.key);
            let kernel_dests = kernel.map_or(&[][..], |(_, d)| d.as_slice());
            let mut dests: Vec<MergedDest> = planned_dests
                .into_iter()
                .map(|p| MergedDest {
                    name: name_of(spec, p.addr),
                    origin: Origin::Lab,
                    kernel: kernel_dests.iter().find(|k| same_dest(k, &p)).cloned(),
                    planned: Some(p),
                })
                .collect();
            let extra: Vec<MergedDest> = kernel_dests
                .iter()
                .filter(|k| {
                    !dests.iter().any(|d| d.planned.as_ref().is_some_and(|p| same_dest(k, p)))
                })
                .map(|k| outside_dest(spec, k))
                .collect();
            dests.extend(extra);
            MergedService {
                key: planned.key,
                origin: Origin::Lab,
                kernel: kernel.map(|(s, _)| s.clone()),
                planned: Some(planned),
                dests,
            }
        })
        .collect();
    for (svc, dests) in table.into_iter().flatten() {
        if out.iter().any(|m| m.key == svc.key) {
            continue;
        }
        out.push(MergedService {
            key: svc.key,
            origin: Origin::Outside,
            planned: None,
            kernel: Some(svc.clone()),
            dests: dests.iter().map(|d| outside_dest(spec, d)).collect(),
        });
    }
    out
}

fn same_dest(a: &Destination, b: &Destination) -> bool {
    a.addr == b.addr && a.port == b.port
}

fn outside_dest(spec: &LabSpec, d: &Destination) -> MergedDest {
    MergedDest {
        name: name_of(spec, d.addr),
        origin: Origin::Outside,
        planned: None,
        kernel: Some(d.clone()),
    }
}

/// The lab's host name for `addr`, or the address as text.
pub fn name_of(spec: &LabSpec, addr: IpAddr) -> String {
    spec.real_servers
        .iter()
        .find(|rs| IpAddr::V4(rs.addr) == addr)
        .map_or_else(|| addr.to_string(), |rs| rs.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;
    use lvslab_ipvs::capture;
    use lvslab_ipvs::{Forward, Protocol};

    fn tutorial() -> LabSpec {
        presets::load("tutorial").unwrap().spec
    }

    /// The tutorial's table as the kernel listed it, captured with counters.
    fn captured() -> Table {
        capture::table(&capture::load("traffic-list-stats")).1
    }

    #[test]
    fn the_programmed_tutorial_is_all_the_labs_and_all_programmed() {
        let merged = merge(&tutorial(), Some(&captured()));
        assert_eq!(merged.len(), 1);
        let svc = &merged[0];
        assert_eq!((svc.origin, svc.programmed()), (Origin::Lab, true));
        let names: Vec<_> =
            svc.dests.iter().map(|d| (d.name.as_str(), d.origin, d.programmed())).collect();
        assert_eq!(names, [("rs1", Origin::Lab, true), ("rs2", Origin::Lab, true)]);
        // Counters come from the kernel's side.
        assert!(svc.dests.iter().all(|d| d.current().stats.conns > 0));
    }

    #[test]
    fn a_service_and_a_real_server_added_by_hand_are_marked_outside() {
        let mut table = captured();
        let udp =
            ServiceKey::Addr { proto: Protocol::Udp, addr: "192.0.2.1".parse().unwrap(), port: 53 };
        let rs1 = Destination::new("198.51.100.11".parse().unwrap(), 53, Forward::Masq);
        table.insert(0, (Service::new(udp, "sh"), vec![rs1]));
        let stranger = Destination::new("198.51.100.99".parse().unwrap(), 80, Forward::Masq);
        table[1].1.insert(0, stranger);

        let merged = merge(&tutorial(), Some(&table));
        assert_eq!(merged.len(), 2);
        let tcp = &merged[0];
        let dests: Vec<_> = tcp.dests.iter().map(|d| (d.name.as_str(), d.origin)).collect();
        assert_eq!(
            dests,
            [("rs1", Origin::Lab), ("rs2", Origin::Lab), ("198.51.100.99", Origin::Outside)]
        );
        let added = &merged[1];
        assert_eq!((added.key, added.origin, added.programmed()), (udp, Origin::Outside, true));
        assert_eq!(added.dests[0].name, "rs1", "a lab host is named even in an outside service");
        assert_eq!(added.dests[0].origin, Origin::Outside);
    }

    #[test]
    fn a_service_missing_from_the_kernel_is_not_programmed() {
        let merged = merge(&tutorial(), Some(&Vec::new()));
        assert_eq!(merged.len(), 1);
        assert!(!merged[0].programmed());
        assert!(merged[0].dests.iter().all(|d| !d.programmed() && d.origin == Origin::Lab));
        assert_eq!(merged[0].current().scheduler, "wrr", "the lab's side is shown");
    }

    #[test]
    fn without_a_table_everything_is_the_labs_and_nothing_programmed() {
        let merged = merge(&tutorial(), None);
        assert_eq!(merged.len(), 1);
        assert!(!merged[0].programmed());
        assert_eq!(merged[0].dests.len(), 2);
    }

    #[test]
    fn a_kernel_weight_wins_over_the_labs() {
        let mut table = captured();
        table[0].1.iter_mut().for_each(|d| d.weight = 7);
        let merged = merge(&tutorial(), Some(&table));
        assert!(merged[0].dests.iter().all(|d| d.current().weight == 7));
        assert_eq!(merged[0].dests[0].planned.as_ref().unwrap().weight, 3);
    }

    #[test]
    fn the_kitchen_table_against_the_tutorial_is_all_outside_but_its_first_service() {
        let kitchen = capture::table(&capture::load("kitchen-list")).1;
        let merged = merge(&tutorial(), Some(&kitchen));
        assert_eq!(merged.len(), kitchen.len(), "every kernel service appears once");
        assert_eq!(merged[0].origin, Origin::Lab);
        assert!(merged[1..].iter().all(|m| m.origin == Origin::Outside && m.programmed()));
    }
}
