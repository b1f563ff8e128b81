//! `lvslab`: parse the command line, run the command, map errors to an exit code.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Headless commands log to stderr, quiet unless `LVSLAB_LOG` asks for more.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LVSLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
