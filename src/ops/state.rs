//! The record of a running lab: `/run/lvslab/<lab>.json`.
//!
//! Every command finds a lab through this file. It is written *before* the
//! first kernel change (phase `building`) so that a crash mid-way still
//! leaves a record naming what to clean, and lives on tmpfs so a reboot,
//! which also wipes the namespaces, wipes it too.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::lab::model::Dataplane;
use crate::lab::model::LabSpec;

/// Where lab records live.
pub const STATE_DIR: &str = "/run/lvslab";

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
    /// The lab's processes.
    pub processes: Vec<LabProcess>,
}

/// Path of the state file of lab `name`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(STATE_DIR).join(format!("{name}.json"))
}

impl LabState {
    /// A fresh record for a lab about to be built by this process.
    pub fn new(spec: LabSpec, origin: String, dataplane: Dataplane) -> Self {
        let created_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            version: 1,
            spec,
            origin,
            dataplane,
            phase: Phase::Building,
            created_unix,
            owner_pid: std::process::id(),
            processes: Vec::new(),
        }
    }

    /// Creates the state file; fails with `AlreadyExists` if the lab has one.
    pub fn create(&self) -> io::Result<()> {
        fs::create_dir_all(STATE_DIR)?;
        let mut file =
            fs::OpenOptions::new().write(true).create_new(true).open(path(&self.spec.name))?;
        file.write_all(&self.to_json())?;
        Ok(())
    }

    /// Rewrites the state file atomically (write a temporary, rename).
    pub fn save(&self) -> io::Result<()> {
        fs::create_dir_all(STATE_DIR)?;
        let target = path(&self.spec.name);
        let temp = target.with_extension("json.tmp");
        fs::write(&temp, self.to_json())?;
        fs::rename(&temp, &target)
    }

    fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("state serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Reads the state of lab `name`; `Ok(None)` if there is none.
    pub fn load(name: &str) -> io::Result<Option<Self>> {
        match fs::read(path(name)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path(name).display()))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the `up` that wrote a `building` record is still alive.
    pub fn owner_alive(&self) -> bool {
        self.owner_pid != std::process::id()
            && PathBuf::from(format!("/proc/{}", self.owner_pid)).exists()
            && super::process::is_lvslab(self.owner_pid)
    }
}

/// Removes the state file of lab `name` (absent is fine).
pub fn remove(name: &str) -> io::Result<()> {
    match fs::remove_file(path(name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Names of labs that have a state file, sorted.
pub fn lab_names() -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(STATE_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}
