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

/// The running kernel's release (`6.1.0-56-amd64`).
pub fn release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn module_dir() -> PathBuf {
    Path::new("/lib/modules").join(release()).join("kernel/net/netfilter/ipvs")
}

/// Whether the running kernel can run a scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerSupport {
    /// Loaded, built in, or a module file the kernel loads on first use.
    Present,
    /// The kernel's module directory was read and has no such module, and
    /// it is not built in: adding a service with it fails (ENOENT).
    Missing,
    /// Nothing to read (no /lib/modules for this kernel): the kernel judges
    /// when the service is added.
    Unknown,
}

/// Whether the running kernel can run scheduler `name` (`twos`), probed
/// from what is installed, never from the version: `/sys/module`,
/// `modules.builtin`, then the module files.
pub fn scheduler(name: &str) -> SchedulerSupport {
    let module = format!("ip_vs_{name}");
    let loaded = Path::new("/sys/module").join(&module).exists();
    let builtin =
        std::fs::read_to_string(Path::new("/lib/modules").join(release()).join("modules.builtin"));
    let installed = std::fs::read_dir(module_dir()).ok().map(|_| scheduler_modules());
    judge(name, loaded, builtin.ok().as_deref(), installed.as_deref())
}

/// [`scheduler`]'s verdict from what it read: whether the module is
/// loaded, `modules.builtin`'s text, and the installed scheduler names
/// (`None` when the module directory could not be read).
fn judge(
    name: &str,
    loaded: bool,
    builtin: Option<&str>,
    installed: Option<&[String]>,
) -> SchedulerSupport {
    let file = format!("/ip_vs_{name}.ko");
    let built_in = builtin.is_some_and(|text| text.lines().any(|l| l.trim_end().ends_with(&file)));
    match installed {
        _ if loaded || built_in => SchedulerSupport::Present,
        Some(names) if names.iter().any(|n| n == name) => SchedulerSupport::Present,
        Some(_) => SchedulerSupport::Missing,
        None => SchedulerSupport::Unknown,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduler_is_missing_only_when_the_modules_were_read_and_lack_it() {
        let debian_6_1: Vec<String> = ["fo", "mh", "ovf", "rr", "wrr"].map(String::from).into();
        let builtin = "kernel/net/ipv4/tcp_cubic.ko\nkernel/net/netfilter/ipvs/ip_vs_rr.ko\n";
        assert_eq!(
            judge("twos", false, Some(builtin), Some(&debian_6_1)),
            SchedulerSupport::Missing
        );
        assert_eq!(judge("mh", false, Some(builtin), Some(&debian_6_1)), SchedulerSupport::Present);
        assert_eq!(
            judge("twos", true, None, Some(&debian_6_1)),
            SchedulerSupport::Present,
            "loaded"
        );
        let twos_builtin = "kernel/net/netfilter/ipvs/ip_vs_twos.ko\n";
        assert_eq!(judge("twos", false, Some(twos_builtin), Some(&[])), SchedulerSupport::Present);
        assert_eq!(judge("twos", false, None, None), SchedulerSupport::Unknown);
        assert_eq!(judge("tw", false, Some(twos_builtin), Some(&[])), SchedulerSupport::Missing);
    }
}
