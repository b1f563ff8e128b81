//! `lvslab status LAB [--json]`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::lab::state::LabState;
use lvslab::lab::status::{self, LabStatus};

pub async fn run(lab: &str, json: bool) -> Result<ExitCode> {
    super::require_privilege("status")?;
    let Some(state) = LabState::load(lab)? else {
        bail!(
            "no lab '{lab}' is running (lvslab ls lists the running labs; lvslab up {lab} builds it)"
        );
    };
    let status = status::observe(&state).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_text(&status);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(s: &LabStatus) {
    println!("lab '{}' ({}), dataplane {}, {:?}", s.lab, s.origin, s.dataplane, s.phase);
    if !s.description.is_empty() {
        println!("  {}", s.description);
    }
    println!("\nHOSTS");
    for h in &s.hosts {
        if !h.present {
            println!(
                "  {:<9} {:<24} MISSING (run `lvslab down {}` then `lvslab up`)",
                h.name, h.netns, s.lab
            );
            continue;
        }
        let links: Vec<String> = h
            .interfaces
            .iter()
            .filter(|l| l.name != "lo")
            .map(|l| {
                // Link-local IPv6 addresses are the kernel's own; they only add noise here.
                let addrs: Vec<&str> = l
                    .addresses
                    .iter()
                    .map(String::as_str)
                    .filter(|a| !a.starts_with("fe80:"))
                    .collect();
                format!("{}{} {}", l.name, if l.up { "" } else { "(down)" }, addrs.join(" "))
            })
            .collect();
        let gw = h.default_gateway.map(|g| format!("  via {g}")).unwrap_or_default();
        let fwd = match h.ip_forward {
            Some(true) => "  ip_forward=1",
            Some(false) => "  ip_forward=0",
            None => "",
        };
        println!("  {:<9} {:<24} {}{gw}{fwd}", h.name, h.netns, links.join(", "));
    }
    println!("\nSERVICES");
    for svc in &s.services {
        let label = match svc.fwmark {
            Some(mark) => format!("FWM {mark}"),
            None => format!("{} {}:{}", svc.proto.to_uppercase(), svc.vip, svc.port),
        };
        println!(
            "  {label} {}{}",
            svc.scheduler,
            if svc.programmed { "" } else { "  (not in IPVS)" }
        );
        for rs in &svc.real_servers {
            let counters = match (rs.active_conns, rs.inactive_conns, rs.conns) {
                (Some(a), Some(i), Some(c)) => format!("  active {a} inactive {i} conns {c}"),
                _ => String::new(),
            };
            println!(
                "    -> {:<6} {}:{} {} weight {}{counters}",
                rs.name, rs.addr, rs.port, rs.forward, rs.weight
            );
        }
    }
}
