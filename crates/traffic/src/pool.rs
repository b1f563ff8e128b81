//! Keep-alive connections for the generator's `KeepAlive` mode.
//!
//! Idle connections wait in a stack; a request takes one (or opens one) and
//! puts it back once its answer has been read, so there are never more
//! connections than requests in flight. A connection the server has closed
//! is found by `ready()` failing and is replaced. Here hyper's client does
//! the HTTP framing, since answers on a kept connection must be delimited.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

use super::exchange::kind_of;
use super::results::ErrorKind;
use super::server::REAL_SERVER_HEADER;

type Sender = SendRequest<Empty<Bytes>>;

/// Reusable connections to one target.
pub(crate) struct Pool {
    target: SocketAddr,
    path: String,
    host: HeaderValue,
    idle: Mutex<Vec<Sender>>,
}

impl Pool {
    /// An empty pool for `GET path` with `Host: host` (already validated).
    pub(crate) fn new(target: SocketAddr, path: String, host: &str) -> Self {
        let host =
            HeaderValue::from_str(host).unwrap_or_else(|_| HeaderValue::from_static("lvslab"));
        Self { target, path, host, idle: Mutex::default() }
    }

    fn take(&self) -> Option<Sender> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn put(&self, sender: Sender) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(sender);
    }

    /// A connection ready for a request: an idle one, or a new one
    /// (`connected` is called when one is opened).
    async fn ready(&self, connected: &impl Fn()) -> Result<Sender, ErrorKind> {
        while let Some(mut sender) = self.take() {
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        let stream = TcpStream::connect(self.target).await.map_err(|e| kind_of(&e))?;
        connected();
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|e| kind_of_hyper(&e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(error = %e, "keep-alive connection ended with an error");
            }
        });
        sender.ready().await.map_err(|e| kind_of_hyper(&e))?;
        Ok(sender)
    }

    /// Runs one request on a pooled connection; `server` is set once the
    /// answer's headers name the real server.
    pub(crate) async fn once(
        &self,
        server: &mut Option<String>,
        connected: impl Fn(),
    ) -> Result<(), ErrorKind> {
        let mut sender = self.ready(&connected).await?;
        let mut request = Request::new(Empty::new());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = self.path.parse().map_err(|_| ErrorKind::Other)?;
        request.headers_mut().insert(HOST, self.host.clone());
        request.headers_mut().insert(USER_AGENT, HeaderValue::from_static("lvslab"));
        let response = sender.send_request(request).await.map_err(|e| kind_of_hyper(&e))?;
        *server = response
            .headers()
            .get(REAL_SERVER_HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let status = response.status();
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            frame.map_err(|e| kind_of_hyper(&e))?;
        }
        self.put(sender);
        if status.is_success() { Ok(()) } else { Err(ErrorKind::Other) }
    }
}

/// Maps a hyper client error to the kind counted in the report.
fn kind_of_hyper(error: &hyper::Error) -> ErrorKind {
    if error.is_timeout() {
        return ErrorKind::Timeout;
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return kind_of(io);
        }
        source = cause.source();
    }
    if error.is_incomplete_message() || error.is_closed() || error.is_canceled() {
        ErrorKind::Reset
    } else {
        ErrorKind::Other
    }
}
