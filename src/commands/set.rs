//! `lvslab set LAB ...`: live edits, applied in the order given on the
//! command line's groups (topology first, then weights, then scheduler).

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::ops::state::{LabState, Stored};
use lvslab::ops::{control, live};

/// The edits asked for (the command line's, one home for them).
pub use crate::cli::SetChanges as Changes;

pub async fn run(lab: &str, changes: Changes) -> Result<ExitCode> {
    super::require_privilege("set")?;
    let Some(mut state) = LabState::load(lab)? else {
        bail!("no lab '{lab}' is running (lvslab up {lab} builds it)");
    };
    // First: the edits after it go through the new owner of the table.
    if let Some(to) = changes.control {
        println!("{}", control::switch(&mut state, to)?.describe());
    }
    let via = if live::by_keepalived(&state) {
        " (keepalived.conf rewritten, keepalived reloaded)"
    } else {
        ""
    };
    for rs in &changes.add_rs {
        live::add_real_server(&mut state, &rs.name, rs.addr, rs.port, rs.weight).await?;
        // Forwarded as each service's members are: say how.
        let mut methods: Vec<String> = state
            .spec
            .services
            .iter()
            .flat_map(|s| &s.members)
            .filter(|m| m.name == rs.name)
            .map(|m| m.forward.to_string())
            .collect();
        methods.sort();
        methods.dedup();
        println!(
            "added real server {} {}:{} weight {} ({})",
            rs.name,
            rs.addr,
            rs.port,
            rs.weight,
            methods.join(", ")
        );
    }
    for name in &changes.del_rs {
        live::remove_real_server(&mut state, name)?;
        println!("removed real server {name}");
    }
    for (name, weight) in &changes.weight {
        live::set_weight(&mut state, name, *weight)?;
        println!("{name}: weight {weight}{via}");
    }
    for name in &changes.drain {
        live::set_weight(&mut state, name, 0)?;
        println!("{name}: drained (weight 0: no new connections; open ones finish){via}");
    }
    if let Some(scheduler) = changes.scheduler {
        live::set_scheduler(&mut state, scheduler)?;
        println!("scheduler: {scheduler}{via}");
    }
    for name in &changes.stop {
        let stopped = live::stop_server(&mut state, name)?;
        let what = if live::by_keepalived(&state) {
            "keepalived's check fails, so it leaves the table within a few seconds"
        } else {
            "IPVS keeps sending it its share, which fails (no health checks without keepalived: \
             `lvslab set LAB --control keepalived` adds them)"
        };
        println!("{name}: {stopped} HTTP process(es) stopped; {what}");
    }
    for name in &changes.start {
        let started = live::start_server(&mut state, name)?;
        let what = if live::by_keepalived(&state) {
            "keepalived's check passes again, so it returns to the table"
        } else {
            "it answers its share again"
        };
        println!("{name}: {started} HTTP process(es) started; {what}");
    }
    if let Some(host) = &changes.fail {
        let pid = lvslab::ops::ha::fail(&state, host)?;
        let spec = state.spec.clone();
        let master = tokio::task::spawn_blocking(move || {
            lvslab::ops::vrrp::wait_master(&spec, std::time::Duration::from_secs(10))
        })
        .await??;
        println!(
            "{host}: forwarding off, keepalived (pid {pid}) stopped; {master} is MASTER now \
             (holds the VIP {} and the DIP {})",
            state.spec.director.vip, state.spec.director.dip
        );
    }
    if let Some(host) = &changes.cut {
        lvslab::ops::ha::cut(&state, host)?;
        let (spec, cut) = (state.spec.clone(), host.clone());
        let cut_at = std::time::Instant::now();
        let master = tokio::task::spawn_blocking(move || {
            lvslab::ops::vrrp::wait_taken_over(&spec, &cut, std::time::Duration::from_secs(10))
        })
        .await??;
        println!(
            "{host}: its switch ports are down (cables pulled); {master} is MASTER now (holds the \
             VIP {} and the DIP {}), {:.1} s after the cut",
            state.spec.director.vip,
            state.spec.director.dip,
            cut_at.elapsed().as_secs_f64()
        );
    }
    if let Some(host) = &changes.recover {
        let done = lvslab::ops::ha::recover(&mut state, host)?;
        println!(
            "{host}: {}; VRRP gives the VIP to the higher priority (director1) within a few \
             seconds (lvslab status {lab})",
            done.describe()
        );
    }
    if changes.zero {
        live::zero(&state)?;
        println!("counters zeroed");
    }
    Ok(ExitCode::SUCCESS)
}
