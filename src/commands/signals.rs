//! The signals that end a command the user started: SIGINT (Ctrl-C),
//! SIGTERM, SIGHUP (the terminal went away) and SIGQUIT. A command that
//! changes the kernel runs its work through [`unless_signalled`], so any of
//! them stops the work where it is and lets the command roll back, instead
//! of killing the process mid-change. (SIGKILL cannot be caught: `down`
//! cleans what a killed command left.)

use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};

/// How long a finished piece of work waits for a signal sent while it ran.
const SETTLE: Duration = Duration::from_millis(20);

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
    let mut any = async move || {
        tokio::select! {
            biased;
            _ = interrupt.recv() => "interrupted (SIGINT)",
            _ = terminate.recv() => "terminated (SIGTERM)",
            _ = hangup.recv() => "hung up (SIGHUP)",
            _ = quit.recv() => "quit (SIGQUIT)",
        }
    };
    let done = tokio::select! {
        biased;
        signal = any() => return Ok(Err(signal)),
        done = work => done,
    };
    // Work that never yielded may have ended with a signal already sent but
    // not yet delivered to us: give the runtime a moment to deliver it.
    match tokio::time::timeout(SETTLE, any()).await {
        Ok(signal) => Ok(Err(signal)),
        Err(_) => Ok(Ok(done)),
    }
}
