//! `lvslab serve` (hidden): the body of a real server's HTTP process, which
//! `lvslab up` starts inside the real server's namespace.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;

use anyhow::Result;
use lvslab_sys::netns;
use lvslab_traffic::{ServerConfig, run_server_process};

pub fn run(ns: &str, name: &str, listen: SocketAddr, delay_ms: u64) -> Result<ExitCode> {
    // Before any runtime thread exists: threads inherit the namespace of the
    // thread that creates them, so every socket of the server lands in it.
    netns::enter(ns)?;
    // A teardown may have removed the namespace's name between our open and
    // our setns: then nothing would ever find this server. Teardown deletes
    // names first and sweeps their namespaces for lvslab processes after, so
    // a server that still sees its name here is found by that sweep.
    let own = std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino())?;
    if netns::inode(ns).ok() != Some(own) {
        anyhow::bail!("namespace {ns} was removed while this server started");
    }
    let mut config = ServerConfig::new(name.to_string());
    config.delay = std::time::Duration::from_millis(delay_ms);
    run_server_process(listen, config)?;
    Ok(ExitCode::SUCCESS)
}
