//! IPVS benchmark, run inside the VM as root: lvslab's netlink client
//! against ipvsadm, side by side in one fresh namespace.
//!
//! - programming 1, 64 and 256 destinations: lvslab (one request each, and
//!   pipelined) vs one `ipvsadm -a` process per destination;
//! - one full stats poll of 256 destinations: `IpvsClient::table()` vs
//!   `ipvsadm -Ln --stats`.
//!
//! Prints figures; asserts nothing about time (TCG makes absolute times
//! meaningless, only ratios measured in the same run are).

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use lvslab::ipvs::*;
use lvslab::net::netns;

const NS: &str = "lvsipvs-bench";

fn ipvsadm(args: &[String]) {
    let out = Command::new("ipvsadm").args(args).output().expect("run ipvsadm");
    assert!(out.status.success(), "ipvsadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn dest(i: usize) -> Destination {
    let addr: IpAddr = format!("198.51.{}.{}", 100 + i / 250, 1 + i % 250).parse().unwrap();
    Destination::new(addr, 80, Forward::Masq)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The user-space share of a poll: decoding 256 destination replies (real
/// ones, captured from this kernel in tests/fixtures) without the kernel.
fn decode_only(rounds: usize) -> Duration {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/netlink/kitchen-list.hex"
    ))
    .expect("read the captured replies");
    let mut replies: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        let Some(hex) = line.strip_prefix("rx ") else { continue };
        let hex = hex.trim();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        for msg in wire::messages(&bytes).filter(|m| m.ty > wire::NLMSG_DONE) {
            let reply = wire::parse_reply(msg.payload).unwrap();
            if reply.cmd == u8::from(consts::Cmd::NewDest) {
                replies.push(reply.attrs.to_vec());
            }
        }
    }
    assert!(!replies.is_empty(), "the capture holds destination replies");
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let dests: Vec<Destination> = (0..256)
                    .map(|i| {
                        let attrs = &replies[i % replies.len()];
                        wire::decode_dest(attrs, AddressFamily::Inet).unwrap()
                    })
                    .collect();
                assert_eq!(dests.len(), 256);
                t.elapsed()
            })
            .collect(),
    )
}

/// Where [`copy_ipvsadm_to_tmpfs`] puts ipvsadm, its libraries and loader.
const IPVSADM_COPY: &str = "/dev/shm/ipvsadm-bench";

/// Copies ipvsadm, the libraries it links and the dynamic loader to
/// [`IPVSADM_COPY`]; false when that fails.
fn copy_ipvsadm_to_tmpfs() -> bool {
    copy_ipvsadm().is_some()
}

/// ipvsadm from the tmpfs copy, run through the copied loader so that
/// nothing is read from 9p.
fn ipvsadm_from_tmpfs() -> Command {
    let dir = std::path::Path::new(IPVSADM_COPY);
    let mut cmd = Command::new(dir.join("ld.so"));
    cmd.arg("--library-path").arg(dir.join("lib")).arg(dir.join("ipvsadm"));
    cmd
}

fn copy_ipvsadm() -> Option<()> {
    let dir = std::path::PathBuf::from(IPVSADM_COPY);
    let libs = dir.join("lib");
    std::fs::create_dir_all(&libs).ok()?;
    let which = Command::new("sh").args(["-c", "command -v ipvsadm"]).output().ok()?;
    let installed = String::from_utf8(which.stdout).ok()?.trim().to_string();
    let exe = dir.join("ipvsadm");
    std::fs::copy(&installed, &exe).ok()?;
    let ldd = Command::new("ldd").arg(&installed).output().ok()?;
    let loader = dir.join("ld.so");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let line = line.trim();
        // "libnl-3.so.200 => /lib/x86_64-linux-gnu/libnl-3.so.200 (0x...)"
        if let Some((name, rest)) = line.split_once(" => ") {
            let path = rest.split_whitespace().next()?;
            std::fs::copy(path, libs.join(name)).ok()?;
        } else if line.starts_with('/') {
            // "/lib64/ld-linux-x86-64.so.2 (0x...)": the loader itself.
            std::fs::copy(line.split_whitespace().next()?, &loader).ok()?;
        }
    }
    Some(())
}

fn main() {
    let _ = netns::delete(NS);
    netns::create(NS).expect("create namespace");
    // This process is single-threaded here: enter the namespace for good, so
    // both lvslab's socket and the ipvsadm children use the bench's table.
    netns::enter(NS).expect("enter namespace");
    for cmd in [
        "link set lo up",
        "link add dummy0 type dummy",
        "link set dummy0 up",
        "addr add 198.51.100.254/22 dev dummy0",
    ] {
        assert!(
            Command::new("ip").args(cmd.split_whitespace()).status().unwrap().success(),
            "{cmd}"
        );
    }
    let mut c = IpvsClient::open().expect("IPVS must be available");
    let key =
        ServiceKey::Addr { proto: Protocol::Tcp, addr: "192.0.2.1".parse().unwrap(), port: 80 };
    let svc = Service::new(key, "wrr");

    println!(
        "IPVS benchmark (kernel {}, same VM run)",
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    println!(
        "{:<34} {:>12} {:>12} {:>12} {:>9} {:>9}",
        "programming N destinations",
        "lvslab ms",
        "pipelined ms",
        "ipvsadm ms",
        "ratio",
        "ratio(p)"
    );
    for n in [1usize, 64, 256] {
        let dests: Vec<Destination> = (0..n).map(dest).collect();
        c.flush().unwrap();
        c.add_service(&svc).unwrap();
        let t = Instant::now();
        for d in &dests {
            c.add_destination(&key, d).unwrap();
        }
        let ours = t.elapsed();
        c.flush().unwrap();
        c.add_service(&svc).unwrap();
        let t = Instant::now();
        c.add_destinations(&key, &dests).unwrap();
        let piped = t.elapsed();
        c.flush().unwrap();
        c.add_service(&svc).unwrap();
        let t = Instant::now();
        for d in &dests {
            ipvsadm(&[
                "-a".into(),
                "-t".into(),
                "192.0.2.1:80".into(),
                "-r".into(),
                format!("{}:80", d.addr),
                "-m".into(),
                "-w".into(),
                "1".into(),
            ]);
        }
        let theirs = t.elapsed();
        assert_eq!(c.destinations(&key).unwrap().len(), n);
        println!(
            "{:<34} {:>12.2} {:>12.2} {:>12.2} {:>8.1}x {:>8.1}x",
            format!("N = {n}"),
            ms(ours),
            ms(piped),
            ms(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64(),
            theirs.as_secs_f64() / piped.as_secs_f64()
        );
    }

    // Table of 256 destinations is in place; poll it both ways, alternating
    // round by round so that a change in the host's load hits both sides.
    // ipvsadm runs twice: as installed (its binary and libraries come over
    // the VM's uncached 9p root on every start) and from a tmpfs copy (as
    // from a disk with a warm page cache, the fair comparison).
    let rounds = 31;
    let copied = copy_ipvsadm_to_tmpfs();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut theirs_tmpfs = Vec::new();
    let time_ipvsadm = |cmd: &mut Command| {
        let t = Instant::now();
        let out = cmd.args(["-Ln", "--stats"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.len() > 256 * 40, "the listing holds 256 destinations");
        t.elapsed()
    };
    for _ in 0..rounds {
        let t = Instant::now();
        let tb = c.table().unwrap();
        assert_eq!(tb[0].1.len(), 256);
        ours.push(t.elapsed());
        theirs.push(time_ipvsadm(&mut Command::new("ipvsadm")));
        if copied {
            theirs_tmpfs.push(time_ipvsadm(&mut ipvsadm_from_tmpfs()));
        }
    }
    let ours = median(ours);
    println!(
        "{:<34} {:>12} {:>12} {:>9}",
        "one stats poll, 256 destinations", "lvslab ms", "ipvsadm ms", "ratio"
    );
    for (label, theirs) in
        [("ipvsadm as installed (9p)", theirs), ("ipvsadm from tmpfs", theirs_tmpfs)]
    {
        if theirs.is_empty() {
            println!("{label:<34} (could not copy ipvsadm to tmpfs)");
            continue;
        }
        let theirs = median(theirs);
        println!(
            "{:<34} {:>12.2} {:>12.2} {:>8.1}x",
            format!("{label}, median of {rounds}"),
            ms(ours),
            ms(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
    let svc_only = median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                c.services().unwrap();
                t.elapsed()
            })
            .collect(),
    );
    let dest_only = median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                c.destinations(&key).unwrap();
                t.elapsed()
            })
            .collect(),
    );
    println!("{:<34} {:>12.2}", "  of which: service dump", ms(svc_only));
    println!("{:<34} {:>12.2}", "  of which: 256-destination dump", ms(dest_only));
    println!("{:<34} {:>12.2}", "  decoding 256 destinations", ms(decode_only(rounds)));
    c.flush().unwrap();
    drop(c);
    // Leave the namespace before deleting it: go back to init's.
    let init = std::fs::File::open("/proc/1/ns/net").unwrap();
    nix::sched::setns(init, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
    netns::delete(NS).unwrap();
}
