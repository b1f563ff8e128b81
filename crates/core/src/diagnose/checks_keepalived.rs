//! Checks of keepalived's configuration(s): the health checks' timing and
//! the VRRP instances. In a lab each director's file is read, so the two
//! halves of a VRRP pair are compared; with `--keepalived FILE` only what
//! one file shows.

use std::collections::BTreeMap;

use super::Finding;
use super::catalogue as c;
use super::evidence::Evidence;
use super::keepalived::{KeepalivedConf, VrrpInstance};

pub(super) fn run(e: &Evidence, out: &mut Vec<Finding>) {
    for k in &e.keepalived {
        removal_time(k, out);
        for vi in k.instances.iter().filter(|vi| vi.nopreempt && vi.is_master()) {
            out.push(c::VRRP_NOPREEMPT_MASTER.found(
                format!("{}:{}", k.file, vi.line),
                vec![format!("vrrp_instance {}: state MASTER with nopreempt", vi.name)],
                vec![format!("in vrrp_instance {}: state BACKUP", vi.name)],
            ));
        }
    }
    groups(&e.keepalived, out);
}

fn secs(v: f64) -> String {
    format!("{v} s")
}

fn removal_time(k: &KeepalivedConf, out: &mut Vec<Finding>) {
    let Some(worst) =
        k.checks.iter().max_by(|a, b| a.worst_removal_s().total_cmp(&b.worst_removal_s()))
    else {
        return;
    };
    let (delay_loop, timeout, retry, before) = worst.effective();
    let given = |v: Option<f64>, d: f64| match v {
        Some(_) => secs(d),
        None => format!("{} (default)", secs(d)),
    };
    let retry_text = match worst.retry {
        Some(_) => retry.to_string(),
        None => format!("{retry} (default)"),
    };
    out.push(c::REMOVAL_TIME.found(
        format!("{}:{}", k.file, worst.line),
        vec![
            format!(
                "up to {} for real_server {} of virtual_server {} ({})",
                secs(worst.worst_removal_s()),
                worst.real_server,
                worst.virtual_server,
                worst.kind
            ),
            format!(
                "delay_loop {} + connect_timeout {} + retry {retry_text} x (delay_before_retry {} + connect_timeout)",
                given(worst.delay_loop, delay_loop),
                given(worst.connect_timeout, timeout),
                given(worst.delay_before_retry, before),
            ),
            format!("{} health checks read; this is the slowest", k.checks.len()),
        ],
        vec![format!(
            "in virtual_server {}: delay_loop 2, and connect_timeout 1 in its checks",
            worst.virtual_server
        )],
    ));
}

/// Instances grouped by (interface, router id), with their file.
fn groups(confs: &[KeepalivedConf], out: &mut Vec<Finding>) {
    let mut by: BTreeMap<(String, u32), Vec<(&KeepalivedConf, &VrrpInstance)>> = BTreeMap::new();
    for k in confs {
        for vi in &k.instances {
            let Some(vrid) = vi.vrid else { continue };
            let iface = vi.interface.clone().unwrap_or_default();
            by.entry((iface, vrid)).or_default().push((k, vi));
        }
    }
    for ((iface, vrid), members) in by {
        let place = |(k, vi): &(&KeepalivedConf, &VrrpInstance)| {
            format!("vrrp_instance {} at {}:{}", vi.name, k.file, vi.line)
        };
        // One file with two instances of one id on one link: a clash (the
        // two halves of a pair are in two directors' files).
        for k in confs {
            let same: Vec<_> = members.iter().filter(|(f, _)| std::ptr::eq(*f, k)).collect();
            if same.len() > 1 {
                out.push(
                    c::VRRP_ID_CLASH.found(
                        k.file.clone(),
                        same.iter()
                            .map(|m| {
                                format!("{} uses virtual_router_id {vrid} on {iface}", place(m))
                            })
                            .collect(),
                        vec![format!("give {} its own virtual_router_id", same[1].1.name)],
                    ),
                );
            }
        }
        let masters: Vec<_> = members.iter().filter(|(_, vi)| vi.is_master()).collect();
        for (i, a) in masters.iter().enumerate() {
            for b in &masters[i + 1..] {
                if a.1.priority == b.1.priority && !std::ptr::eq(a.0, b.0) {
                    out.push(c::VRRP_EQUAL_MASTERS.found(
                        format!("virtual_router_id {vrid} on {iface}"),
                        vec![
                            format!("{}: state MASTER, priority {}", place(a), a.1.priority),
                            format!("{}: state MASTER, priority {}", place(b), b.1.priority),
                        ],
                        vec![format!("in {}: state BACKUP and a lower priority", b.1.name)],
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::evidence::{Evidence, Scope};
    use super::super::keepalived::read;
    use crate::diagnose::run;

    fn with(files: &[(&str, &str)]) -> Evidence {
        let mut e = Evidence::empty(Scope::Lab { name: "t".into() });
        e.keepalived = files.iter().map(|(f, t)| read(f, t).unwrap()).collect();
        e
    }

    fn vi(name: &str, state: &str, iface: &str, vrid: u32, prio: u32, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n state {state}\n interface {iface}\n virtual_router_id {vrid}\n priority {prio}\n {extra}\n}}\n"
        )
    }

    fn ids(e: &Evidence) -> Vec<&'static str> {
        run(e).iter().map(|f| f.id).collect()
    }

    #[test]
    fn the_removal_time_is_computed_from_the_slowest_check_with_defaults_said() {
        let conf = "virtual_server 10.0.0.1 80 {\n delay_loop 6\n real_server 10.0.1.1 80 {\n  HTTP_GET {\n   connect_timeout 3\n  }\n }\n real_server 10.0.1.2 80 {\n  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n}\n";
        let e = with(&[("k.conf", conf)]);
        let found = run(&e);
        let f = found.iter().find(|f| f.id == "keepalived-removal-time").unwrap();
        // 6 + 3 + 1 x (3 (HTTP_GET default) + 3) = 15.
        assert_eq!(f.subject, "k.conf:3");
        assert!(
            f.evidence[0].starts_with("up to 15 s for real_server 10.0.1.1 80"),
            "{:?}",
            f.evidence
        );
        assert!(f.evidence[1].contains("retry 1 (default)"), "{:?}", f.evidence);
        assert!(f.evidence[1].contains("delay_before_retry 3 s (default)"), "{:?}", f.evidence);
        assert!(!crate::diagnose::fails(&found), "a note, not a fault");
        assert!(ids(&with(&[("k.conf", "virtual_server 10.0.0.1 80 {\n}\n")])).is_empty());
    }

    #[test]
    fn one_router_id_twice_on_one_link_in_one_file_is_a_clash() {
        let text = vi("A", "MASTER", "eth0", 51, 150, "") + &vi("B", "BACKUP", "eth0", 51, 100, "");
        let e = with(&[("k.conf", &text)]);
        assert_eq!(ids(&e), ["vrrp-id-clash"]);
        let f = &run(&e)[0];
        assert!(f.evidence[1].contains("vrrp_instance B at k.conf:8"), "{:?}", f.evidence);
        // Another link, or another id: no clash.
        let text = vi("A", "MASTER", "eth0", 51, 150, "") + &vi("B", "BACKUP", "eth1", 51, 100, "");
        assert!(ids(&with(&[("k.conf", &text)])).is_empty());
        // The same id in the two directors' files is one group, not a clash.
        let a = vi("A", "MASTER", "eth0", 51, 150, "");
        let b = vi("A", "BACKUP", "eth0", 51, 100, "");
        assert!(ids(&with(&[("d1.conf", &a), ("d2.conf", &b)])).is_empty());
    }

    #[test]
    fn two_masters_of_one_group_with_equal_priority_are_named() {
        let a = vi("A", "MASTER", "eth0", 51, 100, "");
        let e = with(&[("d1.conf", &a), ("d2.conf", &a)]);
        assert_eq!(ids(&e), ["vrrp-equal-masters"]);
        let b = vi("A", "MASTER", "eth0", 51, 90, "");
        assert!(ids(&with(&[("d1.conf", &a), ("d2.conf", &b)])).is_empty());
    }

    #[test]
    fn nopreempt_with_state_master_is_named_and_with_backup_is_fine() {
        let e = with(&[("k.conf", &vi("A", "MASTER", "eth0", 51, 150, "nopreempt"))]);
        assert_eq!(ids(&e), ["vrrp-nopreempt-master"]);
        assert_eq!(run(&e)[0].subject, "k.conf:1");
        let e = with(&[("k.conf", &vi("A", "BACKUP", "eth0", 51, 150, "nopreempt"))]);
        assert!(ids(&e).is_empty());
    }
}
