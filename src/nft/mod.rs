//! The nftables dataplane on the kernel: a director's services as an nftables table, built
//! the way kube-proxy's nftables mode builds them (see [`ruleset`]), applied
//! and read with the `nft` and `conntrack` commands inside the director's
//! namespace ([`exec`]), and their output read back ([`read`]). The text
//! both ways is [`lvslab_core::nft`]'s.
//!
//! Why the `nft` binary rather than netlink from Rust: the ruleset is
//! written and read in nftables' own language, which users can paste into
//! `nft -f` and compare with `nft list table ip lvslab`; a whole file is one
//! kernel transaction, so a live edit is atomic; and nftables' netlink
//! encoding (expressions, set element ranges, objects) is large and changes
//! with the kernel, which `nft` keeps up with for us. kube-proxy's knftables
//! made the same choice. The cost is one process per change or read (a few
//! milliseconds; the dashboard reads about ten times a second).

pub mod exec;

pub use lvslab_core::nft::*;

/// A failure programming or reading the director's nftables table.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The namespace could not be entered.
    #[error(transparent)]
    Namespace(#[from] crate::net::Error),
    /// The command is not installed (or could not start).
    #[error(
        "cannot run `{program}`: {source}; install it (Debian/Ubuntu: apt-get install nftables conntrack)"
    )]
    Spawn {
        /// `nft` or `conntrack`.
        program: &'static str,
        /// Cause.
        source: std::io::Error,
    },
    /// The command ran and refused.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// What was run.
        command: String,
        /// What it said.
        stderr: String,
    },
}
