//! Root tests on this machine's kernel (no IPVS here, so `--dataplane none`):
//! the DR, TUN and NAT-vs-DR presets build their routed topology, the client
//! reaches each real server through the router, the real servers hold the
//! VIP where the method needs it with the ARP sysctls set, only the director
//! answers ARP for the VIP (also a DR server added live), and `down` leaves
//! the machine as it was.
//!
//! Each test runs its preset under a lab name of its own (`nd-...`), so it
//! never meets another test's or a person's lab.

mod common;

use std::process::Command;

use common::lab::{LabGuard, lab_namespaces, renamed_preset, status_json};
use common::{lvslab, lvslab_ok, machine_state, serial};

/// Runs `cmd` in the lab's namespace `host`, returning stdout; panics with
/// the output when it fails.
fn in_ns(lab: &str, host: &str, cmd: &[&str]) -> String {
    let ns = format!("lvs-{lab}-{host}");
    let out = Command::new("ip").args(["netns", "exec", &ns]).args(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{ns}: {cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sysctl(lab: &str, host: &str, key: &str) -> String {
    in_ns(lab, host, &["sysctl", "-n", key]).trim().to_string()
}

/// The client fetches `http://RIP/` of each real server, through the router:
/// each answers with its own name.
fn client_reaches_each_real_server(lab: &str, servers: &[(&str, &str)]) {
    for (name, rip) in servers {
        in_ns(lab, "client", &["ping", "-c1", "-W3", rip]);
        let body = in_ns(lab, "client", &["curl", "-sS", "-m5", &format!("http://{rip}/")]);
        assert!(body.contains(name), "http://{rip}/ from the client answered {body:?}, not {name}");
    }
}

/// The router's ARP entry for the VIP is the director's bridge: no real
/// server answered for the VIP it holds itself.
fn only_the_director_answers_arp_for(lab: &str, vip: &str) {
    // Any packet to the VIP makes the router resolve it.
    let _ = Command::new("ip")
        .args(["netns", "exec", &format!("lvs-{lab}-client"), "ping", "-c1", "-W2", vip])
        .output();
    let neigh = in_ns(lab, "router", &["ip", "neigh", "show", vip]);
    let mac = neigh.split_whitespace().skip_while(|w| *w != "lladdr").nth(1).unwrap_or("");
    assert!(!mac.is_empty(), "the router never resolved {vip}: {neigh:?}");
    let bridge = in_ns(lab, "director", &["cat", "/sys/class/net/br0/address"]);
    assert_eq!(
        mac,
        bridge.trim(),
        "the router's ARP entry for the VIP {vip} is not the director's"
    );
}

#[test]
fn dr_lab_routes_replies_around_the_director_and_leaves_nothing() {
    let _lock = serial();
    let before = machine_state();
    let dir = tempfile::tempdir().unwrap();
    let lab = "nd-dr";
    {
        let _guard = LabGuard::new(lab);
        let preset = renamed_preset(dir.path(), "dr", lab);
        lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
        let hosts = ["client", "director", "router", "rs1", "rs2"];
        assert_eq!(lab_namespaces(lab), hosts.map(|h| format!("lvs-{lab}-{h}")));

        // A real server added to the running lab is a DR server like the
        // others: the VIP on lo, quiet ARP, replies by the router.
        let router = lvslab().args(["set", lab, "--add-rs", "rs9=198.51.100.254:80"]).output();
        let router = router.unwrap();
        assert!(String::from_utf8_lossy(&router.stderr).contains("already used"), "{router:?}");
        lvslab_ok(&["set", lab, "--add-rs", "rs3=198.51.100.13:80"]);
        let rules =
            String::from_utf8_lossy(&lvslab_ok(&["export", lab, "--format", "ipvsadm"]).stdout)
                .into_owned();
        assert!(rules.contains("-r 198.51.100.13:80 -g"), "rs3 is a DR member: {rules}");

        client_reaches_each_real_server(
            lab,
            &[("rs1", "198.51.100.11"), ("rs2", "198.51.100.12"), ("rs3", "198.51.100.13")],
        );
        for rs in ["rs1", "rs2", "rs3"] {
            assert_eq!(sysctl(lab, rs, "net.ipv4.conf.all.arp_ignore"), "1", "{rs}");
            assert_eq!(sysctl(lab, rs, "net.ipv4.conf.all.arp_announce"), "2", "{rs}");
            let lo = in_ns(lab, rs, &["ip", "-4", "-o", "addr", "show", "dev", "lo"]);
            assert!(lo.contains("198.51.100.100/32"), "{rs} holds the VIP on lo: {lo}");
            // Replies leave for the router, never the director.
            let route =
                in_ns(lab, rs, &["ip", "route", "get", "192.0.2.2", "from", "198.51.100.100"]);
            assert!(route.contains("via 198.51.100.254"), "{rs} replies via the router: {route}");
        }
        assert_eq!(sysctl(lab, "router", "net.ipv4.ip_forward"), "1");
        only_the_director_answers_arp_for(lab, "198.51.100.100");
        lvslab_ok(&["set", lab, "--del-rs", "rs3"]);
    }
    assert_eq!(machine_state(), before, "down left something behind");
}

#[test]
fn nat_vs_dr_lab_sends_nat_replies_back_by_the_director_and_dr_replies_by_the_router() {
    let _lock = serial();
    let before = machine_state();
    let dir = tempfile::tempdir().unwrap();
    let lab = "nd-nat-vs-dr";
    {
        let _guard = LabGuard::new(lab);
        let preset = renamed_preset(dir.path(), "nat-vs-dr", lab);
        lvslab_ok(&["up", preset.to_str().unwrap(), "--dataplane", "none"]);
        client_reaches_each_real_server(lab, &[("rs1", "198.51.100.11"), ("rs2", "198.51.100.12")]);
        for rs in ["rs1", "rs2"] {
            let nat = in_ns(lab, rs, &["ip", "route", "get", "192.0.2.2"]);
            assert!(nat.contains("via 198.51.100.1 "), "{rs}: NAT replies via the DIP: {nat}");
            let dr = in_ns(lab, rs, &["ip", "route", "get", "192.0.2.2", "from", "198.51.100.101"]);
            assert!(dr.contains("via 198.51.100.254"), "{rs}: DR replies via the router: {dr}");
            let lo = in_ns(lab, rs, &["ip", "-4", "-o", "addr", "show", "dev", "lo"]);
            assert!(lo.contains("198.51.100.101/32"), "{rs} holds the DR VIP on lo: {lo}");
            assert!(!lo.contains("198.51.100.100"), "{rs} must not hold the NAT VIP: {lo}");
            assert_eq!(sysctl(lab, rs, "net.ipv4.conf.all.arp_ignore"), "1", "{rs}");
        }
        // `status` reads the main table's gateway, not the DR replies' table.
        for host in status_json(lab)["hosts"].as_array().expect("hosts") {
            if host["role"] == "real-server" {
                assert_eq!(host["default_gateway"], "198.51.100.1", "{host}");
            }
        }
        assert_eq!(sysctl(lab, "director", "net.ipv4.ip_forward"), "1");
        // NAT replies cross the segment twice: no redirect may teach the
        // real servers a shortcut to the router (checked after traffic).
        assert_eq!(sysctl(lab, "director", "net.ipv4.conf.all.send_redirects"), "0");
        assert_eq!(sysctl(lab, "director", "net.ipv4.conf.br0.send_redirects"), "0");
        only_the_director_answers_arp_for(lab, "198.51.100.101");
    }
    assert_eq!(machine_state(), before, "down left something behind");
}

/// TUN needs the kernel's ipip module. Where it exists the lab builds and
/// each real server holds the VIP on tunl0 with rp_filter off; where it does
/// not (this development machine's kernel), `up` refuses with the reason
/// and the fix, and leaves nothing behind. Either way something is checked.
#[test]
fn tun_lab_builds_its_tunnels_or_refuses_cleanly_without_ipip() {
    let _lock = serial();
    let before = machine_state();
    let dir = tempfile::tempdir().unwrap();
    let lab = "nd-tun";
    let preset = renamed_preset(dir.path(), "tun", lab);
    let ipip = lvslab::net::kmod::present("ipip")
        || Command::new("modprobe").args(["-q", "ipip"]).status().is_ok_and(|s| s.success());
    {
        let _guard = LabGuard::new(lab);
        let out = lvslab()
            .args(["up", preset.to_str().unwrap(), "--dataplane", "none"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if ipip {
            assert!(out.status.success(), "up: {stderr}");
            client_reaches_each_real_server(
                lab,
                &[("rs1", "198.51.100.11"), ("rs2", "198.51.100.12")],
            );
            for rs in ["rs1", "rs2"] {
                let tunl = in_ns(lab, rs, &["ip", "-4", "-o", "addr", "show", "dev", "tunl0"]);
                assert!(tunl.contains("198.51.100.100/32"), "{rs}: VIP on tunl0: {tunl}");
                assert_eq!(sysctl(lab, rs, "net.ipv4.conf.tunl0.rp_filter"), "0", "{rs}");
                assert_eq!(sysctl(lab, rs, "net.ipv4.conf.all.arp_ignore"), "1", "{rs}");
            }
        } else {
            eprintln!("this kernel has no ipip: checking the refusal instead of the tunnels");
            assert!(!out.status.success(), "up of a TUN lab without ipip must fail");
            assert!(
                stderr.contains("ipip") && stderr.contains("CONFIG_NET_IPIP"),
                "the refusal names the module and the kernel option: {stderr}"
            );
        }
    }
    assert_eq!(machine_state(), before, "a TUN lab left something behind");
}
