//! `lvslab serve` (hidden): the body of a real server's HTTP process, which
//! `lvslab up` starts inside the real server's namespace.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use lvslab_sys::netns;
use lvslab_traffic::{ServerConfig, run_server_process};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use tracing::warn;

/// What bounds the connections a server keeps (`--max-connections`,
/// `--idle-timeout`).
pub struct Limits {
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// File descriptors the process needs besides its connections (the listener,
/// the runtime, standard streams).
const SPARE_FDS: u64 = 64;

pub fn run(
    ns: Option<&str>,
    name: &str,
    listen: SocketAddr,
    delay_ms: u64,
    limits: Limits,
) -> Result<ExitCode> {
    // Before any runtime thread exists: threads inherit the namespace of the
    // thread that creates them, so every socket of the server lands in it.
    // Without one (a containerlab node), the process's own namespace is the host's.
    if let Some(ns) = ns {
        netns::enter(ns)?;
        // A teardown may have removed the namespace's name between our open and
        // our setns: then nothing would ever find this server. Teardown deletes
        // names first and sweeps their namespaces for lvslab processes after, so
        // a server that still sees its name here is found by that sweep.
        let own = std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino())?;
        if netns::inode(ns).ok() != Some(own) {
            anyhow::bail!("namespace {ns} was removed while this server started");
        }
    }
    let mut config = ServerConfig::new(name.to_string());
    config.delay = std::time::Duration::from_millis(delay_ms);
    config.max_connections = room_for(limits.max_connections);
    config.idle_timeout = limits.idle_timeout;
    run_server_process(listen, config)?;
    Ok(ExitCode::SUCCESS)
}

/// Raises the soft file-descriptor limit so `max` connections fit, and
/// returns the cap that fits: lower than `max` when the hard limit is, so a
/// connection beyond it is refused at once instead of waiting in the
/// backlog for a descriptor (accept failing with EMFILE).
fn room_for(max: usize) -> usize {
    let want = (max as u64).saturating_add(SPARE_FDS);
    let Ok((mut soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return max };
    if soft < want && setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard).is_ok() {
        soft = want.min(hard);
    }
    if soft >= want {
        return max;
    }
    let fits = usize::try_from(soft.saturating_sub(SPARE_FDS)).unwrap_or(max).clamp(1, max);
    warn!(
        max_connections = max,
        fits, "the file-descriptor limit ({soft}) holds fewer connections: serving at most {fits}"
    );
    fits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_limit_is_raised_to_the_cap_or_the_cap_lowered_to_it() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(room_for(100), 100, "a small cap fits any usual limit");
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert!(soft >= 164, "raised to at least the cap and spare: {soft}");
        // A cap beyond the hard limit is lowered to what it holds.
        if hard < 1_000_000 {
            assert_eq!(room_for(1_000_000) as u64, hard - SPARE_FDS);
        }
    }
}
