//! The nftables table a lab describes, for `--dataplane nft`: the same
//! services as [`super::table`] gives IPVS, as kube-proxy's nftables mode
//! would build them. Pure; `ops::nft` applies it.

use super::model::{Forward, LabSpec, Service};
use super::schedulers;
use crate::nft::ruleset::{Backend, NftService, Ruleset};

/// The service as nftables rules, or why nftables cannot run it.
pub fn service(spec: &LabSpec, svc: &Service) -> Result<NftService, String> {
    let label = svc.label();
    let pick = match svc.scheduler.nftables() {
        Ok(pick) => pick,
        Err(why) => {
            return Err(format!(
                "{label}: scheduler {} cannot run on nftables: {why}. nftables runs {}; \
                 or use --dataplane ipvs",
                svc.scheduler,
                schedulers::nftables_names()
            ));
        }
    };
    if svc.fwmark.is_some() {
        return Err(format!(
            "{label}: firewall-mark services are IPVS's; on nftables give the service a VIP and port"
        ));
    }
    if svc.persistence.is_some() {
        return Err(format!(
            "{label}: persistence (ipvsadm -p) has no nftables equivalent; the closest is scheduler sh \
             (jhash ip saddr: one client always on one server)"
        ));
    }
    for member in &svc.members {
        // DNAT is LVS-NAT. Direct routing and tunnelling keep the VIP as the
        // destination (kube-proxy has no equivalent).
        match member.forward {
            Forward::Nat => {}
            Forward::Dr | Forward::Tun => {
                return Err(format!(
                    "{label}: {} forwards by {}, which nftables DNAT cannot do (the packet \
                     must keep the VIP as its destination); use forward = \"nat\" for \
                     dataplane nft, or dataplane ipvs",
                    member.name,
                    if member.forward == Forward::Dr { "direct routing" } else { "tunnelling" }
                ));
            }
        }
    }
    let backends = svc
        .members
        .iter()
        .filter_map(|m| {
            let rs = spec.real_server(&m.name)?;
            // rr ignores weights but 0 (drained), as IPVS's rr does.
            let weight = svc.scheduler.exact_share().map_or(m.weight, |s| s.part(m.weight));
            Some(Backend { name: m.name.clone(), addr: rs.addr, port: m.port, weight })
        })
        .collect();
    Ok(NftService { protocol: svc.protocol, vip: svc.vip, port: svc.port, pick, backends })
}

/// The whole table for `spec`, or every reason nftables cannot run it.
pub fn ruleset(spec: &LabSpec) -> Result<Ruleset, String> {
    let (ok, refused): (Vec<_>, Vec<_>) =
        spec.services.iter().map(|svc| service(spec, svc)).partition(Result::is_ok);
    if !refused.is_empty() {
        let why: Vec<String> = refused.into_iter().filter_map(Result::err).collect();
        return Err(why.join("\n"));
    }
    Ok(Ruleset { services: ok.into_iter().filter_map(Result::ok).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;
    use crate::lab::schedulers::Scheduler;

    #[test]
    fn the_tutorial_becomes_a_wrr_table_of_five_slots() {
        let spec = presets::load("tutorial").unwrap().spec;
        let text = ruleset(&spec).unwrap().create();
        assert!(text.contains("192.0.2.1 . tcp . 80 : goto s0"), "{text}");
        assert!(text.contains("numgen inc mod 5 vmap @s0-pick"), "{text}");
        assert!(text.contains("0-2 : goto s0-rs1-80, 3-4 : goto s0-rs2-80"), "{text}");
    }

    #[test]
    fn a_scheduler_nftables_cannot_run_is_refused_with_its_closest_equivalent() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.services[0].scheduler = Scheduler::Wlc;
        let err = ruleset(&spec).unwrap_err();
        assert!(err.contains("scheduler wlc cannot run on nftables"), "{err}");
        assert!(err.contains("closest nftables equivalent is wrr"), "{err}");
        assert!(err.contains("nftables runs rr, wrr, sh, dh"), "{err}");
    }

    #[test]
    fn rr_gives_every_undrained_server_one_slot_whatever_its_weight() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.services[0].scheduler = Scheduler::Rr;
        let text = ruleset(&spec).unwrap().create();
        assert!(text.contains("numgen inc mod 2 vmap @s0-pick"), "{text}");
        spec.services[0].members[0].weight = 0;
        let text = ruleset(&spec).unwrap().create();
        assert!(text.contains("elements = { 0 : goto s0-rs2-80 }"), "{text}");
    }

    fn tutorial_source(extra: &str, scheduler: &str) -> String {
        let source = include_str!("../../../../labs/tutorial-nat.toml");
        source
            .replacen("name = \"tutorial\"\n", &format!("name = \"tutorial\"\n{extra}"), 1)
            .replacen("scheduler = \"wrr\"", &format!("scheduler = \"{scheduler}\""), 1)
    }

    #[test]
    fn a_preset_may_ask_for_nft_and_its_export_keeps_it() {
        let spec =
            crate::lab::validate::parse("t.toml", &tutorial_source("dataplane = \"nft\"\n", "wrr"))
                .unwrap();
        assert_eq!(spec.dataplane, Some(crate::lab::model::Dataplane::Nft));
        let exported = crate::lab::export::toml::to_toml(&spec, &[]);
        assert!(exported.contains("dataplane = \"nft\"\n"), "{exported}");
        let again = crate::lab::validate::parse("t.toml", &exported).unwrap();
        assert_eq!(again.dataplane, spec.dataplane);
        let plain = crate::lab::validate::parse("t.toml", &tutorial_source("", "wrr")).unwrap();
        assert_eq!(plain.dataplane, None, "no field: the command line decides (ipvs)");
    }

    #[test]
    fn a_preset_on_nft_with_a_scheduler_nftables_cannot_run_is_refused_at_its_line() {
        let source = tutorial_source("dataplane = \"nft\"\n", "lc");
        let err = crate::lab::validate::parse("t.toml", &source).unwrap_err().to_string();
        assert!(err.contains("scheduler 'lc' cannot run on dataplane nft"), "{err}");
        assert!(err.contains("closest nftables equivalent is wrr"), "{err}");
        assert!(err.contains("use one of rr, wrr, sh, dh"), "{err}");
        let line = source.lines().position(|l| l.contains("scheduler = \"lc\"")).unwrap() + 1;
        assert!(err.contains(&format!("t.toml:{line}:")), "{err}");
        let bad = tutorial_source("dataplane = \"ebpf\"\n", "wrr");
        let err = crate::lab::validate::parse("t.toml", &bad).unwrap_err().to_string();
        assert!(err.contains("unknown dataplane 'ebpf'"), "{err}");
    }

    #[test]
    fn persistence_is_refused_pointing_to_sh() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.services[0].persistence = Some(300);
        let err = ruleset(&spec).unwrap_err();
        assert!(err.contains("closest is scheduler sh"), "{err}");
    }
}
