//! Experiment 3's arm: the service made persistent, the client's server
//! (its template's) drained, and where the client's new connections land.

use std::time::Duration;

use lvslab_core::experiment::report::Measured;
use lvslab_core::experiment::{NEW_CONNECTIONS, PERSISTENCE};
use lvslab_core::lab::table;
use lvslab_ipvs::IpvsClient;

use super::super::error::LabError;
use super::super::state::LabState;
use super::probe;
use super::removal::blocking;
use super::undo::Journal;

/// Longest one answer may take.
const ANSWER: Duration = Duration::from_secs(10);

pub(super) async fn arm(state: &mut LabState, journal: &mut Journal) -> Result<Measured, LabError> {
    let director = super::director(state);
    let key = table::key(super::service(state).expect("checked"));
    let mut svc = IpvsClient::open_in(&director)?.service(&key)?;
    if !svc.flags.persistent || svc.persistence_timeout < PERSISTENCE {
        svc.flags.persistent = true;
        svc.persistence_timeout = PERSISTENCE;
        journal.edit_service(&director, &svc)?;
    }
    let (client, target) = super::target(state);
    let ns = client.clone();
    let drained = blocking(move || probe::one(&ns, target, ANSWER)).await??;
    journal.set_weight(state, &drained, 0).await?;
    let answers = blocking(move || {
        (0..NEW_CONNECTIONS).map(|_| probe::one(&client, target, ANSWER).ok()).collect::<Vec<_>>()
    })
    .await?;
    let to_drained =
        answers.iter().filter(|a| a.as_deref() == Some(drained.as_str())).count() as u32;
    let failed = answers.iter().filter(|a| a.is_none()).count() as u32;
    Ok(Measured::Persistence { drained, new_connections: NEW_CONNECTIONS, to_drained, failed })
}
