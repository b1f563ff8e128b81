//! The state one generator run shares between its tasks: the starter in
//! `client` and the drivers in `drive` both read and change it, so it lives
//! apart from both.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::exchange;
use super::pool::Pool;
use super::profile::{Load, Profile};
use super::results::ErrorKind;
use super::tally::Tally;

/// Called before each new connection; see
/// [`Generator::start_watched`](crate::Generator::start_watched).
pub type BeforeConnect = Box<dyn Fn() + Send + Sync>;

/// State shared by the run's tasks.
pub(crate) struct Ctx {
    pub(crate) profile: Profile,
    pub(crate) started: Instant,
    pub(crate) tally: Tally,
    /// Stop starting requests (user stop, request count or duration reached).
    pub(crate) stop: CancellationToken,
    /// Give up on requests in flight too.
    pub(crate) abort: CancellationToken,
    /// Closed-loop target and the number of workers alive.
    pub(crate) concurrency: AtomicU32,
    pub(crate) workers: AtomicU32,
    /// The load offered now, for progress snapshots.
    pub(crate) load_now: Mutex<Load>,
    pub(crate) target: SocketAddr,
    pub(crate) request: Bytes,
    pub(crate) pool: Option<Pool>,
    pub(crate) issued: AtomicU64,
    pub(crate) idle: Notify,
    /// Connections begun, to pick each one's source address in turn.
    pub(crate) begun: AtomicU64,
    /// Called just before each new connection (see `Generator::start_watched`).
    pub(crate) before_connect: Option<BeforeConnect>,
}

impl Ctx {
    /// Reserves the start of one request: false once the run is stopping.
    /// Counts it in flight *before* checking, so a drained run stays drained.
    pub(crate) fn claim(&self) -> bool {
        self.tally.in_flight.fetch_add(1, Ordering::SeqCst);
        let allowed = !self.stop.is_cancelled()
            && self.profile.requests.is_none_or(|total| {
                let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
                if n >= total {
                    self.stop.cancel();
                }
                n <= total
            });
        if !allowed {
            self.release();
        }
        allowed
    }

    pub(crate) fn release(&self) {
        if self.tally.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Runs one claimed request to its end and counts the outcome.
    pub(crate) async fn one(&self) {
        let start = Instant::now();
        let limit = self.profile.timeout + self.profile.request.expected_duration();
        let mut server = None;
        let mut client = None;
        let mut ticket = None;
        let sources = &self.profile.sources;
        let source = (!sources.is_empty()).then(|| {
            let k = self.begun.fetch_add(1, Ordering::Relaxed);
            sources[usize::try_from(k % sources.len() as u64).unwrap_or(0)]
        });
        let outcome = {
            let count = || {
                self.tally.connections.fetch_add(1, Ordering::Relaxed);
            };
            let (client, ticket) = (&mut client, &mut ticket);
            let work = async {
                match &self.pool {
                    Some(pool) => pool.once(&mut server, count).await,
                    None => {
                        // The place in the order of answers is taken before
                        // the SYN leaves: connections started together can
                        // complete their handshakes in another order than
                        // the director scheduled them.
                        if let Some(before) = &self.before_connect {
                            before();
                        }
                        *ticket = Some(self.tally.opened());
                        let connected = |local: Option<SocketAddr>| {
                            count();
                            *client = local.map(|a| a.ip());
                        };
                        exchange::once(self.target, &self.request, source, &mut server, connected)
                            .await
                    }
                }
            };
            tokio::select! {
                result = tokio::time::timeout(limit, work) => Some(result),
                () = self.abort.cancelled() => None,
            }
        };
        let answered = matches!(outcome, Some(Ok(Ok(()))));
        match outcome {
            Some(Ok(Ok(()))) => {
                self.tally.ok(server.as_deref(), client, ticket, start.elapsed());
            }
            Some(Ok(Err(kind))) => self.tally.error(kind, server.as_deref()),
            Some(Err(_elapsed)) => self.tally.error(ErrorKind::Timeout, server.as_deref()),
            None => {} // aborted: neither a success nor the server's fault
        }
        if !answered {
            self.tally.settle(ticket);
        }
        self.release();
    }

    /// Waits until no request is in flight (after `stop`).
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            if self.tally.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn load_now(&self) -> Load {
        *self.load_now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long an idle driver sleeps before looking at its controls again.
pub(crate) const IDLE_POLL: Duration = Duration::from_millis(50);
