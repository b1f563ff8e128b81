//! Experiment 1's arm: busy connections held to one real server while its
//! destination is deleted (or, drain first: weight 0, they finish, then it
//! is deleted), each connection's end counted.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvslab_core::experiment::report::Measured;
use lvslab_core::experiment::{Arm, HELD, REMOVAL_TCP_TIMEOUT};
use lvslab_core::lab::table;

use super::super::error::LabError;
use super::super::state::LabState;
use super::probe;
use super::undo::Journal;

/// Busy traffic before the change, so every connection is mid-stream.
const WARM: Duration = Duration::from_millis(600);
/// Busy traffic after it: the connections' remaining work.
const WORK: Duration = Duration::from_secs(2);
/// Pause of every connection around the change.
const SETTLE: Duration = Duration::from_millis(300);

pub(super) async fn arm(
    state: &mut LabState,
    journal: &mut Journal,
    arm: &Arm,
) -> Result<Measured, LabError> {
    let (client, target) = super::target(state);
    // The client's own patience: well past the IPVS timeout, so a hang is
    // ended by the director (its reset once the entry expired), not by us.
    // The entry expires first, then the client's next retransmission (TCP's
    // backoff doubles the wait each time) meets the director's stack.
    let give_up = Duration::from_secs(u64::from(REMOVAL_TCP_TIMEOUT) * 5);
    let held = blocking(move || probe::hold(&client, target, HELD, give_up)).await??;
    let victim = held[0].server.clone();
    let svc = super::service(state).expect("checked").clone();
    let member = svc.members.iter().find(|m| m.name == victim).cloned().ok_or_else(|| {
        LabError::Refused(format!(
            "the answer named '{victim}', which is no real server of the service"
        ))
    })?;
    let addr = IpAddr::V4(state.spec.real_server(&victim).expect("a member is a server").addr);
    let director = super::director(state);
    let changed: probe::ChangedAt = Arc::new(Mutex::new(None));
    let gate: probe::Gate = Arc::default();
    let until = Instant::now() + WARM + SETTLE + WORK;
    let busy = {
        let (changed, gate) = (Arc::clone(&changed), Arc::clone(&gate));
        tokio::task::spawn_blocking(move || probe::keep_busy(held, until, &changed, &gate))
    };
    tokio::time::sleep(WARM).await;
    let key = table::key(&svc);
    // Between two requests of every connection: the last answers' ACKs
    // have left, so nothing of theirs is in flight when the change lands.
    let between = gate.write().await;
    tokio::time::sleep(SETTLE).await;
    *changed.lock().expect("not poisoned") = Some(Instant::now());
    let ends = if arm.drain_first {
        journal.set_weight(state, &victim, 0).await?;
        drop(between);
        let ends = busy.await.map_err(join)?;
        journal.delete_destination(&director, &key, addr, member.port)?;
        ends
    } else {
        journal.delete_destination(&director, &key, addr, member.port)?;
        drop(between);
        busy.await.map_err(join)?
    };
    let ends: Vec<_> = ends.into_iter().filter(|(s, _)| *s == victim).map(|(_, e)| e).collect();
    Ok(Measured::removal(&victim, REMOVAL_TCP_TIMEOUT, &ends))
}

/// Runs blocking socket work off the runtime's threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, LabError> {
    tokio::task::spawn_blocking(f).await.map_err(join)
}

fn join(e: tokio::task::JoinError) -> LabError {
    LabError::Io {
        what: "an experiment's client thread".into(),
        source: std::io::Error::other(e.to_string()),
    }
}
