//! A [`LabSpec`] written back as a commented preset file, so a running lab,
//! live edits included, can be kept and rebuilt with `lvslab up FILE`.
//!
//! The writer emits every value the validator would otherwise default, so the
//! file says exactly what the lab is; [`super::super::validate::parse`] of the
//! output gives back the same spec (tested for every preset).

use crate::lab::model::hosts;
use std::fmt::Write;

use crate::lab::model::{LabSpec, Service, TrafficProfile};
use crate::lab::text;

/// The preset text of `spec`. `header` is placed on top as comment lines
/// (where the lab came from, and anything the reader must know). Every
/// string of the spec is written as a TOML string, and comments show
/// control characters escaped, so no text can end its line early.
pub fn to_toml(spec: &LabSpec, header: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "{}", format!("# {}", text::clip(line, MAX_COMMENT)).trim_end());
    }
    if !header.is_empty() {
        out.push('\n');
    }
    let _ =
        writeln!(out, "# Namespaces are called lvs-<name>-<host>; `lvslab up` takes this file.");
    let _ = writeln!(out, "name = {}", quote(&spec.name));
    let _ = writeln!(out, "description = {}", quote(&spec.description));
    if let Some(dataplane) = spec.dataplane {
        let _ = writeln!(out, "dataplane = \"{dataplane}\"");
    }
    if !spec.control.is_lvslab() {
        let _ = write!(
            out,
            "\n# keepalived programs the director's IPVS table and health-checks the servers.\n\
             control = \"{}\"\n",
            spec.control
        );
    }
    if !spec.failed_check.is_remove() {
        let _ = write!(
            out,
            "\n# A real server whose health check fails keeps its place with weight 0.\n\
             failed-check = \"{}\"\n",
            spec.failed_check
        );
    }
    let _ = write!(
        out,
        "\n# One network on each side of the director; they must not overlap.\n\
         [networks]\nclient = \"{}\"\n# The DIP and every real server (RIP) share this one.\nservers = \"{}\"\n",
        spec.client_net, spec.servers_net
    );
    if let Some(remote) = spec.remote_net {
        let _ = writeln!(
            out,
            "# Behind the router, away from the director: TUN real servers only.\nremote = \"{remote}\""
        );
    }
    let _ = write!(out, "\n[client]\naddress = \"{}\"\n", spec.client);
    if spec.client_addresses > 1 {
        let _ = write!(
            out,
            "# It also owns the {} addresses after it: `lvslab traffic --clients N` uses N of them.\naddresses = {}\n",
            spec.client_addresses - 1,
            spec.client_addresses
        );
    }
    if let Some(router) = spec.router {
        let _ = write!(
            out,
            "\n# The client's gateway; DR/TUN real servers send their replies through it.\n\
             [router]\noutside = \"{}\"\ninside = \"{}\"\n",
            router.outside, router.inside
        );
        if let Some(remote) = router.remote {
            let _ = writeln!(out, "# The remote real servers' gateway.\nremote = \"{remote}\"");
        }
    }
    let _ = write!(
        out,
        "\n# VIP: what clients connect to. DIP: the real servers' default gateway.\n\
         [director]\nvip = \"{}\"\ndip = \"{}\"\n",
        spec.director.vip, spec.director.dip
    );
    if !spec.director.sysctl.is_empty() {
        out.push_str("\n# IPVS's own settings in the director (`lvslab sysctl LAB` lists them).\n[director.sysctl]\n");
        for (name, value) in &spec.director.sysctl {
            // Names are the facts table's (checked); a pair keeps its space.
            let _ = writeln!(out, "{name} = {}", quote(&value.replace('\t', " ")));
        }
    }
    if let Some(ha) = spec.ha {
        let [(c1, s1), (c2, s2)] = ha.own;
        let _ = write!(
            out,
            "\n# Two directors: keepalived's VRRP moves the VIP and DIP to the MASTER.\n\
             [ha]\ndirector1 = {{ client = \"{c1}\", servers = \"{s1}\" }}\n\
             director2 = {{ client = \"{c2}\", servers = \"{s2}\" }}\nsync = {}\n",
            ha.sync
        );
    }
    for rs in &spec.real_servers {
        let _ = write!(
            out,
            "\n[[real-server]]\nname = {}\naddress = \"{}\"\n",
            quote(&rs.name),
            rs.addr
        );
        if rs.delay_ms != 0 {
            let _ = writeln!(out, "delay-ms = {}", rs.delay_ms);
        }
    }
    for svc in &spec.services {
        service(&mut out, spec, svc);
    }
    traffic(&mut out, &spec.traffic);
    out
}

fn service(out: &mut String, spec: &LabSpec, svc: &Service) {
    let _ = writeln!(out, "\n# {}", service_comment(spec, svc));
    out.push_str("[[service]]\n");
    match svc.fwmark {
        Some(mark) => {
            let _ = writeln!(out, "fwmark = {mark}");
        }
        None => {
            let _ = writeln!(out, "protocol = \"{}\"", svc.protocol);
            let _ = writeln!(out, "vip = \"{}\"", svc.vip);
            let _ = writeln!(out, "port = {}", svc.port);
        }
    }
    let _ = writeln!(out, "scheduler = {}", quote(svc.scheduler.name()));
    if !svc.scheduler_flags.is_empty() {
        let names: Vec<String> = svc.scheduler_flags.iter().map(|f| quote(f.name())).collect();
        let _ = writeln!(out, "scheduler-flags = [{}]", names.join(", "));
    }
    if let Some(timeout) = svc.persistence {
        let _ = writeln!(out, "persistence = {timeout}");
    }
    if let Some(mask) = svc.persistence_netmask {
        let _ = writeln!(out, "persistence-netmask = \"{mask}\"");
    }
    if !svc.members.is_empty() {
        let keep_port = if svc.fwmark.is_some() { "; port 0 keeps the packet's port" } else { "" };
        let _ = writeln!(
            out,
            "# Its real servers: ipvsadm -a ... -r RIP:PORT -m|-g|-i -w WEIGHT (nat, dr, tun){keep_port}."
        );
    }
    for m in &svc.members {
        let _ = write!(
            out,
            "[[service.real-server]]\nname = {}\nport = {}\nweight = {}\nforward = \"{}\"\n",
            quote(&m.name),
            m.port,
            m.weight,
            m.forward
        );
    }
}

/// The ipvsadm command the service stands for.
fn service_comment(spec: &LabSpec, svc: &Service) -> String {
    let key = lvslab_ipvs::rules::service_switch(&crate::lab::table::key(svc));
    let mut text = format!("ipvsadm -A {key} -s {}", svc.scheduler);
    if !svc.scheduler_flags.is_empty() {
        let _ =
            write!(text, " -b {}", crate::lab::schedulers::SchedFlag::list(&svc.scheduler_flags));
    }
    if let Some(timeout) = svc.persistence {
        let _ = write!(text, " -p {timeout}");
    }
    if let Some(mask) = svc.persistence_netmask {
        let _ = write!(text, " -M {mask}");
    }
    if svc.fwmark.is_some() {
        let _ = write!(
            text,
            "\n# A firewall-mark service: IPVS takes packets netfilter marked, e.g.\n\
             #   ip netns exec {} nft add rule ... meta mark set {}\n\
             # (in a prerouting chain). Nothing in the lab marks packets until you do.",
            text::clip(&spec.netns(hosts::DIRECTOR), MAX_COMMENT),
            svc.fwmark.unwrap_or_default()
        );
    }
    text
}

fn traffic(out: &mut String, t: &TrafficProfile) {
    out.push_str("\n# What `lvslab traffic` sends when given no options.\n[traffic]\n");
    if let Some(d) = t.duration_s {
        let _ = writeln!(out, "duration = {d:?}");
    }
    if let Some(r) = t.requests {
        let _ = writeln!(out, "requests = {r}");
    }
    if let Some(rate) = t.rate {
        let _ = writeln!(out, "rate = {rate:?}");
    }
    let _ = writeln!(out, "concurrency = {}", t.concurrency);
    let _ = writeln!(out, "keep-alive = {}", t.keep_alive);
    let _ = writeln!(out, "hold-ms = {}", t.hold_ms);
}

/// Bytes of free text in one header line.
const MAX_COMMENT: usize = 400;

/// A TOML basic string (names and descriptions may hold quotes). Every
/// character [`text::is_unsafe`] refuses is written as a `\u` escape, which
/// TOML reads back as that character: the file shows no control character
/// (nor a C1 control or a bidirectional override, which TOML allows raw).
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if text::is_unsafe(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{presets, validate};

    #[test]
    fn every_preset_survives_spec_to_toml_to_spec() {
        for preset in presets::embedded() {
            let text = to_toml(&preset.spec, &["exported".into()]);
            let back = validate::parse("exported.toml", &text)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", preset.origin));
            assert_eq!(back, preset.spec, "{}", preset.origin);
        }
        assert_eq!(presets::embedded().len(), presets::EMBEDDED.len());
    }

    #[test]
    fn strings_read_back_exactly_and_show_no_control_character() {
        for value in ["plain", "say \"hi\" \\ ", "\u{1b}[2J\r\n\t\u{0}\u{9b}\u{202e}\u{2028}é✓"]
        {
            let quoted = quote(value);
            assert!(!quoted.chars().any(text::is_unsafe), "{quoted}");
            let back: toml::Table = toml::from_str(&format!("v = {quoted}")).unwrap();
            assert_eq!(back["v"].as_str(), Some(value), "{quoted}");
        }
    }

    #[test]
    fn live_edits_fwmark_and_persistence_survive_too() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.services[0].scheduler = crate::lab::model::Scheduler::Lc;
        spec.services[0].members[1].weight = 0;
        // The largest weight a live edit can set exports a valid preset.
        spec.services[0].members[0].weight = crate::lab::ranges::WEIGHT.max as u32;
        spec.description = "say \"hi\"".into();
        spec.real_servers[0].delay_ms = 20;
        spec.control = crate::lab::model::Control::Keepalived;
        spec.failed_check = crate::lab::model::FailedCheck::WeightZero;
        spec.traffic.duration_s = Some(2.5);
        spec.traffic.requests = None;
        spec.traffic.rate = Some(10.0);
        let mut fwm = spec.services[0].clone();
        fwm.fwmark = Some(42);
        fwm.port = 0;
        fwm.persistence = Some(crate::lab::ranges::PERSISTENCE.max as u32);
        fwm.persistence_netmask = Some("255.255.255.0".parse().unwrap());
        fwm.members[0].port = 0;
        spec.services.push(fwm);
        spec.director.sysctl.insert("expire_nodest_conn".into(), "1".into());
        spec.director.sysctl.insert("sync_threshold".into(), "3\t50".into());
        spec.director.sysctl.insert("tcp".into(), "5".into());
        let text = to_toml(&spec, &[]);
        let back = validate::parse("x.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, spec);
        assert!(text.contains("# ipvsadm -A -f 42 -s lc -p 2678400 -M 255.255.255.0"), "{text}");
        assert!(text.contains("[director.sysctl]\nexpire_nodest_conn = \"1\"\nsync_threshold = \"3 50\"\ntcp = \"5\"\n"), "{text}");
    }
}
