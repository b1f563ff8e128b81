//! Whether a lab's neighbour (ARP) entries fit the host's neighbour table.
//!
//! The table's garbage-collection thresholds (`net.ipv4.neigh.default.
//! gc_thresh1/2/3`) are global, shared by every namespace, and not settable
//! per namespace: past `gc_thresh3` the kernel drops entries it still needs,
//! and connections wait for ARP or time out (issue 28 measured 65 of 2,000
//! failed through 1,000 real servers at the default 1,024). lvslab never
//! changes a host setting; `up` and `doctor` say when the limit applies and
//! the command that lifts it.

/// The threshold past which entries in use are dropped.
pub const GC_THRESH3: &str = "net.ipv4.neigh.default.gc_thresh3";

/// Dynamic entries one real server adds: its own for the DIP (its
/// gateway) and the director's for it.
pub const ENTRIES_PER_SERVER: u64 = 2;
/// Entries of the rest of a lab: the client's for the VIP, the director's
/// for the client (a router or an HA switch adds a few more; they are
/// within this margin).
pub const ENTRIES_BESIDE_SERVERS: u64 = 4;

/// The dynamic neighbour entries a lab of `servers` real servers keeps.
pub fn entries(servers: usize) -> u64 {
    servers as u64 * ENTRIES_PER_SERVER + ENTRIES_BESIDE_SERVERS
}

/// The note for a lab of `servers` real servers on a host whose
/// `gc_thresh3` is `thresh3`, or `None` when its entries fit.
pub fn note(servers: usize, thresh3: u64) -> Option<String> {
    let needed = entries(servers);
    if needed <= thresh3 {
        return None;
    }
    // Headroom for the other labs and the host's own entries.
    let lift = (needed * 2).next_power_of_two();
    Some(format!(
        "this lab's {servers} real servers keep about {needed} neighbour (ARP) entries, more \
         than the host's net.ipv4.neigh.default.gc_thresh3 = {thresh3} (global, shared by all \
         namespaces): the kernel will drop entries in use and connections will wait or time \
         out. lvslab does not change host settings; to lift it, run on the host: \
         sysctl -w {GC_THRESH3}={lift}"
    ))
}

/// The most real servers whose entries fit under `thresh3` (for `doctor`).
pub fn servers_fitting(thresh3: u64) -> u64 {
    thresh3.saturating_sub(ENTRIES_BESIDE_SERVERS) / ENTRIES_PER_SERVER
}

/// What `doctor` says of the host's `thresh3`.
pub fn capacity(thresh3: u64) -> String {
    format!(
        "{GC_THRESH3} = {thresh3}: labs of up to {} real servers keep their ARP entries; for \
         more, run `sysctl -w {GC_THRESH3}=N` on the host (lvslab never changes it)",
        servers_fitting(thresh3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_within_the_threshold_gets_no_note() {
        assert_eq!(note(2, 1024), None);
        assert_eq!(note(510, 1024), None, "510 × 2 + 4 = 1024 fits exactly");
        assert_eq!(servers_fitting(1024), 510);
        assert!(capacity(1024).contains("gc_thresh3 = 1024: labs of up to 510 real servers"));
    }

    #[test]
    fn a_lab_past_the_threshold_names_the_value_and_the_command_that_lifts_it() {
        let text = note(1000, 1024).unwrap();
        assert!(text.contains("about 2004 neighbour (ARP) entries"), "{text}");
        assert!(text.contains("gc_thresh3 = 1024"), "{text}");
        assert!(text.ends_with("sysctl -w net.ipv4.neigh.default.gc_thresh3=4096"), "{text}");
        assert!(note(511, 1024).is_some(), "one past: 1026 entries");
        // A host already lifted has no note at that size.
        assert_eq!(note(1000, 4096), None);
    }
}
