//! Numbers of the IPVS generic netlink protocol, from the kernel's
//! `include/uapi/linux/ip_vs.h`.
//!
//! These are the plain numbers (flags, forwarding methods, tunnel types),
//! needed by the table's data types with or without the netlink client; the
//! commands and attribute types are [`crate::genl`]'s.

/// Generic netlink family name of IPVS (`IPVS_GENL_NAME`).
pub const GENL_NAME: &str = "IPVS";
/// Generic netlink family version of IPVS (`IPVS_GENL_VERSION`).
pub const GENL_VERSION: u8 = 1;

/// `AF_INET`, as carried in `*_ATTR_AF` and `DEST_ATTR_ADDR_FAMILY`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u16 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u16 = 17;
/// `IPPROTO_SCTP`.
pub const IPPROTO_SCTP: u16 = 132;

/// Longest scheduler name the kernel stores, including the NUL
/// (`IP_VS_SCHEDNAME_MAXLEN`).
pub const SCHEDNAME_MAXLEN: usize = 16;
/// Longest persistence engine name, including the NUL (`IP_VS_PENAME_MAXLEN`).
pub const PENAME_MAXLEN: usize = 16;

/// `IP_VS_SVC_F_PERSISTENT`: persistent service.
pub const SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling.
pub const SVC_F_ONEPACKET: u32 = 0x0004;
/// `IP_VS_SVC_F_SCHED1`: scheduler flag 1 (sh-fallback, mh-fallback).
pub const SVC_F_SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2`: scheduler flag 2 (sh-port, mh-port).
pub const SVC_F_SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3`: scheduler flag 3.
pub const SVC_F_SCHED3: u32 = 0x0020;

/// `IP_VS_CONN_F_FWD_MASK`: the forwarding-method bits of a destination.
pub const CONN_F_FWD_MASK: u32 = 0x0007;
/// `IP_VS_CONN_F_MASQ`: masquerading (NAT).
pub const CONN_F_MASQ: u32 = 0;
/// `IP_VS_CONN_F_LOCALNODE`: the director itself serves.
pub const CONN_F_LOCALNODE: u32 = 1;
/// `IP_VS_CONN_F_TUNNEL`: IP tunnelling.
pub const CONN_F_TUNNEL: u32 = 2;
/// `IP_VS_CONN_F_DROUTE`: direct routing (gatewaying).
pub const CONN_F_DROUTE: u32 = 3;
/// `IP_VS_CONN_F_BYPASS`: cache bypass.
pub const CONN_F_BYPASS: u32 = 4;

/// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP`.
pub const TUNNEL_TYPE_IPIP: u8 = 0;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GUE`.
pub const TUNNEL_TYPE_GUE: u8 = 1;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GRE`.
pub const TUNNEL_TYPE_GRE: u8 = 2;

/// `IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM`.
pub const TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
/// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`.
pub const TUNNEL_ENCAP_FLAG_CSUM: u16 = 1 << 0;
/// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`.
pub const TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 1 << 1;
