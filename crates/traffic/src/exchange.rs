//! One request on its own TCP connection, spoken as plain HTTP/1.1 bytes.
//!
//! This is the generator's default and hot path: connect, send a prebuilt
//! `GET` with `Connection: close`, read the status line and headers (to learn
//! `X-Real-Server`), then read until the server closes. Waiting for the
//! server's FIN makes the server the side that closes first, so TIME_WAIT
//! piles up on the real server rather than on the client's ephemeral ports,
//! and no per-connection task or channel is needed, which keeps the generator
//! well ahead of the servers it loads.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::results::ErrorKind;
use super::server::REAL_SERVER_HEADER;

/// Answers with longer headers are refused as `other`.
const MAX_HEAD: usize = 16 * 1024;
/// The end of a chunked body.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The request bytes for `path` on a connection the server is to close.
pub(crate) fn close_request(path: &str, host: &str) -> Bytes {
    Bytes::from(format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lvslab\r\nConnection: close\r\n\r\n"
    ))
}

/// Maps a socket error to the kind counted in the report.
pub(crate) fn kind_of(error: &io::Error) -> ErrorKind {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

/// What the status line and headers said.
struct Head {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
}

/// Runs one request on a new connection to `target`. `server` is set as
/// soon as the answer's headers name the real server, so a caller that gives
/// up (timeout) can still attribute the failure. `connected` is called once
/// the TCP connection is up.
pub(crate) async fn once(
    target: SocketAddr,
    request: &[u8],
    source: Option<std::net::IpAddr>,
    server: &mut Option<String>,
    connected: impl FnOnce(Option<SocketAddr>),
) -> Result<(), ErrorKind> {
    let io = |e: io::Error| kind_of(&e);
    let mut stream = match source {
        None => TcpStream::connect(target).await.map_err(io)?,
        Some(addr) => {
            let socket = if addr.is_ipv4() {
                tokio::net::TcpSocket::new_v4()
            } else {
                tokio::net::TcpSocket::new_v6()
            }
            .map_err(io)?;
            socket.bind(SocketAddr::new(addr, 0)).map_err(io)?;
            socket.connect(target).await.map_err(io)?
        }
    };
    connected(stream.local_addr().ok());
    // One write per connection: Nagle has nothing to delay, so no set_nodelay.
    stream.write_all(request).await.map_err(io)?;

    let mut buf = Vec::with_capacity(1024);
    let (head, body_start) = loop {
        let n = stream.read_buf(&mut buf).await.map_err(io)?;
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = parse_head(&buf[..end], server).ok_or(ErrorKind::Other)?;
            break (head, end + 4);
        }
        if n == 0 {
            return Err(ErrorKind::Reset);
        }
        if buf.len() > MAX_HEAD {
            return Err(ErrorKind::Other);
        }
    };

    let mut received = (buf.len() - body_start) as u64;
    let mut tail: Vec<u8> =
        buf[body_start..].iter().rev().take(LAST_CHUNK.len()).rev().copied().collect();
    loop {
        buf.clear();
        let n = stream.read_buf(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        received += n as u64;
        tail.extend_from_slice(&buf[n.saturating_sub(LAST_CHUNK.len())..n]);
        let excess = tail.len().saturating_sub(LAST_CHUNK.len());
        tail.drain(..excess);
    }
    let complete = if head.chunked {
        tail == LAST_CHUNK
    } else {
        head.content_length.is_none_or(|len| received >= len)
    };
    if !complete {
        return Err(ErrorKind::Reset);
    }
    if (200..300).contains(&head.status) { Ok(()) } else { Err(ErrorKind::Other) }
}

/// One `GET /` on its own connection, as a person's curl: the name of the
/// real server that answered. A complete 2xx answer without the name counts
/// as [`ErrorKind::Other`].
pub async fn one_request(target: SocketAddr) -> Result<String, ErrorKind> {
    let request = close_request("/", &target.to_string());
    let mut server = None;
    once(target, &request, None, &mut server, |_| {}).await?;
    server.ok_or(ErrorKind::Other)
}

/// Parses the status line and the headers we need; `None` if malformed.
fn parse_head(head: &[u8], server: &mut Option<String>) -> Option<Head> {
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = std::str::from_utf8(lines.next()?).ok()?;
    let mut parts = status_line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    let mut parsed = Head { status, content_length: None, chunked: false };
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(REAL_SERVER_HEADER.as_bytes()) {
            *server = Some(String::from_utf8_lossy(value).into_owned());
        } else if name.eq_ignore_ascii_case(b"content-length") {
            parsed.content_length = std::str::from_utf8(value).ok()?.parse().ok();
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            parsed.chunked = value.to_ascii_lowercase().ends_with(b"chunked");
        }
    }
    Some(parsed)
}

/// The index of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_head() {
        let mut server = None;
        let head = b"HTTP/1.1 200 OK\r\nX-Real-Server:  rs1 \r\ncontent-length: 4";
        let parsed = parse_head(head, &mut server).unwrap();
        assert_eq!((parsed.status, parsed.content_length, parsed.chunked), (200, Some(4), false));
        assert_eq!(server.as_deref(), Some("rs1"));
        let head = b"HTTP/1.1 503 No\r\ntransfer-encoding: chunked";
        assert!(parse_head(head, &mut None).unwrap().chunked);
        assert!(parse_head(b"SSH-2.0-OpenSSH", &mut None).is_none());
        assert!(parse_head(b"HTTP/1.1 abc OK", &mut None).is_none());
    }

    #[test]
    fn classifies_socket_errors() {
        let e = |k| io::Error::from(k);
        assert_eq!(kind_of(&e(io::ErrorKind::ConnectionRefused)), ErrorKind::Refused);
        assert_eq!(kind_of(&e(io::ErrorKind::ConnectionReset)), ErrorKind::Reset);
        assert_eq!(kind_of(&e(io::ErrorKind::TimedOut)), ErrorKind::Timeout);
        assert_eq!(kind_of(&e(io::ErrorKind::AddrNotAvailable)), ErrorKind::Other);
    }
}
