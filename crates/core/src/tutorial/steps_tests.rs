use std::net::Ipv4Addr;

use super::*;
use crate::lab::presets;

fn tutorial() -> LabSpec {
    presets::load("tutorial").unwrap().spec
}

fn rendered(dataplane: Dataplane) -> Vec<Step> {
    Guide::embedded().unwrap().render(&tutorial(), dataplane)
}

const DIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// The tutorial lab as observed, with these real-server gateways,
/// forwarding and table.
fn observed(gateways: [Option<Ipv4Addr>; 2], forwarding: bool, ipvs: IpvsRead) -> Observation {
    let spec = tutorial();
    let hosts = spec
        .hosts()
        .map(|(name, role)| crate::monitor::observation::HostObservation {
            gateway: match name {
                "rs1" => gateways[0],
                "rs2" => gateways[1],
                _ => None,
            },
            ..crate::monitor::observation::HostObservation::unread(name, role, true)
        })
        .collect();
    Observation::fixed(hosts, forwarding, ipvs)
}

/// The tutorial lab exactly as the preset builds it, as observed.
fn fully_built() -> Observation {
    observed([Some(DIP), Some(DIP)], true, IpvsRead::Table(crate::lab::table::table(&tutorial())))
}

#[test]
fn the_embedded_steps_parse_and_every_action_is_known() {
    let steps = rendered(Dataplane::Ipvs);
    let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "architecture",
            "packet-path",
            "rs-gateway",
            "ip-forward",
            "ipvs-service",
            "ipvs-real-server-rs1",
            "ipvs-real-server-rs2",
            "show-table",
            "curl",
            "both-directions",
            "save-rules",
        ]
    );
    for step in &steps {
        assert!(!step.text.contains('{') && !step.title.contains('{'), "{step:?}");
        assert!(step.command.iter().all(|c| !c.contains('{')), "{step:?}");
    }
}

#[test]
fn commands_are_the_tutorial_commands_with_the_labs_values() {
    let steps = rendered(Dataplane::Ipvs);
    let command = |id: &str| steps.iter().find(|s| s.id == id).unwrap().command.join("\n");
    assert_eq!(
        command("rs-gateway"),
        "ip -n lvs-tutorial-rs1 route add default via 198.51.100.1\n\
         ip -n lvs-tutorial-rs2 route add default via 198.51.100.1"
    );
    assert_eq!(
        command("ip-forward"),
        "ip netns exec lvs-tutorial-director sysctl -w net.ipv4.ip_forward=1"
    );
    assert_eq!(
        command("ipvs-service"),
        "ip netns exec lvs-tutorial-director ipvsadm -A -t 192.0.2.1:80 -s wrr"
    );
    assert_eq!(
        command("ipvs-real-server-rs1"),
        "ip netns exec lvs-tutorial-director ipvsadm -a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 3"
    );
    assert_eq!(
        command("ipvs-real-server-rs2"),
        "ip netns exec lvs-tutorial-director ipvsadm -a -t 192.0.2.1:80 -r 198.51.100.12:80 -m -w 2"
    );
    assert_eq!(command("curl"), "ip netns exec lvs-tutorial-client curl -s http://192.0.2.1:80/");
    let rs2 = steps.iter().find(|s| s.id == "ipvs-real-server-rs2").unwrap();
    assert_eq!(rs2.title, "Real server rs2 behind the service, weight 2");
    assert_eq!(rs2.action, Action::IpvsRealServer("rs2".into()));
}

#[test]
fn without_ipvs_curl_goes_to_the_first_real_server() {
    let steps = rendered(Dataplane::None);
    let curl = steps.iter().find(|s| s.id == "curl").unwrap();
    assert_eq!(
        curl.command,
        ["ip netns exec lvs-tutorial-client curl -s http://198.51.100.11:80/"]
    );
}

#[test]
fn a_fully_built_lab_shows_every_step_done() {
    let spec = tutorial();
    for step in rendered(Dataplane::Ipvs) {
        let expected = if step.action.changes_lab() { Status::Done } else { Status::NoChange };
        assert_eq!(status(&step, &spec, &fully_built()), expected, "{}", step.id);
    }
}

#[test]
fn status_follows_what_is_observed() {
    let spec = tutorial();
    let steps = rendered(Dataplane::Ipvs);
    let step = |id: &str| steps.iter().find(|s| s.id == id).unwrap().clone();
    let bare = observed([None, None], false, IpvsRead::Table(Vec::new()));
    for id in ["rs-gateway", "ip-forward", "ipvs-service", "ipvs-real-server-rs1"] {
        assert_eq!(status(&step(id), &spec, &bare), Status::Todo, "{id}");
    }
    // One gateway is not enough; a wrong gateway is not the DIP.
    let half =
        observed([Some(DIP), Some(Ipv4Addr::new(198, 51, 100, 254))], true, fully_built().ipvs);
    assert_eq!(status(&step("rs-gateway"), &spec, &half), Status::Todo);
    // rs2 missing from the table: its step only.
    let mut table = crate::lab::table::table(&spec);
    table[0].1.retain(|d| d.addr == std::net::IpAddr::V4(Ipv4Addr::new(198, 51, 100, 11)));
    let one = observed([Some(DIP), Some(DIP)], true, IpvsRead::Table(table));
    assert_eq!(status(&step("ipvs-real-server-rs1"), &spec, &one), Status::Done);
    assert_eq!(status(&step("ipvs-real-server-rs2"), &spec, &one), Status::Todo);
}

#[test]
fn without_ipvs_the_ipvs_steps_say_so() {
    let spec = tutorial();
    let seen = Observation { ipvs: IpvsRead::NotUsed, ..fully_built() };
    for step in rendered(Dataplane::None) {
        let got = status(&step, &spec, &seen);
        if step.action.needs_ipvs() {
            assert!(
                matches!(&got, Status::Unavailable(why) if why.contains("needs IPVS")),
                "{got:?}"
            );
        } else {
            assert!(!matches!(got, Status::Unavailable(_)), "{}: {got:?}", step.id);
        }
    }
}

#[test]
fn bad_files_are_refused_with_line_and_fix() {
    let err = Guide::parse(
        "g.toml",
        "[[step]]\nid = \"a\"\ntitle = \"t\"\ntext = \"x\"\naction = \"dance\"\n",
    )
    .unwrap_err();
    assert_eq!(err.line, 5);
    assert_eq!(
        err.to_string(),
        "g.toml:5: unknown action 'dance' in step 'a'; use one of: explain, rs-gateway, ip-forward, \
         ipvs-service, ipvs-real-server, show-table, curl, save-rules, rs-arp, rs-vip, arp-problem, \
         arp-fix, rs-tunnel, rp-filter-trap, rp-filter"
    );
    let err = Guide::parse(
        "g.toml",
        "[[step]]\nid = \"a\"\ntitle = \"{vipp}\"\ntext = \"x\"\naction = \"curl\"\n",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("g.toml:1: unknown placeholder '{vipp}' in step 'a'; use one of: lab vip"),
        "{err}"
    );
    let err = Guide::parse(
        "g.toml",
        "[[step]]\nid = \"a\"\ntitle = \"t\"\ntext = \"x\"\naction = \"ipvs-real-server\"\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("each-member"), "{err}");
    let err = Guide::parse(
        "g.toml",
        "[[step]]\nid = \"a\"\ntitle = \"t\"\ntext = \"x\"\naction = \"curl\"\ncolour = 1\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
}

// The LVS-DR walk (assets/tutorial/lvs-dr.toml) on the `dr` preset.

fn dr() -> LabSpec {
    presets::load("dr").unwrap().spec
}

fn dr_rendered() -> Vec<Step> {
    Guide::for_lab(&dr()).unwrap().render(&dr(), Dataplane::Ipvs)
}

const VIP_LO: &str = "198.51.100.100/32";

/// The DR lab as observed: per real server (rs1, rs2) whether it holds the
/// VIP on lo and its (arp_ignore, arp_announce); the IPVS table.
fn dr_observed(vip_on_lo: [bool; 2], arp: [(u8, u8); 2], ipvs: IpvsRead) -> Observation {
    let spec = dr();
    let hosts = spec
        .hosts()
        .map(|(name, role)| {
            let i = match name {
                "rs1" => Some(0),
                "rs2" => Some(1),
                _ => None,
            };
            let mut lo = vec!["127.0.0.1/8".to_string()];
            if i.is_some_and(|i| vip_on_lo[i]) {
                lo.push(VIP_LO.into());
            }
            crate::monitor::observation::HostObservation {
                interfaces: vec![crate::monitor::observation::LinkInfo {
                    name: "lo".into(),
                    up: true,
                    addresses: lo,
                    master: None,
                }],
                gateway: Some(Ipv4Addr::new(198, 51, 100, 254)),
                arp: i.map(|i| arp[i]),
                ..crate::monitor::observation::HostObservation::unread(name, role, true)
            }
        })
        .collect();
    Observation::fixed(hosts, true, ipvs)
}

fn dr_full_table() -> IpvsRead {
    IpvsRead::Table(crate::lab::table::table(&dr()))
}

#[test]
fn the_dr_walk_parses_and_every_placeholder_is_filled() {
    let guide = Guide::parse(DR_GUIDE_FILE, DR_GUIDE_SOURCE).unwrap();
    let steps = guide.render(&dr(), Dataplane::Ipvs);
    let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "architecture",
            "packet-path",
            "rs-arp",
            "rs-vip",
            "ipvs-service",
            "ipvs-real-server-rs1",
            "ipvs-real-server-rs2",
            "show-table",
            "curl",
            "arp-problem",
            "arp-fix",
            "save-rules",
        ]
    );
    for step in &steps {
        assert!(!step.text.contains('{') && !step.title.contains('{'), "{step:?}");
        assert!(step.command.iter().all(|c| !c.contains('{')), "{step:?}");
    }
    // A NAT lab still gets the NAT walk.
    assert_eq!(
        Guide::for_lab(&tutorial()).unwrap().render(&tutorial(), Dataplane::Ipvs),
        rendered(Dataplane::Ipvs)
    );
}

#[test]
fn the_dr_commands_carry_the_labs_values() {
    let steps = dr_rendered();
    let command = |id: &str| steps.iter().find(|s| s.id == id).unwrap().command.join("\n");
    assert_eq!(
        command("rs-vip"),
        "ip -n lvs-dr-rs1 addr add 198.51.100.100/32 dev lo\n\
         ip -n lvs-dr-rs2 addr add 198.51.100.100/32 dev lo"
    );
    assert!(command("rs-arp").starts_with(
        "ip netns exec lvs-dr-rs1 sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2\n"
    ));
    assert_eq!(
        command("ipvs-real-server-rs2"),
        "ip netns exec lvs-dr-director ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 2"
    );
    assert!(
        command("arp-problem")
            .contains("ip netns exec lvs-dr-rs1 ping -c 1 -I 198.51.100.100 198.51.100.254")
    );
    assert!(command("arp-fix").contains("ip -n lvs-dr-router neigh flush to 198.51.100.100"));
    let problem = steps.iter().find(|s| s.id == "arp-problem").unwrap();
    assert_eq!(problem.action, Action::ArpProblem("rs1".into()));
    assert_eq!(problem.title, "The ARP problem: rs1 answers for the VIP");
}

#[test]
fn dr_statuses_follow_the_vip_the_sysctls_and_the_table() {
    let spec = dr();
    let steps = dr_rendered();
    let step = |id: &str| steps.iter().find(|s| s.id == id).unwrap().clone();
    let quiet = (1, 2);
    // Bare: nothing in place, and no ARP problem either (no VIP held).
    let bare = dr_observed([false, false], [(0, 0), (0, 0)], IpvsRead::Table(Vec::new()));
    for id in ["rs-arp", "rs-vip", "ipvs-service", "ipvs-real-server-rs1", "arp-problem", "arp-fix"]
    {
        assert_eq!(status(&step(id), &spec, &bare), Status::Todo, "{id}");
    }
    // Fully built as the preset builds it: every change done but the problem.
    let full = dr_observed([true, true], [quiet, quiet], dr_full_table());
    for s in &steps {
        let expected = match &s.action {
            Action::ArpProblem(_) => Status::Todo,
            a if a.changes_lab() => Status::Done,
            _ => Status::NoChange,
        };
        assert_eq!(status(s, &spec, &full), expected, "{}", s.id);
    }
    // One server's sysctls back at 0: the problem is there, the fix and the
    // sysctls step are not; the VIP step is still done.
    let loud = dr_observed([true, true], [(0, 0), quiet], dr_full_table());
    assert_eq!(status(&step("arp-problem"), &spec, &loud), Status::Done);
    assert_eq!(status(&step("arp-fix"), &spec, &loud), Status::Todo);
    assert_eq!(status(&step("rs-arp"), &spec, &loud), Status::Todo);
    assert_eq!(status(&step("rs-vip"), &spec, &loud), Status::Done);
    // The VIP on one server only is not the step done.
    let half = dr_observed([true, false], [quiet, quiet], dr_full_table());
    assert_eq!(status(&step("rs-vip"), &spec, &half), Status::Todo);
    // Unreadable sysctls are never taken as done.
    let mut unread = full.clone();
    for h in &mut unread.hosts {
        h.arp = None;
    }
    assert_eq!(status(&step("rs-arp"), &spec, &unread), Status::Todo);
    assert_eq!(status(&step("arp-fix"), &spec, &unread), Status::Todo);
    assert!(step("arp-fix").action.always_redone() && !step("arp-problem").action.always_redone());
}
