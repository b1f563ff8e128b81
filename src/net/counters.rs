//! Kernel counters of one namespace: the SNMP-style counters of
//! `/proc/net/netstat` (e.g. `TcpExt: IPReversePathFilter`) and a link's
//! packet counts from `/proc/net/dev`. Both files show the network
//! namespace of the thread that reads them, so they are read through
//! `/proc/thread-self` on a thread inside the namespace (`/proc/self` is
//! the process's main thread, which stays in the host's namespace).

use std::fs;

use lvslab_sys::{Error, netns};

/// Counter `name` of group `group` (`TcpExt`, `IpExt`) in `netstat`, the
/// text of `/proc/net/netstat`: a line of names then a line of values per group.
pub fn netstat_counter(netstat: &str, group: &str, name: &str) -> Option<u64> {
    let prefix = format!("{group}:");
    let mut lines = netstat.lines().filter(|l| l.starts_with(&prefix));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let found = names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.parse().ok());
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Received packets of link `link` in `dev`, the text of `/proc/net/dev`
/// (`  tunl0: bytes packets errs ...`).
pub fn rx_packets(dev: &str, link: &str) -> Option<u64> {
    dev.lines().find_map(|line| {
        let (name, counts) = line.split_once(':')?;
        (name.trim() == link).then(|| counts.split_whitespace().nth(1)?.parse().ok())?
    })
}

fn read(netns_name: &str, file: &str) -> Result<String, Error> {
    let path = format!("/proc/thread-self/net/{file}");
    netns::run_in(netns_name, || fs::read_to_string(&path))?
        .map_err(|e| Error::io("read", &path, e))
}

/// `/proc/net/netstat` as namespace `netns_name` sees it.
pub fn netstat(netns_name: &str) -> Result<String, Error> {
    read(netns_name, "netstat")
}

/// `/proc/net/dev` as namespace `netns_name` sees it.
pub fn dev(netns_name: &str) -> Result<String, Error> {
    read(netns_name, "dev")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETSTAT: &str = "TcpExt: SyncookiesSent SyncookiesRecv\n\
        TcpExt: 0 0\n\
        IpExt: InNoRoutes InTruncatedPkts\n\
        IpExt: 0 7\n\
        TcpExt: IPReversePathFilter TW\n\
        TcpExt: 3 1\n";

    #[test]
    fn a_netstat_counter_is_read_by_group_and_name() {
        assert_eq!(netstat_counter(NETSTAT, "TcpExt", "IPReversePathFilter"), Some(3));
        assert_eq!(netstat_counter(NETSTAT, "IpExt", "InTruncatedPkts"), Some(7));
        assert_eq!(netstat_counter(NETSTAT, "IpExt", "IPReversePathFilter"), None);
        assert_eq!(netstat_counter(NETSTAT, "TcpExt", "Missing"), None);
    }

    #[test]
    fn a_links_received_packets_are_the_second_count() {
        let dev = "Inter-|   Receive                            |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes\n    \
             lo:     120       2    0    0    0     0          0         0      120\n  \
             tunl0:     480       8    0    0    0     0          0         0        0\n";
        assert_eq!(rx_packets(dev, "tunl0"), Some(8));
        assert_eq!(rx_packets(dev, "lo"), Some(2));
        assert_eq!(rx_packets(dev, "eth0"), None);
    }
}
