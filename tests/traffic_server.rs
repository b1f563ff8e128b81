//! The real server answers every request, good or bad, without dying.
//! No root needed.

mod traffic_support;

use std::time::Duration;

use lvslab_traffic::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use traffic_support::{start, start_with};

/// Sends raw bytes on a new connection and returns everything answered.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer));
    let _ = read.await.expect("answer in time");
    String::from_utf8_lossy(&answer).into_owned()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_itself_and_the_client() {
    let server = start("rs1").await;
    let answer = raw(server.addr, &get("/")).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("x-real-server: rs1\r\n"), "{answer}");
    assert!(answer.contains("x-client-addr: 127.0.0.1:"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nrs1\n"), "{answer}");
    let health = raw(server.addr, &get("/health")).await;
    assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"), "{health}");
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_bad_input_and_keeps_serving() {
    let server = start("rs1").await;
    let cases: [(&[u8], &str); 6] = [
        (&get("/nope"), "404"),
        (&get("/sleep"), "400"),
        (&get("/sleep?ms=abc"), "400"),
        (&get("/hold?ms=99999999999999999999"), "400"),
        (b"\x00\x01garbage\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n", "400"),
    ];
    for (request, status) in cases {
        let answer = raw(server.addr, request).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{request:?} -> {answer}");
    }
    let answer = raw(server.addr, &get("/sleep?ms=abc")).await;
    assert!(answer.contains("bad ms 'abc'"), "{answer}");
    // A client that connects and vanishes does not hurt either.
    drop(TcpStream::connect(server.addr).await.unwrap());
    assert!(raw(server.addr, &get("/")).await.ends_with("rs1\n"));
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_streams_a_line_per_tick_then_ends() {
    let server = start("rs2").await;
    let started = std::time::Instant::now();
    let answer = raw(server.addr, &get("/hold?ms=350")).await;
    assert!(started.elapsed() >= Duration::from_millis(340));
    assert!(answer.contains("transfer-encoding: chunked"), "{answer}");
    // The name at once, then every 100 ms tick until the 350 ms deadline.
    assert_eq!(answer.matches("rs2\n").count(), 4, "{answer}");
    assert!(answer.ends_with("0\r\n\r\n"), "{answer}");
    assert_eq!(server.stats.holding(), 0);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_held_connections_and_the_port() {
    let server = start("rs3").await;
    let addr = server.addr;
    let mut held = TcpStream::connect(addr).await.unwrap();
    held.write_all(&get("/hold")).await.unwrap();
    let stats = server.stats.clone();
    assert!(traffic_support::eventually(Duration::from_secs(1), || stats.holding() == 1).await);
    server.kill().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), held.read_to_end(&mut rest))
        .await
        .expect("held connection closed by shutdown");
    let refused = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!((stats.open(), stats.holding()), (0, 0));
}

/// One keep-alive request on `stream` and its whole answer (the connection
/// stays open); panics if the server closes it first.
async fn exchange(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map(|n| n.parse::<usize>().unwrap());
            match length {
                Some(n) if body.len() >= n => return text,
                None if body.ends_with("0\r\n\r\n") => return text,
                _ => {}
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("answer in time")
            .unwrap();
        assert!(n > 0, "closed in the middle of an answer: {text}");
        answer.extend_from_slice(&buf[..n]);
    }
}

/// How long until the server closes `stream` (reading and dropping what it
/// sends), at most `within`; `None` if it stays open.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + within),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once_and_the_cap_is_served() {
    let mut config = ServerConfig::new("rs1");
    config.max_connections = 8;
    let server = start_with(config).await;
    let stats = server.stats.clone();
    let mut served = Vec::new();
    for _ in 0..8 {
        served.push(TcpStream::connect(server.addr).await.unwrap());
    }
    assert!(traffic_support::eventually(Duration::from_secs(2), || stats.open() == 8).await);

    // Four more: each is answered 503 (or reset) and closed at once.
    let mut slowest = Duration::ZERO;
    for _ in 0..4 {
        let started = std::time::Instant::now();
        let mut extra = TcpStream::connect(server.addr).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(2), extra.read_to_end(&mut answer));
        let _ = read.await.expect("an extra connection is closed, not queued");
        slowest = slowest.max(started.elapsed());
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 503 Service Unavailable"),
            "{answer}"
        );
        assert!(answer.is_empty() || answer.contains("serves 8 connections at once"), "{answer}");
    }
    eprintln!("slowest refusal of an over-cap connection: {slowest:?}");
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");
    assert_eq!((stats.open(), stats.refused(), stats.accepted()), (8, 4, 8));

    // The eight are served, and a closed one frees its slot.
    for stream in &mut served {
        assert!(exchange(stream, "/").await.ends_with("\r\n\r\nrs1\n"));
    }
    drop(served.pop());
    assert!(traffic_support::eventually(Duration::from_secs(2), || stats.open() == 7).await);
    let mut again = TcpStream::connect(server.addr).await.unwrap();
    assert!(exchange(&mut again, "/health").await.ends_with("ok\n"));
    assert_eq!(stats.refused(), 4);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let mut config = ServerConfig::new("rs1");
    config.idle_timeout = Duration::from_millis(300);
    let server = start_with(config).await;
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    assert!(exchange(&mut kept, "/").await.starts_with("HTTP/1.1 200 OK"));
    let after = closed_within(&mut kept, Duration::from_secs(3)).await.expect("closed");
    eprintln!("idle keep-alive connection closed {after:?} after its answer");
    assert!(after >= Duration::from_millis(250) && after < Duration::from_millis(800), "{after:?}");

    // One that never sends a request is idle too.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let after = closed_within(&mut silent, Duration::from_secs(3)).await.expect("closed");
    assert!(after >= Duration::from_millis(250) && after < Duration::from_millis(800), "{after:?}");
    let stats = server.stats.clone();
    assert!(traffic_support::eventually(Duration::from_secs(1), || stats.open() == 0).await);
    assert_eq!(stats.timed_out(), 2);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_connection_outlives_the_idle_timeout() {
    let mut config = ServerConfig::new("rs1");
    config.idle_timeout = Duration::from_millis(300);
    // Ticks slower than the idle timeout: a held answer moves no byte for
    // longer than it, and is still not cut.
    config.hold_tick = Duration::from_millis(500);
    let server = start_with(config).await;
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..6 {
        assert!(exchange(&mut busy, "/").await.ends_with("rs1\n"));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let sleep = exchange(&mut busy, "/sleep?ms=700").await;
    assert!(sleep.starts_with("HTTP/1.1 200") && sleep.ends_with("rs1\n"), "{sleep}");
    let hold = exchange(&mut busy, "/hold?ms=1200").await;
    assert_eq!(hold.matches("rs1\n").count(), 3, "the name, then 2 ticks: {hold}");
    eprintln!("busy connection still open after {:?}", started.elapsed());
    assert!(started.elapsed() > Duration::from_millis(2500));
    assert_eq!(server.stats.timed_out(), 0);
    assert_eq!(server.stats.accepted(), 1, "one connection throughout");
    // Then idle: closed.
    assert!(closed_within(&mut busy, Duration::from_secs(2)).await.is_some());
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_sent_a_byte_at_a_time_is_closed_after_the_header_timeout() {
    let mut config = ServerConfig::new("rs1");
    config.header_timeout = Duration::from_millis(400);
    config.idle_timeout = Duration::from_secs(10);
    let server = start_with(config).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut closed = None;
    for byte in b"GET / HTTP/1.1\r\nHost: a-very-slow-client.example\r\n".iter().cycle().take(100) {
        if slow.write_all(&[*byte]).await.is_err() {
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(100)).await.is_some() {
            closed = Some(started.elapsed());
            break;
        }
    }
    let closed = closed.expect("a dripping client is closed");
    eprintln!("byte-a-time head closed after {closed:?}");
    assert!(
        closed >= Duration::from_millis(390) && closed < Duration::from_millis(1200),
        "{closed:?}"
    );
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answers_is_closed_after_the_idle_timeout() {
    let mut config = ServerConfig::new("rs1");
    config.idle_timeout = Duration::from_millis(300);
    let server = start_with(config).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (_read, mut write) = stream.into_split();
    // Pipelined requests, never read: the answers back up until the server
    // can write no more, and its connection moves no byte.
    let writer = tokio::spawn(async move {
        let request = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(1000);
        while write.write_all(&request).await.is_ok() {}
    });
    let stats = server.stats.clone();
    let started = std::time::Instant::now();
    assert!(traffic_support::eventually(Duration::from_secs(20), || stats.timed_out() == 1).await);
    eprintln!("stuck reader closed after {:?} ({} requests)", started.elapsed(), stats.requests());
    assert!(traffic_support::eventually(Duration::from_secs(2), || stats.open() == 0).await);
    let _ =
        tokio::time::timeout(Duration::from_secs(5), writer).await.expect("writer sees the close");
    server.kill().await;
}
