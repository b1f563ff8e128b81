//! A private view of /run for lvslab commands: a mount namespace with its own
//! tmpfs on /run, so /run/netns and /run/lvslab there hold only what this
//! test made. `down --all` inside it cannot touch another test's (or another
//! engineer's) labs, and everything it names vanishes when it ends. The
//! network, the process table and the host's links are shared.

use std::process::{Child, Command, Output, Stdio};

/// A mount namespace kept alive by a `sleep`; commands join it with nsenter.
pub struct Sandbox {
    holder: Child,
}

impl Sandbox {
    pub fn new() -> Self {
        let holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("run unshare (util-linux)");
        let sandbox = Self { holder };
        // unshare execs sleep once the namespace exists: wait for that.
        let own = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_link(format!("/proc/{}/ns/mnt", sandbox.pid())).ok()
            == Some(own.clone())
            || std::fs::read_to_string(format!("/proc/{}/comm", sandbox.pid()))
                .is_ok_and(|c| c.trim() != "sleep")
        {
            assert!(std::time::Instant::now() < deadline, "unshare did not start");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let out =
            sandbox.sh("mount -t tmpfs -o mode=0755 lvslab-test-run /run && mkdir -p /run/netns");
        assert!(
            out.status.success(),
            "mount a private /run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        sandbox
    }

    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// A command that runs `program` inside the sandbox.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.pid().to_string(), "-m", "--"]).arg(program);
        cmd
    }

    /// Runs the lvslab binary under test with `args` inside the sandbox.
    pub fn lvslab(&self, args: &[&str]) -> Output {
        self.command(super::lvslab_exe()).args(args).output().expect("run lvslab in the sandbox")
    }

    /// Runs a shell line inside the sandbox.
    pub fn sh(&self, line: &str) -> Output {
        self.command("sh").args(["-c", line]).output().expect("run nsenter")
    }

    /// The namespaces under the sandbox's /run/netns.
    pub fn namespaces(&self) -> Vec<String> {
        let out = self.sh("ls /run/netns");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    }

    /// The files under the sandbox's /run/lvslab (none: no record, no mark).
    pub fn records(&self) -> Vec<String> {
        let out = self.sh("cd /run/lvslab 2>/dev/null && find . -mindepth 1 ! -name dashboard.log");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Whatever a failed test left inside goes with the mount namespace;
        // the servers are stopped by the caller's process sweep.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// PIDs of `lvslab serve` processes serving in a namespace of lab `lab`.
pub fn serve_processes(lab: &str) -> Vec<u32> {
    let needle = format!("lvs-{lab}-");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter().any(|a| a == "serve")
                && args.iter().any(|a| a.starts_with(&needle))
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
        })
        .collect()
}

/// Kills lab `lab`'s `lvslab serve` processes when dropped, whatever
/// happened to the test: a lab in a sandbox's /run goes with it, where no
/// `down` finds it, but its servers run in the shared process table.
pub struct ServersGuard(String);

impl ServersGuard {
    pub fn new(lab: impl Into<String>) -> Self {
        Self(lab.into())
    }
}

impl Drop for ServersGuard {
    fn drop(&mut self) {
        kill_servers(&self.0);
    }
}

/// Kills every `lvslab serve` of lab `lab` (cleanup after a failed test).
pub fn kill_servers(lab: &str) {
    for pid in serve_processes(lab) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
