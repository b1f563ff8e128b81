//! The nftables dataplane as text: a director's services as an nftables
//! table built the way kube-proxy's nftables mode builds them
//! ([`ruleset`]), and the `nft`/`conntrack` output read back ([`read`]).
//! Running those commands is the binary's `nft::exec`.

pub mod read;
pub mod ruleset;

pub use ruleset::{FAMILY, TABLE};
