//! The real server: a small HTTP/1.1 server that answers with its own name.
//!
//! One `lvslab serve` process runs this per real server inside that server's
//! namespace. Every answer carries `X-Real-Server: <name>` (and the body
//! `<name>\n`), so a client can count which real server IPVS picked; the
//! `X-Client-Addr` header shows the address the server saw, which is the
//! client's own in LVS-NAT. Endpoints:
//!
//! | path             | answer                                                   |
//! |------------------|----------------------------------------------------------|
//! | `/` (any other path is 404) | `<name>\n`                                    |
//! | `/health`        | `ok\n`                                                   |
//! | `/sleep?ms=N`    | `<name>\n` after N ms (a slow server)                    |
//! | `/hold?ms=N`     | `<name>\n` at once, again every tick, ends after N ms;   |
//! |                  | without `ms` it holds until the client leaves            |
//!
//! Bad input gets a 4xx, never a panic; keep-alive works, and a request with
//! `Connection: close` makes the server close first (so TIME_WAIT stays on
//! the server, not on the generator's ephemeral ports). [`ServerStats`]
//! counts accepted connections, requests and open/held connections, which is
//! how tests (and the dashboard) see IPVS's decisions from the server side.
//!
//! A server serves at most [`ServerConfig::max_connections`] connections at
//! once: one beyond that is accepted, answered `503` if its socket takes it
//! at once, and closed, never left waiting in the backlog. A connection is
//! closed when it has no request in progress and moves no byte for
//! [`ServerConfig::idle_timeout`], or when a request's head takes longer than
//! [`ServerConfig::header_timeout`] (see `watch`), so idle or stuck clients
//! cannot keep the slots.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::Error;
use super::body::Body;
use super::server_stats::OpenGuard;
pub use super::server_stats::ServerStats;
use super::watch::{Activity, Quiet, Tracked, Watched};

/// The header that names the real server that answered.
pub const REAL_SERVER_HEADER: &str = "x-real-server";
/// The header that tells the client which address the server saw.
pub const CLIENT_ADDR_HEADER: &str = "x-client-addr";

/// How long to wait before accepting again after an accept error (EMFILE...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long shutdown waits for open connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Connections served at once by default (`lvslab serve --max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// How long a connection may wait idle by default (`lvslab serve --idle-timeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How a real server behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The name sent in `X-Real-Server` and the body, e.g. `rs1`.
    pub name: String,
    /// Period between chunks of a `/hold` response.
    pub hold_tick: Duration,
    /// Upper bound of `ms` in `/sleep` and `/hold` (and of a `/hold` without it).
    pub max_wait: Duration,
    /// A connection that has begun a request's head and not completed it in
    /// this time is closed (a client sending it a byte at a time).
    pub header_timeout: Duration,
    /// A connection with no request in progress that moves no byte for this
    /// long is closed: an idle keep-alive connection, one that never sends a
    /// request, or a client that stopped reading its answers. A request being
    /// answered (`/sleep`, `/hold`, the delay) is never cut.
    pub idle_timeout: Duration,
    /// Most connections served at once (at least 1); one more is closed at
    /// once, after a `503` if its socket takes it.
    pub max_connections: usize,
    /// Extra time taken before every answer: a slow server, whose
    /// connections stay open longer (what the least-connection schedulers see).
    pub delay: Duration,
}

impl ServerConfig {
    /// The defaults for a server called `name`: a 1 s hold tick, waits up to
    /// an hour, 30 s to send request headers, 60 s idle, 4096 connections.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            hold_tick: Duration::from_secs(1),
            max_wait: Duration::from_secs(3600),
            header_timeout: Duration::from_secs(30),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            delay: Duration::ZERO,
        }
    }
}

/// What every handler needs, prepared once.
struct Shared {
    config: ServerConfig,
    name_header: HeaderValue,
    name_line: Bytes,
    /// What a connection beyond the cap is sent before it is closed.
    full_answer: Bytes,
    stats: Arc<ServerStats>,
}

/// A real server, created before it runs so its counters can be watched.
pub struct Server {
    config: ServerConfig,
    stats: Arc<ServerStats>,
}

impl Server {
    /// A server with fresh counters.
    pub fn new(config: ServerConfig) -> Self {
        Self { config, stats: Arc::default() }
    }

    /// Its counters, shared with the running server.
    pub fn stats(&self) -> Arc<ServerStats> {
        Arc::clone(&self.stats)
    }

    /// Serves connections from `listener` until `shutdown` is cancelled, then
    /// closes the listener (new connections are refused) and every open
    /// connection, as a killed server would.
    ///
    /// # Errors
    /// [`Error::Name`] if the name cannot be an HTTP header value, or
    /// [`Error::Listener`] if the socket is unusable. Failed accepts (e.g.
    /// out of file descriptors) are logged and retried, not returned.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), Error> {
        let name = self.config.name.clone();
        let name_header =
            HeaderValue::from_str(&name).map_err(|_| Error::Name { name: name.clone() })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Listener { name: name.clone(), source })?;
        let max = self.config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        let shared = Arc::new(Shared {
            name_line: Bytes::from(format!("{name}\n")),
            full_answer: full_answer(&name, max),
            name_header,
            config: self.config,
            stats: Arc::clone(&self.stats),
        });
        let slots = Arc::new(Semaphore::new(max));
        // Whether the last connection was refused: the log says when the
        // server becomes full, not once per refused connection.
        let mut full = false;
        info!(%name, %local, max_connections = max, "real server listening");
        loop {
            let accepted = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        full = false;
                        let guard = OpenGuard::new(&self.stats);
                        let task = connection(stream, peer, Arc::clone(&shared), shutdown.clone());
                        tokio::spawn(async move {
                            task.await;
                            drop(guard);
                            drop::<OwnedSemaphorePermit>(slot);
                        });
                    }
                    Err(_) => {
                        if !full {
                            warn!(%name, max_connections = max, "connection cap reached: refusing new connections");
                        }
                        full = true;
                        refuse(stream, peer, &shared);
                    }
                },
                Err(e) => {
                    warn!(%name, error = %e, "accept failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            }
        }
        drop(listener);
        wait_closed(&self.stats).await;
        info!(%name, "real server stopped");
        Ok(())
    }
}

/// Waits (bounded) until every connection task has ended.
async fn wait_closed(stats: &ServerStats) {
    let all_closed = async {
        loop {
            let notified = stats.closed.notified();
            if stats.open() == 0 {
                return;
            }
            notified.await;
        }
    };
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, all_closed).await;
}

/// Runs a real server named `name` with default settings.
///
/// # Errors
/// As [`Server::run`].
pub async fn serve(
    listener: TcpListener,
    name: String,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    Server::new(ServerConfig::new(name)).run(listener, shutdown).await
}

/// The answer of a full server: `503`, naming the server and its cap.
fn full_answer(name: &str, max: usize) -> Bytes {
    let body = format!("{name} serves {max} connections at once: try again later\n");
    Bytes::from(format!(
        "HTTP/1.1 503 Service Unavailable\r\n{REAL_SERVER_HEADER}: {name}\r\n\
         content-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    ))
}

/// Closes a connection beyond the cap at once: the `503` only if the socket
/// takes it without waiting, never a read or a wait.
fn refuse(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    shared.stats.refused.fetch_add(1, Ordering::Relaxed);
    let _ = stream.try_write(&shared.full_answer);
    debug!(%peer, "refused: connection cap reached");
}

/// Serves one connection until it closes or the server shuts down.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let (idle, header) = (shared.config.idle_timeout, shared.config.header_timeout);
    let stats = Arc::clone(&shared.stats);
    let activity = Activity::new();
    let watched = Arc::clone(&activity);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let busy = watched.busy();
        async move {
            let response = respond(&request, peer, &shared).await;
            Ok::<_, Infallible>(response.map(|body| Tracked { body, _busy: busy }))
        }
    });
    // The header timeout is the watchdog's: hyper's would also close a
    // keep-alive connection idle for that long, whatever the idle timeout.
    let io = Watched { io: stream, activity: Arc::clone(&activity) };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        result = conn => if let Err(e) = result {
            debug!(%peer, error = %e, "connection ended with an error");
        },
        why = activity.quiet(idle, header) => {
            stats.timed_out.fetch_add(1, Ordering::Relaxed);
            match why {
                Quiet::Idle => debug!(%peer, ?idle, "closed: idle"),
                Quiet::SlowHead => debug!(%peer, ?header, "closed: request head too slow"),
            }
        }
        () = shutdown.cancelled() => {}
    }
}

/// Answers one request; bad input gets a 4xx.
async fn respond(request: &Request<Incoming>, peer: SocketAddr, shared: &Shared) -> Response<Body> {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    if !shared.config.delay.is_zero() {
        tokio::time::sleep(shared.config.delay).await;
    }
    let query = request.uri().query();
    let max = shared.config.max_wait;
    let (status, body) = match request.uri().path() {
        "/" => (StatusCode::OK, Body::full(shared.name_line.clone())),
        "/health" => (StatusCode::OK, Body::full("ok\n")),
        "/sleep" => {
            match wait_param(query, max).and_then(|ms| ms.ok_or_else(|| MISSING_MS.to_string())) {
                Ok(wait) => {
                    tokio::time::sleep(wait).await;
                    (StatusCode::OK, Body::full(shared.name_line.clone()))
                }
                Err(message) => (StatusCode::BAD_REQUEST, Body::full(message)),
            }
        }
        "/hold" => match wait_param(query, max) {
            Ok(hold) => {
                let chunk = shared.name_line.clone();
                let tick = shared.config.hold_tick;
                let body = Body::hold(chunk, tick, hold.unwrap_or(max), Arc::clone(&shared.stats));
                (StatusCode::OK, body)
            }
            Err(message) => (StatusCode::BAD_REQUEST, Body::full(message)),
        },
        _ => (
            StatusCode::NOT_FOUND,
            Body::full("not found: try /, /health, /sleep?ms=N, /hold?ms=N\n"),
        ),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static(REAL_SERVER_HEADER), shared.name_header.clone());
    if let Ok(addr) = HeaderValue::from_str(&peer.to_string()) {
        headers.insert(HeaderName::from_static(CLIENT_ADDR_HEADER), addr);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

const MISSING_MS: &str = "missing ms: use /sleep?ms=N with N in milliseconds\n";

/// The `ms=N` query parameter as a duration (None when absent), or the
/// message for a 400 that quotes the bad value.
fn wait_param(query: Option<&str>, max: Duration) -> Result<Option<Duration>, String> {
    let Some(value) =
        query.into_iter().flat_map(|q| q.split('&')).find_map(|p| p.strip_prefix("ms="))
    else {
        return Ok(None);
    };
    let max_ms = max.as_millis();
    match value.parse::<u64>() {
        Ok(ms) if u128::from(ms) <= max_ms => Ok(Some(Duration::from_millis(ms))),
        _ => Err(format!("bad ms '{value}': want whole milliseconds from 0 to {max_ms}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_param_parses_and_refuses() {
        let max = Duration::from_secs(10);
        assert_eq!(wait_param(None, max), Ok(None));
        assert_eq!(wait_param(Some("x=1&ms=250"), max), Ok(Some(Duration::from_millis(250))));
        assert!(wait_param(Some("ms=-1"), max).unwrap_err().contains("'-1'"));
        assert!(wait_param(Some("ms=10001"), max).is_err());
        assert!(wait_param(Some("ms="), max).is_err());
    }
}
