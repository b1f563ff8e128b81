//! Per-namespace sysctls. Files under /proc/sys/net belong to the network
//! namespace of the thread that opens them, so they are read and written on a
//! thread inside the lab's namespace.

use std::fs;
use std::path::PathBuf;

use lvslab_sys::{Error, netns};

fn proc_path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

/// `ip netns exec NETNS sysctl -w KEY=VALUE`.
pub fn write(netns_name: &str, key: &str, value: &str) -> Result<(), Error> {
    let path = proc_path(key);
    netns::run_in(netns_name, || fs::write(&path, value))?.map_err(|e| Error::io("write", &path, e))
}

/// `ip netns exec NETNS sysctl -n KEY`.
pub fn read(netns_name: &str, key: &str) -> Result<String, Error> {
    let path = proc_path(key);
    netns::run_in(netns_name, || fs::read_to_string(&path))?
        .map(|v| v.trim().to_string())
        .map_err(|e| Error::io("read", &path, e))
}

/// `sysctl -n KEY` in lvslab's own namespace: for the host-wide keys a lab
/// shares with the host (the neighbour table's thresholds).
pub fn read_here(key: &str) -> Result<String, Error> {
    let path = proc_path(key);
    fs::read_to_string(&path).map(|v| v.trim().to_string()).map_err(|e| Error::io("read", &path, e))
}
