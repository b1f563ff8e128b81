//! The docs cannot rot: every `lvslab` command line in README.md and
//! docs/*.md is parsed by lvslab's own parser, every preset it brings up
//! exists, and every relative link resolves (to a file, and to a heading
//! when it names one).
//!
//! What counts as a command line: a line of a fenced code block whose
//! command (after `sudo`, variable assignments, `watch`/`timeout`, and
//! split at `&&`, `||`, `;`, `|`, `&`) is lvslab; and an inline code span
//! starting `lvslab `. A span is prose that may leave out a required
//! argument (`lvslab traffic --predict`) and may be a synopsis
//! (`lvslab down LAB [--force]`, whose flags are checked one by one); a
//! code-block line is meant to be run and must parse whole. A line that is
//! wrong on purpose ends with `# error:` and is skipped.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, error::ErrorKind};

use crate::cli::{Cli, Command};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// A command line found in a doc: where, the text, and whether it is prose.
struct Found {
    at: String,
    text: String,
    inline: bool,
}

/// Code-block lines (joined over trailing `\`) and inline `lvslab ...` spans.
fn command_lines(file: &Path) -> Vec<Found> {
    let source = std::fs::read_to_string(file).unwrap();
    let name = file.strip_prefix(repo()).unwrap().display().to_string();
    let mut found = Vec::new();
    let mut fence = false;
    let mut shell = false;
    let mut pending = String::new();
    for (n, line) in source.lines().enumerate() {
        let at = format!("{name}:{}", n + 1);
        if let Some(info) = line.trim_start().strip_prefix("```") {
            fence = !fence;
            // Only shell blocks hold command lines (a ```text block is a picture).
            shell = matches!(info.trim(), "" | "sh" | "bash" | "console" | "shell");
            continue;
        }
        if fence && !shell {
            continue;
        }
        if fence {
            pending.push_str(line);
            if let Some(joined) = pending.strip_suffix('\\') {
                pending = joined.to_string();
                continue;
            }
            found.push(Found { at, text: std::mem::take(&mut pending), inline: false });
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 && span.starts_with("lvslab ") {
                // A table cell escapes its pipes.
                found.push(Found { at: at.clone(), text: span.replace("\\|", "|"), inline: true });
            }
        }
    }
    found
}

/// The lvslab invocations of one shell line, each as its words.
fn invocations(line: &str) -> Vec<Vec<String>> {
    if line.trim_end().ends_with("# error:") {
        return Vec::new();
    }
    // A comment starts at a `#` after a blank (not inside `--to` or a path).
    let code = line.find(" #").map_or(line, |i| &line[..i]);
    let code = code.replace("2>&1", "").replace("&>", ">");
    let mut out = Vec::new();
    for piece in code.split("&&").flat_map(|p| p.split("||")).flat_map(|p| p.split([';', '|', '&']))
    {
        let Some(words) = shlex::split(piece.trim().trim_start_matches("$ ")) else { continue };
        let mut words = words.into_iter().peekable();
        let mut args = Vec::new();
        // What runs before lvslab: sudo, VAR=value, watch -n0.5, timeout N, source <(
        while let Some(w) = words.peek() {
            let skip = matches!(w.as_str(), "sudo" | "watch" | "timeout" | "source" | "exec")
                || w.contains('=') && !w.starts_with('-')
                || w.starts_with("-n")
                || w.starts_with("<(")
                || w.parse::<f64>().is_ok();
            if !skip {
                break;
            }
            words.next();
        }
        let Some(first) = words.next() else { continue };
        if !(first == "lvslab" || first.ends_with("/lvslab") || first == "<(lvslab") {
            continue;
        }
        args.push("lvslab".to_string());
        let mut redirect = false;
        for w in words {
            if redirect {
                redirect = false;
            } else if w == ">" || w == ">>" || w == "<" || w == "2>" {
                redirect = true;
            } else if !(w.starts_with('>') || w.starts_with("2>") || w == ")") {
                args.push(w.trim_end_matches(')').to_string());
            }
        }
        out.push(args);
    }
    out
}

/// A synopsis (`lvslab set LAB --weight NAME=W | --drain NAME`): the
/// command exists and so does every flag it names.
fn check_synopsis(words: &[String]) -> Result<(), String> {
    let mut cli = Cli::command();
    cli.build(); // adds `help`
    let sub = words.get(1).filter(|w| !w.starts_with(['-', '[']));
    let cmd = match sub {
        Some(name) => cli.find_subcommand(name).ok_or(format!("no command '{name}'"))?.clone(),
        None => cli.clone(),
    };
    for word in words.iter().flat_map(|w| w.split(['|', '[', ']'])) {
        if let Some(short) = word.strip_prefix('-').filter(|s| s.len() == 1) {
            let short = short.chars().next().unwrap();
            if !cmd.get_arguments().any(|a| a.get_short() == Some(short)) && !"hV".contains(short) {
                return Err(format!("no flag -{short}"));
            }
            continue;
        }
        let Some(flag) = word.strip_prefix("--") else { continue };
        let flag = flag.split('=').next().unwrap();
        let known =
            cmd.get_arguments().chain(cli.get_arguments()).any(|a| a.get_long() == Some(flag))
                || matches!(flag, "help" | "version");
        if !known {
            return Err(format!("no flag --{flag}"));
        }
    }
    Ok(())
}

fn is_synopsis(text: &str) -> bool {
    text.contains('[')
        || text.contains('|')
        || text.contains("...")
        || text.split_whitespace().skip(1).any(|w| {
            let w = w.trim_start_matches('-').split('=').next().unwrap_or(w);
            w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c == ':')
        })
}

/// Commands that bring up a preset by name: that preset must exist.
fn named_preset(command: &Command) -> Option<&str> {
    match command {
        Command::Up { lab, .. }
        | Command::Check { file: lab, .. }
        | Command::Compare { lab, .. } => Some(lab),
        _ => None,
    }
}

#[test]
fn every_lvslab_command_line_in_the_docs_parses_and_names_presets_that_exist() {
    let mut problems = Vec::new();
    let mut parsed = 0;
    for file in doc_files() {
        for found in command_lines(&file) {
            for words in invocations(&found.text) {
                if found.inline && is_synopsis(&found.text) {
                    if let Err(e) = check_synopsis(&words) {
                        problems.push(format!("{}: `{}`: {e}", found.at, found.text));
                    }
                    parsed += 1;
                    continue;
                }
                match Cli::try_parse_from(&words) {
                    Ok(cli) => {
                        parsed += 1;
                        let Some(name) = cli.command.as_ref().and_then(named_preset) else {
                            continue;
                        };
                        let exists = if lvslab_core::lab::presets::is_path(name) {
                            // Files the docs make first (saved.toml) are not checked; labs/ is.
                            !name.starts_with("labs/") || repo().join(name).exists()
                        } else {
                            lvslab_core::lab::presets::load(name).is_ok()
                        };
                        if !exists {
                            problems
                                .push(format!("{}: `{}`: no preset {name}", found.at, found.text));
                        }
                    }
                    Err(e) if found.inline && e.kind() == ErrorKind::MissingRequiredArgument => {
                        parsed += 1;
                    }
                    // Prose naming a flag without its value (`lvslab set ha --add-rs`).
                    Err(_) if found.inline && words.last().is_some_and(|w| w.starts_with('-')) => {
                        if let Err(e) = check_synopsis(&words) {
                            problems.push(format!("{}: `{}`: {e}", found.at, found.text));
                        }
                        parsed += 1;
                    }
                    Err(e) if !e.use_stderr() => parsed += 1, // --help, --version
                    Err(e) => problems.push(format!(
                        "{}: `{}`: {}",
                        found.at,
                        found.text,
                        e.render().to_string().lines().next().unwrap_or_default()
                    )),
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of the docs' command lines do not parse:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(parsed > 100, "only {parsed} command lines found: is the extraction broken?");
}

/// GitHub's anchor for a heading: lower case, punctuation gone, blanks to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(file: &Path) -> Vec<String> {
    let mut fence = false;
    let mut out = Vec::new();
    for line in std::fs::read_to_string(file).unwrap().lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        } else if !fence && line.starts_with('#') {
            out.push(anchor(line));
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let link = |s: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_string());
            }
        }
        out
    };
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for target in link(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let dest =
                if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            let name = file.strip_prefix(repo()).unwrap().display();
            if !dest.exists() {
                problems.push(format!("{name}: ({target}): no such file"));
            } else if !fragment.is_empty() && !anchors(&dest).iter().any(|a| a == fragment) {
                problems.push(format!("{name}: ({target}): no heading #{fragment}"));
            }
        }
    }
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
    assert!(checked > 30, "only {checked} links found");
}

#[test]
fn a_wrong_command_line_or_link_is_caught() {
    // The checks above must be able to fail.
    assert!(Cli::try_parse_from(["lvslab", "up", "tutorial", "--dataplane", "bogus"]).is_err());
    assert_eq!(
        invocations("sudo lvslab up tutorial && lvslab traffic tutorial | head"),
        [vec!["lvslab", "up", "tutorial"], vec!["lvslab", "traffic", "tutorial"]]
    );
    assert!(invocations("lvslab up nonsense --wat   # error:").is_empty());
    assert!(check_synopsis(&["lvslab".into(), "down".into(), "[--forse]".into()]).is_err());
    assert!(check_synopsis(&["lvslab".into(), "down".into(), "[--force]".into()]).is_ok());
    assert!(lvslab_core::lab::presets::load("no-such-preset").is_err());
    assert_eq!(anchor("## A guided walk: `lvslab tutorial`"), "a-guided-walk-lvslab-tutorial");
}
