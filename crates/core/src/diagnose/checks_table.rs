//! Checks of the table and of the knobs that decide what happens to its
//! connections when a destination is drained or removed.

use super::Finding;
use super::catalogue as c;
use super::evidence::{Evidence, Ipvs};
use crate::lab::sysctl;

pub(super) fn run(e: &Evidence, out: &mut Vec<Finding>) {
    if matches!(e.ipvs, Ipvs::NotLoaded | Ipvs::Unreadable { .. }) {
        return;
    }
    no_destination(e, out);
    quiescent(e, out);
    nodest(e, out);
}

fn no_destination(e: &Evidence, out: &mut Vec<Finding>) {
    for s in &e.services {
        let evidence = if s.dests.is_empty() {
            "no destination".to_string()
        } else if s.dests.iter().all(|d| d.weight == 0) {
            format!("all {} destinations at weight 0", s.dests.len())
        } else {
            continue;
        };
        out.push(c::SERVICE_NO_DESTINATION.found(
            format!("service {}", s.label),
            vec![evidence],
            vec![format!("ipvsadm -a {} -r RIP:PORT -w 1   # or -e ... -w 1", switch(&s.label))],
        ));
    }
}

/// ipvsadm's way to name a service, from its label (`tcp 192.0.2.1:80`).
fn switch(label: &str) -> String {
    match label.split_once(' ') {
        Some(("tcp", a)) => format!("-t {a}"),
        Some(("udp", a)) => format!("-u {a}"),
        Some(("sctp", a)) => format!("--sctp-service {a}"),
        Some(("fwmark", m)) => format!("-f {}", m.split(' ').next().unwrap_or(m)),
        _ => label.to_string(),
    }
}

/// `(value, kernel default)` of an IPVS sysctl on the director.
fn knob(e: &Evidence, name: &str) -> Option<(i64, &'static str)> {
    let value = e.director.int(&format!("{}{name}", sysctl::PREFIX))?;
    Some((value, sysctl::fact(name).and_then(|f| f.default).unwrap_or("?")))
}

fn quiescent(e: &Evidence, out: &mut Vec<Finding>) {
    let Some((0, default)) = knob(e, "expire_quiescent_template") else { return };
    for s in e.services.iter().filter(|s| s.persistent) {
        for d in s.dests.iter().filter(|d| d.weight == 0 && d.templates > 0) {
            out.push(c::QUIESCENT_TEMPLATE.found(
                format!("service {}, destination {}:{}", s.label, d.addr, d.port),
                vec![
                    format!("weight 0 with {} persistence templates", d.templates),
                    format!("net.ipv4.vs.expire_quiescent_template=0 (kernel default {default})"),
                ],
                vec![format!(
                    "{}sysctl -w net.ipv4.vs.expire_quiescent_template=1",
                    e.director.exec()
                )],
            ));
        }
    }
}

fn nodest(e: &Evidence, out: &mut Vec<Finding>) {
    let Some((0, default)) = knob(e, "expire_nodest_conn") else { return };
    let removing: Vec<String> = e
        .keepalived
        .iter()
        .flat_map(|k| k.checks.iter().filter(|c| !c.inhibit).map(move |c| (k, c)))
        .map(|(k, c)| format!("{}:{}: {} of real_server {}", k.file, c.line, c.kind, c.real_server))
        .collect();
    if removing.is_empty() && !e.checks_remove {
        return;
    }
    let mut evidence = vec![format!("net.ipv4.vs.expire_nodest_conn=0 (kernel default {default})")];
    match removing.len() {
        0 => evidence.push("the lab's keepalived removes a failed real server".into()),
        n => {
            evidence.push(format!(
                "{n} health checks remove their server on failure (no inhibit_on_failure)"
            ));
            evidence.push(format!("first: {}", removing[0]));
        }
    }
    out.push(c::NODEST_CONN.found(
        e.director.name.clone(),
        evidence,
        vec![format!("{}sysctl -w net.ipv4.vs.expire_nodest_conn=1", e.director.exec())],
    ));
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::diagnose::keepalived;
    use crate::diagnose::run;
    use crate::lab::model::Forward;

    #[test]
    fn a_service_without_a_usable_destination_is_an_error() {
        let mut e = lab(Forward::Nat);
        for d in &mut e.services[0].dests {
            d.weight = 0;
        }
        let found = run(&e);
        assert_eq!(ids(&e), ["service-no-destination"]);
        assert_eq!(found[0].evidence, ["all 2 destinations at weight 0"]);
        assert!(
            found[0].fix[0].starts_with("ipvsadm -a -t 198.51.100.100:80"),
            "{:?}",
            found[0].fix
        );
        e.services[0].dests.clear();
        assert_eq!(run(&e)[0].evidence, ["no destination"]);
        // One destination left at weight 1: the service schedules.
        let mut e = lab(Forward::Nat);
        e.services[0].dests[0].weight = 0;
        assert!(ids(&e).is_empty());
    }

    #[test]
    fn a_drained_destination_with_templates_is_named_unless_they_expire() {
        let mut e = lab(Forward::Nat);
        e.services[0].persistent = true;
        e.services[0].dests[1].weight = 0;
        e.services[0].dests[1].templates = 3;
        let found = run(&e);
        assert_eq!(ids(&e), ["quiescent-template"]);
        assert_eq!(found[0].subject, "service tcp 198.51.100.100:80, destination 198.51.100.12:80");
        assert_eq!(found[0].evidence[0], "weight 0 with 3 persistence templates");
        assert!(found[0].evidence[1].contains("kernel default 0"), "from the facts table");
        e.director.sysctls.insert("net.ipv4.vs.expire_quiescent_template".into(), "1".into());
        assert!(ids(&e).is_empty());
        // No templates, or not drained: silent.
        let mut e = lab(Forward::Nat);
        e.services[0].persistent = true;
        e.services[0].dests[1].templates = 3;
        assert!(ids(&e).is_empty());
    }

    #[test]
    fn expire_nodest_conn_matters_only_where_checks_remove_servers() {
        let conf = |inhibit: &str| {
            let text = format!(
                "virtual_server 10.0.0.1 80 {{\n delay_loop 2\n real_server 10.0.1.1 80 {{\n {inhibit}\n TCP_CHECK {{\n connect_timeout 1\n }}\n }}\n}}\n"
            );
            keepalived::read("/etc/keepalived/keepalived.conf", &text).unwrap()
        };
        let mut e = lab(Forward::Nat);
        assert!(ids(&e).is_empty(), "no keepalived: nothing removes servers");
        e.keepalived = vec![conf("inhibit_on_failure")];
        assert!(!ids(&e).contains(&"nodest-conn"), "inhibited servers stay, at weight 0");
        e.keepalived = vec![conf("")];
        let found = run(&e);
        let f = found.iter().find(|f| f.id == "nodest-conn").expect("nodest-conn");
        assert!(
            f.evidence[2].contains("/etc/keepalived/keepalived.conf:3: TCP_CHECK"),
            "{:?}",
            f.evidence
        );
        e.director.sysctls.insert("net.ipv4.vs.expire_nodest_conn".into(), "1".into());
        assert!(!ids(&e).contains(&"nodest-conn"));
        // A lab under keepalived says so without a file.
        let mut e = lab(Forward::Nat);
        e.checks_remove = true;
        assert_eq!(ids(&e), ["nodest-conn"]);
    }
}
