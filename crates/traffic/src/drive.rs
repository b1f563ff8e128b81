//! The two ways of offering load, switchable while running.
//!
//! Open loop starts requests on a clock, whether or not earlier ones have
//! finished, the way independent users arrive; a slow real server then
//! accumulates connections, which is what the least-connection schedulers
//! react to. Closed loop keeps N requests in flight, each worker starting its
//! next request when the previous one ends. The driver follows the control
//! channel: a new value re-enters the matching loop, and any change ends a
//! ramp (the person at the dashboard has taken over).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::profile::{Load, Ramp};
use super::run::{Ctx, IDLE_POLL};

/// Longest sleep between open-loop starts, so changes are seen promptly.
const MAX_TICK: Duration = Duration::from_millis(50);

/// Offers load as `control` says until the run is told to stop.
pub(crate) async fn drive(ctx: Arc<Ctx>, mut control: watch::Receiver<Load>) {
    let mut ramp = ctx.profile.ramp;
    while !ctx.stop.is_cancelled() {
        let load = *control.borrow_and_update();
        let changed = match load {
            Load::Rate(rate) => open_loop(&ctx, &mut control, rate, ramp).await,
            Load::Concurrency(n) => closed_loop(&ctx, &mut control, n).await,
        };
        if changed {
            ramp = None;
        }
    }
    ctx.concurrency.store(0, Ordering::SeqCst);
}

/// Waits for a control change (true) or the stop (false).
async fn changed_or_stopped(ctx: &Ctx, control: &mut watch::Receiver<Load>) -> bool {
    tokio::select! {
        changed = control.changed() => {
            if changed.is_err() {
                // The handle is gone (it aborts on drop): wait for the stop.
                ctx.stop.cancelled().await;
                return false;
            }
            true
        }
        () = ctx.stop.cancelled() => false,
    }
}

fn set_load(ctx: &Ctx, load: Load) {
    *ctx.load_now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = load;
}

/// The ramp's rate at `now`, or the target once it is over.
fn ramped(ramp: Option<Ramp>, rate: f64, since_start: Duration) -> f64 {
    match ramp {
        Some(r) if since_start < r.over => {
            r.from + (rate - r.from) * (since_start.as_secs_f64() / r.over.as_secs_f64())
        }
        _ => rate,
    }
}

/// Starts requests at `rate` per second (after the ramp) until a control
/// change (returns true) or the stop (false).
async fn open_loop(
    ctx: &Arc<Ctx>,
    control: &mut watch::Receiver<Load>,
    rate: f64,
    ramp: Option<Ramp>,
) -> bool {
    ctx.concurrency.store(0, Ordering::SeqCst);
    let max_in_flight = u64::from(ctx.profile.max_in_flight);
    let mut last = Instant::now();
    let mut credit = 1.0_f64; // the first request leaves at once
    loop {
        let now = Instant::now();
        let current = ramped(ramp, rate, now.duration_since(ctx.started));
        set_load(ctx, Load::Rate(current));
        credit += current * now.duration_since(last).as_secs_f64();
        last = now;
        // At most a second of backlog after a stall; nothing at rate 0.
        credit = if current > 0.0 { credit.min(current.max(1.0)) } else { 0.0 };
        while credit >= 1.0 {
            credit -= 1.0;
            if ctx.tally.in_flight.load(Ordering::Relaxed) >= max_in_flight {
                ctx.tally.missed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if !ctx.claim() {
                return false;
            }
            let ctx = Arc::clone(ctx);
            tokio::spawn(async move { ctx.one().await });
        }
        let wait = if current > 0.0 {
            Duration::from_secs_f64(((1.0 - credit) / current).clamp(0.0, MAX_TICK.as_secs_f64()))
        } else {
            IDLE_POLL
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            changed = changed_or_stopped(ctx, control) => return changed,
        }
    }
}

/// Keeps `n` workers running until a control change (true) or the stop.
async fn closed_loop(ctx: &Arc<Ctx>, control: &mut watch::Receiver<Load>, n: u32) -> bool {
    ctx.concurrency.store(n, Ordering::SeqCst);
    set_load(ctx, Load::Concurrency(n));
    let mut workers = ctx.workers.load(Ordering::SeqCst);
    while workers < n {
        match ctx.workers.compare_exchange(workers, workers + 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                tokio::spawn(worker(Arc::clone(ctx)));
                workers += 1;
            }
            Err(now) => workers = now,
        }
    }
    changed_or_stopped(ctx, control).await
}

/// One closed-loop worker: a request after another, until there are more
/// workers than wanted or the run stops.
async fn worker(ctx: Arc<Ctx>) {
    loop {
        if surplus_worker_leaves(&ctx) {
            return;
        }
        if !ctx.claim() {
            ctx.workers.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        ctx.one().await;
    }
}

/// Leaves (unregistering itself) if more workers run than the target.
fn surplus_worker_leaves(ctx: &Ctx) -> bool {
    let mut workers = ctx.workers.load(Ordering::SeqCst);
    loop {
        if workers <= ctx.concurrency.load(Ordering::SeqCst) {
            return false;
        }
        match ctx.workers.compare_exchange(workers, workers - 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => return true,
            Err(now) => workers = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_is_linear_then_flat() {
        let ramp = Some(Ramp { from: 100.0, over: Duration::from_secs(2) });
        assert!((ramped(ramp, 300.0, Duration::ZERO) - 100.0).abs() < 1e-9);
        assert!((ramped(ramp, 300.0, Duration::from_secs(1)) - 200.0).abs() < 1e-9);
        assert!((ramped(ramp, 300.0, Duration::from_secs(5)) - 300.0).abs() < 1e-9);
        assert!((ramped(None, 300.0, Duration::ZERO) - 300.0).abs() < 1e-9);
    }
}
