//! The change–measure–undo journal every experiment (and later churn and
//! chaos) runs its changes through. Each change first reads what it
//! replaces and records how to put it back, *before* it touches the kernel,
//! so a change that fails half-way is undone too. [`Journal::undo`] runs
//! the records in reverse; the caller runs it whatever the measurement did
//! (finished, failed, stopped by a signal: the journal outlives the work's
//! future), and it then checks the lab against the snapshot taken when the
//! journal was opened, failing loudly when they differ.

use lvslab_core::lab::edit::Edit;
use lvslab_ipvs::{Destination, IpvsClient, Service, ServiceKey, Timeouts};

use super::super::error::LabError;
use super::super::state::LabState;
use crate::net::sysctl as net_sysctl;

/// What the lab looked like, as text: one line per fact compared.
pub type Snapshot = Vec<String>;

/// Takes a [`Snapshot`] of whatever the journal guards.
pub type TakeSnapshot = Box<dyn Fn() -> Result<Snapshot, LabError> + Send + Sync>;

/// How to put one change back.
#[derive(Debug, Clone)]
enum Step {
    /// A sysctl's old value, in each namespace it was written in.
    Sysctl { namespaces: Vec<String>, key: String, value: String },
    /// IPVS's old timeouts.
    Timeouts { namespaces: Vec<String>, before: Timeouts },
    /// A real server's old weight (an `ops::edit` weight edit, so the
    /// lab's record follows).
    Weight { server: String, weight: u32 },
    /// A deleted destination, to add again as it was.
    Destination { netns: String, key: ServiceKey, dest: Destination },
    /// A service's old settings (scheduler, persistence).
    Service { netns: String, service: Service },
}

/// The lab was not put back as it was.
#[derive(Debug, thiserror::Error)]
#[error("the lab was NOT restored: {0}")]
pub struct NotRestored(pub String);

/// The changes made so far and the snapshot to come back to.
pub struct Journal {
    steps: Vec<Step>,
    before: Snapshot,
    take: TakeSnapshot,
}

impl Journal {
    /// Opens a journal: takes the snapshot now.
    ///
    /// # Errors
    /// The snapshot could not be taken (nothing was changed yet).
    pub fn open(take: TakeSnapshot) -> Result<Self, LabError> {
        Ok(Self { before: take()?, steps: Vec::new(), take })
    }

    /// The snapshot taken at [`Journal::open`].
    pub fn before(&self) -> &Snapshot {
        &self.before
    }

    /// Writes sysctl `key` (`net.ipv4.vs.expire_nodest_conn`) in every one of
    /// `namespaces`, the first's old value recorded.
    ///
    /// # Errors
    /// The old value could not be read (nothing written) or a write failed.
    pub fn set_sysctl(
        &mut self,
        namespaces: &[String],
        key: &str,
        value: &str,
    ) -> Result<(), LabError> {
        let old = net_sysctl::read(&namespaces[0], key)?;
        self.steps.push(Step::Sysctl {
            namespaces: namespaces.to_vec(),
            key: key.into(),
            value: old,
        });
        for ns in namespaces {
            net_sysctl::write(ns, key, value)?;
        }
        Ok(())
    }

    /// Sets IPVS's timeouts (a 0 leaves that one as it is).
    ///
    /// # Errors
    /// IPVS could not be read or written.
    pub fn set_timeouts(&mut self, namespaces: &[String], to: &Timeouts) -> Result<(), LabError> {
        let before = IpvsClient::open_in(&namespaces[0])?.timeouts()?;
        self.steps.push(Step::Timeouts { namespaces: namespaces.to_vec(), before });
        for ns in namespaces {
            IpvsClient::open_in(ns)?.set_timeouts(to)?;
        }
        Ok(())
    }

    /// Sets real server `server`'s weight through `ops::edit` (0 drains it).
    ///
    /// # Errors
    /// As `ops::edit::apply`.
    pub async fn set_weight(
        &mut self,
        state: &mut LabState,
        server: &str,
        weight: u32,
    ) -> Result<(), LabError> {
        let old = state
            .spec
            .services
            .iter()
            .flat_map(|s| &s.members)
            .find(|m| m.name == server)
            .map(|m| m.weight)
            .ok_or_else(|| {
                LabError::Refused(format!(
                    "lab '{}' has no real server '{server}'",
                    state.spec.name
                ))
            })?;
        self.steps.push(Step::Weight { server: server.into(), weight: old });
        super::super::edit::apply(state, &Edit::Weight { server: server.into(), weight }).await?;
        Ok(())
    }

    /// Deletes the destination `dest` of service `key` (`ipvsadm -d`), as
    /// the kernel has it now recorded for adding back.
    ///
    /// # Errors
    /// No such destination, or IPVS refused.
    pub fn delete_destination(
        &mut self,
        netns: &str,
        key: &ServiceKey,
        addr: std::net::IpAddr,
        port: u16,
    ) -> Result<(), LabError> {
        let mut client = IpvsClient::open_in(netns)?;
        let dest = client
            .destinations(key)?
            .into_iter()
            .find(|d| d.addr == addr && d.port == port)
            .ok_or_else(|| {
                LabError::Refused(format!("no destination {addr}:{port} in the director's table"))
            })?;
        self.steps.push(Step::Destination { netns: netns.into(), key: *key, dest });
        client.del_destination(key, addr, port)?;
        Ok(())
    }

    /// Replaces service `service.key`'s settings (`ipvsadm -E`), the old
    /// ones recorded.
    ///
    /// # Errors
    /// IPVS refused.
    pub fn edit_service(&mut self, netns: &str, service: &Service) -> Result<(), LabError> {
        let mut client = IpvsClient::open_in(netns)?;
        let old = client.service(&service.key)?;
        self.steps.push(Step::Service { netns: netns.into(), service: old });
        client.edit_service(service)?;
        Ok(())
    }

    /// How many changes are recorded: a mark for [`Journal::undo_to`].
    pub fn mark(&self) -> usize {
        self.steps.len()
    }

    /// Puts back the changes made since `mark`, newest first; every step is
    /// tried even when one fails.
    ///
    /// # Errors
    /// A step failed: the message names each.
    pub async fn undo_to(
        &mut self,
        mark: usize,
        mut state: Option<&mut LabState>,
    ) -> Result<(), NotRestored> {
        let mut failed = Vec::new();
        while self.steps.len() > mark {
            let step = self.steps.pop().expect("longer than mark");
            if let Err(e) = run(&step, state.as_deref_mut()).await {
                failed.push(format!("{step:?}: {e}"));
            }
        }
        if failed.is_empty() { Ok(()) } else { Err(NotRestored(failed.join("\n  "))) }
    }

    /// Puts every change back, newest first, then compares the lab with
    /// the snapshot. Every step is tried even when one fails.
    ///
    /// # Errors
    /// A step failed, or the lab differs from the snapshot: the message
    /// names each step and each line that differs.
    pub async fn undo(&mut self, state: Option<&mut LabState>) -> Result<(), NotRestored> {
        let mut failed = match self.undo_to(0, state).await {
            Ok(()) => Vec::new(),
            Err(NotRestored(why)) => vec![why],
        };
        let after =
            (self.take)().map_err(|e| NotRestored(format!("cannot read the lab back: {e}")))?;
        let mut differs: Vec<String> = self
            .before
            .iter()
            .filter(|l| !after.contains(l))
            .map(|l| format!("before: {l}"))
            .collect();
        differs.extend(
            after.iter().filter(|l| !self.before.contains(l)).map(|l| format!("now:    {l}")),
        );
        if failed.is_empty() && differs.is_empty() {
            return Ok(());
        }
        failed.extend(differs);
        Err(NotRestored(failed.join("\n  ")))
    }
}

async fn run(step: &Step, state: Option<&mut LabState>) -> Result<(), LabError> {
    match step {
        Step::Sysctl { namespaces, key, value } => {
            for ns in namespaces {
                net_sysctl::write(ns, key, value)?;
            }
        }
        Step::Timeouts { namespaces, before } => {
            for ns in namespaces {
                IpvsClient::open_in(ns)?.set_timeouts(before)?;
            }
        }
        Step::Weight { server, weight } => {
            let Some(state) = state else {
                return Err(LabError::Refused("a weight to put back, but no lab given".into()));
            };
            super::super::edit::apply(
                state,
                &Edit::Weight { server: server.clone(), weight: *weight },
            )
            .await?;
        }
        Step::Destination { netns, key, dest } => {
            IpvsClient::open_in(netns)?.add_destination(key, dest)?
        }
        Step::Service { netns, service } => IpvsClient::open_in(netns)?.edit_service(service)?,
    }
    Ok(())
}
