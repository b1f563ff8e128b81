//! Crash safety on this machine's kernel: whatever way an lvslab command or
//! the dashboard ends (SIGKILL at any moment, SIGTERM, SIGHUP when its
//! terminal closes, Ctrl-C during the bring-up), nothing of the lab is left:
//! no `lvs-` namespace, no `lvslab serve` process, no record, no host link.
//! Root; fails without it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::{LabGuard, renamed_preset};
use common::sandbox::{Sandbox, ServersGuard, kill_servers, serve_processes};
use common::tmux::Tmux;
use common::{generated_preset, lvslab, lvslab_exe, output_text, require_root};

/// A lab name no other test (or engineer) uses at the same time.
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", std::process::id())
}

/// What lab `lab` left on the real machine: its namespaces, its servers, its record.
fn leftovers(lab: &str) -> Vec<String> {
    let prefix = format!("lvs-{lab}-");
    let mut left: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default();
    left.extend(serve_processes(lab).iter().map(|pid| format!("lvslab serve pid {pid}")));
    for file in [format!("/run/lvslab/labs/{lab}/record.json"), format!("/run/lvslab/labs/{lab}")] {
        if std::path::Path::new(&file).exists() {
            left.push(file);
        }
    }
    left
}

/// Waits up to `timeout` for lab `lab` to leave nothing behind; returns what is left.
fn wait_clean(lab: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = leftovers(lab);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Removes lab `lab` whatever happened to the test, with the servers of a
/// killed lvslab.
fn cleanup(lab: &str) -> LabGuard {
    LabGuard::new(lab).killing_servers()
}

fn wait_until(what: &str, timeout: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The PID of the lvslab process running `args` (the tmux pane runs it under a shell).
fn lvslab_pid(needle: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.filter_map(Result::ok).find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        (exe.file_name()? == "lvslab" && text.contains(needle) && !text.contains(" serve "))
            .then_some(pid)
    })
}

fn dashboard_in_tmux(test: &str, lab: &str, args: &str) -> Tmux {
    let exe = lvslab_exe();
    let tui = Tmux::start(test, 160, 48, &format!("{} {args}", exe.display()));
    tui.wait_for("the dashboard", Duration::from_secs(30), |s| s.contains("Topology"));
    assert!(leftovers(lab).iter().any(|l| l.contains("serve")), "the lab runs its servers");
    tui
}

#[test]
fn closing_the_terminal_of_the_dashboard_removes_its_lab() {
    require_root();
    let lab = unique("hup");
    let _cleanup = cleanup(&lab);
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", &lab);
    let tui = dashboard_in_tmux("hup", &lab, &format!("tui {} --dataplane none", preset.display()));
    // kill-session closes the pane's terminal: the dashboard gets SIGHUP and
    // every later write to its terminal fails.
    let closed = Instant::now();
    drop(tui);
    let left = wait_clean(&lab, Duration::from_secs(5));
    assert!(left.is_empty(), "after SIGHUP lab '{lab}' left: {left:?}");
    // The lab can be gone a moment before the dashboard's own process is
    // (it is still unwinding): give it what is left of the same 5 s.
    while lvslab_pid(&lab).is_some() && closed.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(lvslab_pid(&lab).is_none(), "the dashboard exited within 5 s");
}

#[test]
fn the_tutorial_dashboard_removes_its_lab_when_its_terminal_closes() {
    require_root();
    let lab = unique("tuthup");
    let _cleanup = cleanup(&lab);
    let tui = dashboard_in_tmux("tuthup", &lab, &format!("tutorial --name {lab} --dataplane none"));
    drop(tui);
    let left = wait_clean(&lab, Duration::from_secs(5));
    assert!(left.is_empty(), "after SIGHUP lab '{lab}' left: {left:?}");
}

#[test]
fn sigterm_to_the_dashboard_removes_its_lab_and_restores_the_terminal() {
    require_root();
    let lab = unique("term");
    let _cleanup = cleanup(&lab);
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", &lab);
    let tui =
        dashboard_in_tmux("term", &lab, &format!("tui {} --dataplane none", preset.display()));
    let pid = lvslab_pid(&lab).expect("the dashboard runs");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let screen = tui.wait_for("exit", Duration::from_secs(10), |s| s.contains("EXITED="));
    assert!(screen.contains(&format!("lab '{lab}' torn down")), "{screen}");
    assert!(!screen.contains("Topology"), "the terminal left the dashboard's screen:\n{screen}");
    let left = wait_clean(&lab, Duration::from_secs(5));
    assert!(left.is_empty(), "after SIGTERM lab '{lab}' left: {left:?}");
}

#[test]
fn a_panic_in_the_dashboard_still_removes_its_lab() {
    require_root();
    let lab = unique("panic");
    let _cleanup = cleanup(&lab);
    let dir = tempfile::tempdir().unwrap();
    let preset = renamed_preset(dir.path(), "tutorial", &lab);
    // Debug builds panic on the UI path after this long (a fault for tests).
    let tui = Tmux::start(
        "panic",
        160,
        48,
        &format!(
            "RUST_BACKTRACE=0 LVSLAB_FAULT_UI_PANIC_MS=3000 {} tui {} --dataplane none",
            lvslab_exe().display(),
            preset.display()
        ),
    );
    tui.wait_for("the dashboard", Duration::from_secs(30), |s| s.contains("Topology"));
    let screen = tui.wait_for("exit", Duration::from_secs(15), |s| s.contains("EXITED="));
    assert!(screen.contains("as a test asked"), "the panic is shown:\n{screen}");
    assert!(screen.contains(&format!("lab '{lab}' torn down")), "{screen}");
    assert!(screen.contains("EXITED=101"), "{screen}");
    let left = wait_clean(&lab, Duration::from_secs(5));
    assert!(left.is_empty(), "after a panic lab '{lab}' left: {left:?}");
}

#[test]
fn ctrl_c_during_the_dashboards_bring_up_leaves_nothing() {
    require_root();
    let lab = unique("cc");
    let _cleanup = cleanup(&lab);
    let dir = tempfile::tempdir().unwrap();
    // Large enough that the bring-up is still running when Ctrl-C arrives.
    let preset = generated_preset(dir.path(), &lab, 48, "rr");
    let exe = lvslab_exe();
    let tui = Tmux::start(
        "cc",
        160,
        48,
        &format!("{} tui {} --dataplane none", exe.display(), preset.display()),
    );
    // Some servers run: the build is past its namespaces, into the spawns.
    wait_until("the first servers", Duration::from_secs(60), || serve_processes(&lab).len() >= 2);
    tui.keys(&["C-c"]);
    let screen = tui.wait_for("exit", Duration::from_secs(30), |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=1") && screen.contains("SIGINT"), "{screen}");
    assert!(screen.contains("rolled back"), "{screen}");
    let left = wait_clean(&lab, Duration::from_secs(5));
    assert!(left.is_empty(), "after Ctrl-C during bring-up lab '{lab}' left: {left:?}");
}

#[test]
fn a_link_planted_at_the_dashboard_log_is_not_followed() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let log = std::path::Path::new("/run/lvslab/dashboard.log");
    std::fs::create_dir_all("/run/lvslab").unwrap();
    let saved = dir.path().join("saved.log");
    let had_log = std::fs::rename(log, &saved).is_ok();
    std::os::unix::fs::symlink(&victim, log).unwrap();
    // The dashboard opens its log first thing, then finds no terminal and stops.
    let out = lvslab()
        .args(["tui", "tutorial", "--dataplane", "none"])
        .env("LVSLAB_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_file(log);
    if had_log {
        let _ = std::fs::rename(&saved, log);
    }
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no dashboard log"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious\n",
        "the link's target is untouched"
    );
}

/// A finished command, shown whole when an assertion about it fails.
struct Ran(std::process::Output);
impl Ran {
    fn success(&self) -> bool {
        self.0.status.success()
    }
}
impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.status, output_text(&self.0))
    }
}

/// xorshift64*: a seeded, reproducible sequence (no crate needed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn host_links() -> usize {
    let out = Command::new("ip").args(["-o", "link", "show"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// `lvslab up` killed with SIGKILL at a random moment, then a random
/// recovery; after each cycle nothing of the lab may be left. Runs in a
/// private /run (see `Sandbox`) so its `down --all` touches only its lab.
/// LVSLAB_CRASH_SEED and LVSLAB_CRASH_CYCLES replay or extend a run.
#[test]
fn sigkill_at_any_moment_of_up_then_any_recovery_leaves_nothing() {
    require_root();
    let cycles: usize =
        std::env::var("LVSLAB_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let seed: u64 =
        std::env::var("LVSLAB_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
                | 1
        });
    println!("crash test: seed {seed} (LVSLAB_CRASH_SEED={seed} replays it), {cycles} cycles");
    let mut rng = Rng(seed);
    let lab = unique("crash");
    let sandbox = Sandbox::new();
    let _servers = ServersGuard::new(&lab);
    let dir = tempfile::tempdir().unwrap();
    let preset = generated_preset(dir.path(), &lab, 2, "rr");
    let preset = preset.to_str().unwrap();
    let exe = lvslab_exe();
    let links_before = host_links();
    let run = |args: &[&str]| Ran(sandbox.lvslab(args));
    // How long a whole `up` takes here: kills land anywhere in it (and a bit after).
    let started = Instant::now();
    assert!(run(&["up", preset, "--dataplane", "none"]).success());
    let up_ms = started.elapsed().as_millis() as u64;
    assert!(run(&["down", &lab]).success());
    println!("crash test: one up takes {up_ms} ms; kills land in 0..{} ms", up_ms + up_ms / 4);

    let started = Instant::now();
    let mut recoveries = [0usize; 3];
    let mut dirty = Vec::new();
    for cycle in 0..cycles {
        let mut up = sandbox
            .command(&exe)
            .args(["up", preset, "--dataplane", "none"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(up_ms + up_ms / 4 + 1)));
        let _ = up.kill();
        up.wait().unwrap();
        let recovery = rng.below(3) as usize;
        recoveries[recovery] += 1;
        match recovery {
            0 => {
                let up_again = run(&["up", preset, "--dataplane", "none"]);
                assert!(up_again.success(), "cycle {cycle}: up after a crash failed: {up_again}");
                assert!(run(&["down", &lab]).success(), "cycle {cycle}: down failed");
            }
            // `down LAB` of a lab killed before its record existed says
            // there is none (exit 1); only what is left matters.
            1 => drop(run(&["down", &lab])),
            _ => assert!(run(&["down", "--all"]).success(), "cycle {cycle}: down --all failed"),
        }
        let mut left: Vec<String> = sandbox.namespaces();
        left.extend(serve_processes(&lab).iter().map(|p| format!("lvslab serve pid {p}")));
        left.extend(sandbox.records().iter().map(|r| format!("/run/lvslab/{r}")));
        let links = host_links();
        if links != links_before {
            left.push(format!("host links {links_before} -> {links}"));
        }
        if !left.is_empty() {
            dirty.push((cycle, recovery, left));
            // Clean for the next cycle, so one fault is not counted many times.
            let _ = run(&["down", "--all", "--force"]);
            kill_servers(&lab);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "crash test: {cycles} cycles in {secs:.1} s (recoveries: up+down {}, down LAB {}, down --all {}); \
         leftovers in {} cycles",
        recoveries[0],
        recoveries[1],
        recoveries[2],
        dirty.len()
    );
    for (cycle, recovery, left) in &dirty {
        println!("  cycle {cycle} (recovery {recovery}): {left:?}");
    }
    assert!(dirty.is_empty(), "seed {seed}: {} cycles left something behind", dirty.len());
}

/// A namespace named like a lab's that lvslab did not make (`ip netns add`,
/// or the exported shell script) survives `up`, `down LAB` and `down --all`,
/// is listed by `ls` and `doctor` as not lvslab's, and `--force` removes it.
#[test]
fn a_namespace_lvslab_did_not_make_is_listed_and_left_alone_unless_forced() {
    require_root();
    let lab = unique("foreign");
    let sandbox = Sandbox::new();
    let _servers = ServersGuard::new(&lab);
    let dir = tempfile::tempdir().unwrap();
    let preset = generated_preset(dir.path(), &lab, 1, "rr");
    let preset = preset.to_str().unwrap();
    let foreign = format!("lvs-{lab}-extra");
    let out = sandbox.sh(&format!("ip netns add {foreign}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Something runs inside it, as the shell script's python servers would.
    let out = sandbox.sh(&format!("ip netns exec {foreign} sleep 300 >/dev/null 2>&1 & echo $!"));
    let sleeper: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let _sleeper = Kill(sleeper);
    let lvslab = |args: &[&str]| sandbox.lvslab(args);

    let up = lvslab(&["up", preset, "--dataplane", "none"]);
    assert!(up.status.success(), "{}", output_text(&up));
    assert!(sandbox.namespaces().contains(&foreign), "up left it alone");
    let ls = lvslab(&["ls"]);
    assert!(
        output_text(&ls).contains(&foreign) && output_text(&ls).contains("not lvslab's"),
        "{}",
        output_text(&ls)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&lvslab(&["ls", "--json"]).stdout).unwrap();
    assert_eq!(json["foreign_namespaces"], serde_json::json!([foreign]), "{json}");
    assert_eq!(json["labs"][0]["lab"], serde_json::json!(lab), "{json}");
    let doctor = lvslab(&["doctor"]);
    assert!(
        output_text(&doctor).contains("not lvslab's") && output_text(&doctor).contains(&foreign),
        "{}",
        output_text(&doctor)
    );

    let down = lvslab(&["down", &lab]);
    assert!(down.status.success(), "{}", output_text(&down));
    assert!(
        output_text(&down).contains("left alone") && output_text(&down).contains("--force"),
        "{}",
        output_text(&down)
    );
    assert_eq!(sandbox.namespaces(), vec![foreign.clone()], "down LAB removed only lvslab's");
    let down = lvslab(&["down", "--all"]);
    assert!(down.status.success(), "{}", output_text(&down));
    assert_eq!(sandbox.namespaces(), vec![foreign.clone()], "down --all left it alone");
    assert!(std::path::Path::new(&format!("/proc/{sleeper}")).exists(), "its process still runs");

    let down = lvslab(&["down", "--all", "--force"]);
    assert!(down.status.success(), "{}", output_text(&down));
    assert!(sandbox.namespaces().is_empty(), "--force removed it");
    wait_until("the process inside to stop", Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{sleeper}/stat"))
            .map_or(true, |s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
    });
    assert!(sandbox.records().is_empty(), "{:?}", sandbox.records());
}
