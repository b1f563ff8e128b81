//! Driving a terminal program as a person would: tmux runs it, `send-keys`
//! types, `capture-pane` reads the screen.

use std::process::Command;
use std::time::{Duration, Instant};

/// A detached tmux session running one command; killed on drop.
pub struct Tmux {
    session: String,
}

impl Tmux {
    /// Starts `command` in a new session of `width`x`height`.
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Self {
        let session = format!("lvslab-test-{name}-{}", std::process::id());
        let status = tmux()
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(format!("{command}; echo EXITED=$?; sleep 600"))
            .status()
            .expect("run tmux (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        Self { session }
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        let out = tmux()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types keys (tmux key names, e.g. "q", "Space", "j").
    pub fn keys(&self, keys: &[&str]) {
        let status =
            tmux().args(["send-keys", "-t", &self.session]).args(keys).status().expect("send-keys");
        assert!(status.success());
    }

    /// Waits until the screen satisfies `check`, or panics showing the screen.
    pub fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = tmux().args(["kill-session", "-t", &self.session]).status();
    }
}

fn tmux() -> Command {
    let mut cmd = Command::new("tmux");
    // Inside the VM the 9p root cannot hold sockets; /dev/shm can.
    if std::env::var_os("TMUX_TMPDIR").is_none() && std::path::Path::new("/dev/shm").is_dir() {
        cmd.env("TMUX_TMPDIR", "/dev/shm");
    }
    cmd
}

/// The number after `label` on the first screen line containing it.
pub fn number_after(screen: &str, label: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains(label))?;
    let rest = &line[line.find(label)? + label.len()..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}
