//! `lvslab`: parse the command line, run the command, map errors to an exit code.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let dashboard = matches!(cli.command, None | Some(cli::Command::Tui { .. }));
    init_tracing(dashboard);
    match commands::run(cli.command, cli.theme) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Headless commands log to stderr, quiet unless `LVSLAB_LOG` asks for more.
/// The dashboard owns the terminal, so it logs to $TMPDIR/lvslab-dashboard.log.
fn init_tracing(dashboard: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LVSLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let log_file = dashboard
        .then(|| {
            let path = std::env::temp_dir().join("lvslab-dashboard.log");
            std::fs::OpenOptions::new().create(true).append(true).open(path).ok()
        })
        .flatten();
    match log_file {
        Some(file) => builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
}
