//! `lvslab tutorial --dataplane none` in a real terminal (tmux) on this
//! machine's kernel (no IPVS): the lab starts bare, each routing step is
//! done from the guide and checked from outside with `ip route`, `sysctl`
//! and curl, undo and redo change the kernel back and forth, the IPVS steps
//! say they need IPVS, and `q` leaves nothing of the lab behind. Root; fails
//! without it. Its lab is named `tu-nat` so it never meets another lab.

mod common;

use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;

const LAB: &str = "tu-nat";
const WAIT: Duration = Duration::from_secs(20);

fn in_netns(host: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("lvs-{LAB}-{host}")])
        .args(args)
        .output()
        .expect("run ip netns exec");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn default_route(rs: &str) -> Option<String> {
    in_netns(rs, &["ip", "route", "show", "default"]).1.lines().next().map(str::to_string)
}

fn ip_forward() -> String {
    in_netns("director", &["sysctl", "-n", "net.ipv4.ip_forward"]).1.trim().to_string()
}

/// curl from the client to rs1's address: who answered, if anyone.
fn curl_rs1() -> Option<String> {
    let (ok, body) = in_netns("client", &["curl", "-s", "-m", "2", "http://198.51.100.11:80/"]);
    ok.then_some(body)
}

fn leftovers() -> Vec<String> {
    let mut found: Vec<String> = lvslab_sys::netns::list()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(&format!("lvs-{LAB}-")))
        .collect();
    let folder = format!("/run/lvslab/labs/{LAB}");
    if std::path::Path::new(&folder).exists() {
        found.push(folder);
    }
    found
}

#[test]
fn the_guide_walks_the_routing_steps_and_checks_each_on_the_lab() {
    common::require_root();
    let _ = common::lvslab().args(["down", LAB]).output();
    assert_eq!(leftovers(), Vec::<String>::new(), "a lab '{LAB}' is left from elsewhere");
    let exe = env!("CARGO_BIN_EXE_lvslab");
    let tui =
        Tmux::start("tutorial", 160, 48, &format!("{exe} tutorial --dataplane none --name {LAB}"));
    let screen = tui.wait_for("the guide", WAIT, |s| s.contains("Tutorial · step 1/11"));
    assert!(screen.contains("The pieces of an LVS-NAT cluster"), "{screen}");

    // The lab starts bare: no gateway, no forwarding, the client gets nowhere.
    assert_eq!(default_route("rs1"), None);
    assert_eq!(default_route("rs2"), None);
    assert_eq!(ip_forward(), "0");
    assert_eq!(curl_rs1(), None, "a bare lab does not route");
    // The topology pane reads the routes from the kernel, not the preset.
    tui.wait_for("the topology without gateways", WAIT, |s| {
        s.matches("no gw").count() == 2 && !s.contains("gw=DIP")
    });

    // Two explanations: Enter reads on.
    tui.keys(&["Enter"]);
    tui.wait_for("step 2", WAIT, |s| s.contains("step 2/11") && s.contains("PREROUTING"));
    tui.keys(&["Enter"]);
    tui.wait_for("step 3", WAIT, |s| s.contains("step 3/11") && s.contains("gateway = DIP"));

    // The gateway step adds the route in every real server.
    tui.keys(&["Enter"]);
    tui.wait_for("the gateway step done", WAIT, |s| {
        s.contains("step 3 done") && s.contains("rs2: default via 198.51.100.1")
    });
    for rs in ["rs1", "rs2"] {
        let route = default_route(rs).unwrap_or_default();
        assert!(route.starts_with("default via 198.51.100.1 dev eth0"), "{rs}: {route}");
    }
    assert_eq!(ip_forward(), "0", "one step at a time");
    tui.wait_for("the topology with the DIP as gateway", WAIT, |s| {
        s.matches("gw=DIP").count() == 2 && !s.contains("no gw")
    });
    assert_eq!(curl_rs1(), None, "without forwarding the director drops the packets");

    // Forwarding on: now the client reaches a real server through the director.
    tui.keys(&["Enter"]);
    tui.wait_for("forwarding on", WAIT, |s| s.contains("net.ipv4.ip_forward = 1"));
    assert_eq!(ip_forward(), "1");
    assert!(curl_rs1().is_some_and(|b| b.contains("rs1")), "rs1 answers through the director");

    // IPVS steps on a kernel without IPVS: refused with the reason, nothing changes.
    tui.keys(&["Enter"]);
    let screen = tui.wait_for("the IPVS step refused", WAIT, |s| s.contains("step 5 failed"));
    assert!(screen.contains("needs IPVS"), "{screen}");
    tui.keys(&["s", "s", "s", "s"]);
    tui.wait_for("the curl step", WAIT, |s| s.contains("step 9/11"));

    // The guide's own request: from the client, answered by rs1.
    tui.keys(&["Enter"]);
    let screen = tui.wait_for("curl answered", WAIT, |s| s.contains("step 9 done"));
    assert!(screen.contains("answered by rs1"), "{screen}");

    // u undoes the last step that changed the lab: forwarding goes off.
    tui.keys(&["u"]);
    tui.wait_for("forwarding undone", WAIT, |s| s.contains("step 4 undone"));
    assert_eq!(ip_forward(), "0");
    assert_eq!(curl_rs1(), None, "undoing forwarding breaks the path again");
    // r does it again.
    tui.keys(&["r"]);
    tui.wait_for("forwarding redone", WAIT, |s| s.contains("step 4 redone"));
    assert_eq!(ip_forward(), "1");
    // Back to the gateway step and undo it: the routes go.
    tui.keys(&["u"]);
    tui.wait_for("forwarding undone again", WAIT, |s| s.contains("step 4 undone"));
    tui.keys(&["p", "u"]);
    tui.wait_for("gateways undone", WAIT, |s| {
        s.contains("step 3 undone") && s.contains("rs1: no default route")
    });
    assert_eq!(default_route("rs1"), None);
    assert_eq!(default_route("rs2"), None);

    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", WAIT, |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert!(screen.contains(&format!("lab '{LAB}' torn down")), "{screen}");
    assert_eq!(leftovers(), Vec::<String>::new(), "quitting removes the lab");
}

#[test]
fn a_running_lab_of_that_name_is_refused_and_left_alone() {
    common::require_root();
    const OTHER: &str = "tu-busy";
    let _ = common::lvslab().args(["down", OTHER]).output();
    let dir = tempfile::tempdir().unwrap();
    let preset = common::generated_preset(dir.path(), OTHER, 2, "wrr");
    common::lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
    let exe = env!("CARGO_BIN_EXE_lvslab");
    let tui =
        Tmux::start("busy", 120, 30, &format!("{exe} tutorial --dataplane none --name {OTHER}"));
    let screen = tui.wait_for("the refusal", WAIT, |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=1"), "{screen}");
    assert!(screen.contains(&format!("lab '{OTHER}' is already up")), "{screen}");
    assert!(screen.contains("--name"), "the message says how to go on: {screen}");
    assert!(lvslab_sys::netns::exists(&format!("lvs-{OTHER}-rs2")), "the running lab is untouched");
    common::lvslab_ok(&["down", OTHER]);
}

#[test]
fn g_on_a_fully_built_lab_shows_the_routing_steps_done() {
    common::require_root();
    const FULL: &str = "tu-full";
    let _ = common::lvslab().args(["down", FULL]).output();
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join(format!("{FULL}.toml"));
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/tutorial-nat.toml"))
            .unwrap()
            .replace("name = \"tutorial\"", &format!("name = \"{FULL}\""));
    std::fs::write(&preset, source).unwrap();
    common::lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
    let exe = env!("CARGO_BIN_EXE_lvslab");
    let tui = Tmux::start("full", 160, 48, &format!("{exe} tui {FULL}"));
    tui.wait_for("the dashboard", WAIT, |s| s.contains("Topology"));
    tui.keys(&["g"]);
    let screen = tui.wait_for("the guide", WAIT, |s| s.contains("Tutorial · step 1/11"));
    for line in ["✓  3 Real servers route", "✓  4 The director forwards", "–  5 A virtual service"]
    {
        assert!(screen.contains(line), "{line:?} on:\n{screen}");
    }
    // g hides it; the dashboard's keys are back.
    tui.keys(&["g"]);
    tui.wait_for("the guide hidden", WAIT, |s| !s.contains("Tutorial ·"));
    tui.keys(&["q"]);
    let screen = tui.wait_for("exit", WAIT, |s| s.contains("EXITED="));
    assert!(screen.contains(&format!("lab '{FULL}' is still running")), "{screen}");
    common::lvslab_ok(&["down", FULL]);
}

/// The DR and TUN walks teach IPVS forwarding methods: without IPVS they
/// are refused before anything is built, with the way to go on.
#[test]
fn dr_and_tun_walks_need_ipvs_and_build_nothing_without_it() {
    common::require_root();
    for (method, switch) in [("dr", "-g"), ("tun", "-i")] {
        let name = format!("tu-no{method}");
        let out = common::lvslab()
            .args(["tutorial", "--method", method, "--dataplane", "none", "--name", &name])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{method}: {stderr}");
        assert!(
            stderr.contains(&format!("ipvsadm {switch}")) && stderr.contains("--method nat"),
            "{method}: the refusal names the method and the way on: {stderr}"
        );
        assert!(!lvslab_sys::netns::exists(&format!("lvs-{name}-director")), "{method}");
    }
}

/// Without `--dataplane`, on this kernel without IPVS, the NAT walk chooses
/// its routing steps (`none`) and says why in one line, before anything
/// else (here the missing terminal ends it, with nothing built).
#[test]
fn without_ipvs_the_walk_chooses_its_routing_steps_and_says_why() {
    common::require_root();
    common::require_no_ipvs();
    let name = "tu-auto";
    let out = common::lvslab().args(["tutorial", "--name", name]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("dataplane ")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].starts_with("dataplane none: this kernel has no IPVS"), "{stderr}");
    assert!(
        said[0].contains("routing steps") && said[0].contains("lvslab up tutorial"),
        "{stderr}"
    );
    assert!(!out.status.success(), "no terminal here: {stderr}");
    assert!(!lvslab_sys::netns::exists(&format!("lvs-{name}-director")));
}
