use super::*;
use crate::lab::export::rules::from_spec;
use crate::lab::presets;

const TUTORIAL_SN: &str = include_str!("../../../../../tests/fixtures/ipvsadm/traffic.Sn.txt");
const KITCHEN_SN: &str = include_str!("../../../../../tests/fixtures/ipvsadm/kitchen.Sn.txt");

fn refusal(text: &str) -> SpecError {
    let mut errors = import("saved.rules", text, "saved").unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

#[test]
fn the_tutorials_saved_rules_give_back_the_tutorial() {
    let imported = import("tutorial.rules", TUTORIAL_SN, "tutorial").unwrap();
    let mut tutorial = presets::load("tutorial").unwrap().spec;
    tutorial.description = imported.spec.description.clone();
    assert_eq!(imported.spec, tutorial);
    assert_eq!(from_spec(&imported.spec), TUTORIAL_SN);
}

#[test]
fn the_generated_preset_is_what_was_imported_and_says_where_it_came_from() {
    let imported = import("tutorial.rules", TUTORIAL_SN, "tutorial").unwrap();
    assert!(imported.toml.starts_with("# Made by `lvslab import` from ipvsadm's saved rules."));
    assert!(imported.toml.contains("description = \"Imported from tutorial.rules (ipvsadm -S)\""));
    let back = validate::parse("t.toml", &imported.toml).unwrap();
    assert_eq!(back, imported.spec);
}

#[test]
fn refusals_name_the_line_and_the_fix() {
    let direct = "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -g -w 1\n";
    let e = refusal(direct);
    assert_eq!((e.file.as_str(), e.line), ("saved.rules", 2));
    assert!(e.message.contains("direct routing (-g)"), "{e}");
    assert!(e.help.unwrap().contains("one segment"), "DR needs the VIP and RIPs together");

    let e = refusal("# saved\n-A -t [2001:db8::1]:80 -s rr\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("IPv6"), "{e}");

    let e = refusal(
        "-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.20:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.11:80 -m\n",
    );
    assert_eq!(e.line, 3);
    assert!(e.message.contains("real server 10.0.0.11 is on the VIPs' network 10.0.0.0/27"), "{e}");

    let e = refusal("-A -t 192.0.2.1:80 -s rr\n-e -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 2\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("edits or deletes"), "{e}");

    let e = refusal("-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:81 -r 198.51.100.11:80 -m\n");
    assert!(e.message.contains("which no -A line added before"), "{e}");

    let e = refusal("-A -t 192.0.2.1:80 -s rr --bogus\n");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("unknown option '--bogus'"), "{e}");

    let e = refusal("-A -t 192.0.2.1:80 -s rr\n");
    assert!(e.message.contains("no real server"), "{e}");

    // The real kitchen-sink table: its first inexpressible line is 4 (-b flags).
    let e = refusal(KITCHEN_SN);
    assert_eq!(e.line, 4);
    assert!(e.message.contains("--pe, -o or -b"), "{e}");
}

#[test]
fn close_vips_and_rips_get_networks_just_small_enough_to_keep_them_apart() {
    let text = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.11:8080 -m -w 1\n";
    let spec = import("close.rules", text, "close").unwrap().spec;
    assert_eq!(spec.client_net.to_string(), "10.0.0.0/29");
    assert_eq!(spec.servers_net.to_string(), "10.0.0.8/29");
    assert_eq!(
        (spec.client.to_string(), spec.director.dip.to_string()),
        ("10.0.0.2".into(), "10.0.0.9".into())
    );
    assert_eq!(from_spec(&spec), text);
}

#[test]
fn fwmark_only_tables_get_a_vip_away_from_the_real_servers() {
    let text = "-A -f 7 -s rr\n-a -f 7 -r 192.0.2.10:0 -m -w 1\n";
    let imported = import("fw.rules", text, "fw").unwrap();
    assert_eq!(imported.spec.director.vip.to_string(), "203.0.113.1");
    assert_eq!(imported.spec.services[0].fwmark, Some(7));
    assert!(imported.toml.contains("nothing in the lab marks packets"), "{}", imported.toml);
    assert_eq!(from_spec(&imported.spec), text);
}

#[test]
fn lab_names_come_from_the_file_name() {
    assert_eq!(name_from_file("saved.rules"), "saved");
    assert_eq!(name_from_file("/tmp/My_Table.v2.rules"), "my-table-v2");
    assert_eq!(name_from_file("-"), "imported");
    assert_eq!(name_from_file("2024.rules"), "imported");
}

/// Captured in the VM from `ipvsadm -Sn` after the commands of the
/// vm_export test `a_hand_made_table_survives_import_and_up`.
const HANDMADE_SN: &str = include_str!("../../../../../tests/fixtures/ipvsadm/handmade.Sn.txt");

#[test]
fn a_real_table_with_persistence_fwmark_udp_and_port_mapping_round_trips() {
    let imported = import("handmade.rules", HANDMADE_SN, "handmade").unwrap();
    let spec = &imported.spec;
    let names: Vec<(&str, String)> =
        spec.real_servers.iter().map(|rs| (rs.name.as_str(), rs.addr.to_string())).collect();
    assert_eq!(
        names,
        [
            ("rs1", "198.51.100.11".into()),
            ("rs2", "198.51.100.12".into()),
            ("rs3", "198.51.100.13".into()),
            ("rs4", "198.51.100.14".into())
        ]
    );
    assert_eq!(spec.extra_vips(), ["192.0.2.5".parse::<std::net::Ipv4Addr>().unwrap()]);
    let https = &spec.services[1];
    assert_eq!(
        (https.persistence, https.persistence_netmask),
        (Some(300), "255.255.255.0".parse().ok())
    );
    let fwm = spec.services.iter().find(|s| s.fwmark == Some(42)).unwrap();
    assert_eq!((fwm.members[0].port, fwm.members[1].port), (0, 8080));
    assert_eq!(spec.listen_ports("rs3"), [5353, 8443]);
    // What `up` would program is, line for line, what ipvsadm saved.
    assert_eq!(from_spec(spec), HANDMADE_SN);
    assert!(imported.toml.contains("fwmark = 42"), "{}", imported.toml);
}

#[test]
fn direct_routing_and_tunnelling_import_into_a_routed_lab() {
    let rules = "-A -t 198.51.100.100:80 -s wrr\n\
                 -a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 3\n\
                 -a -t 198.51.100.100:80 -r 198.51.100.12:80 -i -w 2\n";
    let imported = import("saved.rules", rules, "saved").unwrap();
    let spec = &imported.spec;
    let router = spec.router.expect("a DR/TUN lab has a router");
    assert_eq!(spec.servers_net.to_string(), "198.51.100.0/24");
    assert!(spec.servers_net.contains(&router.inside) && spec.client_net.contains(&router.outside));
    let forwards: Vec<String> =
        spec.services[0].members.iter().map(|m| m.forward.to_string()).collect();
    assert_eq!(forwards, ["dr", "tun"]);
    // The preset written says the same as the rules.
    // The preset written says the same as the rules (-i is saved with its
    // tunnel type, as ipvsadm -Sn writes it).
    let expected = rules.replace("-i -w 2", "-i -w 2 --tun-type ipip");
    assert_eq!(crate::lab::export::rules::from_spec(spec), expected);
}

/// `-A` for VIP 192.0.2.1 port `port`, then `servers` real servers from
/// 10.0.0.2 up.
fn rules(services: usize, servers: usize) -> String {
    let mut text = String::new();
    for s in 0..services {
        let key = format!("-t 192.0.2.1:{}", s + 1);
        text.push_str(&format!("-A {key} -s wrr\n"));
        for i in 0..servers {
            let rip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 2)) + i as u32);
            text.push_str(&format!("-a {key} -r {rip}:80 -m -w {}\n", i % 7 + 1));
        }
    }
    text
}

/// A 4,096-server table imports whole and in order (lookups are by hash:
/// it took half a second before, 64,000 servers took minutes). The time
/// is the benchmark's (`cargo bench --bench limits`), not asserted here.
#[test]
fn a_table_of_4096_real_servers_imports_whole_and_in_order() {
    let text = rules(1, 4096);
    let imported = import("big.rules", &text, "big").unwrap();
    let spec = &imported.spec;
    assert_eq!(spec.real_servers.len(), 4096);
    assert_eq!(spec.services[0].members.len(), 4096);
    for (i, rs) in spec.real_servers.iter().enumerate() {
        assert_eq!(rs.name, format!("rs{}", i + 1));
        assert_eq!(rs.addr, Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 2)) + i as u32));
    }
    let last = &spec.services[0].members[4095];
    assert_eq!((last.name.as_str(), last.weight), ("rs4096", 1)); // 4095 % 7 + 1
    // 10.0.0.2 to 10.0.16.1: the widest network holding them, apart from the VIP.
    assert_eq!(spec.servers_net.to_string(), "10.0.0.0/19");
    assert_eq!(from_spec(spec), text);
}

#[test]
fn past_a_cap_the_import_is_refused_at_the_line_that_crosses_it() {
    let max = ranges::REAL_SERVERS.max;
    let e = refusal(&rules(1, max + 1));
    assert_eq!(e.line, max + 2, "{e}");
    assert!(e.message.contains("is the 16385th: a lab has at most 16384 real servers"), "{e}");
    assert!(e.help.unwrap().contains("network namespace"));

    let mut text = String::new();
    for port in 1..=ranges::SERVICES.max + 1 {
        text.push_str(&format!("-A -t 192.0.2.1:{port} -s rr\n"));
    }
    let e = refusal(&text);
    assert_eq!(e.line, ranges::SERVICES.max + 1, "{e}");
    assert!(e.message.contains("a lab has at most 4096 services"), "{e}");

    // 65,537 members: 5 services of 13,108 servers each (the same ones).
    let e = refusal(&rules(5, 13_108));
    assert!(e.message.contains("is the 65537th: a lab has at most 65536 service members"), "{e}");
    assert_eq!(e.line, 4 * 13_109 + 1 + (ranges::MEMBERS.max + 1 - 4 * 13_108), "{e}");
}

#[test]
fn numbers_out_of_range_are_refused_at_their_line() {
    let e =
        refusal("-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 70000\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("weight 70000 is out of range"), "{e}");
    let e = refusal("-A -t 192.0.2.1:80 -s rr -p 0\n");
    assert_eq!((e.line, e.message.contains("persistence 0 is out of range")), (1, true), "{e}");
    let e = refusal("-A -f 0 -s rr\n");
    assert!(e.message.contains("fwmark 0 is out of range"), "{e}");
}
