//! The lab's own processes (real-server HTTP servers): finding them, telling
//! them from unrelated processes, and stopping them.
//!
//! A process belongs to a lab when it is an lvslab binary running inside one
//! of the lab's namespaces; other processes found there (a user's shell
//! from `ip netns exec`) are reported, never killed.

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a lab process gets to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_millis(1500);
/// How long to wait for processes to vanish after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(1);

/// A process found inside a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundProcess {
    /// PID.
    pub pid: u32,
    /// Command name (/proc/PID/comm).
    pub comm: String,
    /// Whether it is an lvslab binary (then the lab owns it).
    pub is_lvslab: bool,
    /// Its start time when found, which guards every signal sent to it.
    pub start_ticks: u64,
}

impl FoundProcess {
    /// The process as a signal target: lvslab's own only while it runs lvslab.
    pub fn target(&self) -> Target {
        Target { pid: self.pid, start_ticks: self.start_ticks, lvslab_only: self.is_lvslab }
    }
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
        .filter_map(|(inode, pid)| {
            let start_ticks = start_ticks(pid)?;
            Some((
                inode,
                FoundProcess {
                    pid,
                    comm: fs::read_to_string(format!("/proc/{pid}/comm"))
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    is_lvslab: is_lvslab(pid),
                    start_ticks,
                },
            ))
        })
        .collect()
}

/// A process lvslab means to signal, as it was when lvslab found it: its
/// PID, its start time (a recycled PID has another one) and whether it must
/// be an lvslab binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// PID.
    pub pid: u32,
    /// Start time in clock ticks after boot (/proc/PID/stat field 22).
    pub start_ticks: u64,
    /// Only signal it while it runs an lvslab binary.
    pub lvslab_only: bool,
}

impl Target {
    /// A lab process recorded with its start time.
    pub fn lvslab(pid: u32, start_ticks: u64) -> Self {
        Self { pid, start_ticks, lvslab_only: true }
    }

    /// Any process, as it is now (`None` if it is gone).
    pub fn any_now(pid: u32) -> Option<Self> {
        Some(Self { pid, start_ticks: start_ticks(pid)?, lvslab_only: false })
    }
}

/// Sends `signal` to `target` only if it is still the process that was
/// meant: checked immediately before the signal, through a pidfd, so that
/// the PID cannot be recycled between the check and the signal (the pidfd
/// keeps naming the process it was opened on). Returns whether it was sent.
pub fn signal(target: Target, signal: Signal) -> bool {
    signal_if(target, signal, |pid| !target.lvslab_only || is_lvslab(pid))
}

/// [`signal`] with the identity check given (`is_lvslab` in lvslab itself;
/// tests use other programs).
#[expect(unsafe_code, reason = "pidfd_send_signal has no safe wrapper in nix 0.30")]
pub fn signal_if(target: Target, signal: Signal, is_it: impl Fn(u32) -> bool) -> bool {
    let Ok(raw) = i32::try_from(target.pid) else { return false };
    let pidfd = pidfd_open(raw);
    // With the pidfd open, /proc/PID is the process it names.
    if start_ticks(target.pid) != Some(target.start_ticks) || !is_it(target.pid) {
        return false;
    }
    match pidfd {
        Ok(fd) => {
            // SAFETY: fd is an open pidfd we own; a null siginfo is allowed.
            let sent = unsafe {
                nix::libc::syscall(
                    nix::libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal as i32,
                    std::ptr::null::<nix::libc::siginfo_t>(),
                    0,
                )
            };
            sent == 0
        }
        // Kernels before 5.3 have no pidfd: the check above, then kill(2).
        Err(nix::errno::Errno::ENOSYS) => kill(Pid::from_raw(raw), signal).is_ok(),
        Err(_) => false,
    }
}

#[expect(unsafe_code, reason = "pidfd_open has no safe wrapper in nix 0.30")]
fn pidfd_open(pid: i32) -> Result<OwnedFd, nix::errno::Errno> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: the kernel just returned this descriptor to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Stops `target`: SIGTERM, then SIGKILL if it has not exited after a grace
/// period, each signal guarded as [`signal`] says. Returns whether it was running.
pub fn stop(target: Target) -> bool {
    !stop_all(&[target]).is_empty()
}

/// Stops many processes at once: SIGTERM to all, one shared grace period,
/// then SIGKILL for any still running (64 servers take one grace period, not
/// 64); every signal guarded as [`signal`] says. Returns the PIDs that were running.
pub fn stop_all(targets: &[Target]) -> Vec<u32> {
    let signalled: Vec<Target> =
        targets.iter().copied().filter(|t| signal(*t, Signal::SIGTERM)).collect();
    let deadline = Instant::now() + TERM_GRACE;
    while signalled.iter().any(|t| alive(t.pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    for target in signalled.iter().filter(|t| alive(t.pid)) {
        signal(*target, Signal::SIGKILL);
    }
    // SIGKILL is not instant: return once they are gone (or a last second).
    let deadline = Instant::now() + KILL_WAIT;
    while signalled.iter().any(|t| alive(t.pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    for target in &signalled {
        reap(target.pid);
    }
    signalled.iter().map(|t| t.pid).collect()
}

/// Collects the exit status of `pid` if it is this process's child and has
/// exited: a lab process started by a long-running dashboard would
/// otherwise stay a zombie (with its name in the process table) until the
/// dashboard exits. A PID that is not our child is left alone (ECHILD).
pub fn reap(pid: u32) {
    let Ok(raw) = i32::try_from(pid) else { return };
    let _ = nix::sys::wait::waitpid(
        nix::unistd::Pid::from_raw(raw),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    );
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

/// Starts a lab process that outlives the command starting it: stdin from
/// /dev/null, its own process group (a Ctrl-C in the terminal that ran `up`
/// must not reach it), not waited for (init reaps it). Returns its PID and
/// start time, what a [`super::state::LabProcess`] records.
pub fn spawn_detached(command: &mut std::process::Command) -> std::io::Result<(u32, u64)> {
    use std::os::unix::process::CommandExt;
    let child = command.stdin(std::process::Stdio::null()).process_group(0).spawn()?;
    let pid = child.id();
    std::mem::forget(child);
    Ok((pid, start_ticks(pid).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    struct Sleeper(Child);
    impl Drop for Sleeper {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn sleeper() -> Sleeper {
        Sleeper(Command::new("sleep").arg("30").spawn().expect("spawn sleep"))
    }

    fn exited_within(child: &mut Child, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            // Err: stop() already collected it (ECHILD), so it exited.
            if child.try_wait().map_or(true, |status| status.is_some()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_wrong_start_time_is_never_signalled() {
        let mut child = sleeper();
        let pid = child.0.id();
        let start = start_ticks(pid).expect("a running child has a start time");
        let wrong = Target { pid, start_ticks: start + 1, lvslab_only: false };
        assert!(!signal_if(wrong, Signal::SIGKILL, |_| true), "a recycled PID is not signalled");
        assert!(!exited_within(&mut child.0, Duration::from_millis(300)), "sleep still runs");
    }

    #[test]
    fn the_right_start_time_is_signalled() {
        let mut child = sleeper();
        let pid = child.0.id();
        let target = Target { pid, start_ticks: start_ticks(pid).unwrap(), lvslab_only: false };
        assert!(signal_if(target, Signal::SIGTERM, |_| true));
        assert!(exited_within(&mut child.0, Duration::from_secs(5)), "sleep got SIGTERM");
    }

    #[test]
    fn a_process_that_is_not_lvslab_is_not_signalled_as_lvslab() {
        let mut child = sleeper();
        let pid = child.0.id();
        let target = Target::lvslab(pid, start_ticks(pid).unwrap());
        assert!(!signal(target, Signal::SIGKILL), "sleep is not an lvslab binary");
        assert!(!exited_within(&mut child.0, Duration::from_millis(300)));
        assert!(stop(Target::any_now(pid).unwrap()), "stop() with the right identity stops it");
        assert!(exited_within(&mut child.0, Duration::from_secs(5)));
    }

    /// A detached process stopped by the process that started it leaves
    /// no zombie behind (the dashboard runs for hours and stops servers).
    #[test]
    fn a_stopped_child_is_reaped() {
        let (pid, _) = spawn_detached(Command::new("sleep").arg("30")).unwrap();
        assert!(stop(Target::any_now(pid).unwrap()));
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} is left a zombie");
    }

    #[test]
    fn a_gone_process_is_not_signalled() {
        let mut child = sleeper();
        let pid = child.0.id();
        let target = Target { pid, start_ticks: start_ticks(pid).unwrap(), lvslab_only: false };
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        assert!(!signal_if(target, Signal::SIGTERM, |_| true));
    }
}
