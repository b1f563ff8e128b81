//! Helpers shared by the traffic tests: real servers on ephemeral ports.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lvslab_traffic::{Server, ServerConfig, ServerStats};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A real server running in the test's runtime.
pub struct Running {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<(), lvslab_traffic::Error>>,
}

impl Running {
    /// Cancels the server and waits until it has closed everything.
    pub async fn kill(self) {
        self.shutdown.cancel();
        self.task.await.expect("server task").expect("server result");
    }
}

/// Starts a server called `name` on 127.0.0.1, port chosen by the kernel.
pub async fn start(name: &str) -> Running {
    let mut config = ServerConfig::new(name);
    config.hold_tick = Duration::from_millis(100);
    start_with(config).await
}

/// Starts a server with `config` on 127.0.0.1, port chosen by the kernel.
pub async fn start_with(config: ServerConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let server = Server::new(config);
    let stats = server.stats();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(listener, shutdown.clone()));
    Running { addr, stats, shutdown, task }
}

/// Polls `condition` every 10 ms for up to `within`.
pub async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}
