//! The body of a real-server process (`lvslab serve`), ready to call.
//!
//! The lab starts one process per real server; the CLI enters the real
//! server's namespace with `net::netns::enter` while the process is still
//! single-threaded, then calls [`run_server_process`], which builds a small
//! runtime (its threads inherit the namespace), binds, and serves until
//! SIGTERM or SIGINT. A current-thread runtime keeps each process cheap.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::Error;
use super::server::{Server, ServerConfig};

/// Serves `config.name` on `listen` until SIGTERM or SIGINT, then closes
/// the listener and every connection and returns. Blocks the calling thread;
/// call it after entering the namespace and without a runtime running.
///
/// # Errors
/// [`Error::Bind`] naming the address (taken, or not in this namespace),
/// [`Error::Process`] if the runtime or signal handlers cannot be set up,
/// or what [`Server::run`] returns.
pub fn run_server_process(listen: SocketAddr, config: ServerConfig) -> Result<(), Error> {
    let name = config.name.clone();
    let process = |op, source| Error::Process { name: name.clone(), op, source };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| process("build its runtime", e))?;
    runtime.block_on(async {
        let mut term = signal(SignalKind::terminate()).map_err(|e| process("handle SIGTERM", e))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| process("handle SIGINT", e))?;
        let listener = TcpListener::bind(listen).await.map_err(|source| Error::Bind {
            name: name.clone(),
            addr: listen,
            source,
        })?;
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(Server::new(config).run(listener, shutdown.clone()));
        tokio::select! {
            _ = term.recv() => info!(%name, "SIGTERM: stopping"),
            _ = int.recv() => info!(%name, "SIGINT: stopping"),
        }
        shutdown.cancel();
        server.await.map_err(|e| process("finish serving", std::io::Error::other(e)))?
    })
}
