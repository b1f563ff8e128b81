//! Exports of arbitrary valid labs (generated: names, addresses, weights,
//! schedulers, NAT/DR/TUN/HA, 1..N services and servers; see spec_gen),
//! not only the presets of labs/: every shell script passes `bash -n` and
//! `shellcheck -S warning` and creates only `lvs-*` namespaces; every
//! keepalived.conf line is under 1,024 bytes; the TOML reads back as the
//! same lab. And however hostile a record's text, no export or error
//! message holds a control character but newline and tab.
//!
//! Deterministic (a fixed seed) and small: a few seconds per property.
//! `LVSLAB_PROP_CASES=N` runs more.

mod spec_gen;

use std::process::Command;

use lvslab_core::lab::export::keepalived::{MAX_LINE_BYTES, Purpose, to_keepalived};
use lvslab_core::lab::export::{shell::to_shell, toml::to_toml};
use lvslab_core::lab::model::{LabSpec, NETNS_PREFIX};
use lvslab_core::lab::{import, validate};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config(cases: u32) -> Config {
    let cases =
        std::env::var("LVSLAB_PROP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Every keepalived.conf a lab makes: the export, the lab's own, and each
/// HA director's.
fn keepalived_files(spec: &LabSpec) -> Vec<String> {
    let header = ["Exported by a test".to_string()];
    let mut files =
        vec![to_keepalived(spec, Purpose::Export, &header), to_keepalived(spec, Purpose::Lab, &[])];
    if spec.ha.is_some() {
        for director in 0..2 {
            for balance in [true, false] {
                files.push(to_keepalived(spec, Purpose::Ha { director, balance }, &header));
            }
        }
    }
    files
}

/// Whether `text` holds a control character other than newline and tab.
fn has_control(text: &str) -> bool {
    text.chars().any(|c| lvslab_core::lab::text::is_unsafe(c) && c != '\n' && c != '\t')
}

proptest! {
    #![proptest_config(config(48))]

    /// The generator makes valid labs, and a lab's TOML reads back as it.
    #[test]
    fn generated_labs_are_valid_and_their_toml_reads_back(spec in spec_gen::spec()) {
        let checked = validate::check_spec("generated", &spec);
        prop_assert_eq!(checked.as_ref(), Ok(&spec), "{:?}", checked);
        let text = to_toml(&spec, &["generated".into()]);
        let back = validate::parse("generated.toml", &text);
        prop_assert_eq!(back.as_ref(), Ok(&spec), "{}", text);
    }

    /// Every script bash can parse, creating only lvs-* namespaces.
    #[test]
    fn every_script_parses_and_makes_only_lvs_namespaces(spec in spec_gen::spec()) {
        let script = to_shell(&spec);
        let out = Command::new("bash").args(["-n", "-c", &script]).output().expect("bash runs");
        prop_assert!(out.status.success(), "{}\n{script}", String::from_utf8_lossy(&out.stderr));
        let made: Vec<&str> = script
            .lines()
            .filter_map(|l| l.trim().strip_prefix("ip netns add "))
            .collect();
        prop_assert_eq!(made.len(), spec.hosts().count());
        for ns in made {
            prop_assert!(ns.starts_with(NETNS_PREFIX), "{ns}");
        }
        let listed = script.lines().find_map(|l| l.strip_prefix("NAMESPACES=(")).unwrap();
        for ns in listed.trim_end_matches(')').split(' ') {
            prop_assert!(ns.starts_with(NETNS_PREFIX), "{ns}");
        }
        prop_assert!(!has_control(&script));
    }

    /// Every line of every keepalived.conf fits keepalived's line buffer.
    #[test]
    fn every_keepalived_line_is_under_1024_bytes(spec in spec_gen::spec()) {
        for text in keepalived_files(&spec) {
            for line in text.lines() {
                prop_assert!(line.len() <= MAX_LINE_BYTES, "{} bytes: {line}", line.len());
            }
            prop_assert!(!has_control(&text));
        }
    }

    /// A record's text, however hostile (control characters, line breaks,
    /// the here-document's delimiter, keepalived syntax, any length), stays
    /// inert: no export holds a control character, every keepalived line
    /// still fits, the script still parses, and the validator's messages
    /// about it are printable.
    #[test]
    fn hostile_record_text_stays_inert(
        spec in spec_gen::spec(),
        name in spec_gen::hostile_text(),
        description in spec_gen::hostile_text(),
        server in spec_gen::hostile_text(),
        long in 0usize..3000,
    ) {
        let mut spec = spec;
        // A lab's name is a LabName: hostile text cannot be one.
        prop_assert!(lvslab_core::lab::model::LabName::new(&name).is_err() || name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        spec.description = format!("{description}{}", "d".repeat(long));
        let old = std::mem::replace(&mut spec.real_servers[0].name, server.clone());
        for m in spec.services.iter_mut().flat_map(|s| &mut s.members) {
            if m.name == old {
                m.name = server.clone();
            }
        }
        let script = to_shell(&spec);
        prop_assert!(!has_control(&script), "{script:?}");
        let out = Command::new("bash").args(["-n", "-c", &script]).output().expect("bash runs");
        prop_assert!(out.status.success(), "{}\n{script}", String::from_utf8_lossy(&out.stderr));
        for text in keepalived_files(&spec) {
            prop_assert!(!has_control(&text), "{text:?}");
            prop_assert!(text.lines().all(|l| l.len() <= MAX_LINE_BYTES));
        }
        prop_assert!(!has_control(&to_toml(&spec, &[spec.description.clone()])));
        if let Err(errors) = validate::check_spec("record", &spec) {
            prop_assert!(!has_control(&errors.to_string()), "{errors}");
        }
    }

    /// Errors about arbitrary input text (rules, keepalived.conf, presets)
    /// are printable: what the file held is shown escaped.
    #[test]
    fn error_messages_hold_no_control_characters(
        text in spec_gen::hostile_text(),
        prefix in prop_oneof![
            Just(""),
            Just("-A -t 192.0.2.1:80 -s "),
            Just("virtual_server 192.0.2.1 80 {\n  lb_algo "),
            Just("name = \"x\"\n[networks]\nclient = \""),
        ],
    ) {
        let input = format!("{prefix}{text}");
        if let Err(errors) = import::import("in\u{1b}[2J.rules", &input, &lvslab_core::lab::model::LabName::new("x").unwrap()) {
            prop_assert!(!has_control(&errors.to_string()), "{errors}");
        }
        if let Err(errors) = validate::parse("in.toml", &input) {
            prop_assert!(!has_control(&errors.to_string()), "{errors}");
        }
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// shellcheck (installed by tests/vm/setup) finds nothing at warning
    /// level in the script of any lab: a few cases, shellcheck is slow.
    #[test]
    fn every_script_passes_shellcheck(spec in spec_gen::spec()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.sh");
        std::fs::write(&path, to_shell(&spec)).unwrap();
        let out = Command::new("shellcheck")
            .args(["-S", "warning", "-s", "bash"])
            .arg(&path)
            .output()
            .expect("shellcheck runs (tests/vm/setup installs it)");
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}
