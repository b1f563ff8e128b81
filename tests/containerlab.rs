//! `lvslab export --format containerlab` of every preset it takes is a
//! topology containerlab's own JSON schema (draft-07) accepts: checked by
//! Python's `jsonschema` (Debian's python3-jsonschema, python3-yaml,
//! python3-regex for the schema's Go patterns; the
//! system python, so a pyenv on PATH does not hide a missing package).
//! containerlab itself cannot run here (no container runtime).

use std::path::{Path, PathBuf};
use std::process::Command;

const PYTHON: &str = "/usr/bin/python3";

/// containerlab's published schema, in the shared folder beside the repository.
fn schema() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/containerlab/clab.schema.json");
    assert!(path.exists(), "{} is missing (containerlab's schema)", path.display());
    path
}

const VALIDATE: &str = r#"
import json, sys, yaml, jsonschema, jsonschema._validators, regex
# The schema's patterns are Go's (\p{L}, \p{N}); Python's re lacks them, the
# regex module has them: jsonschema matches its patterns with it instead.
jsonschema._validators.re = regex
schema = json.load(open(sys.argv[1]))
bad = 0
for path in sys.argv[2:]:
    doc = yaml.safe_load(open(path))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
    for e in errors:
        print(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
    bad += len(errors)
    nodes = doc["topology"]["nodes"]
    for link in doc["topology"]["links"]:
        ends = link.get("endpoints") or [link["endpoint"]["node"] + ":" + link["endpoint"]["interface"]]
        for end in ends:
            node = end.split(":")[0]
            if node not in nodes:
                print(f"{path}: link end {end} names no node"); bad += 1
print(f"checked {len(sys.argv) - 2}")
sys.exit(1 if bad else 0)
"#;

fn export(preset: &str, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lvslab"))
        .args(["export", preset, "--format", "containerlab", "-o"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn every_preset_exports_a_topology_containerlabs_schema_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let presets = [
        "tutorial",
        "rr4",
        "dr",
        "tun",
        "tun-remote",
        "nat-vs-dr",
        "clients",
        "wlc",
        "sh",
        "lblcr",
    ];
    let mut files = Vec::new();
    for preset in presets {
        let file = dir.path().join(format!("{preset}.clab.yml"));
        let out = export(preset, &file);
        assert!(out.status.success(), "{preset}: {}", String::from_utf8_lossy(&out.stderr));
        files.push(file);
    }
    let run = Command::new(PYTHON)
        .args(["-c", VALIDATE])
        .arg(schema())
        .args(&files)
        .output()
        .expect("python3 runs");
    let said =
        format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(
        !said.contains("No module named"),
        "install Debian's python3-jsonschema, python3-yaml and python3-regex (tests/vm/setup does): {said}"
    );
    assert!(run.status.success(), "{said}");
    assert!(said.contains(&format!("checked {}", presets.len())), "{said}");
}

#[test]
fn the_validator_rejects_a_topology_that_breaks_the_schema() {
    // The check above must be able to fail: a node of an unknown kind and a
    // key containerlab does not have.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.clab.yml");
    assert!(export("tutorial", &file).status.success());
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "kind: \"linux\"",
        "kind: \"linux\"\n      colour: \"red\"",
        1,
    );
    std::fs::write(&file, text).unwrap();
    let run =
        Command::new(PYTHON).args(["-c", VALIDATE]).arg(schema()).arg(&file).output().unwrap();
    assert!(!run.status.success(), "{}", String::from_utf8_lossy(&run.stdout));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("colour"),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}

#[test]
fn a_keepalived_lab_is_refused_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = export("ha", &dir.path().join("ha.yml"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--format keepalived"), "{err}");
    assert!(!dir.path().join("ha.yml").exists());
}

#[test]
fn the_docs_two_machine_example_is_a_valid_topology() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/containerlab.md"))
            .unwrap();
    let yaml =
        doc.split("```yaml\n").nth(1).and_then(|b| b.split("```").next()).expect("a yaml block");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.clab.yml");
    std::fs::write(&file, yaml).unwrap();
    let run =
        Command::new(PYTHON).args(["-c", VALIDATE]).arg(schema()).arg(&file).output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{said}");
}
