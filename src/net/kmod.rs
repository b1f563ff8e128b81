//! Kernel modules a lab needs beyond IPVS (today: `ipip`, whose fallback
//! device `tunl0` every network namespace gets once it is loaded).

use std::path::Path;
use std::process::Command;

use super::Error;

/// Whether `module` is loaded or built in.
pub fn present(module: &str) -> bool {
    Path::new("/sys/module").join(module).exists()
}

/// `modprobe MODULE`, unless it is already there.
pub fn load(module: &str) -> Result<(), Error> {
    if present(module) {
        return Ok(());
    }
    let status = Command::new("modprobe").arg("-q").arg(module).status();
    if matches!(status, Ok(s) if s.success()) && present(module) {
        return Ok(());
    }
    Err(Error::netlink(
        format!("load kernel module {module}"),
        format!(
            "this kernel has no '{module}' and cannot load it (CONFIG_NET_IPIP for ipip): IP \
             tunnelling (forward = \"tun\") needs the real servers' tunnel interface tunl0; \
             use a kernel that has it (e.g. the test VM, tests/vm/run), or forward = \"dr\""
        ),
    ))
}
