//! The LVS-TUN walk (assets/tutorial/lvs-tun.toml) on the `tun` preset.

use std::net::Ipv4Addr;

use super::*;
use crate::lab::presets;
use crate::monitor::observation::HostObservation;
use crate::monitor::observation::LinkInfo;

fn tun() -> LabSpec {
    presets::load("tun").unwrap().spec
}

fn rendered() -> Vec<Step> {
    Guide::for_lab(&tun()).unwrap().render(&tun(), Dataplane::Ipvs)
}

fn step(id: &str) -> Step {
    rendered().into_iter().find(|s| s.id == id).unwrap()
}

/// How one real server looks: the VIP on tunl0, tunl0 up, (all, tunl0)
/// rp_filter, and its ARP sysctls.
#[derive(Clone, Copy)]
struct Server {
    vip: bool,
    up: bool,
    rp_filter: Option<(u8, u8)>,
    arp: (u8, u8),
}

/// As the tutorial brings it up, and as the preset builds it.
const BARE: Server = Server { vip: false, up: false, rp_filter: Some((1, 1)), arp: (0, 0) };
const BUILT: Server = Server { vip: true, up: true, rp_filter: Some((0, 0)), arp: ARP_QUIET };

fn observed(servers: [Server; 2], ipvs: IpvsRead) -> Observation {
    let spec = tun();
    let hosts = spec
        .hosts()
        .map(|(name, role)| {
            let server = match name {
                "rs1" => Some(servers[0]),
                "rs2" => Some(servers[1]),
                _ => None,
            };
            let mut tunl0 =
                LinkInfo { name: "tunl0".into(), up: false, addresses: Vec::new(), master: None };
            if let Some(s) = server {
                tunl0.up = s.up;
                if s.vip {
                    tunl0.addresses.push("198.51.100.100/32".into());
                }
            }
            HostObservation {
                interfaces: vec![tunl0],
                gateway: Some(Ipv4Addr::new(198, 51, 100, 254)),
                arp: server.map(|s| s.arp),
                rp_filter: server.and_then(|s| s.rp_filter),
                ..HostObservation::unread(name, role, true)
            }
        })
        .collect();
    Observation::fixed(hosts, true, ipvs)
}

fn full_table() -> IpvsRead {
    IpvsRead::Table(crate::lab::table::table(&tun()))
}

#[test]
fn a_tun_lab_gets_the_tun_walk_with_the_trap_before_its_fix() {
    let ids: Vec<String> = rendered().into_iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            "architecture",
            "packet-path",
            "rs-arp",
            "rs-tunnel",
            "ipvs-service",
            "ipvs-real-server-rs1",
            "ipvs-real-server-rs2",
            "show-table",
            "rp-filter-trap",
            "rp-filter",
            "save-rules",
        ]
    );
    for step in rendered() {
        assert!(!step.text.contains('{') && !step.title.contains('{'), "{step:?}");
        assert!(step.command.iter().all(|c| !c.contains('{')), "{step:?}");
    }
    assert_eq!(step("rp-filter-trap").action, Action::RpFilterTrap);
    assert_eq!(step("rp-filter").action, Action::RpFilter);
    assert!(
        ["rs-tunnel", "rp-filter-trap", "rp-filter"]
            .iter()
            .all(|id| step(id).action.changes_lab() && !step(id).action.needs_ipvs())
    );
}

#[test]
fn the_tun_commands_carry_the_labs_values() {
    let command = |id: &str| step(id).command.join("\n");
    assert_eq!(
        command("rs-tunnel"),
        "ip -n lvs-tun-rs1 addr add 198.51.100.100/32 dev tunl0\n\
         ip -n lvs-tun-rs2 addr add 198.51.100.100/32 dev tunl0\n\
         ip -n lvs-tun-rs1 link set tunl0 up\n\
         ip -n lvs-tun-rs2 link set tunl0 up"
    );
    assert_eq!(
        command("ipvs-real-server-rs1"),
        "ip netns exec lvs-tun-director ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.11:80 -i -w 3"
    );
    assert!(command("rp-filter").starts_with(
        "ip netns exec lvs-tun-rs1 sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0\n"
    ));
    assert!(
        command("rp-filter-trap")
            .contains("ip netns exec lvs-tun-client curl -s -m 3 http://198.51.100.100:80/")
    );
}

#[test]
fn tun_statuses_follow_the_tunnel_the_filter_and_the_table() {
    let spec = tun();
    let steps = rendered();
    // Bare: nothing in place but the trap (the filter is strict).
    let bare = observed([BARE, BARE], IpvsRead::Table(Vec::new()));
    for s in &steps {
        let expected = match &s.action {
            Action::RpFilterTrap => Status::Done,
            a if a.changes_lab() => Status::Todo,
            _ => Status::NoChange,
        };
        assert_eq!(status(s, &spec, &bare), expected, "bare: {}", s.id);
    }
    // As the preset builds it: every change done but the trap.
    let full = observed([BUILT, BUILT], full_table());
    for s in &steps {
        let expected = match &s.action {
            Action::RpFilterTrap => Status::Todo,
            a if a.changes_lab() => Status::Done,
            _ => Status::NoChange,
        };
        assert_eq!(status(s, &spec, &full), expected, "built: {}", s.id);
    }
    // The VIP on a tunl0 that is down is not the step done, nor on one server only.
    let down = observed([BUILT, Server { up: false, ..BUILT }], full_table());
    assert_eq!(status(&step("rs-tunnel"), &spec, &down), Status::Todo);
    let half = observed([BUILT, Server { vip: false, ..BUILT }], full_table());
    assert_eq!(status(&step("rs-tunnel"), &spec, &half), Status::Todo);
    // One strict server is the trap, and the fix not done.
    let one = observed([BUILT, Server { rp_filter: Some((0, 1)), ..BUILT }], full_table());
    assert_eq!(status(&step("rp-filter-trap"), &spec, &one), Status::Done);
    assert_eq!(status(&step("rp-filter"), &spec, &one), Status::Todo);
    // Loose (2) wins over strict in all: no drop, so the fix is done.
    let loose = observed([BUILT, Server { rp_filter: Some((1, 2)), ..BUILT }], full_table());
    assert_eq!(status(&step("rp-filter-trap"), &spec, &loose), Status::Todo);
    assert_eq!(status(&step("rp-filter"), &spec, &loose), Status::Done);
    // An unreadable filter is neither.
    let unread = observed([BUILT, Server { rp_filter: None, ..BUILT }], full_table());
    assert_eq!(status(&step("rp-filter"), &spec, &unread), Status::Todo);
    let unread = observed([Server { rp_filter: None, ..BUILT }; 2], full_table());
    assert_eq!(status(&step("rp-filter-trap"), &spec, &unread), Status::Todo);
}

#[test]
fn the_kernel_applies_the_larger_rp_filter() {
    assert!(rp_filter_strict((1, 0)) && rp_filter_strict((0, 1)) && rp_filter_strict((1, 1)));
    assert!(!rp_filter_strict((0, 0)) && !rp_filter_strict((2, 1)) && !rp_filter_strict((1, 2)));
}

#[test]
fn on_servers_behind_the_router_the_arp_step_has_nothing_to_change() {
    let spec = presets::load("tun-remote").unwrap().spec;
    let steps = Guide::for_lab(&spec).unwrap().render(&spec, Dataplane::Ipvs);
    let arp = steps.iter().find(|s| s.id == "rs-arp").unwrap();
    let seen = observed([BUILT, BUILT], full_table());
    assert_eq!(status(arp, &spec, &seen), Status::NoChange);
    assert_eq!(status(arp, &tun(), &seen), Status::Done, "on the segment it matters");
}
