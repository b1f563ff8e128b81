//! `lvslab tutorial` on real IPVS (inside the VM, via tests/vm/suite): every
//! step of the guide is done from the keyboard and checked from outside
//! after each one (`ip route` in the real servers, `sysctl` and `ipvsadm -Sn`
//! in the director, curl from the client), then a step is undone and done
//! again, and `q` removes the lab. Fails outside the VM.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;

const LAB: &str = "tu-vm";
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
