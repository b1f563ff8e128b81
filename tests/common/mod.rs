//! Shared by the root tests and the benchmarks: running the binary, reading
//! the machine's network state, and generating large presets.

#![allow(dead_code)] // each test target uses a different part

pub mod diagnose;
pub mod lab;
pub mod prom;
pub mod sandbox;
pub mod schema;
pub mod tmux;

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Fails (never skips) outside the test VM: tests/vm/run sets LVSLAB_VM=1
/// in the guest, where the kernel has IPVS.
pub fn require_vm() {
    assert_eq!(
        std::env::var("LVSLAB_VM").as_deref(),
        Ok("1"),
        "this test needs IPVS and runs only inside the test VM: use tests/vm/suite"
    );
}

/// Fails (never skips) without root: the root tests build network
/// namespaces, links and labs on this machine's kernel.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (it builds network namespaces): run it as root, as CI does"
    );
}

/// Fails (never skips) on a kernel with IPVS: the test checks what a user
/// without IPVS gets, which such a kernel cannot show. IPVS itself is
/// tested in the VM (tests/vm/suite).
pub fn require_no_ipvs() {
    assert!(
        !Path::new("/proc/net/ip_vs").exists(),
        "this kernel has IPVS: this test checks the machine without it; the IPVS side runs in \
         the VM (tests/vm/suite)"
    );
}

/// One test at a time, as root, for the tests of a target that compare the
/// whole machine before and after (or run `down --all`): none may see
/// another's lab. A test that failed holding it does not stop the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    require_root();
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a command said, stdout then stderr, for a failure message.
pub fn output_text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The lvslab binary under test: the one cargo built for this run, or
/// `LVSLAB_BIN` when set. tests/vm/suite sets it to a copy on the VM's tmpfs:
/// the VM reads target/ over 9p without caching, so every start of the
/// debug binary (each command, each real-server process) read it again and
/// took 3 to 9 s.
pub fn lvslab_exe() -> PathBuf {
    std::env::var_os("LVSLAB_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_lvslab")), PathBuf::from)
}

/// A command running the lvslab binary under test.
pub fn lvslab() -> Command {
    Command::new(lvslab_exe())
}

/// Runs lvslab with `args`, failing the test with its stderr if it fails.
pub fn lvslab_ok(args: &[&str]) -> Output {
    let out = lvslab().args(args).output().expect("run lvslab");
    assert!(out.status.success(), "lvslab {args:?} failed: {}", output_text(&out));
    out
}

/// Runs a command, failing the test with its output if it fails. Says how
/// long it took (seen with --nocapture), to keep a VM target's time in check.
pub fn ok(cmd: &mut Command) -> Output {
    let started = std::time::Instant::now();
    let out = cmd.output().expect("command runs");
    eprintln!("[{:5.1} s] {cmd:?}", started.elapsed().as_secs_f64());
    assert!(out.status.success(), "{cmd:?} failed: {}", output_text(&out));
    out
}

/// Runs `program args` inside namespace `netns` as `ip netns exec` does,
/// failing the test with its output if it fails; its standard output.
pub fn in_netns_ok(netns: &str, program: &str, args: &[&str]) -> String {
    let out = ok(Command::new("ip").args(["netns", "exec", netns, program]).args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a user would compare before and after: namespaces, the host's
/// links, and lvslab's records.
#[derive(Debug, PartialEq, Eq)]
pub struct MachineState {
    pub netns: String,
    pub links: String,
    pub records: Vec<String>,
}

pub fn machine_state() -> MachineState {
    let run = |args: &[&str]| {
        let out = Command::new(args[0]).args(&args[1..]).output().expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut netns: Vec<String> =
        run(&["ip", "netns", "list"]).lines().map(str::to_string).collect();
    netns.sort();
    let mut records: Vec<String> = std::fs::read_dir("/run/lvslab")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // The dashboard's log stays (for after a crash); it is no record.
                .filter(|name| name != "dashboard.log")
                .collect()
        })
        .unwrap_or_default();
    records.sort();
    MachineState { netns: netns.join("\n"), links: run(&["ip", "-o", "link", "show"]), records }
}

/// A preset with `servers` real servers under `scheduler`, on the large-lab
/// range 198.18.0.0/15, written to a temporary file.
pub fn generated_preset(dir: &Path, name: &str, servers: usize, scheduler: &str) -> PathBuf {
    let mut text = format!(
        "name = \"{name}\"\ndescription = \"generated: {servers} real servers\"\n\
         [networks]\nclient = \"203.0.113.0/24\"\nservers = \"198.18.0.0/15\"\n\
         [client]\naddress = \"203.0.113.2\"\n\
         [director]\nvip = \"203.0.113.1\"\ndip = \"198.18.0.1\"\n"
    );
    for i in 0..servers {
        let addr = 0xC612_0000u32 + 10 + i as u32; // 198.18.0.10 + i
        let ip = std::net::Ipv4Addr::from(addr);
        write!(text, "[[real-server]]\nname = \"rs{}\"\naddress = \"{ip}\"\n", i + 1).unwrap();
    }
    write!(text, "[[service]]\nport = 80\nscheduler = \"{scheduler}\"\n").unwrap();
    for i in 0..servers {
        write!(text, "[[service.real-server]]\nname = \"rs{}\"\n", i + 1).unwrap();
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write preset");
    path
}

/// PIDs of every process named `comm` on the machine (in the VM, the
/// tests' own keepalived are the only ones).
pub fn pids_named(comm: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .collect()
}
