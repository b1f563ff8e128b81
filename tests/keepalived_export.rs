//! `lvslab export LAB --format keepalived` is accepted by keepalived itself:
//! `keepalived --config-test` on the export of every built-in preset, run in
//! a fresh network namespace that has the director's interfaces (eth0, br0),
//! as the director of a real cluster would. keepalived's config test needs
//! no IPVS; it does check that the VRRP interfaces exist, hence the namespace.

mod common;

use std::process::Command;

use common::require_root;

/// keepalived's verdict (exit status, its messages) on `file`, in a new
/// network namespace with an `eth0` (a veth), a bridge `br0` (a
/// one-director lab's servers' side) and an `eth1` (an HA director's).
fn config_test(file: &std::path::Path) -> (i32, String) {
    let script = "ip link add eth0 type veth peer name peer0 && ip link add br0 type bridge && \
                  ip link add eth1 type veth peer name peer1 && \
                  exec keepalived --config-test -f \"$1\"";
    let out = Command::new("unshare")
        .args(["--net", "--", "sh", "-c", script, "sh"])
        .arg(file)
        .output()
        .expect("run unshare and keepalived (apt-get install keepalived)");
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), said)
}

#[test]
fn keepalived_accepts_the_export_of_every_preset() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let presets = lvslab_core::lab::presets::embedded();
    assert_eq!(presets.len(), lvslab_core::lab::presets::EMBEDDED.len());
    for preset in presets {
        let name = &preset.spec.name;
        let file = dir.path().join(format!("{name}.conf"));
        common::lvslab_ok(&[
            "export",
            name,
            "--format",
            "keepalived",
            "-o",
            file.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text.matches("virtual_server ").count(),
            preset.spec.services.len(),
            "{name}: one virtual_server per service\n{text}"
        );
        let (code, said) = config_test(&file);
        assert_eq!(
            code, 0,
            "keepalived --config-test refused the export of {name}: {said}\n{text}"
        );
        assert!(said.trim().is_empty(), "keepalived warned about {name}: {said}");
    }
}

/// `failed-check = "weight-0"` in a preset is keepalived's
/// `inhibit_on_failure` in the export, and keepalived accepts it.
#[test]
fn weight_0_on_failure_passes_the_config_test() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("inhibit.toml");
    let tutorial = include_str!("../labs/tutorial-nat.toml");
    let (head, rest) = tutorial.split_once("\n[networks]").expect("the tutorial has [networks]");
    std::fs::write(&preset, format!("{head}\nfailed-check = \"weight-0\"\n\n[networks]{rest}"))
        .unwrap();
    let file = dir.path().join("inhibit.conf");
    common::lvslab_ok(&[
        "export",
        preset.to_str().unwrap(),
        "--format",
        "keepalived",
        "-o",
        file.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\n    inhibit_on_failure\n"), "{text}");
    let (code, said) = config_test(&file);
    assert_eq!(code, 0, "keepalived --config-test refused inhibit_on_failure: {said}\n{text}");
    assert!(said.trim().is_empty(), "keepalived warned: {said}");
}

#[test]
fn the_config_test_is_a_real_referee() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.conf");
    let text = String::from_utf8(
        common::lvslab_ok(&["export", "tutorial", "--format", "keepalived"]).stdout,
    )
    .unwrap();
    std::fs::write(&file, text.replace("lb_algo wrr", "lb_algo nosuch")).unwrap();
    let (code, said) = config_test(&file);
    assert_ne!(code, 0, "keepalived accepted an unknown scheduler: {said}");
    assert!(said.contains("nosuch"), "{said}");
}

/// A keepalived lab on a machine without keepalived (here: a PATH without
/// it) is refused with the reason, before anything is built.
#[test]
fn a_keepalived_lab_without_keepalived_is_refused_before_anything_is_built() {
    require_root();
    let sandbox = common::sandbox::Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    for args in [
        &["up", "tutorial", "--control", "keepalived"][..],
        &["up", "tutorial", "--control", "keepalived", "--dataplane", "none"],
    ] {
        let path = format!("PATH={}", empty.path().display());
        let out =
            sandbox.command("env").arg(path).arg(common::lvslab_exe()).args(args).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was not refused: {said}");
        assert!(said.contains("Nothing was changed"), "{args:?}: {said}");
        assert!(said.contains("keepalived"), "{args:?}: {said}");
        assert!(sandbox.namespaces().is_empty(), "{args:?} built namespaces");
        assert!(sandbox.records().is_empty(), "{args:?} wrote a record");
    }
}

/// Each HA director's own configuration (VRRP for the VIP and DIP, the
/// connection sync, the virtual servers; or VRRP only for a lab without
/// IPVS), in a namespace with that director's links, eth0 and eth1.
#[test]
fn keepalived_accepts_each_ha_directors_configuration() {
    use lvslab_core::lab::export::keepalived::{Purpose, to_keepalived};
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = lvslab_core::lab::presets::load("ha").unwrap().spec;
    for sync in [true, false] {
        spec.ha.as_mut().unwrap().sync = sync;
        for director in 0..2 {
            for balance in [true, false] {
                let text = to_keepalived(&spec, Purpose::Ha { director, balance }, &[]);
                let file = dir.path().join(format!("d{director}-{balance}-{sync}.conf"));
                std::fs::write(&file, &text).unwrap();
                assert_eq!(text.contains("lvs_sync_daemon eth1 VI_ha"), sync && balance, "{text}");
                assert_eq!(text.contains("virtual_server "), balance, "{text}");
                assert!(text.contains("198.51.100.1/24 dev eth1"), "{text}");
                let script = "ip link add eth0 type veth peer name peer0 && \
                              ip link add eth1 type veth peer name peer1 && \
                              exec keepalived --config-test -f \"$1\"";
                let out = Command::new("unshare")
                    .args(["--net", "--", "sh", "-c", script, "sh"])
                    .arg(&file)
                    .output()
                    .unwrap();
                let said = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    out.status.success(),
                    "config-test refused director {director}: {said}\n{text}"
                );
                assert!(said.trim().is_empty(), "keepalived warned: {said}\n{text}");
            }
        }
    }
}

/// The `ha` preset exports director1's file (MASTER, priority 150, the sync
/// daemon, VIP on eth0 and DIP on eth1); its comment block says what
/// director2's file changes, and the file made by those changes passes the
/// config test too.
#[test]
fn the_ha_export_is_the_masters_file_and_the_backups_follows_from_it() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("director1.conf");
    common::lvslab_ok(&["export", "ha", "--format", "keepalived", "-o", master.to_str().unwrap()]);
    let text = std::fs::read_to_string(&master).unwrap();
    for needle in [
        "state MASTER",
        "priority 150",
        "lvs_sync_daemon eth1",
        "192.0.2.1/24 dev eth0",
        "198.51.100.1/24 dev eth1",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
    assert!(!text.contains("br0"), "an HA director has no br0:\n{text}");
    let (code, said) = config_test(&master);
    assert_eq!(code, 0, "keepalived refused director1's file: {said}\n{text}");
    assert!(said.trim().is_empty(), "keepalived warned: {said}");

    // director2's file, made as the comment block says.
    let changes: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("(the BACKUP) is the same"))
        .skip(2)
        .take(3)
        .map(|l| l.trim_start_matches('#').trim())
        .collect();
    assert_eq!(changes, ["router_id lvslab_ha_director2", "state BACKUP", "priority 100"]);
    let backup_text = text
        .replace("router_id lvslab_ha_director1\n", &format!("{}\n", changes[0]))
        .replace("    state MASTER\n", &format!("    {}\n", changes[1]))
        .replace("    priority 150\n", &format!("    {}\n", changes[2]));
    for change in &changes {
        assert!(backup_text.lines().any(|l| l.trim() == *change), "{change} not applied");
    }
    let backup = dir.path().join("director2.conf");
    std::fs::write(&backup, &backup_text).unwrap();
    let (code, said) = config_test(&backup);
    assert_eq!(code, 0, "keepalived refused director2's file: {said}\n{backup_text}");
}

/// Issue "trust" (5): the export of a preset whose path holds a
/// virtual_server, long enough that keepalived (1,024-byte lines) read its
/// tail as statements when the header repeated it, passes the config test
/// with exactly the lab's virtual servers; so does a record's spec whose
/// free text (name, description, server names) is long and hostile.
#[test]
fn a_hostile_path_or_record_text_adds_nothing_keepalived_parses() {
    use lvslab_core::lab::export::keepalived::{Purpose, to_keepalived};
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let mut sub = dir.path().to_path_buf();
    for _ in 0..5 {
        sub.push("x".repeat(200));
    }
    sub.push("virtual_server 10.9.9.9 1 { lb_kind NAT");
    std::fs::create_dir_all(&sub).unwrap();
    let preset = sub.join("lab.toml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/tutorial-nat.toml"), &preset).unwrap();
    let out = common::lvslab_ok(&["export", preset.to_str().unwrap(), "--format", "keepalived"]);
    let exported = String::from_utf8(out.stdout).unwrap();

    let mut spec = lvslab_core::lab::presets::load("tutorial").unwrap().spec;
    let evil = format!("{} virtual_server 10.9.9.9 1 {{\n}}\\", "y".repeat(3000));
    spec.description = evil.clone();
    spec.real_servers[0].name = evil.clone();
    spec.services[0].members[0].name = evil.clone();
    let record = to_keepalived(&spec, Purpose::Export, &[evil.clone(), evil]);

    for (what, text) in [("path", exported), ("record", record)] {
        for line in text.lines() {
            assert!(line.len() < 1024, "{what}: a {}-byte line", line.len());
        }
        let file = dir.path().join(format!("{what}.conf"));
        std::fs::write(&file, &text).unwrap();
        let (code, said) = config_test(&file);
        assert_eq!(code, 0, "{what}: keepalived refused it: {said}");
        assert!(said.trim().is_empty(), "{what}: keepalived warned: {said}");
        assert!(!said.contains("10.9.9.9"), "{what}: {said}");
        assert_eq!(text.matches("\nvirtual_server ").count(), 1, "{what}: {text}");
    }
}

#[path = "../crates/core/tests/spec_gen/mod.rs"]
mod spec_gen;

/// keepalived accepts the configuration of arbitrary valid labs (NAT,
/// DR/TUN, HA; see spec_gen), not only the presets': the export and each
/// HA director's file, in a namespace with the director's interfaces. A
/// few cases (each config test starts keepalived).
#[test]
fn keepalived_accepts_the_files_of_generated_labs() {
    use lvslab_core::lab::export::keepalived::{Purpose, to_keepalived};
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let cases = std::env::var("LVSLAB_PROP_CASES").ok().and_then(|v| v.parse().ok());
    let config = Config {
        cases: cases.unwrap_or(12),
        rng_seed: RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let count = std::cell::Cell::new(0);
    runner
        .run(&spec_gen::spec(), |spec| {
            let mut files = vec![to_keepalived(&spec, Purpose::Export, &["generated".into()])];
            if spec.ha.is_some() {
                files.push(to_keepalived(&spec, Purpose::Ha { director: 1, balance: true }, &[]));
            }
            for text in files {
                count.set(count.get() + 1);
                let file = dir.path().join(format!("{}.conf", count.get()));
                std::fs::write(&file, &text).unwrap();
                let (code, said) = config_test(&file);
                // keepalived warns (and its test fails) about one thing only:
                // a service whose real servers are all drained (weight 0) has
                // less weight than its quorum of 1. The lab drains on purpose.
                let drained = spec
                    .services
                    .iter()
                    .any(|s| !s.members.is_empty() && s.members.iter().all(|m| m.weight == 0));
                let only_quorum = said.lines().all(|l| l.trim().is_empty() || l.contains("quorum"));
                if drained && only_quorum {
                    continue;
                }
                proptest::prop_assert_eq!(code, 0, "{}\n{}", said, text);
                proptest::prop_assert!(said.trim().is_empty(), "{}\n{}", said, text);
            }
            Ok(())
        })
        .unwrap();
}
