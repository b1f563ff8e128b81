//! Executes a [`Plan`] over netlink: one rtnetlink connection per namespace,
//! opened inside it, and no `ip` process anywhere.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use tracing::instrument;

use super::state;
use crate::net::{self, rtnl::Rtnl, sysctl};
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::plan::Plan;
use lvslab_core::lab::step::Step;
use lvslab_sys::netns;

/// Runs steps in order, keeping one connection per namespace.
#[derive(Default)]
pub struct Builder {
    connections: HashMap<String, Rtnl>,
}

impl Builder {
    /// A builder with no connection open yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs every step of `plan`, calling `progress(done, total, step)`
    /// before each one. Stops at the first failure: the caller rolls back.
    #[instrument(skip_all, fields(steps = plan.steps.len()))]
    pub async fn run(
        &mut self,
        plan: &Plan,
        mut progress: impl FnMut(usize, usize, &Step),
    ) -> Result<(), net::Error> {
        let total = plan.steps.len();
        for (done, step) in plan.steps.iter().enumerate() {
            progress(done, total, step);
            self.apply(step).await?;
        }
        Ok(())
    }

    /// Applies one step.
    pub async fn apply(&mut self, step: &Step) -> Result<(), net::Error> {
        match step {
            Step::AddNetns { netns } => create_netns(netns),
            Step::AddBridge { netns, name } => {
                self.rtnl(netns)?
                    .add_bridge(name, lvslab_core::lab::step::bridge_mac(netns, name))
                    .await
            }
            Step::AddVeth { netns, name, peer_netns, peer } => {
                self.rtnl(netns)?.add_veth(name, peer, peer_netns).await
            }
            Step::SetMaster { netns, link, bridge } => {
                self.rtnl(netns)?.set_master(link, bridge).await
            }
            Step::AddAddress { netns, link, addr, prefix } => {
                self.rtnl(netns)?.add_address(link, IpAddr::V4(*addr), *prefix).await
            }
            Step::LinkUp { netns, link } => self.rtnl(netns)?.set_up(link).await,
            Step::DefaultRoute { netns, via } => self.rtnl(netns)?.add_default_route(*via).await,
            Step::TableDefaultRoute { netns, via, table } => {
                self.rtnl(netns)?.add_table_default_route(*via, *table).await
            }
            Step::Rule { netns, from, table } => {
                self.rtnl(netns)?.add_source_rule(*from, *table).await
            }
            Step::Modprobe { module } => net::kmod::load(module),
            Step::Sysctl { netns, key, value } => sysctl::write(netns, key, value),
        }
    }

    fn rtnl(&mut self, netns_name: &str) -> Result<&mut Rtnl, net::Error> {
        if !self.connections.contains_key(netns_name) {
            let conn = Rtnl::connect(netns_name)?;
            self.connections.insert(netns_name.to_string(), conn);
        }
        Ok(self.connections.get_mut(netns_name).expect("inserted above"))
    }
}

/// Creates a lab's namespace under the lab's lock, marked as lvslab's first
/// (so a crash right after still knows it is lvslab's), and only while the
/// lab has a record: a build that a signal abandoned mid-way, whose lab was
/// torn down meanwhile, makes nothing more.
fn create_netns(name: &str) -> Result<(), net::Error> {
    let Some((lab, _)) = LabName::of_netns(name) else { return netns::create(name) };
    let record = state::path(&lab);
    let _lock = state::lock(&lab).map_err(|e| net::Error::io("lock", state::lock_path(&lab), e))?;
    if !record.exists() {
        return Err(net::Error::io(
            "create",
            netns::path(name),
            io::Error::other(format!("lab '{lab}' has no record any more (it was torn down)")),
        ));
    }
    if netns::exists(name) {
        return Err(net::Error::NetnsExists(name.to_string()));
    }
    state::mark_netns(name).map_err(|e| net::Error::io("mark", state::NETNS_MARK_DIR, e))?;
    if let Err(e) = netns::create(name) {
        state::unmark_netns(name);
        return Err(e);
    }
    let inode = netns::inode(name)?;
    state::mark_netns_inode(name, inode)
        .map_err(|e| net::Error::io("mark", state::NETNS_MARK_DIR, e))
}
