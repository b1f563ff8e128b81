//! Bringing a whole lab up, as `lvslab up` and the dashboard's preset picker
//! do: everything that can be checked is checked before the first change,
//! the record is written before the first namespace, and a failure removes
//! what was made. (Signals are the caller's: it drops this future and calls
//! [`super::teardown::remove`].)

use super::build::Builder;
use super::error::LabError;
use super::keepalived;
use super::program;
use super::servers;
use super::state::{self, LabState, Phase, Stored};
use super::teardown;
use lvslab_core::lab::model::LabSpec;
use lvslab_core::lab::model::{Control, Dataplane, Forward};
use lvslab_core::lab::neighbours;
use lvslab_core::lab::plan::Plan;
use lvslab_core::lab::presets::Preset;
use lvslab_core::lab::table;

/// Checks that must pass before anything is created: IPVS present (for the
/// ipvs dataplane), nftables working and able to run every service (for
/// nft), no other process building the lab. Clears leftovers of
/// a crashed run and reports them through `say`.
pub fn prepare(
    spec: &LabSpec,
    dataplane: Dataplane,
    say: &mut dyn FnMut(String),
) -> Result<(), LabError> {
    if spec.ha.is_some() && spec.control != Control::Keepalived {
        return Err(LabError::Refused(
            "an HA lab's VIP is moved by keepalived's VRRP: it needs `--control keepalived`".into(),
        ));
    }
    // keepalived before IPVS: on a machine with neither, the preset's own
    // requirement is the first thing said.
    if spec.control == Control::Keepalived {
        // An HA lab without IPVS still fails its VIP over (VRRP only).
        let vrrp_only = spec.ha.is_some() && dataplane == Dataplane::None;
        if dataplane != Dataplane::Ipvs && !vrrp_only {
            return Err(LabError::Refused(
                "keepalived programs IPVS, so `--control keepalived` needs `--dataplane ipvs`"
                    .into(),
            ));
        }
        keepalived::require()?;
    }
    match dataplane {
        Dataplane::Ipvs => {
            program::probe()?;
            spec.services.iter().try_for_each(|svc| program::require_scheduler(svc.scheduler))?;
        }
        Dataplane::Nft => super::nft::check(spec)?,
        Dataplane::None => {}
    }
    let name = &spec.name;
    let recorded = LabState::load(name).ok().flatten();
    let namespaces = teardown::lab_namespaces(name)?;
    if let Some(state) = &recorded
        && state.phase == Phase::Building
        && state.owner_alive()
    {
        return Err(LabError::Refused(format!(
            "lab '{name}' is being built by another lvslab (pid {}); wait for it, or `lvslab down {name}`",
            state.owner_pid
        )));
    }
    if let Some(state) = &recorded
        && state.phase == Phase::Up
        && !namespaces.is_empty()
    {
        return Err(LabError::Refused(format!(
            "lab '{name}' is already up ({}, dataplane {})",
            state.origin, state.dataplane
        )));
    }
    if recorded.is_some() || !namespaces.is_empty() {
        let removed = teardown::remove(name)?;
        say(format!(
            "removed leftovers of an earlier run of lab '{name}' ({} namespaces{})",
            removed.namespaces.len(),
            if removed.state_file { " and its record" } else { "" }
        ));
    }
    if let Some(note) = neighbour_note(spec.real_servers.len()) {
        say(note);
    }
    Ok(())
}

/// What [`neighbours::note`] says of a lab of `servers` real servers on
/// this host (nothing when the threshold cannot be read: a note, not a check).
pub fn neighbour_note(servers: usize) -> Option<String> {
    let thresh3 = crate::net::sysctl::read_here(neighbours::GC_THRESH3).ok()?.parse().ok()?;
    neighbours::note(servers, thresh3)
}

/// How much of the lab to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wiring {
    /// Everything the preset describes.
    Full,
    /// Hosts, links, addresses and servers only: no real-server gateways, no
    /// forwarding, an empty IPVS table ([`Plan::bare`]); the tutorial's start.
    Bare,
}

/// Builds the lab: record, topology, IPVS, real servers; then marks it up.
/// On failure, everything made is removed and the error returned.
pub async fn bring_up(
    preset: Preset,
    dataplane: Dataplane,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<LabState, LabError> {
    bring_up_wired(preset, dataplane, Wiring::Full, say).await
}

/// [`bring_up`], building only as much as `wiring` says.
pub async fn bring_up_wired(
    preset: Preset,
    dataplane: Dataplane,
    wiring: Wiring,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<LabState, LabError> {
    let state = LabState::new(preset.spec.clone(), preset.origin, dataplane);
    state.create().map_err(|e| LabError::Record(e.to_string()))?;
    let name = state.spec.name.clone();
    match build(state, wiring, say).await {
        // The record already names the servers (each was recorded as it
        // started); only the phase changes.
        Ok(_) => super::state::update(&name, |state| state.phase = Phase::Up)
            .map_err(|e| LabError::Record(e.to_string())),
        Err(err) => {
            let _ = teardown::remove(&name);
            Err(err)
        }
    }
}

/// Topology, then IPVS, then the real servers' processes; blocking kernel
/// work runs off the async thread so the caller can react to signals.
async fn build(
    mut state: LabState,
    wiring: Wiring,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<LabState, LabError> {
    let plan = match wiring {
        Wiring::Full => Plan::topology(&state.spec),
        Wiring::Bare => Plan::bare(&state.spec),
    };
    say(format!(
        "{} steps: namespaces, veth pairs, bridge, addresses, routes, forwarding",
        plan.steps.len()
    ));
    Builder::new()
        .run(&plan, |_, _, step| {
            tracing::debug!(%step, "step");
            if matches!(step, lvslab_core::lab::step::Step::AddNetns { .. }) {
                say(step.to_string());
            }
        })
        .await?;
    let tun =
        state.spec.services.iter().flat_map(|s| &s.members).any(|m| m.forward == Forward::Tun);
    if wiring == Wiring::Bare && tun {
        say("left out: the VIP on the real servers' tunl0 (down), their ARP sysctls, IPVS; \
             rp_filter strict (the tutorial shows what it drops, then relaxes it)"
            .into());
    } else if wiring == Wiring::Bare && state.spec.router.is_some() {
        say("left out: the VIP on the real servers' lo, their ARP sysctls, IPVS (the tutorial adds them)".into());
    } else if wiring == Wiring::Bare {
        say("left out: real-server gateways, forwarding, IPVS (the tutorial adds them)".into());
    } else {
        say("ip netns exec director sysctl -w net.ipv4.ip_forward=1".into());
    }
    if state.dataplane == Dataplane::Ipvs {
        program::reschedule_reused_ports(&state.spec)?;
    }
    if wiring == Wiring::Full
        && let Some(line) = super::sysctl::apply_preset(&state)?
    {
        say(line);
    }
    let vrrp_only = state.spec.ha.is_some() && state.dataplane == Dataplane::None;
    let keepalived = state.spec.control == Control::Keepalived
        && (state.dataplane == Dataplane::Ipvs || vrrp_only)
        && wiring == Wiring::Full;
    if state.dataplane == Dataplane::Ipvs && wiring == Wiring::Full && !keepalived {
        for svc in &state.spec.services {
            say(format!(
                "ipvsadm -A {} -s {} (+{} real servers)",
                lvslab_ipvs::rules::service_switch(&table::key(svc)),
                svc.scheduler,
                svc.members.len()
            ));
        }
        let spec = state.spec.clone();
        tokio::task::spawn_blocking(move || program::program(&spec))
            .await
            .map_err(join_error)??;
    }
    if state.dataplane == Dataplane::Nft && wiring == Wiring::Full {
        let spec = state.spec.clone();
        let rules = super::nft::ruleset(&spec)?;
        say(format!(
            "nft -f - in the director: table ip lvslab, {} service(s) as DNAT verdict maps",
            rules.services.len()
        ));
        tokio::task::spawn_blocking(move || super::nft::program(&spec))
            .await
            .map_err(join_error)??;
    }
    say(format!("starting {} real-server HTTP processes", state.spec.real_servers.len()));
    let mut state =
        tokio::task::spawn_blocking(move || servers::start_missing(&mut state).map(|_| state))
            .await
            .map_err(join_error)??;
    if keepalived {
        // After the servers: keepalived's first checks then find them answering.
        for host in state.spec.directors() {
            say(format!(
                "keepalived -f {} in {host}: {}",
                state::config_path_of(&state.spec.name, host).display(),
                if vrrp_only {
                    "VRRP only (no IPVS)"
                } else {
                    "it programs IPVS and checks the real servers"
                }
            ));
        }
        state = tokio::task::spawn_blocking(move || keepalived::start(&mut state).map(|_| state))
            .await
            .map_err(join_error)??;
        if !vrrp_only {
            say("keepalived programmed the table the preset describes".into());
        }
        if state.spec.ha.is_some() {
            let spec = state.spec.clone();
            let master = tokio::task::spawn_blocking(move || super::vrrp::master(&spec))
                .await
                .map_err(join_error)?;
            say(format!(
                "VRRP: {} is MASTER (holds the VIP and the DIP)",
                master.unwrap_or("none")
            ));
        }
    }
    Ok(state)
}

fn join_error(e: tokio::task::JoinError) -> LabError {
    LabError::Refused(format!("a bring-up task failed: {e}"))
}
