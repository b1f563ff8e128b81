//! Runs an experiment of [`lvslab_core::experiment`] on a lab's real
//! director: each arm's settings, the traffic, the change, the counts, and
//! every change put back through the [`undo::Journal`]. The caller opens
//! the journal ([`journal`]), runs [`run`] (under its signal guard) and
//! then [`undo::Journal::undo`] whatever happened, so the lab is checked
//! against its snapshot on success, on error and on a signal alike.

pub mod probe;
pub mod undo;

mod persistence;
mod removal;

use lvslab_core::experiment::Experiment;
use lvslab_core::experiment::Kind;
use lvslab_core::experiment::report::ArmResult;
use lvslab_core::lab::model::{Dataplane, Protocol, Service, hosts};
use lvslab_core::lab::sysctl::{self, Place, Setting};
use lvslab_ipvs::{IpvsClient, Timeouts};

use super::error::LabError;
use super::state::LabState;
use undo::{Journal, Snapshot};

/// Why `experiment` cannot run on the lab of `state`, in a sentence that
/// says what would run it; `Ok` when it can.
///
/// # Errors
/// The refusal.
pub fn check(state: &LabState, experiment: &Experiment) -> Result<(), LabError> {
    let lab = &state.spec.name;
    let name = experiment.name;
    let refuse = |why: String| {
        Err(LabError::Refused(format!("experiment {name} cannot run on lab '{lab}': {why}")))
    };
    if state.dataplane != Dataplane::Ipvs {
        return refuse(format!(
            "it balances with {} (no IPVS), and the experiment measures IPVS's own settings; \
             run it on a kernel with IPVS (lvslab up {lab} --dataplane ipvs)",
            state.dataplane
        ));
    }
    if state.spec.directors().len() > 1 {
        return refuse("it has two directors (HA); this experiment runs on a single director (e.g. the tutorial lab)".into());
    }
    if super::live::by_keepalived(state) {
        return refuse(format!(
            "keepalived manages its table and would undo the experiment's changes; \
             hand it back first (lvslab set {lab} --control lvslab)"
        ));
    }
    if service(state).is_none() {
        return refuse(
            "it needs a TCP service by address and port with at least two real servers".into(),
        );
    }
    Ok(())
}

/// The service an experiment uses: the first TCP one by address with two
/// or more real servers.
fn service(state: &LabState) -> Option<&Service> {
    state
        .spec
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Tcp && s.fwmark.is_none() && s.members.len() >= 2)
}

/// The director's namespace.
fn director(state: &LabState) -> String {
    state.spec.netns(state.spec.directors()[0])
}

/// A journal over the lab of `state`: its snapshot is every `net.ipv4.vs.*`
/// of the director, IPVS's timeouts and the table as `ipvsadm -Sn` prints it
/// (each a line), read through lvslab's own netlink client.
///
/// # Errors
/// The lab could not be read.
pub fn journal(state: &LabState) -> Result<Journal, LabError> {
    let state = state.clone();
    Journal::open(Box::new(move || snapshot(&state)))
}

fn snapshot(state: &LabState) -> Result<Snapshot, LabError> {
    let mut lines: Snapshot = super::sysctl::read(state)?
        .into_iter()
        .map(|r| format!("{}={}", r.name, r.value))
        .collect();
    let table = IpvsClient::open_in(&director(state))?.table()?;
    lines.extend(lvslab_ipvs::rules::save(&table).lines().map(str::to_string));
    Ok(lines)
}

/// Runs every arm of `experiment` on the lab, its changes recorded in
/// `journal` (undone between arms; the last ones are the caller's to undo).
///
/// # Errors
/// A change or a measurement failed.
pub async fn run(
    state: &mut LabState,
    experiment: &Experiment,
    journal: &mut Journal,
) -> Result<Vec<ArmResult>, LabError> {
    check(state, experiment)?;
    for setting in experiment.settings {
        apply(state, journal, setting)?;
    }
    let mut results = Vec::new();
    for arm in experiment.arms {
        let mark = journal.mark();
        for setting in arm.settings {
            apply(state, journal, setting)?;
        }
        let measured = match experiment.kind {
            Kind::Removal => removal::arm(state, journal, arm).await?,
            Kind::Persistence => persistence::arm(state, journal).await?,
        };
        journal.undo_to(mark, Some(state)).await.map_err(|e| LabError::Refused(e.to_string()))?;
        results.push(ArmResult {
            label: arm.label.into(),
            settings: experiment
                .settings
                .iter()
                .chain(arm.settings)
                .map(|s| s.to_string())
                .collect(),
            measured,
        });
    }
    Ok(results)
}

/// One `NAME=VALUE` of the sysctl table, through the journal.
fn apply(state: &LabState, journal: &mut Journal, text: &str) -> Result<(), LabError> {
    let Setting { fact, value } = sysctl::parse_setting(text).map_err(LabError::Refused)?;
    let namespaces = vec![director(state)];
    match fact.place {
        Place::Sysctl => {
            journal.set_sysctl(&namespaces, &format!("{}{}", sysctl::PREFIX, fact.name), &value)
        }
        Place::Timeout => {
            let v: u32 = value.parse().unwrap_or(0);
            let mut t = Timeouts::default();
            match fact.name {
                "tcp" => t.tcp = v,
                "tcpfin" => t.tcp_fin = v,
                _ => t.udp = v,
            }
            journal.set_timeouts(&namespaces, &t)
        }
    }
}

/// Where the client reaches the experiment's service, and from which namespace.
fn target(state: &LabState) -> (String, std::net::SocketAddr) {
    let svc = service(state).expect("checked by check()");
    (state.spec.netns(hosts::CLIENT), std::net::SocketAddr::from((svc.vip, svc.port)))
}

/// The kernel release (`uname -r`).
pub fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".into(), |k| k.trim().into())
}
