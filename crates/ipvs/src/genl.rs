//! The IPVS generic netlink commands and attribute types, from the kernel's
//! `include/uapi/linux/ip_vs.h`, as `neli_enum`s so that neli can carry them
//! in typed headers and print them by name in debug output. The plain
//! numbers (flags, forwarding methods, tunnel types) are [`crate::consts`].

use neli::neli_enum;

// netlink's own message types (`include/uapi/linux/netlink.h`).

/// `NLMSG_NOOP`: nothing, skipped.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an ack (error 0) or a failure (negative errno).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a dump (status 0 or a negative errno).
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`: the kernel lost data.
pub const NLMSG_OVERRUN: u16 = 4;
/// Message types below this are netlink's own control messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

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
