//! Numbers of the IPVS generic netlink protocol, from the kernel's
//! `include/uapi/linux/ip_vs.h`.
//!
//! Commands and attribute types are `neli_enum`s so that neli can carry them
//! in typed headers and print them by name in debug output; the remaining
//! values (flags, forwarding methods, tunnel types) are plain constants used
//! by [`super::wire`].

use neli::neli_enum;

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
/// `IP_VS_SVC_F_HASHED`: set by the kernel on every listed service; read-only.
pub const SVC_F_HASHED: u32 = 0x0002;
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

/// Generic netlink commands (`IPVS_CMD_*`), the `cmd` of the genl header.
#[neli_enum(serialized_type = "u8")]
pub enum Cmd {
    /// `IPVS_CMD_UNSPEC`.
    Unspec = 0,
    /// Add a service; also the cmd of each service in a dump.
    NewService = 1,
    /// Edit a service.
    SetService = 2,
    /// Delete a service.
    DelService = 3,
    /// Get one service, or all with `NLM_F_DUMP`.
    GetService = 4,
    /// Add a destination; also the cmd of each destination in a dump.
    NewDest = 5,
    /// Edit a destination.
    SetDest = 6,
    /// Delete a destination.
    DelDest = 7,
    /// Dump the destinations of a service.
    GetDest = 8,
    /// Start a sync daemon (unused by lvslab).
    NewDaemon = 9,
    /// Stop a sync daemon (unused by lvslab).
    DelDaemon = 10,
    /// Get sync daemons (unused by lvslab).
    GetDaemon = 11,
    /// Set the timeouts.
    SetConfig = 12,
    /// Get the timeouts.
    GetConfig = 13,
    /// Only the cmd of the `GetInfo` reply.
    SetInfo = 14,
    /// Get the version and connection table size.
    GetInfo = 15,
    /// Zero the counters of one service, or of all.
    Zero = 16,
    /// Delete every service.
    Flush = 17,
}

impl neli::consts::genl::Cmd for Cmd {}

/// Top-level attributes (`IPVS_CMD_ATTR_*`).
///
/// The `GetInfo` reply reuses numbers 1 and 2 for [`InfoAttr`].
#[neli_enum(serialized_type = "u16")]
pub enum CmdAttr {
    /// `IPVS_CMD_ATTR_UNSPEC`.
    Unspec = 0,
    /// Nested [`SvcAttr`].
    Service = 1,
    /// Nested [`DestAttr`].
    Dest = 2,
    /// Nested sync daemon attributes (unused by lvslab).
    Daemon = 3,
    /// u32, TCP established timeout in seconds.
    TimeoutTcp = 4,
    /// u32, TCP FIN_WAIT timeout in seconds.
    TimeoutTcpFin = 5,
    /// u32, UDP timeout in seconds.
    TimeoutUdp = 6,
}

impl neli::consts::genl::NlAttrType for CmdAttr {}

/// Service attributes (`IPVS_SVC_ATTR_*`), inside [`CmdAttr::Service`].
#[neli_enum(serialized_type = "u16")]
pub enum SvcAttr {
    /// `IPVS_SVC_ATTR_UNSPEC`.
    Unspec = 0,
    /// u16 address family.
    Af = 1,
    /// u16 IP protocol.
    Protocol = 2,
    /// Up to 16 bytes (`union nf_inet_addr`).
    Addr = 3,
    /// u16, network byte order.
    Port = 4,
    /// u32 firewall mark.
    Fwmark = 5,
    /// NUL-terminated scheduler name.
    SchedName = 6,
    /// `struct ip_vs_flags { u32 flags; u32 mask; }`, host order.
    Flags = 7,
    /// u32 persistence timeout in seconds.
    Timeout = 8,
    /// u32: IPv4 mask in network order, IPv6 prefix length.
    Netmask = 9,
    /// Nested [`StatsAttr`], 32-bit counters.
    Stats = 10,
    /// NUL-terminated persistence engine name.
    PeName = 11,
    /// Nested [`StatsAttr`], 64-bit counters.
    Stats64 = 12,
}

impl neli::consts::genl::NlAttrType for SvcAttr {}

/// Destination attributes (`IPVS_DEST_ATTR_*`), inside [`CmdAttr::Dest`].
#[neli_enum(serialized_type = "u16")]
pub enum DestAttr {
    /// `IPVS_DEST_ATTR_UNSPEC`.
    Unspec = 0,
    /// Up to 16 bytes.
    Addr = 1,
    /// u16, network byte order.
    Port = 2,
    /// u32 forwarding method.
    FwdMethod = 3,
    /// u32 weight.
    Weight = 4,
    /// u32 upper connection threshold.
    UThresh = 5,
    /// u32 lower connection threshold.
    LThresh = 6,
    /// u32, read-only.
    ActiveConns = 7,
    /// u32, read-only.
    InactConns = 8,
    /// u32, read-only.
    PersistConns = 9,
    /// Nested [`StatsAttr`], 32-bit counters.
    Stats = 10,
    /// u16 address family of the destination.
    AddrFamily = 11,
    /// Nested [`StatsAttr`], 64-bit counters.
    Stats64 = 12,
    /// u8 tunnel type.
    TunType = 13,
    /// u16 tunnel port, network byte order.
    TunPort = 14,
    /// u16 tunnel flags.
    TunFlags = 15,
}

impl neli::consts::genl::NlAttrType for DestAttr {}

/// Counter attributes (`IPVS_STATS_ATTR_*`), inside `Stats`/`Stats64`.
#[neli_enum(serialized_type = "u16")]
pub enum StatsAttr {
    /// `IPVS_STATS_ATTR_UNSPEC`.
    Unspec = 0,
    /// Connections scheduled.
    Conns = 1,
    /// Incoming packets.
    Inpkts = 2,
    /// Outgoing packets.
    Outpkts = 3,
    /// Incoming bytes (u64 in both nests).
    Inbytes = 4,
    /// Outgoing bytes (u64 in both nests).
    Outbytes = 5,
    /// Connection rate.
    Cps = 6,
    /// Incoming packet rate.
    Inpps = 7,
    /// Outgoing packet rate.
    Outpps = 8,
    /// Incoming byte rate.
    Inbps = 9,
    /// Outgoing byte rate.
    Outbps = 10,
    /// Alignment padding; skipped.
    Pad = 11,
}

impl neli::consts::genl::NlAttrType for StatsAttr {}

/// Attributes of the `GetInfo` reply (`IPVS_INFO_ATTR_*`), at top level.
#[neli_enum(serialized_type = "u16")]
pub enum InfoAttr {
    /// `IPVS_INFO_ATTR_UNSPEC`.
    Unspec = 0,
    /// u32 version, `0x010201` is 1.2.1.
    Version = 1,
    /// u32 size of the connection hash table.
    ConnTabSize = 2,
}

impl neli::consts::genl::NlAttrType for InfoAttr {}
