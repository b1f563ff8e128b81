//! `lvslab import` as a script uses it, without root: from a file and from
//! standard input (`ipvsadm -Sn | lvslab import -`), the same preset, which
//! `lvslab check` accepts; a rule a NAT lab cannot rebuild is refused with
//! the line it is on.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

const RULES: &str = "tests/fixtures/ipvsadm/handmade.Sn.txt";

fn import_from_stdin(rules: &str, args: &[&str]) -> std::process::Output {
    let mut child = common::lvslab()
        .args(["import", "-"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lvslab import -");
    child.stdin.take().unwrap().write_all(rules.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn standard_input_gives_the_same_preset_as_the_file_and_it_validates() {
    let from_file = common::lvslab_ok(&["import", RULES, "--name", "hand"]);
    let rules = std::fs::read_to_string(RULES).unwrap();
    let from_stdin = import_from_stdin(&rules, &["--name", "hand"]);
    assert!(from_stdin.status.success(), "{}", String::from_utf8_lossy(&from_stdin.stderr));

    // Only the description, naming the source, differs.
    let body = |out: &[u8]| {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| !l.starts_with("description = "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&from_stdin.stdout), body(&from_file.stdout));

    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("hand.toml");
    std::fs::write(&preset, &from_stdin.stdout).unwrap();
    let check = Command::new(common::lvslab_exe()).arg("check").arg(&preset).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn direct_routing_apart_from_its_vip_from_standard_input_is_refused_with_its_line() {
    let out = import_from_stdin(
        "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -g -w 1\n",
        &[],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no preset is written");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("<stdin>:2:"), "{stderr}");
    // DR needs the VIP and the real servers on one segment; these are apart.
    assert!(stderr.contains("one segment") && stderr.contains("change -g/-i to -m"), "{stderr}");
}

/// `lvslab import PATH` that fails: its standard error.
fn refused(path: &std::path::Path) -> String {
    let out = Command::new(common::lvslab_exe()).arg("import").arg(path).output().unwrap();
    assert!(!out.status.success(), "a bad input is refused");
    assert!(out.stdout.is_empty(), "no preset is written");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_bad_weight_is_reported_at_the_input_files_line_not_a_generated_preset() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r_w.rules");
    std::fs::write(
        &rules,
        "# ipvsadm -Sn\n-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 1\n\
         -a -t 192.0.2.1:80 -r 198.51.100.12:80 -m -w 70000\n",
    )
    .unwrap();
    let stderr = refused(&rules);
    // Line 4, column 46: the 70000 after -w.
    let at = format!("{}:4:46: weight 70000 is out of range", rules.display());
    assert!(stderr.starts_with(&at), "{stderr}");
    assert!(stderr.contains("help: use a weight from 0"), "the fix: {stderr}");
    assert!(!stderr.contains(".toml"), "no preset exists to be named: {stderr}");
    assert!(std::fs::read_dir(dir.path()).unwrap().count() == 1, "nothing was written");

    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.1 80 {\n  lb_algo wrr\n  real_server 198.51.100.11 80 {\n    \
         weight 70000\n  }\n}\n",
    )
    .unwrap();
    let stderr = refused(&conf);
    let at = format!("{}:4:12: weight 70000 is out of range", conf.display());
    assert!(stderr.starts_with(&at), "{stderr}");
    assert!(!stderr.contains(".toml"), "{stderr}");
}

#[test]
fn a_control_sequence_in_the_rules_reaches_the_terminal_escaped() {
    let out = import_from_stdin("-A -t 192.0.2.1:80 -s \u{1b}]0;owned\u{7}wrr\n", &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("<stdin>:1:23: unknown scheduler '\\u{1b}]0;owned\\u{7}wrr'"),
        "{stderr}"
    );
    assert!(!out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07), "{stderr}");
}

#[test]
fn the_mh_tours_flags_leave_by_export_and_come_back_by_import_in_each_format() {
    let rules = common::lvslab_ok(&["export", "mh", "--format", "ipvsadm"]);
    let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
    assert!(rules.contains("-A -t 192.0.2.1:8080 -s mh -b mh-port\n"), "{rules}");
    assert!(rules.contains("-A -t 192.0.2.1:80 -s mh\n"), "{rules}");
    let back = import_from_stdin(&rules, &["--name", "mh"]);
    let preset = String::from_utf8_lossy(&back.stdout);
    assert!(preset.contains("scheduler-flags = [\"mh-port\"]"), "{preset}");

    let conf = common::lvslab_ok(&["export", "mh", "--format", "keepalived"]);
    let conf = String::from_utf8_lossy(&conf.stdout).into_owned();
    assert!(conf.contains("    lb_algo mh\n    mh-port\n"), "the flag after its lb_algo: {conf}");
    let back = import_from_stdin(&conf, &["--name", "mh"]);
    assert!(back.status.success(), "{}", String::from_utf8_lossy(&back.stderr));
    assert!(String::from_utf8_lossy(&back.stdout).contains("scheduler-flags = [\"mh-port\"]"));

    let script = common::lvslab_ok(&["export", "mh", "--format", "shell"]);
    let script = String::from_utf8_lossy(&script.stdout);
    assert!(script.contains("ipvsadm -A -t 192.0.2.1:8080 -s mh -b mh-port"), "{script}");
}
