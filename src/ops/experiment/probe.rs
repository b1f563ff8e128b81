//! The client side of an experiment: plain blocking HTTP/1.1 over sockets
//! made in the lab's client namespace (a socket belongs to the namespace it
//! was created in, so only `connect` runs on a namespace thread and the
//! connection is then used from any thread).
//!
//! A *busy* held connection is one keep-alive connection sending a `GET /`
//! every [`INTERVAL`]: it never sits idle, so `lvslab serve`'s
//! `--idle-timeout` (60 s by default, counted only while no request is in
//! progress) never closes it, and a stall is the director's doing.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvslab_core::experiment::outcome::End;
use lvslab_sys::netns;

use super::super::error::LabError;

/// Time between a busy connection's requests.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// Longest a connect may take (TCG is slow, a lab's path is one hop).
const CONNECT: Duration = Duration::from_secs(5);
/// Answers with longer heads are refused.
const MAX_HEAD: usize = 16 * 1024;

/// A new TCP connection from namespace `ns` to `target`.
///
/// # Errors
/// The namespace cannot be entered or the connect failed.
pub fn connect(ns: &str, target: SocketAddr) -> Result<TcpStream, LabError> {
    netns::run_in(ns, || TcpStream::connect_timeout(&target, CONNECT))?
        .map_err(|source| LabError::Io { what: format!("connect to {target} from {ns}"), source })
}

/// Sends one `GET /` on `stream` and reads the answer: the real server's
/// name (its `X-Real-Server`). `close` asks the server to close after it.
///
/// # Errors
/// The socket failed, the server closed under the request, or the answer
/// is not HTTP with a length and a name.
pub fn request(stream: &mut TcpStream, host: &str, close: bool) -> io::Result<String> {
    let connection = if close { "close" } else { "keep-alive" };
    stream.write_all(
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lvslab-experiment\r\nConnection: {connection}\r\n\r\n")
            .as_bytes(),
    )?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "answer head too long"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    if !head.starts_with("HTTP/1.1 200") {
        return Err(bad("not a 200 answer"));
    }
    let server = header("x-real-server").ok_or_else(|| bad("no X-Real-Server"))?;
    let length: usize =
        header("content-length").and_then(|v| v.parse().ok()).ok_or_else(|| bad("no length"))?;
    let mut body = buf.len() - end - 4;
    while body < length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        body += n;
    }
    Ok(server)
}

/// One request on a new connection the server closes: who answered.
///
/// # Errors
/// As [`connect`] and [`request`].
pub fn one(ns: &str, target: SocketAddr, timeout: Duration) -> Result<String, LabError> {
    let mut stream = connect(ns, target)?;
    let io = |source| LabError::Io { what: format!("GET / from {target}"), source };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    request(&mut stream, &target.ip().to_string(), true).map_err(io)
}

/// A held connection and the server that answered its first request.
pub struct Held {
    /// Who answered.
    pub server: String,
    stream: TcpStream,
}

/// Opens `n` keep-alive connections from `ns` to `target`, one by one, each
/// answered once.
///
/// # Errors
/// A connection could not be made or its first request failed.
pub fn hold(
    ns: &str,
    target: SocketAddr,
    n: u32,
    give_up: Duration,
) -> Result<Vec<Held>, LabError> {
    (0..n)
        .map(|_| {
            let mut stream = connect(ns, target)?;
            let io = |source| LabError::Io { what: format!("first request to {target}"), source };
            stream.set_read_timeout(Some(give_up)).map_err(io)?;
            stream.set_write_timeout(Some(give_up)).map_err(io)?;
            let server = request(&mut stream, &target.ip().to_string(), false).map_err(io)?;
            Ok(Held { server, stream })
        })
        .collect()
}

/// When the change was made, shared with the busy connections, so a
/// failure's time counts from it.
pub type ChangedAt = Arc<Mutex<Option<Instant>>>;

/// Held for reading around each request; the runner takes it for writing
/// to make its change between requests. A request already taken by the
/// server when its destination goes is another case: its answer is lost
/// whatever the setting (seen in the VM: with expire_nodest_conn=1 such
/// connections waited for the client's own timeout, having nothing left to
/// send that would draw the director's reset), so the experiment measures
/// what the kernel documents, the *next* segment after the change.
pub type Gate = Arc<tokio::sync::RwLock<()>>;

/// Keeps `held` busy until `until`, each on a thread of its own, and says
/// how each ended. Blocks: run it off the async runtime.
pub fn keep_busy(
    held: Vec<Held>,
    until: Instant,
    changed: &ChangedAt,
    gate: &Gate,
) -> Vec<(String, End)> {
    let threads: Vec<_> = held
        .into_iter()
        .map(|Held { server, mut stream }| {
            let changed = Arc::clone(changed);
            let gate = Arc::clone(gate);
            std::thread::spawn(move || {
                let host = stream.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
                let since = || {
                    let at = changed.lock().map(|c| *c).unwrap_or(None);
                    at.map_or(0.0, |at| at.elapsed().as_secs_f64())
                };
                while Instant::now() < until {
                    let answered = {
                        let _between_changes = gate.blocking_read();
                        request(&mut stream, &host, false)
                    };
                    match answered {
                        Ok(_) => std::thread::sleep(INTERVAL),
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) =>
                        {
                            return (server, End::GaveUp(since()));
                        }
                        Err(_) => return (server, End::Failed(since())),
                    }
                }
                let _ = stream.shutdown(Shutdown::Write);
                (server, End::Completed)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("a busy connection's thread panicked")).collect()
}
