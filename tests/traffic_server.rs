//! The real server answers every request, good or bad, without dying.
//! No root needed.

mod traffic_support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use traffic_support::start;

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
