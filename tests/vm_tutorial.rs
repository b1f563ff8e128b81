//! `lvslab tutorial` on real IPVS (inside the VM, via tests/vm/suite): every
//! step of the guide is done from the keyboard and checked from outside
//! after each one (`ip route` in the real servers, `sysctl` and `ipvsadm -Sn`
//! in the director, curl from the client), then a step is undone and done
//! again, and `q` removes the lab. The DR walk (`--method dr`) likewise,
//! with the ARP problem shown from outside: while one real server answers
//! ARP for the VIP the client's requests all go to it and the director's
//! Conns counter stands still; after the fix they are balanced 3:2 again
//! through the director. The TUN walk (`--method tun`) with its trap shown
//! from outside: while the real servers' rp_filter is strict the client gets
//! no answer and their kernels count the drops; after the fix, 3:2 again.
//! Fails outside the VM.

mod common;

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::tmux::Tmux;

const LAB: &str = "tu-vm";
const DR_LAB: &str = "td-vm";

/// One walk at a time: the VM has two slow cores.
static ONE_WALK: Mutex<()> = Mutex::new(());
/// Under TCG every `ip netns exec` takes about a second.
const WAIT: Duration = Duration::from_secs(60);

fn in_netns(host: &str, script: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("lvs-{LAB}-{host}"), "sh", "-c", script])
        .output()
        .expect("run ip netns exec");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ipvsadm -Sn` as sorted lines (the kernel lists destinations newest first).
fn rules() -> Vec<String> {
    let mut lines: Vec<String> =
        in_netns("director", "ipvsadm -Sn").lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn sorted(lines: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|s| (*s).to_string()).collect();
    v.sort();
    v
}

const SERVICE: &str = "-A -t 192.0.2.1:80 -s wrr";
const RS1: &str = "-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 3";
const RS2: &str = "-a -t 192.0.2.1:80 -r 198.51.100.12:80 -m -w 2";

/// Presses Enter and waits for the guide to report step `n` (1-based) done
/// and to show every one of `needles` (a frame can be captured half drawn,
/// so what a test reads must be part of what it waits for).
fn do_step(tui: &Tmux, n: usize, needles: &[&str]) {
    tui.keys(&["Enter"]);
    let done = format!("step {n} done");
    tui.wait_for(&format!("{done} showing {needles:?}"), WAIT, |s| {
        s.contains(&done) && needles.iter().all(|n| s.contains(n))
    });
}

#[test]
fn the_guide_builds_the_tutorial_lab_step_by_step_on_real_ipvs() {
    common::require_vm();
    let _one = ONE_WALK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let _ = common::lvslab().args(["down", LAB]).output();
    let exe = common::lvslab_exe();
    let tui =
        Tmux::start("vm-tutorial", 160, 48, &format!("{} tutorial --name {LAB}", exe.display()));
    tui.wait_for("the guide", Duration::from_secs(120), |s| {
        s.contains("step 1/11") && s.contains("[nothing to change]")
    });

    // Bare: no gateways, no forwarding, an empty table.
    let before = in_netns(
        "director",
        "sysctl -n net.ipv4.ip_forward; ipvsadm -Sn; \
         ip netns exec lvs-tu-vm-rs1 ip route show default; ip netns exec lvs-tu-vm-rs2 ip route show default",
    );
    assert_eq!(before.trim(), "0", "a bare lab: forwarding off, no rules, no routes");

    do_step(&tui, 1, &[]);
    do_step(&tui, 2, &[]);

    do_step(&tui, 3, &[]);
    let routes = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ip -n lvs-{LAB}-rs1 route show default; ip -n lvs-{LAB}-rs2 route show default"
            ),
        ])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
    let via_dip: Vec<&str> =
        routes.lines().filter(|l| l.starts_with("default via 198.51.100.1 dev eth0")).collect();
    assert_eq!(via_dip.len(), 2, "rs1 and rs2 route through the DIP: {routes}");

    do_step(&tui, 4, &[]);
    assert_eq!(in_netns("director", "sysctl -n net.ipv4.ip_forward").trim(), "1");

    // The IPVS table grows one rule per step, to exactly the tutorial's three.
    do_step(&tui, 5, &[]);
    assert_eq!(rules(), sorted(&[SERVICE]));
    do_step(&tui, 6, &[]);
    assert_eq!(rules(), sorted(&[SERVICE, RS1]));
    // The guide shows ipvsadm -Ln after each IPVS step.
    do_step(&tui, 7, &["-> 198.51.100.12:80", "Masq"]);
    assert_eq!(rules(), sorted(&[SERVICE, RS1, RS2]));

    do_step(&tui, 8, &["TCP  192.0.2.1:80 wrr", "-> 198.51.100.11:80"]);

    // The guide's requests (wrr 3:2: five connections reach both servers),
    // and a user's curl from the client, are answered by rs1 and rs2.
    do_step(&tui, 9, &["answered by rs1", "answered by rs2"]);
    let answers =
        in_netns("client", "for i in 1 2 3 4 5; do curl -s -m 5 http://192.0.2.1/; echo; done");
    assert!(answers.contains("rs1") && answers.contains("rs2"), "curl from the client: {answers}");

    do_step(&tui, 10, &[]);
    do_step(&tui, 11, &[SERVICE, RS1, RS2]);
    assert_eq!(rules(), sorted(&[SERVICE, RS1, RS2]), "reading changes nothing");

    // u: the last change undone (rs2 leaves the table); r: done again.
    tui.keys(&["u"]);
    tui.wait_for("rs2 undone", WAIT, |s| s.contains("step 7 undone"));
    assert_eq!(rules(), sorted(&[SERVICE, RS1]));
    tui.keys(&["r"]);
    tui.wait_for("rs2 redone", WAIT, |s| s.contains("step 7 redone"));
    assert_eq!(rules(), sorted(&[SERVICE, RS1, RS2]));

    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", WAIT, |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0") && screen.contains("torn down"), "{screen}");
    assert!(!std::path::Path::new(&format!("/run/netns/lvs-{LAB}-director")).exists());
    eprintln!("vm_tutorial: {} s", started.elapsed().as_secs());
}

fn in_dr(host: &str, script: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("lvs-{DR_LAB}-{host}"), "sh", "-c", script])
        .output()
        .expect("run ip netns exec");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dr_rules() -> Vec<String> {
    let mut lines: Vec<String> =
        in_dr("director", "ipvsadm -Sn").lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// Each real server's `arp_ignore arp_announce`, and whether it holds the VIP on lo.
fn dr_servers() -> Vec<(String, bool)> {
    ["rs1", "rs2"]
        .iter()
        .map(|rs| {
            let out = in_dr(
                rs,
                "sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce; \
                 ip -br addr show dev lo",
            );
            let mut lines = out.lines();
            let arp = format!("{} {}", lines.next().unwrap_or(""), lines.next().unwrap_or(""));
            (arp, out.contains("198.51.100.100/32"))
        })
        .collect()
}

/// The director's Conns for the DR service (`ipvsadm -Ln --stats`) once it
/// reaches `want`, or as it is after 4 s: the kernel folds its per-CPU
/// counters into what ipvsadm reads every 2 s.
fn director_conns_settled(want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let now = director_conns();
        if now >= want || Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The director's Conns for the DR service (`ipvsadm -Ln --stats`).
fn director_conns() -> u64 {
    let stats = in_dr("director", "ipvsadm -Ln --stats");
    let line = stats.lines().find(|l| l.starts_with("TCP")).unwrap_or_else(|| panic!("{stats}"));
    line.split_whitespace().nth(2).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

/// `n` requests from the client to the VIP: how many each server answered.
fn ten_requests(n: usize) -> (usize, usize) {
    let answers = in_dr(
        "client",
        &format!("for i in $(seq {n}); do curl -s -m 5 http://198.51.100.100/; echo; done"),
    );
    let count = |rs: &str| answers.lines().filter(|l| l.contains(rs)).count();
    (count("rs1"), count("rs2"))
}

const DR_SERVICE: &str = "-A -t 198.51.100.100:80 -s wrr";
const DR_RS1: &str = "-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 3";
const DR_RS2: &str = "-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 2";

#[test]
fn the_dr_guide_shows_the_arp_problem_and_its_fix_on_real_ipvs() {
    common::require_vm();
    let _one = ONE_WALK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let _ = common::lvslab().args(["down", DR_LAB]).output();
    let exe = common::lvslab_exe();
    let tui = Tmux::start(
        "vm-tutorial-dr",
        160,
        48,
        &format!("{} tutorial --method dr --name {DR_LAB}", exe.display()),
    );
    tui.wait_for("the DR guide", Duration::from_secs(120), |s| {
        s.contains("step 1/12") && s.contains("[nothing to change]")
    });
    let quiet = "1 2".to_string();
    let loud = "0 0".to_string();

    // Bare: no VIP on the real servers, sysctls at the kernel's 0, no rules.
    assert_eq!(dr_servers(), [(loud.clone(), false), (loud.clone(), false)]);
    assert!(dr_rules().is_empty());

    do_step(&tui, 1, &[]);
    do_step(&tui, 2, &[]);
    do_step(&tui, 3, &["rs2: arp_ignore = 1, arp_announce = 2"]);
    assert_eq!(dr_servers(), [(quiet.clone(), false), (quiet.clone(), false)]);
    do_step(&tui, 4, &["rs2: lo ", "198.51.100.100/32"]);
    assert_eq!(dr_servers(), [(quiet.clone(), true), (quiet.clone(), true)]);

    do_step(&tui, 5, &[]);
    assert_eq!(dr_rules(), sorted(&[DR_SERVICE]));
    do_step(&tui, 6, &[]);
    assert_eq!(dr_rules(), sorted(&[DR_SERVICE, DR_RS1]));
    do_step(&tui, 7, &["-> 198.51.100.12:80", "Route"]);
    assert_eq!(dr_rules(), sorted(&[DR_SERVICE, DR_RS1, DR_RS2]));
    do_step(&tui, 8, &["TCP  198.51.100.100:80 wrr"]);

    // Through the director: five connections, 3:2.
    let before = director_conns();
    do_step(&tui, 9, &["answered by rs1", "answered by rs2"]);
    assert_eq!(
        director_conns_settled(before + 5),
        before + 5,
        "the guide's five requests crossed the director"
    );

    // The ARP problem: rs1 loud, the router sends everything to it.
    do_step(&tui, 10, &["+0 of 5 requests: all bypassed the director"]);
    assert_eq!(dr_servers(), [(loud.clone(), true), (quiet.clone(), true)]);
    let rs1_mac = in_dr("rs1", "cat /sys/class/net/eth0/address");
    let neigh = in_dr("router", "ip neigh show 198.51.100.100");
    assert!(neigh.contains(rs1_mac.trim()), "the router has the VIP at rs1's MAC: {neigh}");
    let before = director_conns();
    let during = ten_requests(10);
    // Waits the full 4 s: nothing should arrive.
    let bypassed = director_conns_settled(before + 1) - before;
    assert_eq!(during, (10, 0), "every request goes to rs1 while it answers ARP for the VIP");
    assert_eq!(bypassed, 0, "the director's Conns do not move");

    // The fix: sysctls back, the router's entry flushed; balanced again.
    do_step(&tui, 11, &["+5 of 5 requests", "answered by rs2"]);
    assert_eq!(dr_servers(), [(quiet.clone(), true), (quiet.clone(), true)]);
    let before = director_conns();
    let after_fix = ten_requests(10);
    let through = director_conns_settled(before + 10) - before;
    assert_eq!(after_fix, (6, 4), "wrr 3:2 over ten connections after the fix");
    assert_eq!(through, 10, "every request crossed the director");
    eprintln!(
        "vm_tutorial dr: ARP problem: 10 requests -> rs1 {} rs2 {}, director Conns +{bypassed}; \
         after the fix: rs1 {} rs2 {}, director Conns +{through}",
        during.0, during.1, after_fix.0, after_fix.1
    );

    do_step(&tui, 12, &[DR_SERVICE, DR_RS1, DR_RS2]);

    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", WAIT, |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0") && screen.contains("torn down"), "{screen}");
    assert!(!std::path::Path::new(&format!("/run/netns/lvs-{DR_LAB}-director")).exists());
    eprintln!("vm_tutorial dr: {} s", started.elapsed().as_secs());
}

const TUN_LAB: &str = "tt-vm";

fn in_tun(host: &str, script: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("lvs-{TUN_LAB}-{host}"), "sh", "-c", script])
        .output()
        .expect("run ip netns exec");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tun_rules() -> Vec<String> {
    let mut lines: Vec<String> =
        in_tun("director", "ipvsadm -Sn").lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// Each real server's `all.rp_filter tunl0.rp_filter`, and whether its
/// tunl0 is up holding the VIP.
fn tun_servers() -> Vec<(String, bool)> {
    ["rs1", "rs2"]
        .iter()
        .map(|rs| {
            let out = in_tun(
                rs,
                "sysctl -n net.ipv4.conf.all.rp_filter net.ipv4.conf.tunl0.rp_filter; \
                 ip addr show dev tunl0",
            );
            let mut lines = out.lines();
            let rp = format!("{} {}", lines.next().unwrap_or(""), lines.next().unwrap_or(""));
            let up = out.contains(",UP") || out.contains("<UP");
            (rp, up && out.contains("inet 198.51.100.100/32"))
        })
        .collect()
}

/// Packets both real servers' reverse-path filters dropped so far
/// (`nstat`'s TcpExtIPReversePathFilter, read absolute).
fn rp_drops() -> u64 {
    ["rs1", "rs2"]
        .iter()
        .map(|rs| {
            let out = in_tun(rs, "nstat -asz TcpExtIPReversePathFilter");
            out.lines()
                .find_map(|l| l.strip_prefix("TcpExtIPReversePathFilter"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("nstat in {rs}: {out}"))
        })
        .sum()
}

/// `n` requests from the TUN lab's client: how many each server answered.
fn tun_requests(n: usize, timeout: u32) -> (usize, usize) {
    let answers = in_tun(
        "client",
        &format!("for i in $(seq {n}); do curl -s -m {timeout} http://198.51.100.100/; echo; done"),
    );
    let count = |rs: &str| answers.lines().filter(|l| l.contains(rs)).count();
    (count("rs1"), count("rs2"))
}

const TUN_SERVICE: &str = "-A -t 198.51.100.100:80 -s wrr";
/// As the guide types them (ipip is ipvsadm's default tunnel type)...
const TUN_RS1: &str = "-a -t 198.51.100.100:80 -r 198.51.100.11:80 -i -w 3";
const TUN_RS2: &str = "-a -t 198.51.100.100:80 -r 198.51.100.12:80 -i -w 2";
/// ... and as `ipvsadm -Sn` prints them back.
const TUN_RS1_SAVED: &str = "-a -t 198.51.100.100:80 -r 198.51.100.11:80 -i -w 3 --tun-type ipip";
const TUN_RS2_SAVED: &str = "-a -t 198.51.100.100:80 -r 198.51.100.12:80 -i -w 2 --tun-type ipip";

#[test]
fn the_tun_guide_shows_the_rp_filter_trap_and_its_fix_on_real_ipvs() {
    common::require_vm();
    let _one = ONE_WALK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let _ = common::lvslab().args(["down", TUN_LAB]).output();
    let exe = common::lvslab_exe();
    let tui = Tmux::start(
        "vm-tutorial-tun",
        160,
        48,
        &format!("{} tutorial --method tun --name {TUN_LAB}", exe.display()),
    );
    tui.wait_for("the TUN guide", Duration::from_secs(120), |s| {
        s.contains("step 1/11") && s.contains("[nothing to change]")
    });
    let strict = "1 1".to_string();
    let relaxed = "0 0".to_string();

    // Bare: tunl0 down without the VIP, the filter strict, no rules.
    assert_eq!(tun_servers(), [(strict.clone(), false), (strict.clone(), false)]);
    assert!(tun_rules().is_empty());

    do_step(&tui, 1, &[]);
    do_step(&tui, 2, &[]);
    do_step(&tui, 3, &["rs2: arp_ignore = 1, arp_announce = 2"]);
    do_step(&tui, 4, &["rs2: tunl0 UP 198.51.100.100/32"]);
    assert_eq!(tun_servers(), [(strict.clone(), true), (strict.clone(), true)]);

    do_step(&tui, 5, &[]);
    assert_eq!(tun_rules(), sorted(&[TUN_SERVICE]));
    do_step(&tui, 6, &[]);
    do_step(&tui, 7, &["-> 198.51.100.12:80", "Tunnel"]);
    assert_eq!(tun_rules(), sorted(&[TUN_SERVICE, TUN_RS1_SAVED, TUN_RS2_SAVED]));
    do_step(&tui, 8, &["TCP  198.51.100.100:80 wrr"]);

    // The trap: the table is right, the requests reach the servers through
    // the tunnel, and the strict filter drops them; the client times out.
    do_step(&tui, 9, &["no answer within 3 s", "reverse-path filter dropped +"]);
    let drops = rp_drops();
    let during = tun_requests(1, 3);
    let dropped = rp_drops() - drops;
    assert_eq!(during, (0, 0), "no answer while rp_filter is strict");
    assert!(dropped >= 1, "the real servers' kernels counted the drops: +{dropped}");

    // The fix: the filter off; answered 3:2 again.
    do_step(&tui, 10, &["answered by rs1", "answered by rs2"]);
    assert_eq!(tun_servers(), [(relaxed.clone(), true), (relaxed.clone(), true)]);
    do_step(&tui, 11, &[TUN_SERVICE, TUN_RS1, TUN_RS2]);

    // u undoes the fix (the trap is back), r does it again (the 3:2 split
    // below shows it relaxed).
    tui.keys(&["u"]);
    tui.wait_for("the fix undone", WAIT, |s| s.contains("step 10 undone"));
    assert_eq!(tun_servers(), [(strict.clone(), true), (strict.clone(), true)]);
    tui.keys(&["r"]);
    tui.wait_for("the fix redone", WAIT, |s| s.contains("step 10 redone"));

    // After the last step: ipvsadm shows Tunnel, and ten connections split 3:2.
    let listed = in_tun("director", "ipvsadm -Ln");
    assert_eq!(listed.matches("Tunnel").count(), 2, "{listed}");
    let after = tun_requests(10, 5);
    assert_eq!(after, (6, 4), "wrr 3:2 over ten connections after the fix");
    eprintln!(
        "vm_tutorial tun: rp_filter strict: 1 request -> rs1 {} rs2 {}, reverse-path drops +{dropped}; \
         after the fix: rs1 {} rs2 {}",
        during.0, during.1, after.0, after.1
    );

    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", WAIT, |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0") && screen.contains("torn down"), "{screen}");
    assert!(!std::path::Path::new(&format!("/run/netns/lvs-{TUN_LAB}-director")).exists());
    eprintln!("vm_tutorial tun: {} s", started.elapsed().as_secs());
}
