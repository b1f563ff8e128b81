//! `lvslab check`: every broken preset in tests/bad_labs/ is refused with the
//! exact message in its `.stderr` file (file:line:col, what, and the fix),
//! and every shipped preset passes. Needs no root.

use std::path::Path;
use std::process::Command;

fn lvslab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lvslab"))
}

#[test]
fn each_broken_preset_gets_its_exact_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_labs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file = path.file_name().unwrap().to_str().unwrap();
        let expected = std::fs::read_to_string(path.with_extension("stderr"))
            .unwrap_or_else(|_| panic!("{file} has no .stderr file with its expected message"));
        let out = lvslab().arg("check").arg(file).current_dir(&dir).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{file} must be refused");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected, "message for {file}");
        assert!(out.stdout.is_empty(), "{file}: errors go to stderr only");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} broken presets found");
}

#[test]
fn shipped_presets_pass_by_name_and_by_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for arg in ["tutorial", "rr4", "labs/tutorial-nat.toml", "labs/nat-rr-4rs.toml"] {
        let out = lvslab().args(["check", arg]).current_dir(root).output().unwrap();
        assert!(out.status.success(), "{arg}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_preset_in_labs_passes_by_path_and_by_its_lab_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("labs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let name = source.parse::<toml::Table>().unwrap()["name"].as_str().unwrap().to_string();
        for arg in [path.to_str().unwrap(), &name] {
            let out = lvslab().args(["check", arg]).current_dir(root).output().unwrap();
            assert!(out.status.success(), "{arg}: {}", String::from_utf8_lossy(&out.stderr));
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} presets in labs/");
}

#[test]
fn check_json_reports_each_error_with_its_position() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_labs");
    let out = lvslab()
        .args(["check", "--json", "unknown-scheduler.toml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let err = &doc["errors"][0];
    assert_eq!((err["line"].as_u64(), err["col"].as_u64()), (Some(26), Some(13)));
    assert_eq!(err["message"], "unknown scheduler 'wrrr'");
}

#[test]
fn an_unknown_preset_name_lists_the_presets() {
    let out = lvslab().args(["check", "nosuchlab"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no preset is called 'nosuchlab'"), "{err}");
    assert!(err.contains("tutorial (labs/tutorial-nat.toml)"), "{err}");
}

/// A NAT lab of `servers` real servers (198.18.0.10 up) in one service.
fn generated(servers: u32) -> String {
    let mut text = String::from(
        "name = \"wide\"\n[networks]\nclient = \"203.0.113.0/24\"\nservers = \"198.18.0.0/15\"\n\
         [client]\naddress = \"203.0.113.2\"\n[director]\nvip = \"203.0.113.1\"\n\
         dip = \"198.18.0.1\"\n",
    );
    for i in 1..=servers {
        let ip = std::net::Ipv4Addr::from(0xC612_0009u32 + i);
        text += &format!("[[real-server]]\nname = \"rs{i}\"\naddress = \"{ip}\"\n");
    }
    text += "[[service]]\nport = 80\nscheduler = \"rr\"\n";
    for i in 1..=servers {
        text += &format!("[[service.real-server]]\nname = \"rs{i}\"\n");
    }
    text
}

#[test]
fn a_lab_wider_than_one_bridge_checks_and_one_past_the_cap_is_refused_at_its_entry() {
    // Past one bridge's 1,023 ports the servers go on leaf bridges
    // (lab::leaves), so what bounds a lab is lvslab's own cap.
    let dir = std::env::temp_dir().join(format!("lvslab-check-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("wide.toml"), generated(1024)).unwrap();
    let past = generated(16_385);
    std::fs::write(dir.join("past.toml"), &past).unwrap();

    let wide = lvslab().args(["check", "wide.toml"]).current_dir(&dir).output().unwrap();
    let refused = lvslab().args(["check", "past.toml"]).current_dir(&dir).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(wide.status.success(), "1,024: {}", String::from_utf8_lossy(&wide.stderr));
    assert!(String::from_utf8_lossy(&wide.stdout).contains("1024 real servers"));
    assert_eq!(refused.status.code(), Some(1), "16,385 real servers must be refused");
    let line = past.lines().position(|l| l == "name = \"rs16385\"").unwrap() + 1;
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.starts_with(&format!(
            "past.toml:{line}:8: real server 'rs16385' is the 16385th: a lab has at most 16384 \
             real servers"
        )),
        "{err}"
    );
}
