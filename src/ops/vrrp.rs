//! Which director of an HA lab holds the VIP (the VRRP MASTER), read from
//! the directors' addresses, and waiting until the one wanted does: the one
//! answer to "who is MASTER" for ops, the observer and `set`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lvslab_core::lab::model::{HA_DIRECTORS, LabSpec};
use lvslab_sys::netns;

use super::error::LabError;
use super::state;

/// Whether namespace `ns` has `addr` on one of its links.
pub fn holds(ns: &str, addr: Ipv4Addr) -> bool {
    netns::run_in(ns, || {
        nix::ifaddrs::getifaddrs().is_ok_and(|mut all| {
            all.any(|a| {
                a.address
                    .and_then(|s| s.as_sockaddr_in().map(|sin| IpAddr::V4(sin.ip())))
                    .is_some_and(|ip| ip == IpAddr::V4(addr))
            })
        })
    })
    .unwrap_or(false)
}

/// The director holding the VIP now (the VRRP MASTER), if any.
pub fn master(spec: &LabSpec) -> Option<&'static str> {
    spec.directors().into_iter().find(|d| holds(&spec.netns(d), spec.director.vip))
}

/// Waits until a director holds the VIP; returns which.
pub fn wait_master(spec: &LabSpec, timeout: Duration) -> Result<&'static str, LabError> {
    wait_until(spec, timeout, |_| true)
}

/// Waits until director1, the higher priority, holds the VIP: when both
/// keepalived processes start together, director2's VRRP may come up first
/// and hold the VIP until director1's preempts it (seen in the VM under a
/// loaded host), so a lab is up only once VRRP has settled where its
/// priorities say.
pub fn wait_preferred(spec: &LabSpec, timeout: Duration) -> Result<&'static str, LabError> {
    wait_until(spec, timeout, |d| d == HA_DIRECTORS[0])
}

/// Waits until a director other than `host` holds the VIP; returns which.
/// (Just after `host` is cut it may still hold the VIP for a moment.)
pub fn wait_taken_over(
    spec: &LabSpec,
    host: &str,
    timeout: Duration,
) -> Result<&'static str, LabError> {
    wait_until(spec, timeout, |d| d != host)
}

fn wait_until(
    spec: &LabSpec,
    timeout: Duration,
    wanted: impl Fn(&str) -> bool,
) -> Result<&'static str, LabError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(d) = master(spec).filter(|d| wanted(d)) {
            return Ok(d);
        }
        if Instant::now() > deadline {
            return Err(LabError::Refused(format!(
                "no director of lab '{}' took the VIP {} as its priorities say within {} s \
                 (VRRP; now: {}); see {}",
                spec.name,
                spec.director.vip,
                timeout.as_secs(),
                master(spec).unwrap_or("none"),
                state::log_path_of(&spec.name, HA_DIRECTORS[0]).display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
