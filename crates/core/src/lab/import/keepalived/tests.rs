//! keepalived.conf import as a user meets it: what is read, what is
//! refused at which line, and what is left out.

use super::super::import;
use super::*;
use crate::lab::export::keepalived::{Purpose, to_keepalived};
use crate::lab::export::rules::from_spec;
use crate::lab::model::Control;
use crate::lab::model::LabName;
use crate::lab::presets;

#[test]
fn every_presets_export_imports_back_to_the_same_table() {
    for preset in presets::embedded() {
        let conf = to_keepalived(&preset.spec, Purpose::Export, &["x".into()]);
        assert!(looks_like(&conf), "{conf}");
        // DR/TUN presets export fine, but a lab is only imported from
        // LVS-NAT virtual servers: those are refused at their lb_kind.
        let nat = |m: &crate::lab::model::Member| m.forward == crate::lab::model::Forward::Nat;
        if !preset.spec.services.iter().all(|s| s.members.iter().all(nat)) {
            let err = import("keepalived.conf", &conf, &preset.spec.name).unwrap_err();
            assert!(err.to_string().contains("is not NAT"), "{}: {err}", preset.origin);
            continue;
        }
        let back = import("keepalived.conf", &conf, &preset.spec.name)
            .unwrap_or_else(|e| panic!("{}: {e}\n{conf}", preset.origin));
        assert_eq!(from_spec(&back.spec), from_spec(&preset.spec), "{}", preset.origin);
        assert_eq!(back.spec.control, Control::Keepalived, "health checks were there");
        assert!(back.toml.contains("Left out (keepalived's own): global_defs, vrrp_instance."));
    }
}

#[test]
fn fwmark_persistence_udp_and_weights_are_kept() {
    let conf = "! Configuration File for keepalived\nvirtual_server fwmark 42 {\n  lb_algo sh\n  \
                lb_kind NAT\n  persistence_timeout 300\n  persistence_granularity 255.255.255.0\n  \
                real_server 198.51.100.11 0 { weight 4 }\n}\n\
                virtual_server 192.0.2.1 53 {\n  protocol UDP\n  lb_algo rr\n  \
                real_server 198.51.100.12 53 {\n  }\n}\n";
    let back = import("k.conf", conf, &LabName::new("k").unwrap()).unwrap();
    let rules = from_spec(&back.spec);
    assert!(rules.contains("-A -f 42 -s sh -p 300 -M 255.255.255.0"), "{rules}");
    assert!(rules.contains("-a -f 42 -r 198.51.100.11:0 -m -w 4"), "{rules}");
    assert!(rules.contains("-A -u 192.0.2.1:53 -s rr"), "{rules}");
    assert!(rules.contains("-a -u 192.0.2.1:53 -r 198.51.100.12:53 -m -w 1"), "{rules}");
    assert_eq!(back.spec.control, Control::Lvslab, "no health checks");
}

#[test]
fn scheduler_flags_are_read_after_their_lb_algo_as_keepalived_reads_them() {
    let conf = |body: &str| {
        format!(
            "virtual_server 192.0.2.1 80 {{\n{body}\n  real_server 198.51.100.11 80 {{\n  \
             }}\n}}\n"
        )
    };
    let back = import("k.conf", &conf("  lb_algo mh\n  mh-port\n  mh-fallback"), &name()).unwrap();
    assert!(from_spec(&back.spec).contains("-A -t 192.0.2.1:80 -s mh -b mh-fallback,mh-port"));
    let e = refused(&conf("  mh-port\n  lb_algo mh"));
    assert_eq!((e.line, e.col), (2, 3));
    assert!(e.message.contains("follows lb_algo wlc") && e.message.contains("ignores"), "{e}");
    let e = refused(&conf("  lb_algo mh\n  mh-port\n  lb_algo wrr"));
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("(flag-2) that wrr does not read"), "{e}");
    let e = refused(&conf("  lb_algo sh\n  sh-port yes"));
    assert!(e.message.contains("`sh-port` takes no value"), "{e}");
}

fn name() -> LabName {
    LabName::new("k").unwrap()
}

fn refused(conf: &str) -> SpecError {
    let mut errors = import("k.conf", conf, &LabName::new("k").unwrap()).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

#[test]
fn what_a_lab_cannot_rebuild_is_refused_with_its_line() {
    let vs = |body: &str| {
        format!(
            "global_defs {{\n  router_id x\n}}\nvirtual_server 192.0.2.1 80 {{\n{body}\n  \
             real_server 198.51.100.11 80 {{\n    weight 1\n  }}\n}}\n"
        )
    };
    let e = refused(&vs("  lb_kind DR"));
    assert_eq!(e.line, 5);
    assert!(e.message.contains("lb_kind DR is not NAT"), "{e}");
    let e = refused(&vs("  sorry_server 198.51.100.99 80"));
    assert_eq!(e.line, 5);
    assert!(e.message.contains("sorry_server"), "{e}");
    let e = refused("include /etc/keepalived/conf.d/*.conf\n");
    assert_eq!((e.line, e.message.contains("include")), (1, true), "{e}");
    let e = refused("virtual_server_group web {\n 192.0.2.1 80\n}\n");
    assert!(e.message.contains("virtual_server_group"), "{e}");
    let e = refused("virtual_server 192.0.2.1 80 {\n  lb_algo rr\n");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("never closed"), "{e}");
    let e = refused("virtual_server 2001:db8::1 80 {\n}\n");
    assert!(e.message.contains("no IPv4 address"), "{e}");
    let e = refused(&vs("  lb_algo nosuch"));
    assert!(e.message.contains("unknown scheduler 'nosuch'"), "{e}");
    let e = refused(&format!("global_defs {{\n{}", "a {\n".repeat(100_000)));
    assert!(e.message.contains("nested deeper"), "{e}");
    let deep = format!("  real_server 198.51.100.12 80 {{\n HTTP_GET {{\n{}", "a {\n".repeat(100));
    let e = refused(&vs(&deep));
    assert!(e.message.contains("nested deeper"), "{e}");
    let e = refused("vrrp_instance VI_1 {\n  state MASTER\n}\n");
    assert!(e.message.contains("no virtual_server"), "{e}");
}

#[test]
fn out_of_range_values_are_refused_at_their_place_in_the_conf() {
    let conf = |persistence: &str, weight: &str, port: &str| {
        format!(
            "global_defs {{\n  router_id x\n}}\nvirtual_server 192.0.2.1 80 {{\n  lb_algo wrr\n  \
             persistence_timeout {persistence}\n  real_server 198.51.100.11 {port} {{\n    \
             weight {weight}\n  }}\n}}\n"
        )
    };
    let e = refused(&conf("300", "70000", "80"));
    assert_eq!((e.file.as_str(), e.line, e.col), ("k.conf", 8, 12), "{e}");
    assert_eq!(e.message, "weight 70000 is out of range");
    let e = refused(&conf("99999999", "1", "80"));
    assert_eq!(
        (e.line, e.col, e.message.as_str()),
        (6, 23, "persistence 99999999 is out of range")
    );
    let e = refused(&conf("300", "1", "0"));
    assert_eq!((e.line, e.col, e.message.as_str()), (7, 29, "real server port 0 is out of range"));
    let e = refused("virtual_server 192.0.2.1 80 {\n  lb_algo\tno\u{1b}]0;x\u{7}\n}\n");
    assert_eq!((e.line, e.col), (2, 11));
    assert!(!e.message.chars().any(text::is_unsafe), "{e}");
}

#[test]
fn rules_files_are_not_taken_for_keepalived() {
    assert!(!looks_like("-A -t 192.0.2.1:80 -s wrr\n"));
    assert!(looks_like("# c\n\n! c\nvirtual_server 1.2.3.4 80 {\n}\n"));
}
