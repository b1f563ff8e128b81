//! `lvslab status LAB [--json]`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::monitor::KernelObserver;
use lvslab::monitor::merge::Origin;
use lvslab::monitor::status::{self, LabStatus};
use lvslab::ops::state::{LabState, Stored};
use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::text::shown;

pub fn run(lab: &LabName, json: bool) -> Result<ExitCode> {
    super::require_privilege("status")?;
    let Some(state) = LabState::load(lab)? else {
        bail!(
            "no lab '{lab}' is running (lvslab ls lists the running labs; lvslab up {lab} builds it)"
        );
    };
    let status = status::status(&state, &KernelObserver::once(&state));
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_text(&status);
        if let Some(line) = lvslab::ops::sysctl::off_default_line(&state) {
            println!(
                "\nIPVS SETTINGS off the kernel's default (lvslab sysctl {lab} lists all)\n  {line}"
            );
        }
        if let Some(ha) = &status.ha {
            print_ha(&state, ha);
        } else if lvslab::ops::live::by_keepalived(&state) {
            let ka = lvslab::ops::keepalived::running(&state);
            println!(
                "\nCONTROL keepalived in the director ({}): it owns the table and checks every \
                 real server's /health each second; a server failing its check {}.\n  \
                 config {}\n  log    {}",
                ka.map_or("NOT RUNNING".to_string(), |p| format!("pid {}", p.pid)),
                if state.spec.failed_check.is_remove() {
                    "is out of the table"
                } else {
                    "keeps weight 0 (failed-check = \"weight-0\")"
                },
                lvslab::ops::state::config_path(&state.spec.name).display(),
                lvslab::ops::state::log_path(&state.spec.name).display(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An HA lab's VRRP state: who is MASTER, each director's keepalived.
fn print_ha(state: &LabState, ha: &lvslab::monitor::status::HaStatus) {
    let master = ha.master.as_deref().unwrap_or("none (no director holds the VIP)");
    println!(
        "\nVRRP MASTER {master}: it holds the VIP {} and the DIP {}; connection sync {}",
        state.spec.director.vip,
        state.spec.director.dip,
        if ha.sync { "on" } else { "off" }
    );
    for host in state.spec.directors() {
        let ka = lvslab::ops::keepalived::running_in(state, host);
        println!(
            "  {host:<9} keepalived {:<12} config {}  log {}",
            ka.map_or("STOPPED".to_string(), |p| format!("pid {}", p.pid)),
            lvslab::ops::state::config_path_of(&state.spec.name, host).display(),
            lvslab::ops::state::log_path_of(&state.spec.name, host).display(),
        );
    }
}

/// The text form. Every string from the lab's record (which can be edited
/// by hand) or the kernel goes through [`shown`]: control characters are
/// printed escaped, never sent to the terminal.
fn print_text(s: &LabStatus) {
    let lab = shown(&s.lab);
    println!("lab '{lab}' ({}), dataplane {}, {:?}", shown(&s.origin), s.dataplane, s.phase);
    if !s.description.is_empty() {
        println!("  {}", shown(&s.description));
    }
    println!("\nHOSTS");
    for h in &s.hosts {
        if !h.present {
            println!(
                "  {:<9} {:<24} MISSING (run `lvslab down {lab}` then `lvslab up`)",
                shown(&h.name),
                shown(&h.netns),
            );
            continue;
        }
        let links = lvslab_core::monitor::status::links_text(&h.interfaces);
        let gw = h.default_gateway.map(|g| format!("  via {g}")).unwrap_or_default();
        let fwd = match h.ip_forward {
            Some(true) => "  ip_forward=1",
            Some(false) => "  ip_forward=0",
            None => "",
        };
        println!("  {:<9} {:<24} {}{gw}{fwd}", shown(&h.name), shown(&h.netns), links);
    }
    let ipvs = s.dataplane == Dataplane::Ipvs;
    println!("\nSERVICES");
    for svc in &s.services {
        let label = match (svc.fwmark, &svc.proto) {
            (Some(mark), _) => format!("FWM {mark}"),
            (None, proto) => format!(
                "{} {}",
                shown(proto.as_deref().unwrap_or("?")).to_uppercase(),
                lvslab_ipvs::format::addr_port(svc.vip, svc.port)
            ),
        };
        // The flags as ipvsadm -Ln shows them: `mh (mh-port)`.
        let flags = match svc.scheduler_flags.as_slice() {
            [] => String::new(),
            names => format!(" ({})", shown(&names.join(","))),
        };
        println!(
            "  {label} {}{flags}{}",
            shown(&svc.scheduler),
            marks(ipvs, svc.origin, svc.programmed)
        );
        for rs in &svc.real_servers {
            let counters = match (rs.active_conns, rs.inactive_conns, rs.conns) {
                (Some(a), Some(i), Some(c)) => format!("  active {a} inactive {i} conns {c}"),
                _ => String::new(),
            };
            println!(
                "    -> {:<6} {} {} weight {}{counters}{}",
                shown(&rs.name),
                lvslab_ipvs::format::addr_port(rs.addr, rs.port),
                shown(&rs.forward.to_string()),
                rs.weight,
                marks(ipvs, rs.origin, rs.programmed)
            );
        }
    }
}

/// What the text says after an entry that is not simply the lab's and in the kernel.
fn marks(ipvs: bool, origin: Origin, programmed: bool) -> &'static str {
    match (origin, programmed) {
        _ if !ipvs => "",
        (Origin::Outside, _) => "  (added outside lvslab: not in the preset)",
        (Origin::Lab, false) => "  (not programmed: missing from the director's IPVS table)",
        (Origin::Lab, true) => "",
    }
}
