//! What the real server watches on each connection to close the ones that
//! only hold a slot: when bytes last moved, whether a request is being
//! answered, and when the head of the next request began.
//!
//! A connection is *busy* from the moment a request's head is complete until
//! its answer's body is done (a `/sleep`, or a `/hold` between ticks, moves
//! no bytes but is busy), and is never closed for being quiet then. Between
//! requests (and before the first) it is *waiting*: closed when no byte has
//! moved for the idle timeout (an idle keep-alive connection, or a client
//! that stopped reading its answers), or when a head that has begun is not
//! complete within the header timeout (a client sending it a byte at a time).
//!
//! Everything of one connection runs in one task (hyper's dispatch, the
//! service, the body, the watchdog), so the atomics are only for `Send`.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::body::Body;

/// "No head has begun."
const NONE: u64 = u64::MAX;

/// One connection's activity, in microseconds since it was accepted.
pub(crate) struct Activity {
    start: Instant,
    last_io: AtomicU64,
    head_started: AtomicU64,
    busy: AtomicUsize,
    /// Wakes the watchdog when a head begins: its deadline may come sooner.
    head_began: Notify,
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quiet {
    /// No request in progress and no byte moved for the idle timeout.
    Idle,
    /// A request's head began but was not complete in the header timeout.
    SlowHead,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
            busy: AtomicUsize::new(0),
            head_began: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(NONE - 1)
    }

    fn at(&self, micros: u64) -> Instant {
        self.start + Duration::from_micros(micros)
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.busy.load(Ordering::Relaxed) == 0
            && self
                .head_started
                .compare_exchange(NONE, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.head_began.notify_one();
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    /// Marks a request as being answered until the guard (kept by its
    /// answer's body) is dropped.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(NONE, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    /// When the connection is closed if nothing happens first, and why;
    /// `None` while busy.
    fn deadline(&self, idle: Duration, header: Duration) -> Option<(Instant, Quiet)> {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return None;
        }
        match self.head_started.load(Ordering::Relaxed) {
            NONE => Some((self.at(self.last_io.load(Ordering::Relaxed)) + idle, Quiet::Idle)),
            head => Some((self.at(head) + header, Quiet::SlowHead)),
        }
    }

    /// Returns once the connection has been quiet too long (see the module).
    pub(crate) async fn quiet(&self, idle: Duration, header: Duration) -> Quiet {
        loop {
            match self.deadline(idle, header) {
                // Busy: look again later (the end of the work counts as
                // activity, so the idle time is measured from there).
                None => tokio::time::sleep(idle.min(header)).await,
                Some((deadline, why)) if Instant::now() >= deadline => return why,
                Some((deadline, _)) => tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = self.head_began.notified() => {}
                },
            }
        }
    }
}

/// A request being answered (see [`Activity::busy`]).
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.wrote();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its connection busy while it lives.
pub(crate) struct Tracked {
    pub(crate) body: Body,
    /// Held, not read: dropping it ends the busy time.
    pub(crate) _busy: Busy,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket that notes every byte moved in `activity`.
pub(crate) struct Watched<T> {
    pub(crate) io: T,
    pub(crate) activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn quiet_counts_from_the_last_byte_or_the_end_of_the_work() {
        let (idle, header) = (Duration::from_secs(60), Duration::from_secs(30));
        let activity = Activity::new();
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(10)).await;
        activity.wrote();
        assert_eq!(activity.quiet(idle, header).await, Quiet::Idle);
        assert_eq!(start.elapsed(), Duration::from_secs(70), "60 s after the last byte");

        // A head that began: the header timeout, from its first byte, even
        // when it begins while the watchdog waits for the idle deadline.
        let activity = Activity::new();
        let start = Instant::now();
        let watch = Arc::clone(&activity);
        let quiet = tokio::spawn(async move { watch.quiet(idle, header).await });
        tokio::time::sleep(Duration::from_secs(5)).await;
        activity.read();
        assert_eq!(quiet.await.unwrap(), Quiet::SlowHead);
        assert_eq!(start.elapsed(), Duration::from_secs(35));

        // Busy for 100 s without a byte: not closed; idle from the end.
        let activity = Activity::new();
        let start = Instant::now();
        let busy = activity.busy();
        let watch = Arc::clone(&activity);
        let quiet = tokio::spawn(async move { watch.quiet(idle, header).await });
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(!quiet.is_finished());
        drop(busy);
        assert_eq!(quiet.await.unwrap(), Quiet::Idle);
        assert_eq!(start.elapsed(), Duration::from_secs(160));
    }
}
