//! The real server's response bodies: a whole body, or a held-open stream.
//!
//! A held connection sends the server's name at once (so the client learns
//! who answered before the hold ends), then a line per tick until its
//! deadline. Each chunk keeps the connection visibly active in IPVS while the
//! gauge counts it on the server side.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::server_stats::ServerStats;

/// A response body that is either complete or streamed over time.
pub(crate) enum Body {
    /// The whole body; `None` once sent.
    Full(Option<Bytes>),
    /// A body sent a chunk per tick until a deadline.
    Hold(Box<Hold>),
}

impl Body {
    /// A complete body.
    pub(crate) fn full(data: impl Into<Bytes>) -> Self {
        Self::Full(Some(data.into()))
    }

    /// A body that sends `chunk` now and then every `tick` until `hold` has
    /// passed; counted in `stats.holding()` while it lives.
    pub(crate) fn hold(
        chunk: Bytes,
        tick: Duration,
        hold: Duration,
        stats: Arc<ServerStats>,
    ) -> Self {
        let now = Instant::now();
        let deadline = now + hold;
        let tick = tick.max(Duration::from_millis(1));
        stats.holding.fetch_add(1, Ordering::Relaxed);
        Self::Hold(Box::new(Hold {
            chunk,
            tick,
            deadline,
            sleep: Box::pin(tokio::time::sleep_until((now + tick).min(deadline))),
            started: false,
            done: false,
            stats,
        }))
    }
}

/// State of a held-open body.
pub(crate) struct Hold {
    chunk: Bytes,
    tick: Duration,
    deadline: Instant,
    sleep: Pin<Box<Sleep>>,
    started: bool,
    done: bool,
    stats: Arc<ServerStats>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.stats.holding.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hold {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.done {
            return Poll::Ready(None);
        }
        if !self.started {
            self.started = true;
            return Poll::Ready(Some(self.chunk.clone()));
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let now = Instant::now();
        if now >= self.deadline {
            self.done = true;
            return Poll::Ready(None);
        }
        self.sleep.as_mut().reset((now + self.tick).min(self.deadline));
        Poll::Ready(Some(self.chunk.clone()))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Self::Hold(hold) => hold.poll_chunk(cx).map(|c| c.map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(data) => data.is_none(),
            Self::Hold(hold) => hold.done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(Some(data)) => SizeHint::with_exact(data.len() as u64),
            Self::Full(None) => SizeHint::with_exact(0),
            Self::Hold(_) => SizeHint::default(),
        }
    }
}
