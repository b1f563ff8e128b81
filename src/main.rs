//! `lvslab`: parse the command line, run the command, map errors to an exit code.

#![forbid(unsafe_code)]

mod candidates;
mod cli;
mod commands;
#[cfg(test)]
mod docs_tests;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A shell asking for completions (COMPLETE=bash lvslab -- ...) is answered and exits.
    commands::completions::answer_shell_if_asked();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap quotes the bad value: escaped like every other message.
            let message = e.render().to_string();
            let _ = write!(std::io::stderr(), "{}", lvslab_core::lab::text::for_terminal(&message));
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let dashboard = matches!(cli.command, None | Some(cli::Command::Tui { .. }));
    init_tracing(dashboard);
    let run = quiet_when_stdout_closes(|| commands::run(cli.command, cli.theme, cli.dataplane));
    match run {
        Err(Closed) => ExitCode::from(CLOSED_STDOUT),
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            // Not eprintln!: after a hangup stderr is a dead terminal, and a
            // failed write must not turn a clean exit into a panic.
            // Escaped at the door: a value from a preset, a rules file or a
            // record quoted in the message cannot drive the terminal.
            let message = format!("{err:#}");
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                lvslab_core::lab::text::for_terminal(&message)
            );
            ExitCode::FAILURE
        }
    }
}

/// What a shell reports for a command killed by SIGPIPE (128 + 13).
const CLOSED_STDOUT: u8 = 141;

/// The reader of our standard output went away (`lvslab status | head`).
struct Closed;

/// Runs `command`; a print to a standard output whose reader has gone
/// (Rust ignores SIGPIPE, so `println!` panics on EPIPE) ends it quietly,
/// as SIGPIPE ends other tools, instead of with a panic message. The panic
/// still unwinds, so the guards that tear down a half-built lab run.
fn quiet_when_stdout_closes<T>(command: impl FnOnce() -> T) -> Result<T, Closed> {
    fn closed_stdout(message: Option<&str>) -> bool {
        message.is_some_and(|m| {
            m.starts_with("failed printing to stdout") && m.contains("Broken pipe")
        })
    }
    fn message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
        payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
    }
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !closed_stdout(message(info.payload())) {
            report(info);
        }
    }));
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(command)).map_err(|payload| {
        if closed_stdout(message(payload.as_ref())) {
            Closed
        } else {
            std::panic::resume_unwind(payload)
        }
    })
}

/// Headless commands log to stderr, quiet unless `LVSLAB_LOG` asks for more.
/// The dashboard owns the terminal, so it logs to a file only its owner can
/// write (see [`dashboard_log_path`]).
fn init_tracing(dashboard: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LVSLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if !dashboard {
        builder.with_writer(std::io::stderr).init();
        return;
    }
    let root = nix::unistd::geteuid().is_root();
    let opened = dashboard_log_path(root, |key| std::env::var_os(key))
        .ok_or_else(|| std::io::Error::other("no state directory ($XDG_STATE_HOME or $HOME)"))
        .and_then(|path| {
            open_log(&path).map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))
        });
    match opened {
        Ok(file) => builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).init(),
        Err(e) => {
            // Never stderr: the dashboard draws there. Say it once, before it starts.
            eprintln!("lvslab: no dashboard log ({e})");
            builder.with_writer(std::io::sink).init();
        }
    }
}

/// Where the dashboard logs: beside the lab records when root
/// (`/run/lvslab/dashboard.log`), else in the user's state directory
/// (`$XDG_STATE_HOME/lvslab/` or `~/.local/state/lvslab/`). Never a shared
/// folder like /tmp, where another user could plant a link at the name.
fn dashboard_log_path(
    root: bool,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let dir = if root {
        PathBuf::from(lvslab::ops::state::STATE_DIR)
    } else {
        let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        env("XDG_STATE_HOME")
            .and_then(absolute)
            .or_else(|| env("HOME").and_then(absolute).map(|h| h.join(".local/state")))?
            .join("lvslab")
    };
    Some(dir.join("dashboard.log"))
}

/// Opens the log for appending: its folder made private (0700) if missing,
/// the file 0600, and a symbolic link at its name refused (O_NOFOLLOW), not followed.
fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_log_lives_with_the_records_for_root_and_in_the_users_state_dir_otherwise() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |key: &str| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(
            dashboard_log_path(true, env(&[("HOME", "/home/a")])).unwrap(),
            std::path::Path::new("/run/lvslab/dashboard.log")
        );
        assert_eq!(
            dashboard_log_path(false, env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/home/a")]))
                .unwrap(),
            std::path::Path::new("/s/lvslab/dashboard.log")
        );
        assert_eq!(
            dashboard_log_path(false, env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/home/a")]))
                .unwrap(),
            std::path::Path::new("/home/a/.local/state/lvslab/dashboard.log")
        );
        assert_eq!(dashboard_log_path(false, env(&[])), None);
    }

    #[test]
    fn a_link_planted_at_the_log_path_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let log = dir.path().join("state/dashboard.log");
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&victim, &log).unwrap();
        let err = open_log(&log).expect_err("a link at the log path is refused");
        assert_eq!(err.raw_os_error(), Some(nix::libc::ELOOP), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n", "target untouched");
    }

    #[test]
    fn the_log_and_its_folder_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("new/lvslab/dashboard.log");
        open_log(&log).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&log), 0o600);
        assert_eq!(mode(log.parent().unwrap()), 0o700);
    }
}
