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

    // Table of 256 destinations is in place; poll it both ways.
    let rounds = 15;
    let ours = median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let tb = c.table().unwrap();
                assert_eq!(tb[0].1.len(), 256);
                t.elapsed()
            })
            .collect(),
    );
    let theirs = median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let out = Command::new("ipvsadm").args(["-Ln", "--stats"]).output().unwrap();
                assert!(out.status.success());
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "{:<34} {:>12} {:>12} {:>9}",
        "one stats poll, 256 destinations", "lvslab ms", "ipvsadm ms", "ratio"
    );
    println!(
        "{:<34} {:>12.2} {:>12.2} {:>8.1}x",
        format!("median of {rounds}"),
        ms(ours),
        ms(theirs),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
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
