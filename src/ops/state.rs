//! The files lvslab keeps for its labs under `/run/lvslab`, and the record
//! of a running lab among them:
//!
//! ```text
//! /run/lvslab/labs/<lab>/record.json    the record (what was built, its processes)
//!                        lock           the lab's lock (flock)
//!                        keepalived.conf, keepalived.log, <director>-keepalived.*
//!                        logs/<host>-<port>.log   the real servers' HTTP logs
//! /run/lvslab/netns/<namespace>         a mark per namespace lvslab made (its inode)
//! ```
//!
//! Every path of a lab is built by [`lab_dir`], which takes a [`LabName`]:
//! a name that broke the lab-name rule (`..`, `netns`'s sibling, a `/`)
//! cannot be one, so no lab's files can alias lvslab's own folders or walk
//! out of them.
//!
//! Every command finds a lab through its record. It is written *before* the
//! first kernel change (phase `building`) so that a crash mid-way still
//! leaves a record naming what to clean, and lives on tmpfs so a reboot,
//! which also wipes the namespaces, wipes it too.

use lvslab_core::lab::model::hosts;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{Flock, FlockArg};

use lvslab_core::lab::model::{Dataplane, LabName, LabSpec};
pub use lvslab_core::lab::record::{LabProcess, LabState, Phase};

/// Where lvslab keeps its files.
pub const STATE_DIR: &str = "/run/lvslab";

/// Where each lab's folder is.
pub const LABS_DIR: &str = "/run/lvslab/labs";

/// Lab `lab`'s folder, `/run/lvslab/labs/<lab>`: the one function that
/// joins a lab's name to a path.
pub fn lab_dir(lab: &LabName) -> PathBuf {
    Path::new(LABS_DIR).join(lab.as_str())
}

/// Path of lab `lab`'s record.
pub fn path(lab: &LabName) -> PathBuf {
    lab_dir(lab).join("record.json")
}

/// Path of lab `lab`'s lock file.
pub fn lock_path(lab: &LabName) -> PathBuf {
    lab_dir(lab).join("lock")
}

/// Where the HTTP server on `port` of host `host` of lab `lab` logs.
pub fn server_log_path(lab: &LabName, host: &str, port: u16) -> PathBuf {
    lab_dir(lab).join("logs").join(format!("{host}-{port}.log"))
}

/// A lab's record as a file: made, saved and read back under the lab's
/// lock. (A trait because the record is `lvslab-core`'s plain data.)
pub trait Stored: Sized {
    /// A fresh record for a lab about to be built by this process.
    fn new(spec: LabSpec, origin: String, dataplane: Dataplane) -> Self;
    /// Creates the state file; fails with `AlreadyExists` if the lab has one.
    fn create(&self) -> io::Result<()>;
    /// Rewrites the whole state file atomically, under the lab's lock.
    fn save(&self) -> io::Result<()>;
    /// Reads the state of lab `name`; `Ok(None)` if there is none.
    fn load(name: &LabName) -> io::Result<Option<Self>>;
    /// Whether the `up` that wrote a `building` record is still alive.
    fn owner_alive(&self) -> bool;
}

fn to_json(state: &LabState) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(state).expect("state serializes");
    bytes.push(b'\n');
    bytes
}

impl Stored for LabState {
    fn new(spec: LabSpec, origin: String, dataplane: Dataplane) -> Self {
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
            owner_start_ticks: super::process::start_ticks(std::process::id()).unwrap_or(0),
            processes: Vec::new(),
        }
    }

    /// Creates the state file; fails with `AlreadyExists` if the lab has one.
    /// The record appears whole or not at all (written to a unique temporary,
    /// synced, then linked in place, which fails if the name is taken).
    fn create(&self) -> io::Result<()> {
        let _lock = lock(&self.spec.name)?;
        write_atomic(&path(&self.spec.name), &to_json(self), Replace::Never)
    }

    /// Rewrites the whole state file atomically, under the lab's lock.
    /// Prefer [`update`], which rereads the record under the lock: a whole
    /// write from a stale copy loses what another writer changed meanwhile.
    fn save(&self) -> io::Result<()> {
        let _lock = lock(&self.spec.name)?;
        write_atomic(&path(&self.spec.name), &to_json(self), Replace::Always)
    }

    /// Reads the state of lab `name`; `Ok(None)` if there is none.
    fn load(name: &LabName) -> io::Result<Option<Self>> {
        let invalid = |why: String| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{}: {why}", path(name).display()))
        };
        // The capped reader: a record is a few KiB, a hand-made huge one
        // is refused at the limit.
        match lvslab_core::lab::input::read_file(&path(name)) {
            Ok(text) => {
                // serde quotes the bad value (`unknown variant `\x1b[2J...``):
                // escaped here, so no reader of this error shows it raw.
                let state: Self = serde_json::from_str(&text).map_err(|e| {
                    invalid(lvslab_core::lab::text::shown(&e.to_string()).into_owned())
                })?;
                // Parsing re-validated every typed field (the name, the
                // scheduler...). A record edited by hand must not name
                // another lab (its name steers teardown and the exported
                // script's cleanup).
                if state.spec.name != *name {
                    return Err(invalid(format!(
                        "the record names lab '{}', not '{name}'",
                        lvslab_core::lab::text::shown(&state.spec.name)
                    )));
                }
                Ok(Some(state))
            }
            Err(e) => match &e.kind {
                lvslab_core::lab::input::InputErrorKind::Io(err)
                    if err.kind() == io::ErrorKind::NotFound =>
                {
                    Ok(None)
                }
                _ => Err(e.into_io()),
            },
        }
    }

    /// Whether the `up` that wrote a `building` record is still alive.
    fn owner_alive(&self) -> bool {
        self.owner_pid != std::process::id()
            && PathBuf::from(format!("/proc/{}", self.owner_pid)).exists()
            && super::process::is_lvslab(self.owner_pid)
            && (self.owner_start_ticks == 0
                || super::process::start_ticks(self.owner_pid) == Some(self.owner_start_ticks))
    }
}

/// The configuration keepalived runs (the one director's).
pub fn config_path(lab: &LabName) -> PathBuf {
    config_path_of(lab, hosts::DIRECTOR)
}

/// keepalived's log (its console output: checks, table changes).
pub fn log_path(lab: &LabName) -> PathBuf {
    log_path_of(lab, hosts::DIRECTOR)
}

/// The file `name` of director `host`'s keepalived: `name` itself for the
/// one director of a lab, `<host>-<name>` for each director of an HA lab.
pub(crate) fn file_of(lab: &LabName, host: &str, name: &str) -> PathBuf {
    if host == hosts::DIRECTOR {
        lab_dir(lab).join(name)
    } else {
        lab_dir(lab).join(format!("{host}-{name}"))
    }
}

/// The configuration director `host`'s keepalived runs.
pub fn config_path_of(lab: &LabName, host: &str) -> PathBuf {
    file_of(lab, host, "keepalived.conf")
}

/// Director `host`'s keepalived log.
pub fn log_path_of(lab: &LabName, host: &str) -> PathBuf {
    file_of(lab, host, "keepalived.log")
}

/// Removes the state file of lab `name` (absent is fine).
pub fn remove(name: &LabName) -> io::Result<()> {
    match fs::remove_file(path(name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes everything in lab `lab`'s folder but its lock (logs,
/// keepalived's files, leftovers): call it holding the lock, after the
/// record is gone; the lock's release then removes the folder.
pub fn remove_lab_files(lab: &LabName) {
    let Ok(entries) = fs::read_dir(lab_dir(lab)) else { return };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name() == "lock" {
            continue;
        }
        // Neither follows a symlink: one planted here is removed, not its target.
        let _ = match entry.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(entry.path()),
            _ => fs::remove_file(entry.path()),
        };
    }
}

/// The folders under /run/lvslab/labs whose names are lab names, sorted.
/// (A folder named otherwise is not lvslab's: it is never used.)
fn lab_folders() -> io::Result<Vec<LabName>> {
    let entries = match fs::read_dir(LABS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names: Vec<LabName> = entries
        .filter_map(Result::ok)
        // A folder, not a file or a symlink planted in its place.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| LabName::new(&n).ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Names of labs that have a record, sorted.
pub fn lab_names() -> io::Result<Vec<LabName>> {
    Ok(lab_folders()?.into_iter().filter(|lab| path(lab).exists()).collect())
}

/// Every record under /run/lvslab, read: a record that cannot be read or
/// parsed is listed with the reason instead of failing the whole list.
pub fn list() -> io::Result<Vec<(LabName, Result<LabState, String>)>> {
    Ok(lab_names()?
        .into_iter()
        .filter_map(|name| match LabState::load(&name) {
            Ok(Some(state)) => Some((name, Ok(state))),
            Ok(None) => None, // removed since the directory was read
            Err(e) => Some((name, Err(e.to_string()))),
        })
        .collect())
}

/// Reads lab `name`'s record, lets `change` edit it and writes it back, all
/// under the lab's lock: two writers (the dashboard and `lvslab set`) each
/// see the other's edits. `NotFound` if the lab has no record.
pub fn update(name: &LabName, change: impl FnOnce(&mut LabState)) -> io::Result<LabState> {
    let _lock = lock(name)?;
    let mut state = LabState::load(name)?.ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("lab '{name}' has no record"))
    })?;
    change(&mut state);
    write_atomic(&path(name), &to_json(&state), Replace::Always)?;
    Ok(state)
}

/// Whether [`write_atomic`] may replace an existing file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replace {
    Always,
    Never,
}

/// Writes `bytes` to `target` so that readers see the old file or the new
/// one, never a part: a temporary with a name no other writer uses (pid and
/// a counter), synced, then renamed (or linked, when it must not replace),
/// then the directory synced.
fn write_atomic(target: &Path, bytes: &[u8], replace: Replace) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = target.parent().unwrap_or(Path::new(STATE_DIR));
    create_private_dir(dir)?;
    let file_name =
        target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        match replace {
            Replace::Always => fs::rename(&temp, target),
            Replace::Never => fs::hard_link(&temp, target).and_then(|()| fs::remove_file(&temp)),
        }
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    File::open(dir)?.sync_all()
}

/// Creates /run/lvslab (and a folder in it) readable and writable by root only.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

thread_local! {
    /// The labs this thread holds the lock of, and how many times.
    static HELD: RefCell<HashMap<LabName, (Flock<File>, usize)>> = RefCell::new(HashMap::new());
}

/// Holds lab `name`'s lock (an exclusive `flock` on its folder's `lock`)
/// until dropped. Every change to a lab's record and every kernel object or
/// process made for a lab happens under it, and so does teardown: whatever
/// runs after a teardown finds no record and makes nothing.
///
/// Re-entrant on one thread (a live edit holds it while the namespace it
/// adds takes it again); other threads and processes wait.
#[must_use = "the lock is released when this is dropped"]
pub struct RecordLock {
    name: LabName,
}

/// Takes lab `name`'s lock, waiting for any other holder.
pub fn lock(name: &LabName) -> io::Result<RecordLock> {
    let held =
        HELD.with(|held| held.borrow_mut().get_mut(name).map(|(_, depth)| *depth += 1).is_some());
    if !held {
        let file = acquire(name)?;
        HELD.with(|held| held.borrow_mut().insert(name.clone(), (file, 1)));
    }
    Ok(RecordLock { name: name.clone() })
}

/// Opens and locks the lock file; retries when the file it locked was
/// removed meanwhile (by a holder that found the lab gone).
fn acquire(name: &LabName) -> io::Result<Flock<File>> {
    create_private_dir(&lab_dir(name))?;
    let target = lock_path(name);
    loop {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&target)?;
        let locked =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        let same = fs::symlink_metadata(&target)
            .is_ok_and(|m| m.ino() == locked.metadata().map_or(0, |f| f.ino()));
        if same {
            return Ok(locked);
        }
    }
}

impl Drop for RecordLock {
    fn drop(&mut self) {
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            let Some((_, depth)) = held.get_mut(&self.name) else { return };
            *depth -= 1;
            if *depth == 0 {
                // A lab without a record keeps no lock file: remove it while
                // still holding it (waiters notice and lock the new one),
                // and its folder if nothing else is left in it.
                if !path(&self.name).exists() {
                    let _ = fs::remove_file(lock_path(&self.name));
                    let _ = fs::remove_dir(lab_dir(&self.name));
                }
                held.remove(&self.name);
            }
        });
    }
}

/// Where lvslab marks the namespaces it made: one file per namespace,
/// written before the namespace is, so even a crash mid-build leaves proof
/// of what is lvslab's. Namespaces without a mark are someone else's.
pub const NETNS_MARK_DIR: &str = "/run/lvslab/netns";

fn mark_path(netns: &str) -> PathBuf {
    Path::new(NETNS_MARK_DIR).join(netns)
}

/// Marks `netns` as lvslab's before it is created (its inode is not known yet).
pub fn mark_netns(netns: &str) -> io::Result<()> {
    write_atomic(&mark_path(netns), b"", Replace::Always)
}

/// Records the inode of the namespace just created, so that a namespace of
/// the same name made later by someone else is not taken for lvslab's.
pub fn mark_netns_inode(netns: &str, inode: u64) -> io::Result<()> {
    write_atomic(&mark_path(netns), format!("{inode}\n").as_bytes(), Replace::Always)
}

/// Whether lvslab made `netns`: it is marked, and the mark names its inode
/// (or none yet: lvslab died between the mark and the namespace).
pub fn netns_is_marked(netns: &str, inode: Option<u64>) -> bool {
    match fs::read_to_string(mark_path(netns)) {
        Ok(text) => match (text.trim().parse::<u64>().ok(), inode) {
            (Some(marked), Some(actual)) => marked == actual,
            _ => true,
        },
        Err(_) => false,
    }
}

/// Removes the mark of `netns` (absent is fine).
pub fn unmark_netns(netns: &str) {
    let _ = fs::remove_file(mark_path(netns));
}

/// The namespaces marked as lvslab's, whether or not they still exist.
pub fn marked_namespaces() -> Vec<String> {
    fs::read_dir(NETNS_MARK_DIR)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// Names of labs that left any trace under /run/lvslab: a folder (a
/// record, a lock, a temporary of a write that a crash interrupted), a
/// namespace mark. Traces whose names break the lab-name rule are not
/// lvslab's and are not listed.
pub fn traced_labs() -> Vec<LabName> {
    let mut labs = lab_folders().unwrap_or_default();
    labs.extend(
        marked_namespaces()
            .iter()
            .chain(&stale_mark_temps())
            .filter_map(|ns| LabName::of_netns(ns).map(|(lab, _)| lab)),
    );
    labs.sort();
    labs.dedup();
    labs
}

/// The file a temporary `<target>.<pid>.<n>.tmp` (leading '.' removed) was for.
fn temp_target(temp: &str) -> Option<&str> {
    let rest = temp.strip_suffix(".tmp")?;
    let (rest, _counter) = rest.rsplit_once('.')?;
    let (target, _pid) = rest.rsplit_once('.')?;
    Some(target)
}

fn stale_mark_temps() -> Vec<String> {
    fs::read_dir(NETNS_MARK_DIR)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter_map(|n| n.strip_prefix('.').and_then(temp_target).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the temporaries that writes of lab `lab`'s record and marks left
/// when a crash interrupted them. Call it holding the lab's lock (every
/// writer of those files holds it while its temporary exists).
pub fn remove_temporaries(lab: &LabName) {
    for (dir, of_lab) in [
        (lab_dir(lab), Box::new(|_: &str| true) as Box<dyn Fn(&str) -> bool>),
        (
            PathBuf::from(NETNS_MARK_DIR),
            Box::new(|t: &str| LabName::of_netns(t).is_some_and(|(l, _)| l == *lab)),
        ),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.strip_prefix('.').and_then(temp_target).is_some_and(&of_lab) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}
