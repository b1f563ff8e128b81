//! The `lvslab serve` process body stops cleanly on SIGTERM. Its own test
//! binary, because the signal goes to the whole process. No root needed.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use lvslab_traffic::{ServerConfig, run_server_process};

#[test]
fn serves_until_sigterm() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = free.local_addr().unwrap();
    drop(free);
    let server = std::thread::spawn(move || run_server_process(addr, ServerConfig::new("rs1")));
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server never listened on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let result = server.join().expect("server thread");
    assert!(result.is_ok(), "{result:?}");
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_taken_address_is_an_error_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = run_server_process(addr, ServerConfig::new("rs2")).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("rs2") && message.contains(&addr.to_string()), "{message}");
}
