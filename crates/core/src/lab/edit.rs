//! One live change to a running lab ([`Edit`]): what `lvslab set` and the
//! dashboard's keys ask for, as data. The binary's `ops::edit` applies one
//! and says what it did, for both.

use std::net::Ipv4Addr;

use super::model::{Control, SchedFlag, Scheduler};

/// A live change to a running lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Hand the director's table to keepalived (health checks) or back to
    /// lvslab (plain IPVS).
    Control(Control),
    /// A real server, new or joining the services it is missing from.
    AddServer {
        /// Its host name.
        name: String,
        /// Its address (RIP).
        addr: Ipv4Addr,
        /// The port it serves.
        port: u16,
        /// Its weight in every service.
        weight: u32,
    },
    /// Remove a real server: its destinations, its process, its namespace.
    RemoveServer(String),
    /// A real server's weight in every service it belongs to.
    Weight {
        /// Real server.
        server: String,
        /// New weight (0 drains it).
        weight: u32,
    },
    /// Weight 0: no new connections, open ones finish.
    Drain(String),
    /// The scheduler of every service (each keeps the flags it reads).
    Scheduler(Scheduler),
    /// The scheduler flags (ipvsadm -b) of every service; none clears them.
    SchedulerFlags(Vec<SchedFlag>),
    /// Stop a real server's HTTP process (the server fails).
    Stop(String),
    /// Start a stopped real server's HTTP process again.
    Start(String),
    /// HA lab: stop a director as a crash would.
    Fail(String),
    /// HA lab: pull a director's cables.
    Cut(String),
    /// HA lab: undo `Fail` or `Cut`.
    Recover(String),
    /// Zero the counters.
    Zero,
}

impl Edit {
    /// The change in words, before it is applied (the dashboard's log says
    /// what was asked, then what happened).
    pub fn asked(&self) -> String {
        match self {
            Self::Control(Control::Keepalived) => {
                "hand the IPVS table to keepalived (health checks)".into()
            }
            Self::Control(Control::Lvslab) => {
                "hand the IPVS table back to lvslab (plain IPVS, no checks)".into()
            }
            Self::AddServer { name, addr, port, weight } => {
                format!("add real server {name} {addr}:{port} weight {weight}")
            }
            Self::RemoveServer(name) => format!("remove {name}"),
            Self::Weight { server, weight } => format!("set {server} weight {weight}"),
            Self::Drain(server) => format!("drain {server}"),
            Self::Scheduler(s) => format!("set scheduler {s}"),
            Self::SchedulerFlags(flags) if flags.is_empty() => "clear the scheduler flags".into(),
            Self::SchedulerFlags(flags) => {
                format!("set scheduler flags {}", SchedFlag::list(flags))
            }
            Self::Stop(server) => format!("stop {server}'s HTTP server"),
            Self::Start(server) => format!("start {server}'s HTTP server"),
            Self::Fail(director) => {
                format!("fail {director}: its forwarding, then its keepalived")
            }
            Self::Cut(director) => format!("cut {director}'s cables"),
            Self::Recover(director) => format!("recover {director}"),
            Self::Zero => "zero counters".into(),
        }
    }
}
