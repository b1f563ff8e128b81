//! The real servers' default gateways, as the kernel has them: the topology
//! pane checks each against the DIP, and the tutorial's bare lab starts with
//! none. Routes change rarely (the tutorial's gateway step, someone's `ip
//! route` in another shell), so they are read once a second, not at the
//! poll's 10 Hz, over one rtnetlink socket per real server kept open.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::lab::LabSpec;
use crate::net::rtnl::Rtnl;

/// How often the routes are read again.
const REFRESH: Duration = Duration::from_secs(1);

/// Each real server's default gateway, refreshed at most once per [`REFRESH`].
pub struct Gateways {
    /// Drives the rtnetlink sockets; only while a read is in progress.
    runtime: Option<tokio::runtime::Runtime>,
    sockets: HashMap<String, Rtnl>,
    known: HashMap<String, Option<Ipv4Addr>>,
    read_at: Option<Instant>,
}

impl Gateways {
    /// Nothing read yet; sockets are opened on the first read.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok();
        Self { runtime, sockets: HashMap::new(), known: HashMap::new(), read_at: None }
    }

    /// The default gateway of real server `name` (None: no default route, or
    /// it could not be read).
    pub fn of(&mut self, spec: &LabSpec, name: &str) -> Option<Ipv4Addr> {
        if self.read_at.is_none_or(|at| at.elapsed() >= REFRESH) {
            self.refresh(spec);
        }
        self.known.get(name).copied().flatten()
    }

    fn refresh(&mut self, spec: &LabSpec) {
        self.read_at = Some(Instant::now());
        let Some(runtime) = &self.runtime else { return };
        // Real servers added or removed since the last read.
        self.sockets.retain(|name, _| spec.real_server(name).is_some());
        self.known.clear();
        for rs in &spec.real_servers {
            let gateway = runtime.block_on(async {
                if !self.sockets.contains_key(&rs.name) {
                    let socket = Rtnl::connect(&spec.netns(&rs.name)).ok()?;
                    self.sockets.insert(rs.name.clone(), socket);
                }
                let socket = self.sockets.get_mut(&rs.name)?;
                match socket.default_gateway().await {
                    Ok(gateway) => gateway,
                    Err(e) => {
                        // The namespace may be gone: reconnect next time.
                        tracing::debug!("default route of {}: {e}", rs.name);
                        self.sockets.remove(&rs.name);
                        None
                    }
                }
            });
            self.known.insert(rs.name.clone(), gateway);
        }
    }
}

impl Default for Gateways {
    fn default() -> Self {
        Self::new()
    }
}
