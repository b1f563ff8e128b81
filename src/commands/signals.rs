//! The signals that end a command the user started: SIGINT (Ctrl-C),
//! SIGTERM, SIGHUP (the terminal went away) and SIGQUIT. A command that
//! changes the kernel runs its work through [`unless_signalled`], so any of
//! them stops the work where it is and lets the command roll back, instead
//! of killing the process mid-change. (SIGKILL cannot be caught: `down`
//! cleans what a killed command left.)

use std::future::Future;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};

/// Runs `work` to its end, or until one of the signals arrives: then
/// `Err(name)` of the signal, and `work` was dropped where it stood.
pub async fn unless_signalled<T>(work: impl Future<Output = T>) -> Result<Result<T, &'static str>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut quit = signal(SignalKind::quit())?;
    // Signals first: work that blocks the thread (a server's start, a
    // netlink round trip) is only seen to end at its next await, with the
    // signal pending too, and the user's stop is what counts then.
    Ok(tokio::select! {
        biased;
        _ = interrupt.recv() => Err("interrupted (SIGINT)"),
        _ = terminate.recv() => Err("terminated (SIGTERM)"),
        _ = hangup.recv() => Err("hung up (SIGHUP)"),
        _ = quit.recv() => Err("quit (SIGQUIT)"),
        done = work => Ok(done),
    })
}
