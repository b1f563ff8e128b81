//! One module per command; each returns the process exit code.

mod check;
mod compare;
pub mod completions;
mod conns;
mod diagnose;
mod doctor;
mod down;
mod export;
mod import;
mod ls;
mod metrics;
mod serve;
mod set;
mod signals;
mod status;
mod sysctl;
mod traffic;
mod tui;
mod tutorial;
mod up;

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::Command;

/// Runs `command`; none opens the dashboard's preset picker.
pub fn run(
    command: Option<Command>,
    theme: Option<String>,
    dataplane: Option<lvslab_core::lab::model::Dataplane>,
) -> Result<ExitCode> {
    let Some(command) = command else {
        return tui::run(tui::Options { lab: None, dataplane, keep: false, theme });
    };
    match command {
        Command::Tui { lab, dataplane, keep, theme: tui_theme } => {
            tui::run(tui::Options { lab: Some(lab), dataplane, keep, theme: tui_theme.or(theme) })
        }
        Command::Tutorial { method, dataplane, name, keep, theme: tui_theme } => {
            tutorial::run(&tutorial::Options {
                method,
                dataplane,
                name,
                keep,
                theme: tui_theme.or(theme),
            })
        }
        Command::Up { lab, dataplane, control, no_sync } => {
            runtime()?.block_on(up::run(&lab, dataplane, control, no_sync))
        }
        Command::Down { lab, all, force } => down::run(lab.as_ref(), all, force),
        Command::Status { lab, json } => status::run(&lab, json),
        Command::Conns { lab, json, watch, server } => {
            conns::run(&lab, json, watch, server.as_deref())
        }
        Command::Ls { presets, json } => ls::run(presets, json),
        Command::Check { file, json } => check::run(&file, json),
        Command::Doctor { json } => doctor::run(json),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { out } => completions::man(&out),
        Command::Compare { lab, requests, json } => compare::run(&lab, requests, json),
        Command::Serve { netns, name, listen, delay_ms, max_connections, idle_timeout } => {
            let limits = serve::Limits { max_connections, idle_timeout };
            serve::run(netns.as_deref(), &name, listen, delay_ms, limits)
        }
        Command::Traffic {
            lab,
            requests,
            duration,
            rate,
            concurrency,
            hold,
            keep_alive,
            clients,
            predict,
            to,
            bucket,
            json,
        } => {
            let load = traffic::LoadArgs {
                requests,
                duration,
                rate,
                concurrency,
                hold_ms: hold,
                keep_alive,
                clients,
                predict,
                bucket,
            };
            traffic::run(&lab, &load, to, json)
        }
        Command::Export { lab, format, output } => export::run(&lab, format, output.as_deref()),
        Command::Import { file, output, name } => {
            import::run(&file, output.as_deref(), name.as_ref())
        }
        Command::Set { lab, changes } => runtime()?.block_on(set::run(&lab, changes)),
        Command::Metrics(args) => metrics::run(&args),
        Command::Sysctl { lab, settings, json } => sysctl::run(&lab, &settings, json),
        Command::Diagnose { lab, host, keepalived, list, json } => {
            diagnose::run(lab.as_ref(), host, keepalived.as_deref(), list, json)
        }
    }
}

/// The runtime for commands that talk netlink. Built per command (not in
/// `main`) because lab processes must enter their namespace before any
/// runtime thread exists.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// Writes `text` to the file `path` (an `-o FILE` option) with `mode`,
/// safely even as root in a directory others can write: the text goes to
/// a new file beside the target, created exclusively (O_EXCL, never an
/// existing file or a symlink's target) with the mode set on the open file,
/// then renamed over `path`. A symlink at `path` is replaced, never
/// followed, so the file it points to is untouched.
fn write_output(path: &str, text: &str, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    let target = std::path::Path::new(path);
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    if std::fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
        anyhow::bail!("cannot write {path}: it is a directory; name a file");
    }
    let write = || -> std::io::Result<()> {
        let mut file = tempfile::Builder::new().prefix(".lvslab-").tempfile_in(dir)?;
        file.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(text.as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(target).map_err(|e| e.error)?;
        Ok(())
    };
    write().with_context(|| format!("cannot write {path}"))
}

/// Fails unless the process may build labs.
fn require_privilege(command: &str) -> Result<()> {
    if lvslab::net::privilege::can_build_labs() {
        Ok(())
    } else {
        anyhow::bail!(lvslab::net::privilege::missing_message(command))
    }
}
