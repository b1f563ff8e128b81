//! Checks of the director alone: what it forwards and its IPVS knobs.
//! Also what `--host` could not look at, said as notes.

use super::Finding;
use super::catalogue as c;
use super::evidence::{Evidence, Ipvs, Scope};
use crate::lab::model::Forward;
use crate::lab::sysctl;

pub(super) fn run(e: &Evidence, out: &mut Vec<Finding>) {
    if e.ipvs == Ipvs::NotLoaded {
        out.push(c::IPVS_NOT_LOADED.found(
            e.director.name.clone(),
            vec!["/sys/module/ip_vs absent, ip_vs not in /proc/modules".into()],
            c::IPVS_NOT_LOADED.fix.iter().map(|s| s.to_string()).collect(),
        ));
    }
    if e.scope == Scope::Host {
        out.push(c::REAL_SERVERS_NOT_VISIBLE.found(
            "the real servers",
            vec!["diagnose --host reads one machine".into()],
            c::REAL_SERVERS_NOT_VISIBLE.fix.iter().map(|s| s.to_string()).collect(),
        ));
    }
    forwarding(e, out);
    conn_reuse(e, out);
}

fn forwarding(e: &Evidence, out: &mut Vec<Finding>) {
    let d = &e.director;
    if !e.uses(Forward::Nat) {
        return;
    }
    let Some(value) = d.int("net.ipv4.ip_forward") else { return };
    if value != 0 {
        return;
    }
    let nat: usize =
        e.services.iter().flat_map(|s| &s.dests).filter(|x| x.forward == Forward::Nat).count();
    out.push(c::NAT_FORWARDING_OFF.found(
        d.name.clone(),
        vec![format!("net.ipv4.ip_forward=0 with {nat} NAT destinations")],
        vec![format!("{}sysctl -w net.ipv4.ip_forward=1", d.exec())],
    ));
}

fn conn_reuse(e: &Evidence, out: &mut Vec<Finding>) {
    let d = &e.director;
    if !e.uses(Forward::Dr) && !e.uses(Forward::Tun) {
        return;
    }
    let Some(mode) = d.int("net.ipv4.vs.conn_reuse_mode") else { return };
    if mode & 2 != 0 {
        return;
    }
    let default = sysctl::fact("conn_reuse_mode").and_then(|f| f.default).unwrap_or("?");
    let methods: Vec<&str> = [(Forward::Dr, "DR"), (Forward::Tun, "TUN")]
        .into_iter()
        .filter(|(f, _)| e.uses(*f))
        .map(|(_, n)| n)
        .collect();
    out.push(c::CONN_REUSE_MODE.found(
        d.name.clone(),
        vec![format!(
            "net.ipv4.vs.conn_reuse_mode={mode} (kernel default {default}) with {} destinations",
            methods.join(" and ")
        )],
        vec![format!("{}sysctl -w net.ipv4.vs.conn_reuse_mode=3", d.exec())],
    ));
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::diagnose::evidence::{Evidence, Ipvs, Scope};
    use crate::lab::model::Forward;

    #[test]
    fn nat_without_forwarding_is_named_with_the_command_for_its_namespace() {
        let mut e = lab(Forward::Nat);
        e.director.sysctls.insert("net.ipv4.ip_forward".into(), "0".into());
        let found = crate::diagnose::run(&e);
        assert_eq!(ids(&e), ["nat-forwarding-off"]);
        assert_eq!(found[0].fix, ["ip netns exec lvs-t-director sysctl -w net.ipv4.ip_forward=1"]);
        assert!(found[0].evidence[0].contains("2 NAT destinations"), "{:?}", found[0].evidence);
        // DR does not need the director to forward replies: silent.
        let mut e = lab(Forward::Dr);
        e.director.sysctls.insert("net.ipv4.ip_forward".into(), "0".into());
        assert!(ids(&e).is_empty());
    }

    #[test]
    fn conn_reuse_mode_without_bit_2_is_named_for_dr_and_tun_only() {
        for (forward, mode, found) in [
            (Forward::Dr, "1", true),
            (Forward::Tun, "0", true),
            (Forward::Dr, "2", false),
            (Forward::Dr, "3", false),
            (Forward::Nat, "1", false),
        ] {
            let mut e = lab(forward);
            e.director.sysctls.insert("net.ipv4.vs.conn_reuse_mode".into(), mode.into());
            assert_eq!(ids(&e) == ["conn-reuse-mode"], found, "{forward} mode {mode}");
        }
        let mut e = lab(Forward::Dr);
        e.director.sysctls.insert("net.ipv4.vs.conn_reuse_mode".into(), "1".into());
        let f = &crate::diagnose::run(&e)[0];
        assert!(f.evidence[0].contains("kernel default 1") && f.evidence[0].contains("DR"));
    }

    #[test]
    fn the_host_says_what_it_cannot_see_and_that_ipvs_is_not_loaded() {
        let mut e = Evidence::empty(Scope::Host);
        e.ipvs = Ipvs::NotLoaded;
        assert_eq!(ids(&e), ["ipvs-not-loaded", "real-servers-not-visible"]);
        assert!(!crate::diagnose::fails(&crate::diagnose::run(&e)), "notes do not fail");
    }
}
