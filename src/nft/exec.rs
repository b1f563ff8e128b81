//! Running `nft` and `conntrack` inside a lab namespace: the command is
//! started from a thread that has entered the namespace (see
//! [`lvslab_sys::netns::run_in`]), so it sees only that namespace's tables;
//! the host's ruleset is never read or changed.

use std::io::Write;
use std::process::{Command, Stdio};

use super::Error;
use lvslab_sys::netns;

/// Runs `program args` in namespace `ns`, with `input` on its standard
/// input; its standard output, or an error quoting its standard error.
fn run(
    ns: &str,
    program: &'static str,
    args: &[&str],
    input: Option<&str>,
) -> Result<String, Error> {
    let output = netns::run_in(ns, || {
        let mut child = Command::new(program)
            .args(args)
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(text.as_bytes())?;
        }
        child.wait_with_output()
    })?
    .map_err(|e| Error::Spawn { program, source: e })?;
    if !output.status.success() {
        return Err(Error::Failed {
            command: format!("{program} {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Applies `script` in one `nft -f -` transaction: all of it, or none.
pub fn apply(ns: &str, script: &str) -> Result<(), Error> {
    run(ns, "nft", &["-f", "-"], Some(script)).map(drop)
}

/// `nft -j list counters table ip lvslab`.
pub fn list_counters(ns: &str) -> Result<String, Error> {
    run(ns, "nft", &["-j", "list", "counters", "table", super::FAMILY, super::TABLE], None)
}

/// `conntrack -L`: the namespace's connection tracking table.
pub fn conntrack(ns: &str) -> Result<String, Error> {
    run(ns, "conntrack", &["-L"], None)
}

/// Whether the `nft` command runs (the default dataplane's choice; the
/// bring-up's [`probe`] then tries a table for real).
pub fn has_nft() -> bool {
    Command::new("nft")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the `conntrack` command runs (it gives the active/inactive
/// connection counts; balancing works without it).
pub fn has_conntrack() -> bool {
    Command::new("conntrack")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether nftables with NAT, numgen and jhash works here: the same kind of
/// table lvslab programs, tried in a namespace of its own that is gone when
/// the check ends. Never touches the host's ruleset.
pub fn probe() -> Result<(), Error> {
    let script = "table ip lvslab-probe {\n  chain p {\n    type nat hook prerouting priority dstnat; policy accept;\n    \
        meta l4proto tcp numgen inc mod 2 vmap { 0 : accept, 1 : accept }\n    \
        meta l4proto tcp jhash ip saddr mod 2 vmap { 0 : accept, 1 : accept }\n    \
        meta l4proto tcp dnat to 198.51.100.11:80\n  }\n}\n";
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                    Error::Namespace(crate::net::Error::sys("unshare a probe namespace", e))
                })?;
                let mut child = Command::new("nft")
                    .args(["-f", "-"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| Error::Spawn { program: "nft", source: e })?;
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(script.as_bytes());
                }
                let output = child
                    .wait_with_output()
                    .map_err(|e| Error::Spawn { program: "nft", source: e })?;
                if output.status.success() {
                    Ok(())
                } else {
                    Err(Error::Failed {
                        command: "nft -f - (a probe table in a throwaway namespace)".into(),
                        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                    })
                }
            })
            .join()
            .expect("probe thread panicked")
    })
}
