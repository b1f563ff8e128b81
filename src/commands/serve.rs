//! `lvslab serve` (hidden): the body of a real server's HTTP process, which
//! `lvslab up` starts inside the real server's namespace.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Result;
use lvslab::net::netns;
use lvslab::traffic::{ServerConfig, run_server_process};

pub fn run(ns: &str, name: &str, listen: SocketAddr, delay_ms: u64) -> Result<ExitCode> {
    // Before any runtime thread exists: threads inherit the namespace of the
    // thread that creates them, so every socket of the server lands in it.
    netns::enter(ns)?;
    let mut config = ServerConfig::new(name.to_string());
    config.delay = std::time::Duration::from_millis(delay_ms);
    run_server_process(listen, config)?;
    Ok(ExitCode::SUCCESS)
}
