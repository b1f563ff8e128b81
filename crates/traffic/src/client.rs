//! The load generator, as a library the CLI and the dashboard both drive.
//!
//! [`Generator::start`] spawns the run on the *current* tokio runtime and
//! returns a [`GeneratorHandle`] to change the rate or concurrency while it
//! runs, stop it, watch [`Progress`] snapshots, and collect the final
//! [`Report`]. Sockets are created by the runtime's worker threads, so to
//! load a lab from its client namespace, build the runtime on threads that
//! have entered that namespace (e.g. inside `netns::run_in`), then call
//! `start` there. There is no global state: any number of generators can run.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Error;
use super::drive;
use super::exchange;
use super::pool::Pool;
use super::profile::{ConnectionMode, Load, Profile, check_rate};
use super::results::Report;
use super::run::{BeforeConnect, Ctx};
use super::tally::Tally;

pub use super::tally::Progress;

/// Starts load generators; see [`Generator::start`].
#[derive(Debug)]
pub struct Generator;

impl Generator {
    /// Starts loading `target` as `profile` says, on the current tokio
    /// runtime.
    ///
    /// # Errors
    /// [`Error::Profile`] naming the first bad setting, or
    /// [`Error::NoRuntime`] when called outside a tokio runtime.
    pub fn start(target: SocketAddr, profile: Profile) -> Result<GeneratorHandle, Error> {
        Self::start_watched(target, profile, None)
    }

    /// [`Generator::start`], calling `before_connect` just before each new
    /// connection is opened (not for keep-alive reuse). `traffic --predict`
    /// reads the director's connection counts there, which is what the
    /// kernel schedules that connection by when one is made at a time. It
    /// runs on a runtime thread, so it must be quick (a netlink read is).
    ///
    /// # Errors
    /// As [`Generator::start`].
    pub fn start_watched(
        target: SocketAddr,
        profile: Profile,
        before_connect: Option<BeforeConnect>,
    ) -> Result<GeneratorHandle, Error> {
        profile.validate()?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime { target })?;
        let host = profile.host.clone().unwrap_or_else(|| target.to_string());
        let path = profile.request.path();
        let pool = (profile.connection == ConnectionMode::KeepAlive)
            .then(|| Pool::new(target, path.clone(), &host));
        let started = Instant::now();
        let ctx = Arc::new(Ctx {
            request: exchange::close_request(&path, &host),
            pool,
            target,
            started,
            tally: Tally::new(started, profile.bucket),
            stop: CancellationToken::new(),
            abort: CancellationToken::new(),
            concurrency: AtomicU32::new(0),
            workers: AtomicU32::new(0),
            load_now: Mutex::new(profile.load),
            issued: AtomicU64::new(0),
            idle: Notify::new(),
            begun: AtomicU64::new(0),
            before_connect,
            profile,
        });
        let (control_tx, control_rx) = watch::channel(ctx.profile.load);
        let (progress_tx, progress_rx) =
            watch::channel(ctx.tally.progress(ctx.profile.load, false));
        let task = runtime.spawn(run(Arc::clone(&ctx), control_rx, progress_tx));
        Ok(GeneratorHandle { ctx, control: control_tx, progress: progress_rx, task: Some(task) })
    }
}

/// Controls a running generator. Dropping it aborts the run.
#[must_use = "dropping the handle aborts the run"]
pub struct GeneratorHandle {
    ctx: Arc<Ctx>,
    control: watch::Sender<Load>,
    progress: watch::Receiver<Progress>,
    task: Option<JoinHandle<Report>>,
}

impl GeneratorHandle {
    /// Switches to (or stays in) open loop at `rate` new requests per
    /// second; ends any ramp.
    ///
    /// # Errors
    /// [`Error::Profile`] for a rate that is negative, too large or not finite.
    pub fn set_rate(&self, rate: f64) -> Result<(), Error> {
        check_rate("rate", rate)?;
        self.control.send_replace(Load::Rate(rate));
        Ok(())
    }

    /// Switches to (or stays in) closed loop with `concurrency` requests in
    /// flight; 0 pauses.
    pub fn set_concurrency(&self, concurrency: u32) {
        self.control.send_replace(Load::Concurrency(concurrency));
    }

    /// Stops starting requests; those in flight finish (within the timeout).
    pub fn stop(&self) {
        self.ctx.stop.cancel();
    }

    /// Stops at once: requests in flight are dropped and not counted.
    pub fn abort(&self) {
        self.ctx.stop.cancel();
        self.ctx.abort.cancel();
    }

    /// Snapshots published every `profile.progress_every`, and once more with
    /// `finished: true` at the end.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the run to end (it ends by itself after `requests` or
    /// `duration`; otherwise call [`GeneratorHandle::stop`] first).
    ///
    /// # Errors
    /// [`Error::Generator`] if the run's task panicked or was cancelled.
    pub async fn finish(mut self) -> Result<Report, Error> {
        let target = self.ctx.target;
        let task = self.task.take().ok_or_else(|| Error::Generator {
            target,
            message: "the run was already collected".into(),
        })?;
        task.await.map_err(|e| Error::Generator { target, message: e.to_string() })
    }
}

impl Drop for GeneratorHandle {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.abort();
        }
    }
}

/// The whole run: drive until stopped, drain, publish, report.
async fn run(
    ctx: Arc<Ctx>,
    control: watch::Receiver<Load>,
    progress: watch::Sender<Progress>,
) -> Report {
    let deadline = ctx.profile.duration.map(|d| ctx.started + d);
    let stopper = {
        let ctx = Arc::clone(&ctx);
        async move {
            if let Some(deadline) = deadline {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline.into()) => ctx.stop.cancel(),
                    () = ctx.stop.cancelled() => {}
                }
            }
        }
    };
    let done = CancellationToken::new();
    let work = async {
        tokio::join!(drive::drive(Arc::clone(&ctx), control), stopper);
        tokio::select! {
            () = ctx.drained() => {}
            () = ctx.abort.cancelled() => {}
        }
        done.cancel();
    };
    tokio::join!(work, publish(&ctx, &progress, &done));
    let duration = ctx.started.elapsed();
    progress.send_replace(ctx.tally.progress(ctx.load_now(), true));
    ctx.tally.report(ctx.target.to_string(), duration)
}

/// Publishes a snapshot every `progress_every` until `done`.
async fn publish(ctx: &Ctx, progress: &watch::Sender<Progress>, done: &CancellationToken) {
    let period = ctx.profile.progress_every;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut last_at, mut last_requests) = (Instant::now(), 0u64);
    loop {
        tokio::select! {
            () = done.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let mut snapshot = ctx.tally.progress(ctx.load_now(), false);
        let now = Instant::now();
        let dt = now.duration_since(last_at).as_secs_f64().max(1e-6);
        #[expect(clippy::cast_precision_loss, reason = "per-interval counts are small")]
        let rate = snapshot.requests.saturating_sub(last_requests) as f64 / dt;
        snapshot.interval_rate = rate;
        (last_at, last_requests) = (now, snapshot.requests);
        progress.send_replace(snapshot);
    }
}
