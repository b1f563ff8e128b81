//! `lvslab set LAB ...`: live edits, applied in the order given on the
//! command line's groups (the owner of the table first, then topology, then
//! weights, then scheduler, servers, directors, counters). Each is an
//! [`Edit`] applied and described by `ops::edit`, as the dashboard's keys are.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use lvslab::ops::state::{LabState, Stored};
use lvslab::ops::vrrp;
use lvslab::ops::{edit, live};
use lvslab_core::lab::edit::Edit;

use super::signals::unless_signalled;
use lvslab_core::lab::model::LabName;

/// The edits asked for (the command line's, one home for them).
pub use crate::cli::SetChanges as Changes;

/// How long `set` waits for VRRP to settle after a director failed.
const TAKEOVER_WAIT: Duration = Duration::from_secs(10);

pub async fn run(lab: &LabName, changes: Changes) -> Result<ExitCode> {
    super::require_privilege("set")?;
    let Some(mut state) = LabState::load(lab)? else {
        bail!("no lab '{lab}' is running (lvslab up {lab} builds it)");
    };
    for change in edits(changes) {
        let started = Instant::now();
        let new_server = match &change {
            Edit::AddServer { name, .. } if state.spec.real_server(name).is_none() => Some(name),
            _ => None,
        };
        match unless_signalled(edit::apply(&mut state, &change)).await? {
            Ok(done) => println!("{}", done?),
            Err(signal) => {
                // Only adding a server is long enough to be caught mid-way
                // (a namespace, links, a process); the others are one call.
                let undone = match new_server {
                    Some(name) => match live::abandon_new_server(lab, name) {
                        Ok(()) => format!("; {name} rolled back: nothing of it is left"),
                        Err(e) => format!(
                            "; rolling {name} back failed ({e}): lvslab set {lab} --del-rs {name}"
                        ),
                    },
                    None => String::new(),
                };
                bail!("{signal} while applying `{}`{undone}", change.asked());
            }
        }
        if let Edit::Fail(host) | Edit::Cut(host) = &change {
            let event = if matches!(change, Edit::Cut(_)) { "the cut" } else { "the failure" };
            let (spec, gone) = (state.spec.clone(), host.clone());
            let master = tokio::task::spawn_blocking(move || {
                vrrp::wait_taken_over(&spec, &gone, TAKEOVER_WAIT)
            })
            .await??;
            println!(
                "{master} is MASTER now (holds the VIP {} and the DIP {}), {:.1} s after {event}",
                state.spec.director.vip,
                state.spec.director.dip,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line's changes as edits, in the order they are applied.
fn edits(changes: Changes) -> Vec<Edit> {
    let mut edits = Vec::new();
    edits.extend(changes.control.map(Edit::Control));
    edits.extend(changes.add_rs.into_iter().map(|rs| Edit::AddServer {
        name: rs.name,
        addr: rs.addr,
        port: rs.port,
        weight: rs.weight,
    }));
    edits.extend(changes.del_rs.into_iter().map(Edit::RemoveServer));
    edits
        .extend(changes.weight.into_iter().map(|(server, weight)| Edit::Weight { server, weight }));
    edits.extend(changes.drain.into_iter().map(Edit::Drain));
    edits.extend(changes.scheduler.map(Edit::Scheduler));
    edits.extend(changes.scheduler_flags.map(|f| Edit::SchedulerFlags(f.0)));
    edits.extend(changes.stop.into_iter().map(Edit::Stop));
    edits.extend(changes.start.into_iter().map(Edit::Start));
    edits.extend(changes.fail.map(Edit::Fail));
    edits.extend(changes.cut.map(Edit::Cut));
    edits.extend(changes.recover.map(Edit::Recover));
    if changes.zero {
        edits.push(Edit::Zero);
    }
    edits
}
