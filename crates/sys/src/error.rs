//! Errors of the networking layer, with the object and the operation named.

use std::io;
use std::path::{Path, PathBuf};

/// A failed kernel operation in the networking layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A namespace of that name already exists.
    #[error("network namespace '{0}' already exists")]
    NetnsExists(String),
    /// No namespace of that name.
    #[error("network namespace '{0}' does not exist")]
    NetnsMissing(String),
    /// A file operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A system call failed.
    #[error("{op} failed: {source}")]
    Sys {
        /// What was being done.
        op: &'static str,
        /// The errno.
        source: nix::errno::Errno,
    },
    /// A netlink request failed.
    #[error("{op} failed: {message}")]
    Netlink {
        /// What was being done, naming the object.
        op: String,
        /// The kernel's answer.
        message: String,
    },
}

impl Error {
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        Self::Io { op, path: path.as_ref().to_path_buf(), source }
    }

    pub fn sys(op: &'static str, source: nix::errno::Errno) -> Self {
        Self::Sys { op, source }
    }

    pub fn netlink(op: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Self::Netlink { op: op.into(), message: err.to_string() }
    }

    /// Whether the kernel refused for lack of privilege.
    pub fn is_permission(&self) -> bool {
        matches!(
            self,
            Self::Sys { source: nix::errno::Errno::EPERM | nix::errno::Errno::EACCES, .. }
        ) || matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied)
    }
}
