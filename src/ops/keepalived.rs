//! keepalived as the lab's control plane (`lvslab up LAB --control
//! keepalived`): lvslab writes the lab's `keepalived.conf`, runs Debian's
//! keepalived in the director's namespace, and keepalived programs the IPVS
//! table and health-checks the real servers.
//!
//! Everything of it lives under `/run/lvslab/<lab>/` (configuration, pid
//! files), so it never meets a system keepalived (`/etc/keepalived`,
//! `/run/keepalived.pid`). The process is recorded like the real servers'
//! (PID and start time) under the lab's lock, and every signal to it goes
//! through [`process::signal_if`], which checks, through a pidfd, that the
//! PID is still that keepalived.

use lvslab_core::lab::model::hosts;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::error::LabError;
use super::process::{self, Target, start_ticks};
use super::state::{self, LabProcess, LabState};
use lvslab_core::lab::export::keepalived::{Purpose, to_keepalived};
use lvslab_core::lab::export::rules;
use lvslab_core::lab::model::{Dataplane, HA_DIRECTORS, LabSpec};
use lvslab_ipvs::IpvsClient;

/// The role recorded for the keepalived process.
pub const ROLE: &str = "keepalived";
/// The program run (found on PATH).
pub const PROGRAM: &str = "keepalived";
/// How long keepalived may take to program the table it was given (TCG
/// emulation in the test VM makes start-up 50-100x slower than on hardware).
pub const TABLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long keepalived gets after SIGTERM to remove its table and exit.
const TERM_GRACE: Duration = Duration::from_secs(5);

/// `keepalived --version`'s first line, or `None` when it is not installed.
pub fn version() -> Option<String> {
    let out = Command::new(PROGRAM).arg("--version").output().ok()?;
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    text.lines().find(|l| l.starts_with("Keepalived")).map(|l| l.trim().to_string())
}

/// Refuses (before anything is built) when keepalived is missing.
pub fn require() -> Result<String, LabError> {
    version().ok_or_else(|| {
        LabError::Refused(format!(
            "this lab's control plane is keepalived, but `{PROGRAM}` is not installed \
             (apt-get install keepalived), or use `--control lvslab`"
        ))
    })
}

/// Whether `pid` runs the keepalived binary.
pub fn is_keepalived(pid: u32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|name| name == PROGRAM || name.starts_with("keepalived "))
}

/// What director `host` of `spec` runs: the lab's table and checks, and in
/// an HA lab VRRP too (without the table when the lab has no IPVS).
fn purpose(spec: &LabSpec, host: &str, dataplane: Dataplane) -> Purpose {
    match HA_DIRECTORS.iter().position(|d| *d == host) {
        Some(director) if spec.ha.is_some() => {
            Purpose::Ha { director, balance: dataplane == Dataplane::Ipvs }
        }
        _ => Purpose::Lab,
    }
}

/// Writes each director's configuration atomically (a temporary, then
/// rename), so a reload never reads half a file.
pub fn write_config(spec: &LabSpec, dataplane: Dataplane) -> Result<(), LabError> {
    let io = |e: std::io::Error| LabError::Record(format!("writing keepalived.conf: {e}"));
    let dir = state::lab_dir(&spec.name);
    std::fs::create_dir_all(&dir).map_err(io)?;
    let header = ["Written by lvslab for this lab; rewritten on every live edit.".to_string()];
    for host in spec.directors() {
        let path = state::config_path_of(&spec.name, host);
        let tmp = dir.join(format!(".{host}-keepalived.conf.tmp"));
        let text = to_keepalived(spec, purpose(spec, host, dataplane), &header);
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
    }
    Ok(())
}

/// Starts keepalived in each director's namespace with its configuration,
/// and records it under the lab's lock (a lab torn down meanwhile gets
/// none). Then waits until the table is the one the configuration
/// describes (in an HA lab: in both directors, and a MASTER holds the VIP).
pub fn start(state: &mut LabState) -> Result<Vec<LabProcess>, LabError> {
    let hosts = state.spec.directors();
    let started = start_in(state, &hosts)?;
    if state.dataplane == Dataplane::Ipvs {
        for p in &started {
            wait_table(&state.spec, p, TABLE_TIMEOUT)?;
        }
    }
    if state.spec.ha.is_some() {
        super::vrrp::wait_preferred(&state.spec, TABLE_TIMEOUT)?;
    }
    Ok(started)
}

/// Starts keepalived in a one-director lab without waiting for the table
/// (a caller that expects some real servers to fail their checks waits its
/// own way).
pub fn launch(state: &mut LabState) -> Result<LabProcess, LabError> {
    if state.spec.ha.is_some() {
        return Err(LabError::Refused(
            "an HA lab's directors keep their keepalived (VRRP holds its VIP); use set --fail/--recover".into(),
        ));
    }
    let mut started = start_in(state, &[hosts::DIRECTOR])?;
    Ok(started.remove(0))
}

/// Starts keepalived in directors `hosts` (configurations rewritten first)
/// and records each, replacing any earlier record of the same director.
pub fn start_in(state: &mut LabState, hosts: &[&str]) -> Result<Vec<LabProcess>, LabError> {
    let lab = state.spec.name.clone();
    let record = |e: std::io::Error| LabError::Record(e.to_string());
    let started = {
        let _lock = state::lock(&lab).map_err(record)?;
        if !state::path(&lab).exists() {
            return Err(LabError::Refused(format!(
                "lab '{lab}' has no record any more (it was torn down): keepalived not started"
            )));
        }
        write_config(&state.spec, state.dataplane)?;
        let mut started = Vec::new();
        for host in hosts {
            match spawn(&state.spec, host) {
                Ok(p) => started.push(p),
                Err(e) => {
                    started.iter().for_each(|p| {
                        stop(p);
                    });
                    return Err(e);
                }
            }
        }
        let mine = |q: &LabProcess| q.role == ROLE && hosts.contains(&q.host.as_str());
        let recorded = state::update(&lab, |rec| {
            rec.processes.retain(|q| !mine(q));
            rec.processes.extend(started.iter().cloned());
        });
        if let Err(e) = recorded {
            started.iter().for_each(|p| {
                stop(p);
            });
            return Err(record(e));
        }
        state.processes.retain(|q| !mine(q));
        started
    };
    state.processes.extend(started.iter().cloned());
    Ok(started)
}

fn spawn(spec: &LabSpec, host: &str) -> Result<LabProcess, LabError> {
    let lab = &spec.name;
    let spawn_error =
        |e: std::io::Error| LabError::Refused(format!("cannot start keepalived in {host}: {e}"));
    let log = std::fs::File::create(state::log_path_of(lab, host)).map_err(spawn_error)?;
    let log2 = log.try_clone().map_err(spawn_error)?;
    let pid_file = |name: &str| state::file_of(lab, host, name).display().to_string();
    // `ip netns exec` enters the namespace and execs keepalived, so the PID
    // recorded is keepalived's own.
    let (pid, start_ticks) = process::spawn_detached(
        Command::new("ip")
            .args(["netns", "exec", &spec.netns(host), PROGRAM])
            // Foreground, log to the console (our log file), not to syslog.
            .args(["--dont-fork", "--log-console", "--log-detail", "--no-syslog"])
            .arg("--use-file")
            .arg(state::config_path_of(lab, host))
            // Its own pid files: a system keepalived keeps /run/keepalived*.pid,
            // and each director of an HA lab has its own.
            .args(["--pid", &pid_file("keepalived.pid")])
            .args(["--checkers_pid", &pid_file("checkers.pid")])
            .args(["--vrrp_pid", &pid_file("vrrp.pid")])
            .args(["--bfd_pid", &pid_file("bfd.pid")])
            .stdout(log)
            .stderr(log2),
    )
    .map_err(spawn_error)?;
    Ok(LabProcess { host: host.into(), role: ROLE.into(), port: None, pid, start_ticks })
}

/// The table as `ipvsadm -Sn` lines, sorted (keepalived and lvslab may add
/// destinations in another order; the table is the same set of rules).
fn sorted_rules(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// Director `host`'s table now, as sorted `ipvsadm -Sn` lines.
pub fn kernel_rules(spec: &LabSpec, host: &str) -> Result<Vec<String>, LabError> {
    let table = IpvsClient::open_in(&spec.netns(host))?.table()?;
    Ok(sorted_rules(&rules::from_table(&table)))
}

/// The table `spec` describes, as sorted `ipvsadm -Sn` lines.
pub fn spec_rules(spec: &LabSpec) -> Vec<String> {
    sorted_rules(&rules::from_spec(spec))
}

/// Waits until the table of `p`'s director is the one `spec` describes
/// (every real server healthy), or fails with keepalived's log when it
/// exits or the time is up.
pub fn wait_table(spec: &LabSpec, p: &LabProcess, timeout: Duration) -> Result<(), LabError> {
    let want = spec_rules(spec);
    let deadline = Instant::now() + timeout;
    loop {
        let have = kernel_rules(spec, &p.host)?;
        if have == want {
            return Ok(());
        }
        let died = !(process::alive(p.pid) && start_ticks(p.pid) == Some(p.start_ticks));
        if died || Instant::now() > deadline {
            let log = state::log_path_of(&spec.name, &p.host);
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(LabError::Refused(format!(
                "keepalived in {} {} the table lvslab expects within {} s:\n  want: {}\n  \
                 have: {}\nkeepalived said ({}):\n{}",
                p.host,
                if died { "exited before it programmed" } else { "did not program" },
                timeout.as_secs(),
                want.join(" | "),
                have.join(" | "),
                log.display(),
                lvslab_core::lab::text::shown(&tail.join("\n"))
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The recorded keepalived of `state`, if it still runs (in an HA lab:
/// the first director's that does).
pub fn running(state: &LabState) -> Option<&LabProcess> {
    state.processes.iter().find(|p| p.role == ROLE && is_running(p))
}

/// The recorded keepalived of director `host`, if it still runs.
pub fn running_in<'a>(state: &'a LabState, host: &str) -> Option<&'a LabProcess> {
    state.processes.iter().find(|p| p.role == ROLE && p.host == host && is_running(p))
}

fn is_running(p: &LabProcess) -> bool {
    process::alive(p.pid) && start_ticks(p.pid) == Some(p.start_ticks)
}

/// The signal target of a recorded keepalived (PID and start time).
fn target(p: &LabProcess) -> Target {
    Target { pid: p.pid, start_ticks: p.start_ticks, lvslab_only: false }
}

/// Rewrites the configurations from `state`'s spec and makes each running
/// keepalived reload (SIGHUP), as every live edit of a keepalived lab does.
/// In an HA lab a director whose keepalived was stopped (`set --fail`) gets
/// the new file and reads it when it is started again.
pub fn reload(state: &LabState) -> Result<(), LabError> {
    let running: Vec<&LabProcess> =
        state.processes.iter().filter(|p| p.role == ROLE && is_running(p)).collect();
    if running.is_empty() {
        return Err(LabError::Refused(format!(
            "lab '{}' is controlled by keepalived, but its keepalived is not running \
             (see {}); `lvslab down` and `up` rebuild it",
            state.spec.name,
            state::log_path_of(&state.spec.name, state.spec.directors()[0]).display()
        )));
    }
    write_config(&state.spec, state.dataplane)?;
    for p in running {
        if !process::signal_if(target(p), Signal::SIGHUP, is_keepalived) {
            return Err(LabError::Refused(format!(
                "keepalived in {} could not be signalled to reload",
                p.host
            )));
        }
    }
    Ok(())
}

/// Stops a recorded keepalived: SIGTERM (it removes its IPVS services and
/// exits), SIGKILL after a grace period; every signal guarded. Returns
/// whether it was running.
pub fn stop(p: &LabProcess) -> bool {
    let t = target(p);
    if !process::signal_if(t, Signal::SIGTERM, is_keepalived) {
        return false;
    }
    let gone = |p: &LabProcess| !process::alive(p.pid) || start_ticks(p.pid) != Some(p.start_ticks);
    let deadline = Instant::now() + TERM_GRACE;
    while !gone(p) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if !gone(p) {
        process::signal_if(t, Signal::SIGKILL, is_keepalived);
        let deadline = Instant::now() + Duration::from_secs(1);
        while !gone(p) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    process::reap(p.pid);
    true
}

/// Stops every keepalived `state` records (teardown), returning their PIDs.
pub fn stop_recorded(state: &LabState) -> Vec<u32> {
    state.processes.iter().filter(|p| p.role == ROLE).filter(|p| stop(p)).map(|p| p.pid).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvslab_core::lab::model::LabName;

    #[test]
    fn rule_order_does_not_matter_but_content_does() {
        assert_eq!(sorted_rules("-A x\n-a b\n-a a\n"), sorted_rules("-A x\n-a a\n-a b\n"));
        assert_ne!(sorted_rules("-A x\n-a a\n"), sorted_rules("-A x\n-a a\n-a b\n"));
    }

    #[test]
    fn files_stay_in_the_labs_own_folder() {
        let lab = LabName::new("tutorial").unwrap();
        let conf = state::config_path(&lab);
        assert_eq!(conf, std::path::Path::new("/run/lvslab/labs/tutorial/keepalived.conf"));
        assert!(state::log_path(&lab).starts_with("/run/lvslab/labs/tutorial"));
    }
}
