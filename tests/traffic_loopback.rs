//! The generator against real servers on 127.0.0.1: counts, connection
//! reuse, held connections, a server killed mid-run, rate and live control.
//! No root needed.

mod traffic_support;

use std::time::Duration;

use lvslab_traffic::{ConnectionMode, Generator, Load, Profile, RequestKind};
use traffic_support::{eventually, start};

fn profile(load: Load, requests: u64) -> Profile {
    Profile { load, requests: Some(requests), ..Profile::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_each_server_exactly_with_a_connection_per_request() {
    for name in ["a", "b", "c"] {
        let server = start(name).await;
        let run = Generator::start(server.addr, profile(Load::Concurrency(4), 150)).unwrap();
        let report = run.finish().await.unwrap();
        assert_eq!(report.requests, 150, "{report:?}");
        assert_eq!(report.ok, report.requests);
        assert_eq!(report.errors.total(), 0);
        assert_eq!(report.by_server.len(), 1);
        assert_eq!(report.by_server[name], 150);
        assert_eq!(report.connections, 150);
        assert_eq!(server.stats.requests(), 150);
        assert_eq!(server.stats.accepted(), 150, "one connection per request");
        server.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_reuses_one_connection_per_worker() {
    let server = start("a").await;
    let mut p = profile(Load::Concurrency(4), 400);
    p.connection = ConnectionMode::KeepAlive;
    let report = Generator::start(server.addr, p).unwrap().finish().await.unwrap();
    assert_eq!((report.ok, report.requests), (400, 400), "{report:?}");
    assert_eq!(report.by_server["a"], 400);
    assert_eq!(server.stats.requests(), 400);
    assert!(server.stats.accepted() <= 4, "accepted {}", server.stats.accepted());
    assert_eq!(report.connections, server.stats.accepted());
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_keeps_connections_open_together() {
    let server = start("a").await;
    let mut p = profile(Load::Concurrency(6), 6);
    p.request = RequestKind::Hold(Duration::from_millis(1200));
    let run = Generator::start(server.addr, p).unwrap();
    let stats = server.stats.clone();
    assert!(eventually(Duration::from_secs(1), || stats.holding() == 6).await, "holding");
    assert_eq!(stats.open(), 6);
    let progress = run.progress().borrow().clone();
    assert!(progress.requests < 6, "held requests are not finished yet");
    let report = run.finish().await.unwrap();
    assert_eq!((report.ok, report.errors.total()), (6, 0), "{report:?}");
    assert!(report.latency_ms.p50 >= 1100.0, "{:?}", report.latency_ms);
    assert!(eventually(Duration::from_secs(1), || stats.holding() == 0).await);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_run_gives_refused_errors() {
    let server = start("a").await;
    let p = Profile {
        load: Load::Concurrency(2),
        requests: None,
        duration: Some(Duration::from_millis(1200)),
        ..Profile::default()
    };
    let run = Generator::start(server.addr, p).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.kill().await;
    let report = run.finish().await.unwrap();
    assert!(report.ok > 0, "{report:?}");
    assert!(report.errors.refused > 0, "{:?}", report.errors);
    assert_eq!(report.requests, report.ok + report.errors.total());
    assert!(report.unattributed_errors >= report.errors.refused);
    let first = report.error_events.first().expect("error events");
    assert!(first.at_s >= 0.35, "first error at {}", first.at_s);
    assert!(first.server.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_rate_is_roughly_met() {
    let server = start("a").await;
    let p = Profile {
        load: Load::Rate(200.0),
        requests: None,
        duration: Some(Duration::from_secs(2)),
        ..Profile::default()
    };
    let report = Generator::start(server.addr, p).unwrap().finish().await.unwrap();
    assert!((300..=480).contains(&report.requests), "{} requests in 2 s at 200/s", report.requests);
    assert_eq!(report.errors.total(), 0);
    assert!((140.0..=260.0).contains(&report.rate), "rate {}", report.rate);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_percentiles_are_monotonic() {
    let server = start("a").await;
    let mut p = profile(Load::Concurrency(8), 400);
    p.request = RequestKind::Sleep(Duration::from_millis(2));
    let report = Generator::start(server.addr, p).unwrap().finish().await.unwrap();
    let l = report.latency_ms;
    assert!(l.p50 >= 2.0, "{l:?}");
    assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, "{l:?}");
    let s = report.servers["a"].latency_ms;
    assert!(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max, "{s:?}");
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_changes_while_running_and_progress_is_published() {
    let server = start("a").await;
    let p = Profile {
        load: Load::Concurrency(2),
        requests: None,
        progress_every: Duration::from_millis(50),
        ..Profile::default()
    };
    let run = Generator::start(server.addr, p).unwrap();
    let mut progress = run.progress();
    progress.changed().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    run.set_concurrency(0);
    assert!(eventually(Duration::from_secs(2), || progress.borrow().in_flight == 0).await);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let paused = progress.borrow_and_update().requests;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(progress.borrow().requests, paused, "concurrency 0 pauses");
    assert_eq!(progress.borrow().load, Load::Concurrency(0));
    run.set_rate(100.0).unwrap();
    assert!(run.set_rate(-1.0).is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let snapshot = progress.borrow().clone();
    assert!(snapshot.requests >= paused + 20, "rate resumed: {paused} -> {}", snapshot.requests);
    assert_eq!(snapshot.load, Load::Rate(100.0));
    assert!(snapshot.interval_rate > 0.0);
    run.stop();
    let report = run.finish().await.unwrap();
    assert_eq!(report.errors.total(), 0);
    assert!(progress.borrow().finished);
    assert_eq!(progress.borrow().requests, report.requests);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramp_starts_slow() {
    let server = start("a").await;
    let p = Profile {
        load: Load::Rate(400.0),
        ramp: Some(lvslab_traffic::Ramp { from: 0.0, over: Duration::from_secs(2) }),
        requests: None,
        duration: Some(Duration::from_secs(1)),
        ..Profile::default()
    };
    let report = Generator::start(server.addr, p).unwrap().finish().await.unwrap();
    // Over the first second of a 0 -> 400/s ramp: about 100 requests.
    assert!((50..=160).contains(&report.requests), "{} requests", report.requests);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generator_needs_a_runtime_and_a_valid_profile() {
    let addr = "127.0.0.1:9".parse().unwrap();
    let bad = Profile { load: Load::Rate(f64::INFINITY), ..Profile::default() };
    assert!(Generator::start(addr, bad).is_err());
    let outside = std::thread::spawn(move || Generator::start(addr, Profile::default()).is_err());
    assert!(outside.join().unwrap(), "no runtime on a plain thread");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_survives_the_server_going_away() {
    let server = start("a").await;
    let p = Profile {
        load: Load::Concurrency(4),
        requests: None,
        duration: Some(Duration::from_millis(900)),
        connection: ConnectionMode::KeepAlive,
        ..Profile::default()
    };
    let run = Generator::start(server.addr, p).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().await;
    let report = tokio::time::timeout(Duration::from_secs(5), run.finish()).await.unwrap().unwrap();
    assert!(report.ok > 0, "{report:?}");
    assert!(report.errors.refused + report.errors.reset > 0, "{:?}", report.errors);
    assert_eq!(report.requests, report.ok + report.errors.total());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_drops_held_requests_at_once() {
    let server = start("a").await;
    let mut p = profile(Load::Concurrency(3), 3);
    p.request = RequestKind::Hold(Duration::from_secs(30));
    let run = Generator::start(server.addr, p).unwrap();
    let stats = server.stats.clone();
    assert!(eventually(Duration::from_secs(1), || stats.holding() == 3).await);
    run.abort();
    let report = tokio::time::timeout(Duration::from_secs(2), run.finish()).await.unwrap().unwrap();
    assert_eq!(
        (report.requests, report.errors.total()),
        (0, 0),
        "aborted requests are not counted"
    );
    assert!(
        eventually(Duration::from_secs(2), || stats.holding() == 0).await,
        "server saw the close"
    );
    // Dropping a handle aborts too.
    let mut p = profile(Load::Concurrency(2), 2);
    p.request = RequestKind::Hold(Duration::from_secs(30));
    drop(Generator::start(server.addr, p).unwrap());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(eventually(Duration::from_secs(2), || stats.holding() == 0).await);
    server.kill().await;
}
