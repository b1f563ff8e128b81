//! The completion scripts, as a shell runs them: bash sources the script
//! `lvslab completions bash` prints and its completion function is called
//! the way bash calls it on TAB; the candidates come from the binary.

use std::process::Command;

/// The candidates bash offers for `words` (the last one the word being
/// completed), with the built lvslab first on PATH.
fn bash_candidates(words: &[&str]) -> Vec<String> {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_lvslab"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap());
    let quoted: Vec<String> = words.iter().map(|w| shlex::try_quote(w).unwrap().into()).collect();
    let cword = words.len() - 1;
    let script = format!(
        "source <(lvslab completions bash) || exit 9\n\
         complete -p lvslab >/dev/null || exit 8\n\
         COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_TYPE=9\n\
         _clap_complete_lvslab lvslab {cur} {prev}\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = quoted.join(" "),
        cur = quoted[cword],
        prev = quoted[cword - 1],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env("PATH", path)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut got: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).collect();
    got.retain(|l| !l.is_empty());
    got.sort();
    got
}

#[test]
fn bash_completes_preset_names_after_up() {
    assert_eq!(bash_candidates(&["lvslab", "up", "t"]), ["tun", "tun-remote", "tutorial"]);
    let all = bash_candidates(&["lvslab", "check", ""]);
    for preset in ["tutorial", "dr", "ha", "nat-vs-dr", "clients"] {
        assert!(all.contains(&preset.to_string()), "{preset} missing from {all:?}");
    }
}

#[test]
fn bash_completes_commands_flags_and_their_values() {
    assert_eq!(bash_candidates(&["lvslab", "st"]), ["status"]);
    assert_eq!(bash_candidates(&["lvslab", "co"]), ["compare", "completions", "conns"]);
    assert!(
        bash_candidates(&["lvslab", "set", "tutorial", "--sch"]).contains(&"--scheduler".into())
    );
    assert!(
        bash_candidates(&["lvslab", "up", "tutorial", "--data"]).contains(&"--dataplane".into())
    );
    assert_eq!(bash_candidates(&["lvslab", "up", "tutorial", "--dataplane", "n"]), ["nft", "none"]);
    assert_eq!(bash_candidates(&["lvslab", "set", "ha", "--fail", ""]), ["director1", "director2"]);
    // An empty word offers the flags too (--help, --version); the values are the shells.
    let shells: Vec<String> = bash_candidates(&["lvslab", "completions", ""])
        .into_iter()
        .filter(|c| !c.starts_with('-'))
        .collect();
    assert_eq!(shells, ["bash", "fish", "zsh"]);
}

#[test]
fn zsh_and_fish_scripts_call_back_into_lvslab() {
    for shell in ["zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_lvslab"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("COMPLETE=") || script.contains("COMPLETE\""), "{shell}: {script}");
        assert!(
            script.contains(&format!("\"{shell}\"")) || script.contains(shell),
            "{shell}: {script}"
        );
        assert!(script.contains("lvslab"), "{shell}: {script}");
    }
}
