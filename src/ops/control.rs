//! Handing a running lab's IPVS table from lvslab to keepalived and back
//! (`lvslab set LAB --control keepalived|lvslab`, the dashboard's `K`), so
//! the same failure can be watched with and without health checks.
//!
//! One op for both callers. Under the lab's lock:
//! - to keepalived: lvslab's table is flushed, the record says
//!   `control = keepalived`, keepalived starts in the director and programs
//!   the table from the configuration lvslab writes (a real server whose
//!   HTTP process is stopped then fails its check and leaves the table);
//! - to lvslab: keepalived is stopped (it removes its services as it
//!   exits), the table is flushed and programmed from the record, every
//!   real server in it, whether it answers or not: plain IPVS.
//!
//! Between the two owners the table is empty for a moment (new connections
//! are refused then); the caller is told how long it took.

use lvslab_core::lab::model::hosts;
use std::time::{Duration, Instant};

use super::error::LabError;
use super::keepalived;
use super::live;
use super::program;
use super::state::{self, LabState};
use lvslab_core::lab::model::{Control, Dataplane};

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    /// The control plane before.
    pub from: Control,
    /// The control plane now.
    pub to: Control,
    /// From the flush of the old owner's table to the new owner's
    /// services being in the table.
    pub gap: Duration,
}

impl Switched {
    /// One line for the events log and `lvslab set`.
    pub fn describe(&self) -> String {
        if self.from == self.to {
            return format!("the table is already {}'s", self.to);
        }
        let gap = format!("table without services for {} ms", self.gap.as_millis());
        match self.to {
            Control::Keepalived => format!(
                "control lvslab → keepalived: keepalived programs the table and checks every \
                 real server; one that fails its check leaves the table ({gap})"
            ),
            Control::Lvslab => format!(
                "control keepalived → lvslab: keepalived stopped, lvslab programmed the preset's \
                 table; no health checks now, a stopped server keeps its share and it fails ({gap})"
            ),
        }
    }
}

/// Makes `to` the owner of lab `state`'s IPVS table.
pub fn switch(state: &mut LabState, to: Control) -> Result<Switched, LabError> {
    if state.dataplane != Dataplane::Ipvs {
        return Err(LabError::Refused(format!(
            "lab '{}' runs on the {} dataplane: only an IPVS table can be handed to keepalived",
            state.spec.name, state.dataplane
        )));
    }
    if state.spec.ha.is_some() {
        return Err(LabError::Refused(format!(
            "lab '{}' has two directors whose VRRP is keepalived's: its table stays keepalived's \
             (lvslab set {} --fail/--recover DIRECTOR shows a failover)",
            state.spec.name, state.spec.name
        )));
    }
    if to == Control::Keepalived {
        keepalived::require()?;
    }
    live::locked(state, |state| {
        let from = state.spec.control;
        let running = keepalived::running(state).is_some();
        if from == to && (to == Control::Lvslab || running) {
            return Ok(Switched { from, to, gap: Duration::ZERO });
        }
        match to {
            Control::Keepalived => to_keepalived(state, from),
            Control::Lvslab => to_lvslab(state, from),
        }
    })
}

/// Flushes lvslab's table and starts keepalived on the record's spec; on
/// failure, lvslab programs the table again and keeps control.
fn to_keepalived(state: &mut LabState, from: Control) -> Result<Switched, LabError> {
    let started = Instant::now();
    program::clear(&state.spec)?;
    state.spec.control = Control::Keepalived;
    let launched = keepalived::launch(state).and_then(|p| {
        wait_services(state, keepalived::TABLE_TIMEOUT).inspect_err(|_| {
            keepalived::stop(&p);
        })
    });
    if let Err(e) = launched {
        state.processes.retain(|p| p.role != keepalived::ROLE);
        state.spec.control = Control::Lvslab;
        program::clear(&state.spec)?;
        program::program(&state.spec)?;
        return Err(LabError::Refused(format!(
            "{e}\nlvslab programmed the table again and keeps control"
        )));
    }
    Ok(Switched { from, to: Control::Keepalived, gap: started.elapsed() })
}

/// Stops keepalived and programs the record's table.
fn to_lvslab(state: &mut LabState, from: Control) -> Result<Switched, LabError> {
    let started = Instant::now();
    keepalived::stop_recorded(state);
    state.processes.retain(|p| p.role != keepalived::ROLE);
    state.spec.control = Control::Lvslab;
    // keepalived removes its services as it exits; what a killed one left
    // is flushed before lvslab programs its own.
    program::clear(&state.spec)?;
    program::program(&state.spec)?;
    Ok(Switched { from, to: Control::Lvslab, gap: started.elapsed() })
}

/// Waits until keepalived has put every service of the spec in the table.
/// Not the whole table: a real server that does not answer is taken out
/// (or set to weight 0) by its check, which is the point of the switch.
fn wait_services(state: &LabState, timeout: Duration) -> Result<(), LabError> {
    let want = services_of(&keepalived::spec_rules(&state.spec));
    let deadline = Instant::now() + timeout;
    loop {
        let have = services_of(&keepalived::kernel_rules(&state.spec, hosts::DIRECTOR)?);
        if have == want {
            return Ok(());
        }
        if keepalived::running(state).is_none() || Instant::now() > deadline {
            return Err(LabError::Refused(format!(
                "keepalived did not program the lab's services within {} s (see {})",
                timeout.as_secs(),
                state::log_path(&state.spec.name).display()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The service lines (`-A ...`) of sorted `ipvsadm -Sn` rules.
fn services_of(rules: &[String]) -> Vec<String> {
    rules.iter().filter(|l| l.starts_with("-A")).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_the_add_service_lines() {
        let rules: Vec<String> =
            ["-A -t 192.0.2.1:80 -s wrr", "-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 3"]
                .iter()
                .map(|s| (*s).to_string())
                .collect();
        assert_eq!(services_of(&rules), vec!["-A -t 192.0.2.1:80 -s wrr".to_string()]);
    }

    #[test]
    fn the_log_line_says_what_the_user_will_see() {
        let s = Switched {
            from: Control::Lvslab,
            to: Control::Keepalived,
            gap: Duration::from_millis(40),
        };
        assert!(s.describe().contains("leaves the table (table without services for 40 ms)"));
        let back = Switched { from: Control::Keepalived, to: Control::Lvslab, ..s.clone() };
        assert!(back.describe().contains("no health checks"), "{}", back.describe());
        let same = Switched { from: Control::Lvslab, to: Control::Lvslab, ..s };
        assert_eq!(same.describe(), "the table is already lvslab's");
    }
}
