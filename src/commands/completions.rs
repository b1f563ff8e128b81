//! `lvslab completions SHELL` and `lvslab man --out DIR`, both from the one
//! clap definition in `cli.rs` (the dynamic candidates the shells ask for
//! are `candidates`, which the definition names).
//!
//! Completion is clap_complete's dynamic engine: the script a shell sources
//! calls `COMPLETE=<shell> lvslab -- <words>` on each TAB, so presets, labs
//! and real-server names come from what exists at that moment (lab records
//! under /run/lvslab that the user can read; see `candidates.rs`), not from a
//! list frozen when the script was written.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::env::EnvCompleter;

use crate::cli::{Cli, Shell};

/// The environment variable the completion scripts set (clap_complete's default).
pub const COMPLETE_VAR: &str = "COMPLETE";

/// Answers a shell's completion request and exits, when this run is one
/// (`COMPLETE` set); otherwise returns and the command line is parsed as usual.
pub fn answer_shell_if_asked() {
    clap_complete::CompleteEnv::with_factory(Cli::command).var(COMPLETE_VAR).complete();
}

/// Prints the script that registers lvslab's completion in `shell`.
pub fn run(shell: Shell) -> Result<ExitCode> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
    };
    let mut script = Vec::new();
    // The script calls `lvslab` by name, found on PATH at each TAB, so it
    // keeps working after the binary moves or is upgraded.
    completer.write_registration(COMPLETE_VAR, "lvslab", "lvslab", "lvslab", &mut script)?;
    std::io::stdout().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes one man page per command into `out` (lvslab.1, lvslab-up.1, ...).
pub fn man(out: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    clap_mangen::generate_to(Cli::command(), out)
        .with_context(|| format!("writing man pages to {}", out.display()))?;
    println!("man pages written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// groff's text rendering of a page, with its warnings (all of them, -ww);
    /// -k runs preconv first, as `man` does, for the non-ASCII characters.
    fn render(page: &Path) -> (String, String) {
        let out = std::process::Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-P-cbou"]) // plain text, no bold escapes
            .arg(page)
            .output()
            .expect("groff (Debian package groff-base) runs");
        assert!(out.status.success(), "groff failed on {}", page.display());
        (String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }

    #[test]
    fn every_command_has_a_man_page_that_renders_without_warnings_and_names_each_of_its_flags() {
        let dir = tempfile::tempdir().unwrap();
        man(dir.path()).unwrap();
        let mut cli = Cli::command().disable_help_subcommand(true);
        cli.build();
        let commands: Vec<clap::Command> = std::iter::once(cli.clone())
            .chain(cli.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
            .collect();
        assert!(commands.len() > 15, "{}", commands.len());
        for cmd in commands {
            let file = if cmd.get_name() == "lvslab" {
                "lvslab.1".to_string()
            } else {
                format!("lvslab-{}.1", cmd.get_name())
            };
            let (text, warnings) = render(&dir.path().join(&file));
            assert_eq!(warnings, "", "{file}");
            // groff breaks words with a hyphen at line ends: join them back.
            let text = text.replace("‐\n", "").replace('‐', "-");
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                let named = match (arg.get_long(), arg.get_short()) {
                    (Some(long), _) => format!("--{long}"),
                    (None, Some(short)) => format!("-{short}"),
                    (None, None) => arg.get_id().as_str().to_uppercase(),
                };
                assert!(text.contains(&named), "{file} does not name {named}:\n{text}");
            }
        }
    }
}
