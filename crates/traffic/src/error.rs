//! Errors of the traffic layer, naming the address or setting involved.

use std::io;
use std::net::SocketAddr;

/// A failure to start or run the real server or the load generator.
///
/// Failed *requests* are not errors of this type: the generator counts them
/// by kind in its [`crate::Report`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening address cannot be bound.
    #[error("real server '{name}': cannot listen on {addr}: {source}")]
    Bind {
        /// The server's name.
        name: String,
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
    /// The process could not set up its runtime or signal handlers.
    #[error("real server '{name}': cannot {op}: {source}")]
    Process {
        /// The server's name.
        name: String,
        /// What was being set up.
        op: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The listening socket is unusable.
    #[error("real server '{name}': cannot use the listening socket: {source}")]
    Listener {
        /// The server's name.
        name: String,
        /// The cause.
        source: io::Error,
    },
    /// The server's name cannot be sent in an HTTP header.
    #[error("real server name '{name}' cannot be sent in an HTTP header: use visible ASCII")]
    Name {
        /// The name as given.
        name: String,
    },
    /// The generator was started outside a tokio runtime.
    #[error("the load generator for {target} must be started inside a tokio runtime")]
    NoRuntime {
        /// The address it was to load.
        target: SocketAddr,
    },
    /// A profile setting is out of range.
    #[error("invalid traffic profile: {field} = {value}: {fix}")]
    Profile {
        /// The setting.
        field: &'static str,
        /// The bad value, as given.
        value: String,
        /// What would be accepted.
        fix: &'static str,
    },
    /// The generator's task ended abnormally.
    #[error("the load generator for {target} stopped abnormally: {message}")]
    Generator {
        /// The address it was loading.
        target: SocketAddr,
        /// What happened.
        message: String,
    },
}
