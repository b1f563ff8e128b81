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
