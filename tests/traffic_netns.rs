//! The server and the generator inside a fresh network namespace, the way
//! the lab runs them: sockets are made by threads that entered it. Needs
//! root (`--features root-tests`); without it this test fails, never skips.

mod common;
mod traffic_support;

use std::process::Command;
use std::time::Duration;

use lvslab_sys::netns;
use lvslab_traffic::{Generator, Load, Profile, Report};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Deletes the namespace however the test ends.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Err(e) = netns::delete(&self.0) {
            eprintln!("cannot delete namespace {}: {e}", self.0);
        }
    }
}

/// In the namespace: a server on its loopback and a generator against it.
fn run_inside() -> (Report, u64, std::net::SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime inside the namespace");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind in the namespace");
        let addr = listener.local_addr().expect("local addr");
        let server = lvslab_traffic::Server::new(lvslab_traffic::ServerConfig::new("rs1"));
        let stats = server.stats();
        let shutdown = CancellationToken::new();
        let serving = tokio::spawn(server.run(listener, shutdown.clone()));
        let profile = Profile {
            load: Load::Concurrency(4),
            requests: Some(200),
            timeout: Duration::from_secs(2),
            ..Profile::default()
        };
        let report = Generator::start(addr, profile).expect("start").finish().await.expect("run");
        shutdown.cancel();
        serving.await.expect("server task").expect("server");
        (report, stats.accepted(), addr)
    })
}

#[test]
fn server_and_generator_run_inside_a_namespace() {
    common::require_root();
    let name = format!("lvs-ttest-{}", std::process::id());
    netns::create(&name).expect("create the namespace");
    let ns = Namespace(name);
    let up = Command::new("ip")
        .args(["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"])
        .status()
        .expect("run ip");
    assert!(up.success(), "ip link set lo up in {}", ns.0);

    let (report, accepted, addr) = netns::run_in(&ns.0, run_inside).expect("enter the namespace");
    assert_eq!((report.requests, report.ok), (200, 200), "{report:?}");
    assert_eq!(report.by_server["rs1"], 200);
    assert_eq!(report.errors.total(), 0);
    assert_eq!(accepted, 200);

    // The namespace's loopback is its own: the host's has nothing there.
    let outside = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    assert!(outside.is_err(), "{addr} must not be reachable from the host namespace");
    drop(ns);
}
