//! Director failover in an HA lab (`[ha]`): failing, cutting and recovering a director
//! (`lvslab set LAB --fail/--cut/--recover DIRECTOR`); who holds the VIP is [`super::vrrp`].
//!
//! Failing a director makes it stop as a crashed one would: first it stops
//! forwarding (`ip_forward=0`), then its keepalived stops (SIGTERM, through
//! [`super::keepalived::stop`], which signals only the process the lab
//! recorded and proves it is keepalived): keepalived removes its IPVS table
//! and its VRRP addresses and sends a last priority-0 advert, so the other
//! director takes the VIP and the DIP over within about one advert
//! interval. Forwarding goes first because a director without its IPVS
//! services but still forwarding would pass the real servers' replies on
//! un-NATed to a client whose ARP cache still names it (until the new
//! MASTER's gratuitous ARP arrives); the client answers those with a reset
//! and kills connections the new MASTER could have carried on. Recovering
//! turns forwarding on and starts keepalived again; director1, the higher
//! priority, then takes the addresses back (VRRP preemption).
//!
//! Cutting a director (`--cut`) is the other failure: its cables pulled.
//! Its two ports on the switch go down; the director runs on, but its links
//! lose their carrier, so its keepalived enters FAULT and drops the VIP and
//! the DIP, and no last advert gets out: the other director takes over only
//! after three missed adverts and its skew (3.6 s after the cut director's
//! last advert, which went out up to a second before the cut). Recovering puts
//! the ports up again (and starts keepalived if it was stopped).

use super::error::LabError;
use super::keepalived;
use super::state::LabState;
use crate::net::rtnl::{self, Rtnl};
use crate::net::sysctl;
use lvslab_core::lab::ha::director_ports;
use lvslab_core::lab::model::hosts;
use lvslab_core::lab::model::{HA_DIRECTORS, LabSpec};

/// The sysctl a failed director has off.
const FORWARD: &str = "net.ipv4.ip_forward";

/// `host` as one of the lab's HA directors, or why not.
fn director(state: &LabState, host: &str) -> Result<&'static str, LabError> {
    if state.spec.ha.is_none() {
        return Err(LabError::Refused(format!(
            "lab '{}' has one director: --fail, --cut and --recover need an HA lab (lvslab up ha)",
            state.spec.name
        )));
    }
    HA_DIRECTORS.into_iter().find(|d| *d == host).ok_or_else(|| {
        LabError::Refused(format!(
            "'{}' is not a director of lab '{}': use {}",
            lvslab_core::lab::text::shown(host),
            state.spec.name,
            HA_DIRECTORS.join(" or ")
        ))
    })
}

/// Stops director `host`: its forwarding, then its keepalived; returns
/// keepalived's PID.
pub fn fail(state: &LabState, host: &str) -> Result<u32, LabError> {
    let host = director(state, host)?;
    let Some(p) = keepalived::running_in(state, host) else {
        return Err(LabError::Refused(format!(
            "{host}'s keepalived is not running (failed already?): `lvslab set {} --recover {host}`",
            state.spec.name
        )));
    };
    let forwarding = |e: crate::net::Error| {
        LabError::Refused(format!("cannot turn {host}'s forwarding off: {e}"))
    };
    sysctl::write(&state.spec.netns(host), FORWARD, "0").map_err(forwarding)?;
    if !keepalived::stop(p) {
        return Err(LabError::Refused(format!("{host}'s keepalived could not be signalled")));
    }
    Ok(p.pid)
}

/// Pulls director `host`'s cables: its ports on the switch go down.
pub fn cut(state: &LabState, host: &str) -> Result<(), LabError> {
    let host = director(state, host)?;
    if is_cut(&state.spec, host)? {
        return Err(LabError::Refused(format!(
            "{host} is cut off already: `lvslab set {} --recover {host}`",
            state.spec.name
        )));
    }
    set_ports(&state.spec, host, false)
}

/// What [`recover`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// The director's switch ports were down and are up again.
    pub reconnected: bool,
    /// keepalived was stopped and runs again, with this PID.
    pub started: Option<u32>,
}

impl Recovery {
    /// What happened, for people.
    pub fn describe(&self) -> String {
        let mut done = Vec::new();
        if self.reconnected {
            done.push("its switch ports up again".to_string());
        }
        if let Some(pid) = self.started {
            done.push(format!("forwarding on, keepalived started again (pid {pid})"));
        }
        done.join("; ")
    }
}

/// Undoes whatever failed director `host`: puts its switch ports up again
/// if it was cut, turns its forwarding on and starts its keepalived if it
/// was stopped.
pub fn recover(state: &mut LabState, host: &str) -> Result<Recovery, LabError> {
    let host = director(state, host)?;
    let reconnected = is_cut(&state.spec, host)?;
    let running = keepalived::running_in(state, host).map(|p| p.pid);
    if let (false, Some(pid)) = (reconnected, running) {
        return Err(LabError::Refused(format!(
            "{host} has not failed: its keepalived runs (pid {pid}) and its switch ports are up"
        )));
    }
    if reconnected {
        set_ports(&state.spec, host, true)?;
    }
    let started = match running {
        Some(_) => None,
        None => {
            sysctl::write(&state.spec.netns(host), FORWARD, "1").map_err(|e| {
                LabError::Refused(format!("cannot turn {host}'s forwarding on: {e}"))
            })?;
            keepalived::start_in(state, &[host])?.first().map(|p| p.pid)
        }
    };
    Ok(Recovery { reconnected, started })
}

/// Runs rtnetlink work in the switch's namespace on a thread of its own:
/// `set` and the dashboard call this from inside their runtimes, which
/// cannot block on another.
fn in_switch<T: Send>(
    spec: &LabSpec,
    work: impl AsyncFnOnce(&mut Rtnl) -> Result<T, crate::net::Error> + Send,
) -> Result<T, LabError> {
    let switch = spec.netns(hosts::SWITCH);
    std::thread::scope(|s| {
        s.spawn(|| rtnl::block_on(async { work(&mut Rtnl::connect(&switch)?).await }))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
    .map_err(|e| LabError::Refused(format!("the switch of lab '{}': {e}", spec.name)))
}

/// Whether either of director `host`'s switch ports is down.
fn is_cut(spec: &LabSpec, host: &str) -> Result<bool, LabError> {
    let wanted = director_ports(host);
    in_switch(spec, async |switch| {
        let links = switch.links().await?;
        Ok(links.iter().any(|l| wanted.contains(&l.name) && !l.up))
    })
}

fn set_ports(spec: &LabSpec, host: &str, up: bool) -> Result<(), LabError> {
    let wanted = director_ports(host);
    in_switch(spec, async |switch| {
        for p in &wanted {
            if up { switch.set_up(p).await? } else { switch.set_down(p).await? }
        }
        Ok(())
    })
}
