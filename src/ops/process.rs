//! The lab's own processes (real-server HTTP servers): finding them, telling
//! them from unrelated processes, and stopping them.
//!
//! A process belongs to a lab when it is an lvslab binary running inside one
//! of the lab's namespaces; other processes found there (a user's shell
//! from `ip netns exec`) are reported, never killed.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a lab process gets to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_millis(1500);

/// A process found inside a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundProcess {
    /// PID.
    pub pid: u32,
    /// Command name (/proc/PID/comm).
    pub comm: String,
    /// Whether it is an lvslab binary (then the lab owns it).
    pub is_lvslab: bool,
}

/// Start time of `pid` in clock ticks after boot, or `None` if it is gone.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and ')': skip past the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` runs an lvslab binary (also after the binary was rebuilt).
pub fn is_lvslab(pid: u32) -> bool {
    fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|name| name == "lvslab" || name.starts_with("lvslab "))
}

/// Every process whose network namespace is one of `ns_inodes`, with the
/// inode it is in. One pass over /proc, however many namespaces.
pub fn in_namespaces(ns_inodes: &[u64]) -> Vec<(u64, FoundProcess)> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter_map(|pid| {
            let inode = fs::metadata(format!("/proc/{pid}/ns/net")).ok()?.ino();
            ns_inodes.contains(&inode).then_some((inode, pid))
        })
        .map(|(inode, pid)| {
            (
                inode,
                FoundProcess {
                    pid,
                    comm: fs::read_to_string(format!("/proc/{pid}/comm"))
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    is_lvslab: is_lvslab(pid),
                },
            )
        })
        .collect()
}

/// Stops `pid`: SIGTERM, then SIGKILL if it has not exited after a grace
/// period. `start` guards against a recycled PID. Returns whether it was running.
pub fn stop(pid: u32, start: Option<u64>) -> bool {
    if start.is_some() && start_ticks(pid) != start {
        return false;
    }
    let target = Pid::from_raw(pid as i32);
    if kill(target, Signal::SIGTERM).is_err() {
        return false;
    }
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = kill(target, Signal::SIGKILL);
    true
}

/// Stops many processes at once: SIGTERM to all, one shared grace period,
/// then SIGKILL for any still running (64 servers take one grace period, not
/// 64). Returns the PIDs that were running.
pub fn stop_all(targets: &[(u32, Option<u64>)]) -> Vec<u32> {
    let signalled: Vec<u32> = targets
        .iter()
        .filter(|(pid, start)| start.is_none() || start_ticks(*pid) == *start)
        .filter(|(pid, _)| kill(Pid::from_raw(*pid as i32), Signal::SIGTERM).is_ok())
        .map(|(pid, _)| *pid)
        .collect();
    let deadline = Instant::now() + TERM_GRACE;
    while signalled.iter().any(|pid| alive(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    for pid in signalled.iter().filter(|pid| alive(**pid)) {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
    }
    signalled
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let stat = format!("/proc/{pid}/stat");
    Path::new(&stat).exists()
        && fs::read_to_string(&stat)
            .ok()
            .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
            .is_some_and(|zombie| !zombie)
}
