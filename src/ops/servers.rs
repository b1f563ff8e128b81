//! The real servers' HTTP processes: one `lvslab serve` per real server and
//! port, started detached inside the real server's namespace so the lab works
//! while no lvslab command runs, and recorded in the state file.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::error::LabError;
use super::process::{self, Target, start_ticks};
use super::state::{self, LabProcess, LabState};
use lvslab_core::lab::model::{LabName, RealServer};
use lvslab_sys::netns;

/// The role recorded for these processes.
pub const ROLE: &str = "http-server";
/// How long a new server may take to accept connections (the VM's TCG
/// emulation makes process start-up 50-100x slower than on hardware).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a recorded process is still the one that was started.
pub fn is_running(p: &LabProcess) -> bool {
    process::alive(p.pid) && start_ticks(p.pid) == Some(p.start_ticks)
}

/// Starts every server that should run and does not (all of them on a new
/// lab; the dead ones on `up` of a running lab), records them in `state`, and
/// waits until each accepts connections. Returns how many were started.
pub fn start_missing(state: &mut LabState) -> Result<usize, LabError> {
    state.processes.retain(is_running);
    let spec = state.spec.clone();
    let mut started = Vec::new();
    for rs in &spec.real_servers {
        for port in spec.listen_ports(&rs.name) {
            let running = state.processes.iter().any(|p| p.host == rs.name && p.port == Some(port));
            if !running {
                let p = spawn_recorded(&spec.name, rs, &spec.netns(&rs.name), port)?;
                started.push((p, rs.addr));
            }
        }
    }
    for (p, addr) in &started {
        wait_ready(&spec.name, &spec.netns(&p.host), *addr, p)?;
    }
    let count = started.len();
    state.processes.extend(started.into_iter().map(|(p, _)| p));
    Ok(count)
}

/// Stops the server(s) of real server `host`, and forgets them.
pub fn stop_host(state: &mut LabState, host: &str) -> usize {
    let mut stopped = 0;
    state.processes.retain(|p| {
        if p.host != host {
            return true;
        }
        if process::stop(Target::lvslab(p.pid, p.start_ticks)) {
            stopped += 1;
        }
        false
    });
    stopped
}

/// Spawns one server under the lab's lock and records it at once, so that
/// no moment exists in which it runs unrecorded while another lvslab tears
/// the lab down; a lab without a record (torn down meanwhile) gets none.
fn spawn_recorded(
    lab: &LabName,
    rs: &RealServer,
    ns: &str,
    port: u16,
) -> Result<LabProcess, LabError> {
    let record = |e: std::io::Error| LabError::Record(e.to_string());
    let _lock = state::lock(lab).map_err(record)?;
    if !state::path(lab).exists() {
        return Err(LabError::Refused(format!(
            "lab '{lab}' has no record any more (it was torn down): {} not started",
            rs.name
        )));
    }
    let p = spawn(lab, rs, ns, port)?;
    let recorded = state::update(lab, |rec| {
        rec.processes.retain(|q| is_running(q) && !(q.host == p.host && q.port == p.port));
        rec.processes.push(p.clone());
    });
    if let Err(e) = recorded {
        process::stop(Target::lvslab(p.pid, p.start_ticks));
        return Err(record(e));
    }
    Ok(p)
}

fn spawn(lab: &LabName, rs: &RealServer, ns: &str, port: u16) -> Result<LabProcess, LabError> {
    let host = rs.name.as_str();
    let spawn_error = |source| LabError::Spawn { host: host.to_string(), source };
    // /proc/self/exe, not the path: it is this very binary even if the file
    // was replaced (rebuilt) since this process started.
    let exe = PathBuf::from("/proc/self/exe");
    let log = state::server_log_path(lab, host, port);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(spawn_error)?;
    }
    let stderr = std::fs::File::create(&log).map_err(spawn_error)?;
    let listen = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let (pid, start_ticks) = process::spawn_detached(
        Command::new(exe)
            .args(["serve", "--netns", ns, "--name", host, "--listen", &listen.to_string()])
            .args(["--delay-ms", &rs.delay_ms.to_string()])
            .stdout(Stdio::null())
            .stderr(stderr),
    )
    .map_err(spawn_error)?;
    Ok(LabProcess {
        host: host.to_string(),
        role: ROLE.to_string(),
        port: Some(port),
        pid,
        start_ticks,
    })
}

/// Waits until the server accepts a connection on its own address, from
/// inside its namespace.
fn wait_ready(lab: &LabName, ns: &str, addr: Ipv4Addr, p: &LabProcess) -> Result<(), LabError> {
    let port = p.port.unwrap_or(80);
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let connected = netns::run_in(ns, || {
            TcpStream::connect_timeout(&SocketAddr::from((addr, port)), Duration::from_millis(200))
                .is_ok()
        })?;
        if connected {
            return Ok(());
        }
        if !process::alive(p.pid) || Instant::now() > deadline {
            let log = state::server_log_path(lab, &p.host, port);
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let why =
                if said.trim().is_empty() { String::new() } else { format!(": {}", said.trim()) };
            return Err(LabError::ServerStart {
                host: p.host.clone(),
                port,
                why,
                log: log.display().to_string(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
