//! Many clients from one host: the generator binds each new connection to
//! the next of its source addresses, and the report says which server each
//! client address reached (`by_client`). On loopback, where every
//! 127.0.0.0/8 address is the machine's own. No root needed.

mod traffic_support;

use lvslab_traffic::{ConnectionMode, Generator, Load, Profile};
use traffic_support::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_comes_from_the_next_source_address() {
    let server = start("a").await;
    let sources: Vec<std::net::IpAddr> =
        (2..=11).map(|i| format!("127.0.0.{i}").parse().unwrap()).collect();
    let profile = Profile {
        load: Load::Concurrency(3),
        requests: Some(100),
        sources: sources.clone(),
        ..Profile::default()
    };
    let report = Generator::start(server.addr, profile).unwrap().finish().await.unwrap();
    assert_eq!(report.ok, 100, "{report:?}");
    assert_eq!(report.by_client.len(), 10, "ten client addresses: {:?}", report.by_client);
    for source in &sources {
        assert_eq!(report.by_client[&source.to_string()]["a"], 10, "{:?}", report.by_client);
    }
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sources_the_one_client_is_reported_and_keep_alive_leaves_it_empty() {
    let server = start("a").await;
    let profile = Profile { load: Load::Concurrency(2), requests: Some(20), ..Profile::default() };
    let report = Generator::start(server.addr, profile).unwrap().finish().await.unwrap();
    assert_eq!(report.by_client.len(), 1);
    assert_eq!(report.by_client["127.0.0.1"]["a"], 20);

    let profile = Profile {
        load: Load::Concurrency(2),
        requests: Some(20),
        connection: ConnectionMode::KeepAlive,
        ..Profile::default()
    };
    let report = Generator::start(server.addr, profile).unwrap().finish().await.unwrap();
    assert!(report.by_client.is_empty(), "{:?}", report.by_client);
    server.kill().await;
}
