use super::*;
use crate::lab::export::rules::from_spec;
use crate::lab::presets;

const TUTORIAL_SN: &str = include_str!("../../../../../tests/fixtures/ipvsadm/traffic.Sn.txt");
const KITCHEN_SN: &str = include_str!("../../../../../tests/fixtures/ipvsadm/kitchen.Sn.txt");

fn refusal(text: &str) -> SpecError {
    let mut errors = import("saved.rules", text, &LabName::new("saved").unwrap()).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

#[test]
fn the_tutorials_saved_rules_give_back_the_tutorial() {
    let imported =
        import("tutorial.rules", TUTORIAL_SN, &LabName::new("tutorial").unwrap()).unwrap();
    let mut tutorial = presets::load("tutorial").unwrap().spec;
    tutorial.description = imported.spec.description.clone();
    assert_eq!(imported.spec, tutorial);
    assert_eq!(from_spec(&imported.spec), TUTORIAL_SN);
}

#[test]
fn the_generated_preset_is_what_was_imported_and_says_where_it_came_from() {
    let imported =
        import("tutorial.rules", TUTORIAL_SN, &LabName::new("tutorial").unwrap()).unwrap();
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

    // The real kitchen-sink table: its first inexpressible line is 4 (flags rr ignores).
    let e = refusal(KITCHEN_SN);
    assert_eq!((e.line, e.col), (4, 29), "at the flags");
    assert!(e.message.contains("flags (flag-1,flag-2,flag-3) that rr does not read"), "{e}");
    assert!(e.help.unwrap().contains("remove -b"));

    let e = refusal(
        "-A -u 192.0.2.1:53 -s mh -o -b mh-port
",
    );
    assert!(e.message.contains("--pe or -o"), "{e}");
}

#[test]
fn scheduler_flags_import_with_their_scheduler_and_export_back() {
    let rules = "-A -t 192.0.2.1:80 -s mh -b mh-fallback,mh-port
\
                 -a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 1
\
                 -A -t 192.0.2.1:81 -s sh -b sh-port
\
                 -a -t 192.0.2.1:81 -r 198.51.100.11:81 -m -w 1
";
    let imported = import("mh.rules", rules, &LabName::new("mh").unwrap()).unwrap();
    let flags: Vec<_> = imported.spec.services.iter().map(|s| s.scheduler_flags.clone()).collect();
    assert_eq!(flags, [vec![SchedFlag::MhFallback, SchedFlag::MhPort], vec![SchedFlag::ShPort]]);
    assert!(imported.toml.contains("scheduler-flags = [\"mh-fallback\", \"mh-port\"]"));
    assert_eq!(from_spec(&imported.spec), rules, "ipvsadm -Sn of the lab is the rules read");
    assert_eq!(validate::parse("t.toml", &imported.toml).unwrap(), imported.spec);

    let e = refusal(
        "-A -t 192.0.2.1:80 -s wrr -b mh-port
",
    );
    assert_eq!((e.line, e.col), (1, 30), "at the flags");
    assert!(e.message.contains("(flag-2) that wrr does not read"), "{e}");
}

#[test]
fn close_vips_and_rips_get_networks_just_small_enough_to_keep_them_apart() {
    let text = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.11:8080 -m -w 1\n";
    let spec = import("close.rules", text, &LabName::new("close").unwrap()).unwrap().spec;
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
    let imported = import("fw.rules", text, &LabName::new("fw").unwrap()).unwrap();
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
    let imported =
        import("handmade.rules", HANDMADE_SN, &LabName::new("handmade").unwrap()).unwrap();
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
    let imported = import("saved.rules", rules, &LabName::new("saved").unwrap()).unwrap();
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

/// Where an import refusal points: (line, column) in the input.
fn place(text: &str) -> (usize, usize, String) {
    let e = refusal(text);
    assert_eq!(e.file, "saved.rules", "the input, not a generated preset: {e}");
    (e.line, e.col, e.message)
}

#[test]
fn out_of_range_values_are_refused_at_their_place_in_the_rules() {
    let svc = "# saved\n-A -t 192.0.2.1:80 -s wrr\n";
    let (line, col, message) = place(&format!(
        "{svc}-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 1\n\
         -a -t 192.0.2.1:80 -r 198.51.100.12:80 -m -w 70000\n"
    ));
    assert_eq!((line, col), (4, 46), "the 70000 after -w on line 4");
    assert_eq!(message, "weight 70000 is out of range");

    let (line, col, message) =
        place("-A -t 192.0.2.1:80 -s wrr -p 9999999\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m\n");
    assert_eq!((line, col, message.as_str()), (1, 30, "persistence 9999999 is out of range"));

    let (line, col, message) = place(
        "-A -t 192.0.2.1:80 -s sh -p 300 -M 255.0.255.0\n\
         -a -t 192.0.2.1:80 -r 198.51.100.11:80 -m\n",
    );
    assert_eq!((line, col), (1, 36));
    assert!(message.contains("255.0.255.0 is not a netmask"), "{message}");

    let (line, col, message) = place(&format!("{svc}-a -t 192.0.2.1:80 -r 198.51.100.11:0 -m\n"));
    assert_eq!((line, col, message.as_str()), (3, 37, "real server port 0 is out of range"));

    let (line, col, message) = place("-A -f 0 -s rr\n-a -f 0 -r 198.51.100.11 -m\n");
    assert_eq!((line, col, message.as_str()), (1, 7, "fwmark 0 is out of range"));

    let (line, col, message) =
        place("-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.255:80 -m\n");
    assert_eq!((line, col), (2, 23));
    assert!(message.contains("198.51.100.255 is the network or broadcast address"), "{message}");
}

#[test]
fn text_from_the_rules_is_shown_escaped_in_errors() {
    let e = refusal("-A -t 192.0.2.1:80 -s \u{1b}[2Jwrr\n");
    assert_eq!((e.line, e.col), (1, 23));
    assert!(e.message.contains("'\\u{1b}[2Jwrr'") && !e.message.contains('\u{1b}'), "{e}");
    let e = refusal("-A -t 192.0.2.1:80 -s rr --x\u{7}\u{9b}\n");
    assert_eq!((e.line, e.col), (1, 26), "at the unknown option");
    assert!(!e.message.chars().any(crate::lab::text::is_unsafe), "{e}");
}

#[test]
fn a_validator_error_is_told_at_the_input_line_that_made_the_value() {
    // The reader refuses what it knows of first; should the validator still
    // refuse the generated preset, its error names the input, not the preset.
    let text = "# saved\n-A -t 192.0.2.1:80 -s wrr -p 300\n\
                -a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 1\n\
                -a -t 192.0.2.1:80 -r 198.51.100.12:80 -m -w 7\n";
    let table = read("saved.rules", text).unwrap();
    let toml = import("saved.rules", text, &LabName::new("saved").unwrap()).unwrap().toml;
    let at = |needle: &str| {
        let n = toml.lines().position(|l| l.trim() == needle).expect(needle) + 1;
        let errors = SpecErrors(vec![SpecError {
            file: "saved.toml".into(),
            line: n,
            col: 10,
            message: "refused".into(),
            help: None,
        }]);
        let e = in_input("saved.rules", errors, &toml, &table).0.remove(0);
        (e.file, e.line, e.col)
    };
    assert_eq!(at("weight = 7"), ("saved.rules".into(), 4, 46));
    assert_eq!(at("persistence = 300"), ("saved.rules".into(), 2, 30));
    assert_eq!(at("scheduler = \"wrr\""), ("saved.rules".into(), 2, 23));
    assert_eq!(at("address = \"198.51.100.12\""), ("saved.rules".into(), 4, 23));
    // Lines of no service or real server: the first service's line.
    assert_eq!(at("[networks]"), ("saved.rules".into(), 2, 1));
}

/// Real server `i` of a large table: 10.0.0.2 up.
fn big_rip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(0x0A00_0002u32 + i as u32)
}

/// Issue "trust" (4): a table past a cap is refused at the line that passes
/// it, so the reader stops there (a 64,000-server file is read no further
/// than its 16,385th server); the services' cap the same way.
#[test]
fn a_table_past_a_cap_is_refused_at_the_line_that_passes_it() {
    let mut rules = String::from("-A -t 192.0.2.1:80 -s wrr\n");
    for i in 0..64_000 {
        rules.push_str(&format!("-a -t 192.0.2.1:80 -r {}:80 -m -w 1\n", big_rip(i)));
    }
    let e = refusal(&rules);
    assert_eq!(e.line, 16_386, "{e}");
    assert!(e.message.contains("is the 16385th: a lab has at most 16384 real servers"), "{e}");

    let mut rules = String::new();
    for port in 1..=4_097 {
        rules.push_str(&format!("-A -t 192.0.2.1:{port} -s rr\n"));
    }
    let e = refusal(&rules);
    assert_eq!(e.line, 4_097, "{e}");
    assert!(e.message.contains("is the 4097th: a lab has at most 4096 services"), "{e}");
}

/// A keepalived.conf is read statement by statement: every virtual and real
/// server kept in order past ignored blocks of any size; the members' cap
/// refused at the `real_server` line inside one virtual server that passes it.
#[test]
fn keepalived_reads_past_large_ignored_blocks_and_caps_members_inside_one_block() {
    let mut conf = String::from("global_defs {\n");
    for _ in 0..20_000 {
        conf.push_str("  a b c d e f g h i j k l m n o p q r s t u v w x y z { } \n");
    }
    conf.push_str("}\nvrrp_instance V {\n  state MASTER\n  track { x { y } }\n}\n");
    for s in 0..3 {
        conf.push_str(&format!("virtual_server 192.0.2.1 {} {{\n  lb_kind NAT\n", s + 1));
        for j in 0..3 {
            let rip = big_rip(s * 3 + j);
            conf.push_str(&format!(
                "  real_server {rip} 80 {{\n    HTTP_GET {{ url {{ path /h }} }}\n    weight {}\n  }}\n",
                j + 1
            ));
        }
        conf.push_str("  lb_algo wrr\n}\n");
    }
    let back = import("k.conf", &conf, &LabName::new("k").unwrap()).unwrap();
    let rules = from_spec(&back.spec);
    assert!(rules.contains("-A -t 192.0.2.1:3 -s wrr"), "{rules}");
    assert!(rules.contains("-a -t 192.0.2.1:3 -r 10.0.0.10:80 -m -w 3"), "{rules}");
    assert_eq!(back.spec.real_servers.len(), 9);
    assert_eq!(back.spec.real_servers[8].name, "rs9");

    let mut conf = String::from("virtual_server 192.0.2.1 80 {\n");
    for k in 0..=ranges::MEMBERS.max {
        conf.push_str(&format!("  real_server {} {}\n", big_rip(k % 4_096), k / 4_096 + 1));
    }
    conf.push_str("}\n");
    let e = import("k.conf", &conf, &LabName::new("k").unwrap()).unwrap_err().0.remove(0);
    assert_eq!((e.line, e.col), (ranges::MEMBERS.max + 2, 3), "{e}");
    assert!(e.message.contains("is the 65537th: a lab has at most 65536"), "{e}");
}
