//! What can go wrong while building, changing or removing a running lab.

/// A failure while building, changing or removing a running lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Namespaces, links, routes, sysctls.
    #[error(transparent)]
    Net(#[from] crate::net::Error),
    /// The director's IPVS table.
    #[error(transparent)]
    Ipvs(#[from] lvslab_ipvs::Error),
    /// The director's nftables table.
    #[error(transparent)]
    Nft(#[from] crate::nft::Error),
    /// A real server's HTTP process did not come up.
    #[error("the HTTP server of {host} (port {port}) did not start{why}; see its log {log}")]
    ServerStart {
        /// Real server.
        host: String,
        /// Port.
        port: u16,
        /// What its log says, prefixed with ": ", or empty.
        why: String,
        /// Its log file.
        log: String,
    },
    /// A change lvslab will not make; the message says why.
    #[error("{0}")]
    Refused(String),
    /// The state file could not be written.
    #[error("cannot update the lab's record: {0}")]
    Record(String),
    /// A command lvslab runs for what its netlink layer does not do (`ip`
    /// deleting an address, flushing neighbour entries) failed.
    #[error("{command}: {why}")]
    Command {
        /// The command line, or the program when it could not be run.
        command: String,
        /// Its own words on stderr, or why it could not be run.
        why: String,
    },
    /// A socket or runtime the change needs failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the host.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A real server's process could not be spawned at all.
    #[error("cannot start the HTTP server of {host}: {source}")]
    Spawn {
        /// Real server.
        host: String,
        /// Cause.
        source: std::io::Error,
    },
}
