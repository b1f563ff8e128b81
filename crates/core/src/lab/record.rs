//! The record of a running lab, as `/run/lvslab` keeps it: what was built
//! (the spec with live edits), from where, on which dataplane, and the
//! processes it started. Plain data; reading and writing it is the
//! binary's `ops::state`.

use serde::{Deserialize, Serialize};

use crate::lab::model::{Dataplane, LabSpec};

/// Where a lab's bring-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// `up` is running (or died mid-way: see `owner_pid`).
    Building,
    /// Built and running.
    Up,
}

/// A process that belongs to the lab (a real server's HTTP server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabProcess {
    /// The host (namespace) it runs in.
    pub host: String,
    /// What it is, e.g. `http-server`.
    pub role: String,
    /// Listening port, if any.
    pub port: Option<u16>,
    /// Its PID.
    pub pid: u32,
    /// Its start time in clock ticks since boot (/proc/PID/stat field 22),
    /// so that a recycled PID is never mistaken for it.
    pub start_ticks: u64,
}

/// The state file of one lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabState {
    /// Format version of this file.
    pub version: u32,
    /// The lab as built (with live edits applied).
    pub spec: LabSpec,
    /// Where the spec came from (`labs/tutorial-nat.toml` or a path).
    pub origin: String,
    /// IPVS or topology only.
    pub dataplane: Dataplane,
    /// Building or up.
    pub phase: Phase,
    /// Seconds since the epoch when `up` started.
    pub created_unix: u64,
    /// The `up` process (meaningful while building).
    pub owner_pid: u32,
    /// Its start time (clock ticks after boot), so that another lvslab that
    /// got the PID of a killed `up` is not taken for it. 0 in older records.
    #[serde(default)]
    pub owner_start_ticks: u64,
    /// The lab's processes.
    pub processes: Vec<LabProcess>,
}
