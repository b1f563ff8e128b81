//! IPVS benchmark, run inside the VM as root, in one fresh namespace:
//!
//! - **the poll against the floor**: one full stats poll of 256 destinations
//!   (`IpvsClient::table()`) against the kernel's own dump time for the same
//!   table, measured as a bare loop that sends the same two dump requests
//!   (services, then the service's destinations) on its own socket and
//!   receives until each `NLMSG_DONE`, looking at nothing but the netlink
//!   message headers. No client can read the table faster than that; the
//!   ratio is what lvslab's own work (requests, decoding, the result)
//!   costs on top;
//! - **bulk programming against `ipvsadm -R`**: 256 destinations added by
//!   lvslab (one request at a time, and pipelined) against one ipvsadm
//!   process reading the same 256 rules on stdin (the fair peer: a single
//!   process start, then one request per rule); one destination too;
//! - the poll against `ipvsadm -Ln --stats` (one process per listing);
//! - where a poll's time goes: the service dump, the destination dump, and
//!   decoding alone (replies captured from this kernel, no socket).
//!
//! Rounds alternate the sides compared, so that a change in the host's load
//! hits both. Prints figures; asserts nothing about time: under TCG
//! absolute times are meaningless, only ratios measured in the same run are.
//!
//! `--profile-poll N` only polls N times, `--profile-floor N` only runs the
//! floor's dumps (for `perf record` and `perf stat`); `--decode-only N`
//! only decodes captured replies (no kernel, no root needed).

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lvslab_ipvs::*;
use lvslab_sys::netns;
use neli::consts::nl::NlmF;
use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;

const NS: &str = "lvsipvs-bench";
const VIP: &str = "192.0.2.1:80";
/// Destinations in the polled table and in bulk programming.
const N: usize = 256;

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

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

/// The floor: the same dump requests the poll sends, on a socket of its
/// own, received into one 64 KiB buffer until each `NLMSG_DONE`. Only the
/// message headers are read (to find the end of each dump); nothing is
/// decoded, copied or kept.
struct Floor {
    sock: NlSocket,
    requests: Vec<Vec<u8>>,
    buf: Vec<u8>,
}

impl Floor {
    fn open(family: u16, key: &ServiceKey) -> Self {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty()).unwrap();
        sock.block().unwrap();
        let dump = |seq: u32, cmd, attrs| {
            let req = wire::request(cmd, attrs).unwrap();
            let msg = wire::message(family, NlmF::REQUEST | NlmF::DUMP, seq, 0, req).unwrap();
            wire::to_bytes(&msg).unwrap()
        };
        let requests = vec![
            dump(1, genl::Cmd::GetService, vec![]),
            dump(2, genl::Cmd::GetDest, vec![wire::service_key_nest(key).unwrap()]),
        ];
        Self { sock, requests, buf: vec![0; 64 * 1024] }
    }

    /// Runs both dumps; (datagrams, bytes) received.
    fn run(&mut self) -> (usize, usize) {
        let (mut datagrams, mut bytes) = (0, 0);
        for req in &self.requests {
            self.sock.send(req, Msg::empty()).unwrap();
            'dump: loop {
                let (len, _) = self.sock.recv(&mut self.buf[..], Msg::empty()).unwrap();
                datagrams += 1;
                bytes += len;
                let mut at = 0;
                while at + 16 <= len {
                    let h = &self.buf[at..at + 16];
                    let msg_len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
                    let ty = u16::from_ne_bytes([h[4], h[5]]);
                    if ty == 3 || ty == 2 {
                        break 'dump; // NLMSG_DONE (or an error)
                    }
                    at += (msg_len.max(16) + 3) & !3;
                }
            }
        }
        (datagrams, bytes)
    }
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
        for msg in wire::messages(&bytes) {
            let msg = msg.unwrap();
            if msg.ty < wire::NLMSG_MIN_TYPE {
                continue;
            }
            let reply = wire::parse_reply(msg.payload).unwrap();
            if reply.cmd == u8::from(genl::Cmd::NewDest) {
                replies.push(reply.attrs.to_vec());
            }
        }
    }
    assert!(!replies.is_empty(), "the capture holds destination replies");
    median(
        (0..rounds)
            .map(|_| {
                let (t, dests) = timed(|| {
                    let mut dests = Vec::new();
                    for i in 0..N {
                        let attrs = &replies[i % replies.len()];
                        wire::push_dest(attrs, AddressFamily::Inet, &mut dests).unwrap();
                    }
                    dests
                });
                assert_eq!(dests.len(), N);
                t
            })
            .collect(),
    )
}

/// Where [`copy_ipvsadm`] puts ipvsadm, its libraries and loader.
const IPVSADM_COPY: &str = "/dev/shm/ipvsadm-bench";

/// ipvsadm from a tmpfs copy, run through the copied loader so that nothing
/// is read from the VM's uncached 9p root (as from a disk with a warm page
/// cache); ipvsadm as installed when copying failed.
fn ipvsadm_cmd(copied: bool) -> Command {
    if !copied {
        return Command::new("ipvsadm");
    }
    let dir = std::path::Path::new(IPVSADM_COPY);
    let mut cmd = Command::new(dir.join("ld.so"));
    cmd.arg("--library-path").arg(dir.join("lib")).arg(dir.join("ipvsadm"));
    cmd
}

/// Copies ipvsadm, the libraries it links and the dynamic loader to
/// [`IPVSADM_COPY`]; None when that fails.
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

/// `ipvsadm -R` with `rules` on stdin: one process for all of them.
fn ipvsadm_restore(copied: bool, rules: &str) -> Duration {
    let t = Instant::now();
    let mut child = ipvsadm_cmd(copied)
        .arg("-R")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ipvsadm -R");
    child.stdin.take().unwrap().write_all(rules.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let elapsed = t.elapsed();
    assert!(out.status.success(), "ipvsadm -R: {}", String::from_utf8_lossy(&out.stderr));
    elapsed
}

fn ipvsadm_list(copied: bool) -> Duration {
    let t = Instant::now();
    let out = ipvsadm_cmd(copied).args(["-Ln", "--stats"]).output().unwrap();
    let elapsed = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.len() > N * 40, "the listing holds {N} destinations");
    elapsed
}

fn reset(c: &mut IpvsClient, svc: &Service) {
    c.flush().unwrap();
    c.add_service(svc).unwrap();
}

fn poll(c: &mut IpvsClient) -> Duration {
    let (t, table) = timed(|| c.table().unwrap());
    assert_eq!(table[0].1.len(), N);
    t
}

fn programming(c: &mut IpvsClient, svc: &Service, copied: bool) {
    const ROUNDS: usize = 5;
    println!(
        "{:<30} {:>10} {:>10} {:>12} {:>9} {:>9}",
        "programming N destinations", "1-by-1 ms", "piped ms", "ipvsadm -R ms", "ratio", "ratio(p)"
    );
    for n in [1, N] {
        let dests: Vec<Destination> = (0..n).map(dest).collect();
        let rules: String =
            dests.iter().map(|d| format!("-a -t {VIP} -r {}:80 -m -w 1\n", d.addr)).collect();
        let (mut single, mut piped, mut theirs) = (vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            let mut sides: [&mut dyn FnMut(&mut IpvsClient); 3] = [
                &mut |c| {
                    reset(c, svc);
                    single.push(
                        timed(|| {
                            dests.iter().for_each(|d| c.add_destination(&svc.key, d).unwrap())
                        })
                        .0,
                    );
                },
                &mut |c| {
                    reset(c, svc);
                    piped.push(timed(|| c.add_destinations(&svc.key, &dests).unwrap()).0);
                },
                &mut |c| {
                    reset(c, svc);
                    theirs.push(ipvsadm_restore(copied, &rules));
                    assert_eq!(c.destinations(&svc.key).unwrap().len(), n);
                },
            ];
            sides.rotate_left(round % 3);
            for side in sides {
                side(c);
            }
        }
        let (single, piped, theirs) = (median(single), median(piped), median(theirs));
        println!(
            "{:<30} {:>10.2} {:>10.2} {:>12.2} {:>8.2}x {:>8.2}x",
            format!("N = {n}, median of {ROUNDS}"),
            ms(single),
            ms(piped),
            ms(theirs),
            theirs.as_secs_f64() / single.as_secs_f64(),
            theirs.as_secs_f64() / piped.as_secs_f64(),
        );
    }
    println!("  (ratio: ipvsadm -R time / lvslab time; above 1 lvslab is faster)");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let profile = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        Some(args[at + 1].parse::<usize>().expect("a number of rounds"))
    };
    let (profile_poll, profile_floor) = (profile("--profile-poll"), profile("--profile-floor"));
    if let Some(n) = profile("--decode-only") {
        let t = decode_only(n);
        return println!(
            "decoding {N} destinations: {:.1} µs (median of {n})",
            t.as_secs_f64() * 1e6
        );
    }

    let _ = netns::delete(NS);
    netns::create(NS).expect("create namespace");
    // Whatever happens from here (a kernel without IPVS panics below), the
    // namespace goes when main returns or unwinds.
    let _namespace = NamespaceGuard;
    // This process is single-threaded here: enter the namespace for good, so
    // both lvslab's sockets and the ipvsadm children use the bench's table.
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
    let all: Vec<Destination> = (0..N).map(dest).collect();

    if profile_poll.is_some() || profile_floor.is_some() {
        reset(&mut c, &svc);
        c.add_destinations(&key, &all).unwrap();
        let mut floor = Floor::open(c.family_id(), &key);
        let t = Instant::now();
        let n = if let Some(n) = profile_poll {
            (0..n).for_each(|_| {
                poll(&mut c);
            });
            n
        } else {
            let n = profile_floor.unwrap_or(0);
            (0..n).for_each(|_| {
                floor.run();
            });
            n
        };
        println!("{n} rounds: {:.3} ms each", ms(t.elapsed()) / n as f64);
        return leave(c);
    }

    println!(
        "IPVS benchmark (kernel {}, same VM run)",
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    let copied = copy_ipvsadm().is_some();
    if !copied {
        println!("(could not copy ipvsadm to tmpfs: ipvsadm runs as installed, over 9p)");
    }
    programming(&mut c, &svc, copied);

    // The polled table: one service, 256 destinations.
    reset(&mut c, &svc);
    c.add_destinations(&key, &all).unwrap();
    let mut floor = Floor::open(c.family_id(), &key);
    for _ in 0..5 {
        poll(&mut c);
        floor.run();
    }
    let rounds = 41;
    let (mut polls, mut floors, mut ratios) = (vec![], vec![], vec![]);
    let mut shape = (0, 0);
    for round in 0..rounds {
        let (p, f) = if round % 2 == 0 {
            let p = poll(&mut c);
            let (f, s) = timed(|| floor.run());
            shape = s;
            (p, f)
        } else {
            let (f, s) = timed(|| floor.run());
            shape = s;
            (poll(&mut c), f)
        };
        polls.push(p);
        floors.push(f);
        ratios.push(p.as_secs_f64() / f.as_secs_f64());
    }
    let (poll_ms, floor_ms) = (median(polls), median(floors));
    println!(
        "{:<44} {:>10} {:>10} {:>8}",
        format!("one stats poll, {N} destinations"),
        "poll ms",
        "floor ms",
        "ratio"
    );
    println!(
        "{:<44} {:>10.3} {:>10.3} {:>7.2}x",
        format!("median of {rounds} (ratio: median per round)"),
        ms(poll_ms),
        ms(floor_ms),
        median_f(ratios)
    );
    println!(
        "  (floor: the same two dumps, bare recv loop; {} datagrams, {} bytes)",
        shape.0, shape.1
    );

    // ipvsadm lists the same table: one process per listing.
    let rounds_ipvsadm = 11;
    let (mut ours, mut theirs, mut floor_after) = (vec![], vec![], vec![]);
    for _ in 0..rounds_ipvsadm {
        theirs.push(ipvsadm_list(copied));
        ours.push(poll(&mut c));
        ipvsadm_list(copied);
        floor_after.push(timed(|| floor.run()).0);
    }
    let (ours, theirs, floor_after) = (median(ours), median(theirs), median(floor_after));
    println!(
        "{:<44} {:>10.3} {:>10.3} {:>7.2}x",
        "  right after an ipvsadm process",
        ms(ours),
        ms(floor_after),
        ours.as_secs_f64() / floor_after.as_secs_f64()
    );
    println!(
        "{:<44} {:>10.3} {:>10.3} {:>7.1}x",
        format!("poll vs ipvsadm -Ln --stats, median of {rounds_ipvsadm}"),
        ms(ours),
        ms(theirs),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );

    let rounds = 31;
    let svc_only = median((0..rounds).map(|_| timed(|| c.services().unwrap()).0).collect());
    let dest_only =
        median((0..rounds).map(|_| timed(|| c.destinations(&key).unwrap()).0).collect());
    println!("{:<44} {:>10.3}", "  of which: service dump (decoded)", ms(svc_only));
    println!(
        "{:<44} {:>10.3}",
        format!("  of which: {N}-destination dump (decoded)"),
        ms(dest_only)
    );
    println!(
        "{:<44} {:>10.3}",
        format!("  decoding {N} destinations alone"),
        ms(decode_only(rounds))
    );
    leave(c);
}

/// Removes the bench's table (the namespace goes with [`NamespaceGuard`]).
fn leave(mut c: IpvsClient) {
    c.flush().unwrap();
}

/// Deletes the bench's namespace on drop, after leaving it for init's.
struct NamespaceGuard;

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        if let Ok(init) = std::fs::File::open("/proc/1/ns/net") {
            let _ = nix::sched::setns(init, nix::sched::CloneFlags::CLONE_NEWNET);
        }
        if let Err(e) = netns::delete(NS) {
            eprintln!("ipvs bench: could not delete namespace {NS}: {e}");
        }
    }
}
