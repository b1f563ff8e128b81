//! Whether this process may change network namespaces: root, or at least
//! CAP_NET_ADMIN and CAP_SYS_ADMIN (namespaces and their mounts need both).

use std::fs;

/// Capability numbers from linux/capability.h.
const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;

/// The effective capability set of this process, from /proc/self/status.
fn effective_caps() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// Whether the process holds CAP_NET_ADMIN (needed for links, routes, IPVS).
pub fn has_net_admin() -> bool {
    effective_caps() & (1 << CAP_NET_ADMIN) != 0
}

/// Whether the process can create and mount named namespaces.
pub fn can_build_labs() -> bool {
    let caps = effective_caps();
    caps & (1 << CAP_NET_ADMIN) != 0 && caps & (1 << CAP_SYS_ADMIN) != 0
}

/// The sentence to print when a privileged command runs unprivileged.
pub fn missing_message(command: &str) -> String {
    format!(
        "lvslab {command} needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network \
         namespaces and links; nothing was changed. Run it as root: sudo lvslab {command} ..."
    )
}
