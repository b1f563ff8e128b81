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
