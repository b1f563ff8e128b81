//! Whether this kernel has IPVS, and why not: `lvslab doctor` and the
//! no-IPVS errors say what to do about it.

use std::path::{Path, PathBuf};

use lvslab_sys::kconfig::{self, Built};

/// IPVS on the running kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// `ip_vs` is loaded (or built in).
    Loaded,
    /// A module exists but is not loaded (`modprobe ip_vs`).
    NotLoaded,
    /// `CONFIG_IP_VS=m` but no module is installed for this kernel.
    ModuleMissing,
    /// Not in this kernel at all.
    Absent,
}

/// What the running kernel offers.
pub fn support() -> Support {
    if Path::new("/proc/net/ip_vs").exists() {
        return Support::Loaded;
    }
    let installed = !scheduler_modules().is_empty();
    match kconfig::option("CONFIG_IP_VS") {
        Some(Built::Module) | None if installed => Support::NotLoaded,
        Some(Built::Module) => Support::ModuleMissing,
        _ => Support::Absent,
    }
}

fn module_dir() -> PathBuf {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Path::new("/lib/modules").join(release).join("kernel/net/netfilter/ipvs")
}

/// Scheduler modules installed for the running kernel, sorted
/// (`ip_vs_rr.ko.xz` → `rr`); the core and helper modules are included,
/// so callers keep the names they know.
pub fn scheduler_modules() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(module_dir()) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            n.strip_prefix("ip_vs_").and_then(|r| r.split('.').next()).map(str::to_string)
        })
        .collect();
    names.sort();
    names
}
