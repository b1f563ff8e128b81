//! Applies one [`Edit`] to a running lab and says what it did: the one door
//! for live changes, used by `lvslab set` and by the dashboard's keys, so
//! both check the same things and tell the same story.

use lvslab_core::lab::edit::Edit;
use lvslab_core::lab::model::{HA_DIRECTORS, SchedFlag};

use super::error::LabError;
use super::state::LabState;
use super::{control, ha, live};

/// Applies `edit` to the lab of `state` (its record updated) and returns
/// one line for people: what changed, and under keepalived how.
///
/// # Errors
/// The edit was refused (unknown server, out-of-range value, not an HA
/// lab...) or the kernel or a process failed; the lab is left as the
/// failed step left it, and the record says what is in place.
pub async fn apply(state: &mut LabState, edit: &Edit) -> Result<String, LabError> {
    // Under keepalived, edits rewrite keepalived.conf and reload it, and a
    // stopped server is taken out by its health check: the lines say so.
    let keepalived = live::by_keepalived(state);
    let via = if keepalived { " (keepalived.conf rewritten, keepalived reloaded)" } else { "" };
    Ok(match edit {
        Edit::Control(to) => control::switch(state, *to)?.describe(),
        Edit::AddServer { name, addr, port, weight } => {
            live::add_real_server(state, name, *addr, *port, *weight).await?;
            format!(
                "added real server {name} {addr}:{port} weight {weight} ({}){via}",
                methods_of(state, name)
            )
        }
        Edit::RemoveServer(name) => {
            live::remove_real_server(state, name)?;
            format!("removed real server {name}{via}")
        }
        Edit::Weight { server, weight } => {
            live::set_weight(state, server, *weight)?;
            format!("{server}: weight {weight}{via}")
        }
        Edit::Drain(server) => {
            live::set_weight(state, server, 0)?;
            format!("{server}: drained (weight 0: no new connections; open ones finish){via}")
        }
        Edit::Scheduler(scheduler) => {
            let dropped = live::set_scheduler(state, *scheduler)?;
            let dropped = match dropped.as_slice() {
                [] => String::new(),
                flags => format!(
                    "; flags {} dropped ({scheduler} does not read them)",
                    SchedFlag::list(flags)
                ),
            };
            format!("scheduler: {scheduler}{dropped}{via}")
        }
        Edit::SchedulerFlags(flags) => {
            live::set_scheduler_flags(state, flags)?;
            match flags.as_slice() {
                [] => format!("scheduler flags: none{via}"),
                flags => format!(
                    "scheduler flags: {} ({}){via}",
                    SchedFlag::list(flags),
                    flags.iter().map(|f| f.explanation()).collect::<Vec<_>>().join("; ")
                ),
            }
        }
        Edit::Stop(server) => {
            let stopped = live::stop_server(state, server)?;
            let what = if keepalived {
                "keepalived's check fails, so it leaves the table within a few seconds"
            } else {
                "IPVS keeps sending it its share, which fails (no health checks without \
                 keepalived: `lvslab set LAB --control keepalived`, or K, adds them)"
            };
            format!("{server}: {stopped} HTTP process(es) stopped; {what}")
        }
        Edit::Start(server) => {
            let started = live::start_server(state, server)?;
            let what = if keepalived {
                "keepalived's check passes again, so it returns to the table"
            } else {
                "it answers its share again"
            };
            format!("{server}: {started} HTTP process(es) started; {what}")
        }
        Edit::Fail(director) => {
            let pid = ha::fail(state, director)?;
            format!(
                "{director}: forwarding off, keepalived (pid {pid}) stopped; VRRP moves the VIP \
                 and the DIP to the other director"
            )
        }
        Edit::Cut(director) => {
            ha::cut(state, director)?;
            format!(
                "{director}: its switch ports are down (cables pulled); the other director takes \
                 the VIP and the DIP over after three missed adverts"
            )
        }
        Edit::Recover(director) => {
            let done = ha::recover(state, director)?;
            format!(
                "{director}: {}; VRRP gives the VIP to the higher priority ({}) within a few \
                 seconds",
                done.describe(),
                HA_DIRECTORS[0]
            )
        }
        Edit::Zero => {
            live::zero(state)?;
            "counters zeroed".into()
        }
    })
}

/// How real server `name` is forwarded in the lab's services (`dr, nat`).
fn methods_of(state: &LabState, name: &str) -> String {
    let mut methods: Vec<String> = state
        .spec
        .services
        .iter()
        .flat_map(|s| &s.members)
        .filter(|m| m.name == name)
        .map(|m| m.forward.to_string())
        .collect();
    methods.sort();
    methods.dedup();
    methods.join(", ")
}
