//! Issue 11, the input half: what a user, a preset or a hand-edited record
//! hands lvslab is checked before it can do harm. Each test performs the
//! attack and asserts the safe outcome. Needs no root: every refusal here
//! happens before anything privileged.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use lvslab::monitor::sample;
use lvslab_tui::app::App;
use lvslab_tui::theme::Theme;
use lvslab_tui::{Keymap, PresetInfo, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn lvslab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvslab")).args(args).current_dir(dir).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every cell ratatui would send to the terminal, as text.
fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| view::render(f, app)).unwrap();
    terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect()
}

const HOSTILE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nrm -rf /\u{9b}31m";

#[test]
fn control_characters_in_a_preset_or_record_never_reach_the_screen() {
    let picker = App::new(
        Theme::default(),
        Keymap::default(),
        vec![PresetInfo {
            name: HOSTILE.into(),
            description: HOSTILE.into(),
            file: HOSTILE.into(),
            topology: vec![HOSTILE.into()],
            services: vec![HOSTILE.into()],
            explanation: format!("{HOSTILE}\n  {HOSTILE}"),
            dataplane: None,
        }],
    );
    let mut dashboard = App::new(Theme::default(), Keymap::default(), Vec::new());
    let mut snap = sample::tutorial(0);
    snap.lab.name = HOSTILE.into();
    dashboard.on_snapshot(Arc::new(snap));
    for (what, app) in [("picker", &picker), ("dashboard", &dashboard)] {
        let text = screen(app);
        assert!(!text.chars().any(lvslab_core::lab::text::is_unsafe), "{what}: {text:?}");
        assert!(text.contains("evil\\u{1b}]0;pwned"), "{what} shows the escape, escaped: {text}");
    }
}

/// What a terminal would obey in `out`: any control character but a line
/// break or a tab.
fn obeyed(out: &Output) -> Vec<char> {
    let all =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    all.chars()
        .filter(|c| lvslab_core::lab::text::is_unsafe(*c) && *c != '\n' && *c != '\t')
        .collect()
}

/// Escape sequences fed through every parser (a preset's scheduler, name
/// and description, an `ipvsadm -S` file, a keepalived.conf, the command
/// line) come back in the messages escaped: `cat -v` would show nothing.
#[test]
fn escape_sequences_through_every_parser_never_reach_the_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let tutorial = include_str!("../labs/tutorial-nat.toml");
    let osc = "\u{1b}]0;HACKED\u{7}\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}";
    // The same in TOML's own escapes, so the parsed value holds the bytes.
    let toml_osc = "\\u001b]0;HACKED\\u0007\\u001b[2J\\u001b]52;c;ZXZpbA==\\u0007";
    let presets = [
        (
            "scheduler",
            tutorial.replacen("scheduler = \"wrr\"", &format!("scheduler = \"{toml_osc} wrr\""), 1),
        ),
        ("name", tutorial.replacen("name = \"tutorial\"", &format!("name = \"{toml_osc}\""), 1)),
        ("key", format!("\"{toml_osc}\" = 1\n{tutorial}")),
        ("raw", tutorial.replacen("scheduler = \"wrr\"", &format!("scheduler = \"{osc}\""), 1)),
    ];
    let mut runs = Vec::new();
    for (what, text) in &presets {
        assert_ne!(text, tutorial, "{what}: the attack was planted");
        let path = dir.path().join(format!("{what}.toml"));
        std::fs::write(&path, text).unwrap();
        runs.push((
            format!("check {what}"),
            lvslab(dir.path(), &["check", path.to_str().unwrap()]),
        ));
        runs.push((
            format!("export {what}"),
            lvslab(dir.path(), &["export", "--format", "shell", path.to_str().unwrap()]),
        ));
    }
    let rules = dir.path().join("hostile.rules");
    std::fs::write(
        &rules,
        format!("-A -t 192.0.2.1:80 -s {osc}wrr\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 1\n"),
    )
    .unwrap();
    runs.push(("import rules".into(), lvslab(dir.path(), &["import", rules.to_str().unwrap()])));
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, format!("virtual_server 192.0.2.1 80 {{\n  lb_algo {osc}\n  protocol TCP\n  real_server 198.51.100.11 80 {{\n  }}\n}}\n")).unwrap();
    runs.push((
        "import keepalived.conf".into(),
        lvslab(dir.path(), &["import", conf.to_str().unwrap()]),
    ));
    runs.push((
        "set --scheduler, which clap strips: raw".into(),
        lvslab(dir.path(), &["set", "x", "--scheduler", osc]),
    ));
    runs.push(("a lab name".into(), lvslab(dir.path(), &["status", osc])));
    for (what, out) in &runs {
        assert!(!out.status.success(), "{what} accepted the hostile text: {}", stderr(out));
        assert_eq!(
            obeyed(out),
            Vec::<char>::new(),
            "{what} sent control characters: {}",
            stderr(out)
        );
        // Where the value reached a message it is there, escaped (a raw
        // control character in TOML is refused before it is a value).
        if !what.ends_with("raw") {
            let said = stderr(out);
            assert!(said.contains("\\u{1b}"), "{what} shows it escaped: {said}");
        }
    }
}

/// A lab name is checked by the validator's rule before any command builds a
/// path from it: `down ../x` would otherwise reach outside /run/lvslab.
#[test]
fn lab_names_that_walk_out_of_the_state_directory_are_refused_first() {
    let dir = tempfile::tempdir().unwrap();
    // What `/run/lvslab/<name>.json` would reach: a record-shaped victim.
    let victim = dir.path().join("victim.json");
    std::fs::write(&victim, "{}").unwrap();
    let traversal = format!("../..{}/victim", dir.path().display());
    let state_dir_existed = Path::new("/run/lvslab").exists();
    let attacks: Vec<Vec<&str>> = vec![
        vec!["down", &traversal],
        vec!["down", "../x"],
        vec!["status", "../x"],
        vec!["set", "../x", "--zero"],
        vec!["traffic", "a/../../x"],
        vec!["tutorial", "--name", "../x"],
        vec!["up", ".."],
        vec!["tui", "Tutorial"],
        vec!["import", "-", "--name", "x/y"],
    ];
    for args in attacks {
        let out = lvslab(dir.path(), &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is not a lab name"), "{args:?}: {err}");
        assert!(err.contains("lowercase letters, digits and '-'"), "{args:?} says the rule: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(victim.exists(), "the file the traversal named is untouched");
    assert_eq!(Path::new("/run/lvslab").exists(), state_dir_existed, "nothing was created");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing was created");
}

/// A bare word is a built-in preset (or a running lab), never a file of the
/// current directory: a file called `tutorial` there cannot stand in for the
/// tutorial preset. A path (with '/', or ending in .toml) is a file.
#[test]
fn a_file_in_the_current_directory_cannot_shadow_a_built_in_preset() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = include_str!("../labs/tutorial-nat.toml");
    // The same lab name, but another scheduler: what a shadowing file would
    // silently change.
    let hostile = builtin.replace("scheduler = \"wrr\"", "scheduler = \"rr\"");
    assert_ne!(hostile, builtin);
    std::fs::write(dir.path().join("tutorial"), &hostile).unwrap();
    std::fs::write(dir.path().join("tutorial.toml"), &hostile).unwrap();

    let out = lvslab(dir.path(), &["check", "tutorial"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.starts_with("labs/tutorial-nat.toml: ok"), "the built-in preset: {text}");

    let out = lvslab(dir.path(), &["check", "--json", "tutorial"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["lab"]["services"][0]["scheduler"], "wrr", "{json}");

    // Named as a path, the file is what is read.
    for path in ["./tutorial", "tutorial.toml"] {
        let out = lvslab(dir.path(), &["check", path]);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(path), "{path}: {out:?}");
        let out = lvslab(dir.path(), &["check", "--json", path]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["lab"]["services"][0]["scheduler"], "rr", "{json}");
    }
}

/// Numbers from the command line have the range ipvsadm and the kernel give
/// them, checked before anything runs; none panics, however large.
#[test]
fn out_of_range_numbers_on_the_command_line_are_refused_with_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["set", "tutorial", "--weight", "rs1=70000"], "weight 70000 is out of range"),
        (&["set", "tutorial", "--weight=rs1=-1"], "weight -1 is out of range"),
        (&["set", "tutorial", "--add-rs", "rs3=198.51.100.13:80,65536"], "65535"),
        (&["set", "tutorial", "--add-rs", "rs3=198.51.100.13:0"], "port 0 is out of range"),
        (&["traffic", "tutorial", "--duration", "1e300"], "duration 1e300 is out of range"),
        (&["traffic", "tutorial", "--duration", "1e20s"], "at most 86400 seconds"),
        (&["traffic", "tutorial", "--duration", "NaN"], "out of range"),
        (&["traffic", "tutorial", "--duration=-5ms"], "out of range"),
        (&["traffic", "tutorial", "--rate", "1e300"], "rate 1e300 is out of range"),
        (&["traffic", "tutorial", "--rate", "inf"], "out of range"),
        (&["traffic", "tutorial", "--concurrency", "0"], "concurrency 0 is out of range"),
        (&["traffic", "tutorial", "--hold", "18446744073709551615"], "hold-ms"),
        (&["traffic", "tutorial", "--requests", "0"], "requests 0 is out of range"),
    ];
    for (args, expected) in cases {
        let out = lvslab(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// `export -o FILE` never writes through a symlink at FILE (as root, in a
/// directory others can write, that would overwrite any file): the link is
/// replaced by the new file and what it pointed to is untouched.
#[test]
fn export_to_a_symlink_replaces_the_link_and_leaves_its_target_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let preset = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/tutorial-nat.toml");
    for (format, mode) in [("shell", 0o755), ("toml", 0o644), ("ipvsadm", 0o644)] {
        let link = dir.path().join(format!("out-{format}"));
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let out = lvslab(
            dir.path(),
            &["export", preset, "--format", format, "-o", link.to_str().unwrap()],
        );
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file(), "{format}: the link was replaced by a file");
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{format}");
        assert!(!std::fs::read_to_string(&link).unwrap().is_empty());
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the target's mode is untouched");
    // Only the victim and the three outputs: no temporary file is left.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    // Import writes the same way.
    let rules = dir.path().join("saved.rules");
    std::fs::write(
        &rules,
        "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 1\n",
    )
    .unwrap();
    let link = dir.path().join("imported.toml");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = lvslab(dir.path(), &["import", "saved.rules", "-o", "imported.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_file());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

/// Issue "trust" (4): every file lvslab reads is read through one capped
/// reader. `/dev/zero`, a FIFO that never ends and a file past the limit
/// are refused quickly, in bounded memory, with the file and the limit
/// named; nothing is written.
#[test]
fn endless_and_oversized_inputs_are_refused_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.rules");
    let file = std::fs::File::create(&big).unwrap();
    // Sparse: 17 MiB of nothing, past the 16 MiB limit.
    file.set_len(17 << 20).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // A writer that never stops (until the reader closes the FIFO).
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let block = vec![b'#'; 1 << 16];
            while f.write_all(&block).is_ok() {}
        })
    };
    let big_s = big.to_str().unwrap();
    let fifo_s = fifo.to_str().unwrap();
    let attacks: Vec<(Vec<&str>, &str)> = vec![
        (vec!["import", "/dev/zero"], "/dev/zero"),
        (vec!["import", fifo_s], fifo_s),
        (vec!["import", big_s], big_s),
        (vec!["check", big_s], big_s),
        (vec!["export", big_s, "--format", "toml"], big_s),
        (vec!["check", "/dev/zero"], "/dev/zero"),
    ];
    for (args, file) in attacks {
        let started = std::time::Instant::now();
        let out = lvslab(dir.path(), &args);
        let took = started.elapsed();
        let err = stderr(&out);
        eprintln!("{args:?} refused in {:.0} ms", took.as_secs_f64() * 1000.0);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(err.contains(file), "{args:?} names the file: {err}");
        assert!(
            err.contains("more than 16 MiB (16777216 bytes)"),
            "{args:?} names the limit: {err}"
        );
        assert!(err.contains("help: "), "{args:?} says what to do: {err}");
    }
    writer.join().unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "nothing was written");
}

/// Saved rules of `servers` real servers (10.0.0.2 up) behind one VIP.
fn big_rules(servers: usize) -> String {
    let mut text = String::from("-A -t 192.0.2.1:80 -s wrr\n");
    for i in 0..servers {
        let rip = std::net::Ipv4Addr::from(0x0A00_0002u32 + i as u32);
        text.push_str(&format!("-a -t 192.0.2.1:80 -r {rip}:80 -m -w 1\n"));
    }
    text
}

/// Past the caps of lab::ranges, import and check refuse with the limit,
/// the file and the line; at the cap they pass (and `check` of the result
/// agrees).
#[test]
fn past_a_cap_import_and_check_refuse_naming_limit_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("over.rules"), big_rules(16_385)).unwrap();
    let out = lvslab(dir.path(), &["import", "over.rules"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("over.rules:16386:"), "the input's line of the 16385th: {err}");
    assert!(err.contains("is the 16385th: a lab has at most 16384 real servers"), "{err}");
    assert!(out.stdout.is_empty());

    // At the cap they import: past one bridge's 1,023 ports the servers go
    // on leaf bridges (lab::leaves), and `check` of the preset agrees.
    std::fs::write(dir.path().join("at.rules"), big_rules(16_384)).unwrap();
    let out = lvslab(dir.path(), &["import", "at.rules", "-o", "at.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = lvslab(dir.path(), &["check", "at.toml"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("16384 real servers"), "{out:?}");

    std::fs::write(dir.path().join("fits.rules"), big_rules(1_023)).unwrap();
    let out = lvslab(dir.path(), &["import", "fits.rules", "-o", "fits.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = lvslab(dir.path(), &["check", "fits.toml"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1023 real servers"), "{out:?}");
    // Grown past the cap of [[real-server]]s: refused at the 16385th's line.
    let mut preset = std::fs::read_to_string(dir.path().join("fits.toml")).unwrap();
    for i in 1_023..16_384 {
        preset
            .push_str(&format!("\n[[real-server]]\nname = \"pad{i}\"\naddress = \"10.0.64.99\"\n"));
    }
    preset.push_str("\n[[real-server]]\nname = \"extra\"\naddress = \"10.0.64.99\"\n");
    std::fs::write(dir.path().join("over.toml"), &preset).unwrap();
    let out = lvslab(dir.path(), &["check", "over.toml"]);
    let err = stderr(&out);
    let line = preset.lines().count() - 1;
    assert!(
        err.starts_with(&format!(
            "over.toml:{line}:8: real server 'extra' is the 16385th: a lab has at most 16384 real servers"
        )),
        "{err}"
    );
}

/// Issue "trust" (5): a preset path that holds keepalived syntax, long
/// enough to pass keepalived's 1,024-byte line, reaches no generated
/// header: every line of every export stays short, and no statement of it
/// comes from the path.
#[test]
fn a_hostile_preset_path_reaches_no_generated_header() {
    let dir = tempfile::tempdir().unwrap();
    // Over 1,024 bytes in all (one name may have 255).
    let mut sub = dir.path().to_path_buf();
    for _ in 0..5 {
        sub.push("x".repeat(200));
    }
    sub.push("virtual_server 10.9.9.9 1 { lb_kind NAT");
    std::fs::create_dir_all(&sub).unwrap();
    let preset = sub.join("lab.toml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/tutorial-nat.toml"), &preset).unwrap();
    for format in ["keepalived", "shell", "toml"] {
        let out = lvslab(dir.path(), &["export", preset.to_str().unwrap(), "--format", format]);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        for line in text.lines() {
            assert!(line.len() < 1024, "{format}: a {}-byte line", line.len());
            assert!(!line.contains("10.9.9.9"), "{format}: the path is in the output: {line}");
        }
        if format != "shell" {
            assert!(text.contains("preset lab.toml"), "{format}: the file's name is kept");
        }
    }
    // Imported rules: the header names no file either.
    let rules = sub.join("saved.rules");
    std::fs::write(&rules, big_rules(2)).unwrap();
    let out = lvslab(dir.path(), &["import", rules.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("10.9.9.9") && text.lines().all(|l| l.len() < 1024), "{text}");
    assert!(text.contains("Imported from saved.rules"), "{text}");
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A plain string cannot reach a state path: the lab folders are joined in
/// one function, `state::lab_dir`, which takes a `LabName` (whose
/// constructor is the lab-name rule), and no other code joins anything to
/// lvslab's state folders or formats a path under them.
#[test]
fn only_lab_dir_joins_a_name_to_a_state_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("crates"), &mut files);
    let state = root.join("src/ops/state.rs");
    let mut joins = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let names_state = ["STATE_DIR", "LABS_DIR", "NETNS_MARK_DIR", "\"/run/lvslab/"]
                .iter()
                .any(|s| line.contains(s));
            let builds = line.contains(".join(") || line.contains("format!(\"/run/lvslab");
            if names_state && builds && !line.trim_start().starts_with("//") {
                joins.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    let state = state.display().to_string();
    let expected = [
        "pub fn lab_dir(lab: &LabName) -> PathBuf {",
        "Path::new(LABS_DIR).join(lab.as_str())",
        "Path::new(NETNS_MARK_DIR).join(netns)",
    ];
    let unexpected: Vec<&String> = joins
        .iter()
        .filter(|j| !(j.starts_with(&state) && expected.iter().any(|e| j.ends_with(e))))
        .collect();
    assert!(unexpected.is_empty(), "state paths built outside lab_dir: {unexpected:#?}");
    let lab_joins = joins.iter().filter(|j| j.ends_with(expected[1])).count();
    assert_eq!(lab_joins, 1, "one join of a lab's name: {joins:#?}");
    let source = std::fs::read_to_string(root.join("crates/core/src/lab/name.rs")).unwrap();
    assert!(source.contains("pub struct LabName(String);"), "LabName's field is private");
}
