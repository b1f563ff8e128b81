//! Pure encoding and decoding of IPVS messages: [`Service`], [`Destination`],
//! [`Stats`], [`Info`] and [`Timeouts`] to and from generic netlink attributes.
//!
//! No socket here: [`super::client`] sends what this builds and hands back
//! what the kernel answered, and the unit tests check both directions byte
//! for byte against messages captured from a real kernel.
//!
//! Attribute order follows ipvsadm's libipvs, so a request lvslab builds is
//! byte-identical to the one ipvsadm sends for the same rule. Byte orders
//! differ per attribute: ports (service, destination, tunnel) are network
//! order; an IPv4 netmask is network order but an IPv6 one is a host-order
//! prefix length; everything else is host order. Addresses are always sent
//! as the 16-byte `union nf_inet_addr`, IPv4 in the first 4 bytes.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::genl::NlAttrType;
use neli::consts::nl::NlmF;
use neli::genl::NlattrBuilder;
use neli::genl::{AttrTypeBuilder, GenlAttrHandle, Genlmsghdr, GenlmsghdrBuilder, Nlattr};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{FromBytesWithInput, Size, ToBytes};

use super::consts::{self, Cmd, CmdAttr, DestAttr, InfoAttr, StatsAttr, SvcAttr};
use super::error::Error;
use super::types::{
    AddressFamily, Destination, Forward, Info, Protocol, Service, ServiceFlags, ServiceKey, Stats,
    Timeouts, Tunnel, TunnelFlags, TunnelKind,
};

/// A top-level attribute of a request.
pub type AttrOf = Nlattr<CmdAttr, Buffer>;

/// A request as lvslab sends it: genl header with IPVS command and attributes.
pub type Request = Genlmsghdr<Cmd, CmdAttr>;
/// A reply as received: numbers left raw, since `GetInfo` reuses attribute
/// numbers with another meaning.
pub type Reply = Genlmsghdr<u8, u16>;

fn attr<T: NlAttrType, P: Size + ToBytes>(ty: T, payload: P) -> Result<Nlattr<T, Buffer>, Error> {
    NlattrBuilder::default()
        .nla_type(AttrTypeBuilder::default().nla_type(ty).build().map_err(enc)?)
        .nla_payload(payload)
        .build()
        .map_err(enc)
}

fn bytes_attr<T: NlAttrType>(ty: T, bytes: Vec<u8>) -> Result<Nlattr<T, Buffer>, Error> {
    attr(ty, Buffer::from(bytes))
}

/// A nest; neli sets `NLA_F_NESTED` on it, as libnl does for ipvsadm.
fn nest<T: NlAttrType, C: NlAttrType>(
    ty: T,
    children: &[Nlattr<C, Buffer>],
) -> Result<Nlattr<T, Buffer>, Error> {
    children
        .iter()
        .try_fold(bytes_attr(ty, Vec::new())?, |outer, child| outer.nest(child).map_err(enc))
}

fn enc(e: impl ToString) -> Error {
    Error::encode("netlink attribute", e)
}

/// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4.
fn inet_addr(addr: IpAddr) -> Vec<u8> {
    let mut out = vec![0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out.copy_from_slice(&a.octets()),
    }
    out
}

/// The attributes that identify a service, in libipvs order.
pub fn service_key_attrs(key: &ServiceKey) -> Result<Vec<Nlattr<SvcAttr, Buffer>>, Error> {
    let mut attrs = vec![attr(SvcAttr::Af, key.af().to_raw())?];
    match *key {
        ServiceKey::Fwmark { mark, .. } => attrs.push(attr(SvcAttr::Fwmark, mark)?),
        ServiceKey::Addr { proto, addr, port } => {
            attrs.push(attr(SvcAttr::Protocol, proto.to_raw())?);
            attrs.push(bytes_attr(SvcAttr::Addr, inet_addr(addr))?);
            attrs.push(bytes_attr(SvcAttr::Port, port.to_be_bytes().to_vec())?);
        }
    }
    Ok(attrs)
}

/// The `SERVICE` nest naming a service (for delete, zero, get, destinations).
pub fn service_key_nest(key: &ServiceKey) -> Result<Nlattr<CmdAttr, Buffer>, Error> {
    nest(CmdAttr::Service, &service_key_attrs(key)?)
}

/// The full `SERVICE` nest for add and edit.
///
/// Flags go with mask `0xffffffff`, so an edit sets every flag as given.
pub fn service_nest(svc: &Service) -> Result<Nlattr<CmdAttr, Buffer>, Error> {
    if svc.scheduler.is_empty() || svc.scheduler.len() >= consts::SCHEDNAME_MAXLEN {
        return Err(Error::encode(
            "scheduler name",
            format!("'{}' must be 1 to {} characters", svc.scheduler, consts::SCHEDNAME_MAXLEN - 1),
        ));
    }
    let mut attrs = service_key_attrs(&svc.key)?;
    attrs.push(attr(SvcAttr::SchedName, svc.scheduler.as_str())?);
    if let Some(pe) = &svc.pe_name {
        if pe.len() >= consts::PENAME_MAXLEN {
            return Err(Error::encode("persistence engine name", format!("'{pe}' is too long")));
        }
        attrs.push(attr(SvcAttr::PeName, pe.as_str())?);
    }
    let mut flags = svc.flags.to_bits().to_ne_bytes().to_vec();
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    attrs.push(bytes_attr(SvcAttr::Flags, flags)?);
    attrs.push(attr(SvcAttr::Timeout, svc.persistence_timeout)?);
    attrs.push(bytes_attr(SvcAttr::Netmask, netmask_bytes(svc.key.af(), svc.netmask))?);
    nest(CmdAttr::Service, &attrs)
}

fn netmask_bytes(af: AddressFamily, netmask: u32) -> Vec<u8> {
    match af {
        AddressFamily::Inet => netmask.to_be_bytes().to_vec(),
        AddressFamily::Inet6 => netmask.to_ne_bytes().to_vec(),
    }
}

/// The `DEST` nest naming a destination (for delete).
pub fn dest_key_nest(addr: IpAddr, port: u16) -> Result<Nlattr<CmdAttr, Buffer>, Error> {
    let attrs = vec![
        attr(DestAttr::AddrFamily, AddressFamily::of(&addr).to_raw())?,
        bytes_attr(DestAttr::Addr, inet_addr(addr))?,
        bytes_attr(DestAttr::Port, port.to_be_bytes().to_vec())?,
    ];
    nest(CmdAttr::Dest, &attrs)
}

/// The full `DEST` nest for add and edit, in ipvsadm 1.31's order.
pub fn dest_nest(dest: &Destination) -> Result<Nlattr<CmdAttr, Buffer>, Error> {
    let tunnel = dest.tunnel.unwrap_or_default();
    let kind = match tunnel.kind {
        TunnelKind::Ipip => consts::TUNNEL_TYPE_IPIP,
        TunnelKind::Gue => consts::TUNNEL_TYPE_GUE,
        TunnelKind::Gre => consts::TUNNEL_TYPE_GRE,
    };
    let attrs = vec![
        attr(DestAttr::AddrFamily, dest.addr_family.to_raw())?,
        bytes_attr(DestAttr::Addr, inet_addr(dest.addr))?,
        bytes_attr(DestAttr::Port, dest.port.to_be_bytes().to_vec())?,
        attr(DestAttr::FwdMethod, dest.forward.to_raw())?,
        attr(DestAttr::Weight, dest.weight)?,
        attr(DestAttr::TunType, kind)?,
        bytes_attr(DestAttr::TunPort, tunnel.port.to_be_bytes().to_vec())?,
        attr(DestAttr::TunFlags, tunnel.flags.to_raw())?,
        attr(DestAttr::UThresh, dest.upper_threshold)?,
        attr(DestAttr::LThresh, dest.lower_threshold)?,
    ];
    nest(CmdAttr::Dest, &attrs)
}

/// The three top-level timeout attributes of `SET_CONFIG`.
pub fn timeout_attrs(t: &Timeouts) -> Result<Vec<Nlattr<CmdAttr, Buffer>>, Error> {
    Ok(vec![
        attr(CmdAttr::TimeoutTcp, t.tcp)?,
        attr(CmdAttr::TimeoutTcpFin, t.tcp_fin)?,
        attr(CmdAttr::TimeoutUdp, t.udp)?,
    ])
}

/// A genl request with IPVS's version.
pub fn request(cmd: Cmd, attrs: Vec<Nlattr<CmdAttr, Buffer>>) -> Result<Request, Error> {
    GenlmsghdrBuilder::default()
        .cmd(cmd)
        .version(consts::GENL_VERSION)
        .attrs(attrs.into_iter().collect::<GenlBuffer<_, _>>())
        .build()
        .map_err(enc)
}

/// The netlink message carrying `req` to family `family`.
pub fn message(
    family: u16,
    flags: NlmF,
    seq: u32,
    pid: u32,
    req: Request,
) -> Result<Nlmsghdr<u16, Request>, Error> {
    NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(flags)
        .nl_seq(seq)
        .nl_pid(pid)
        .nl_payload(NlPayload::Payload(req))
        .build()
        .map_err(enc)
}

/// The bytes of a message, as written to the socket.
pub fn to_bytes<P: Size + ToBytes>(msg: &Nlmsghdr<u16, P>) -> Result<Vec<u8>, Error> {
    let mut cursor = Cursor::new(vec![0; msg.padded_size()]);
    msg.to_bytes(&mut cursor).map_err(enc)?;
    Ok(cursor.into_inner())
}

/// Splits one received datagram into netlink messages, payloads left raw.
pub fn parse_datagram(bytes: &[u8]) -> Result<Vec<Nlmsghdr<u16, Buffer>>, Error> {
    let mut cursor = Cursor::new(bytes);
    let mut out = Vec::new();
    while (cursor.position() as usize) < bytes.len() {
        let msg = <Nlmsghdr<u16, Buffer> as neli::FromBytes>::from_bytes(&mut cursor)
            .map_err(|e| Error::decode("netlink message", e))?;
        out.push(msg);
    }
    Ok(out)
}

/// Parses the genl header and attributes of a reply payload.
pub fn parse_reply(payload: &[u8]) -> Result<Reply, Error> {
    Reply::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
        .map_err(|e| Error::decode("generic netlink reply", e))
}

fn payload<'a, T: NlAttrType>(h: &'a GenlAttrHandle<'_, T>, ty: T) -> Option<&'a [u8]> {
    h.get_attribute(ty).map(|a| a.nla_payload().as_ref())
}

fn fixed<const N: usize>(what: &'static str, b: &[u8]) -> Result<[u8; N], Error> {
    b.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Error::decode(what, format!("{} bytes, expected {N}", b.len())))
}

fn u16_of<T: NlAttrType>(
    h: &GenlAttrHandle<'_, T>,
    ty: T,
    what: &'static str,
) -> Result<Option<u16>, Error> {
    payload(h, ty).map(|b| fixed::<2>(what, b).map(u16::from_ne_bytes)).transpose()
}

fn be16_of<T: NlAttrType>(
    h: &GenlAttrHandle<'_, T>,
    ty: T,
    what: &'static str,
) -> Result<Option<u16>, Error> {
    payload(h, ty).map(|b| fixed::<2>(what, b).map(u16::from_be_bytes)).transpose()
}

fn u32_of<T: NlAttrType>(
    h: &GenlAttrHandle<'_, T>,
    ty: T,
    what: &'static str,
) -> Result<Option<u32>, Error> {
    payload(h, ty).map(|b| fixed::<4>(what, b).map(u32::from_ne_bytes)).transpose()
}

fn required<V>(v: Option<V>, what: &'static str) -> Result<V, Error> {
    v.ok_or_else(|| Error::decode(what, "attribute missing"))
}

/// A NUL-terminated string, lossily; a missing NUL is tolerated.
fn string_of(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn addr_of(b: &[u8], af: AddressFamily, what: &'static str) -> Result<IpAddr, Error> {
    Ok(match af {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::from(fixed::<4>(what, b)?)),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::from(fixed::<16>(what, b)?)),
    })
}

fn af_of(raw: u16, what: &'static str) -> Result<AddressFamily, Error> {
    AddressFamily::from_raw(raw)
        .ok_or_else(|| Error::decode(what, format!("unknown address family {raw}")))
}

fn top(attrs: &GenlBuffer<u16, Buffer>) -> Result<GenlAttrHandle<'_, CmdAttr>, Error> {
    attrs.get_typed_attr_handle::<CmdAttr>().map_err(|e| Error::decode("attributes", e))
}

/// Decodes the counters in a `STATS` or `STATS64` nest (u32 or u64 each).
pub fn decode_stats(h: &GenlAttrHandle<'_, StatsAttr>) -> Stats {
    let get = |ty| match payload(h, ty) {
        Some(b) if b.len() >= 8 => u64::from_ne_bytes(b[..8].try_into().unwrap_or_default()),
        Some(b) if b.len() >= 4 => {
            u64::from(u32::from_ne_bytes(b[..4].try_into().unwrap_or_default()))
        }
        _ => 0,
    };
    Stats {
        conns: get(StatsAttr::Conns),
        in_pkts: get(StatsAttr::Inpkts),
        out_pkts: get(StatsAttr::Outpkts),
        in_bytes: get(StatsAttr::Inbytes),
        out_bytes: get(StatsAttr::Outbytes),
        cps: get(StatsAttr::Cps),
        in_pps: get(StatsAttr::Inpps),
        out_pps: get(StatsAttr::Outpps),
        in_bps: get(StatsAttr::Inbps),
        out_bps: get(StatsAttr::Outbps),
    }
}

/// Stats from the 64-bit nest if present, else the 32-bit one, else zero.
fn stats_in<T: NlAttrType>(h: &GenlAttrHandle<'_, T>, s64: T, s32: T) -> Result<Stats, Error> {
    for ty in [s64, s32] {
        if h.get_attribute(ty).is_some() {
            let nested =
                h.get_nested_attributes::<StatsAttr>(ty).map_err(|e| Error::decode("stats", e))?;
            return Ok(decode_stats(&nested));
        }
    }
    Ok(Stats::default())
}

/// Decodes a service from a reply's top-level attributes.
pub fn decode_service(attrs: &GenlBuffer<u16, Buffer>) -> Result<Service, Error> {
    let top = top(attrs)?;
    let h = top
        .get_nested_attributes::<SvcAttr>(CmdAttr::Service)
        .map_err(|e| Error::decode("service", e))?;
    let af =
        af_of(required(u16_of(&h, SvcAttr::Af, "service family")?, "service family")?, "service")?;
    let key = match u32_of(&h, SvcAttr::Fwmark, "fwmark")? {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { af, mark },
        _ => {
            let raw = required(u16_of(&h, SvcAttr::Protocol, "protocol")?, "protocol")?;
            let proto = Protocol::from_raw(raw)
                .ok_or_else(|| Error::decode("service", format!("unknown protocol {raw}")))?;
            let addr = addr_of(
                required(payload(&h, SvcAttr::Addr), "service address")?,
                af,
                "service address",
            )?;
            let port = required(be16_of(&h, SvcAttr::Port, "service port")?, "service port")?;
            ServiceKey::Addr { proto, addr, port }
        }
    };
    let flags = payload(&h, SvcAttr::Flags).map(|b| fixed::<4>("service flags", b)).transpose()?;
    let netmask =
        match payload(&h, SvcAttr::Netmask).map(|b| fixed::<4>("netmask", b)).transpose()? {
            Some(b) if af == AddressFamily::Inet => u32::from_be_bytes(b),
            Some(b) => u32::from_ne_bytes(b),
            None => super::types::default_netmask(af),
        };
    Ok(Service {
        key,
        scheduler: payload(&h, SvcAttr::SchedName).map(string_of).unwrap_or_default(),
        flags: ServiceFlags::from_bits(flags.map(u32::from_ne_bytes).unwrap_or(0)),
        persistence_timeout: u32_of(&h, SvcAttr::Timeout, "timeout")?.unwrap_or(0),
        netmask,
        pe_name: payload(&h, SvcAttr::PeName).map(string_of).filter(|s| !s.is_empty()),
        stats: stats_in(&h, SvcAttr::Stats64, SvcAttr::Stats)?,
    })
}

/// Decodes a destination from a reply's top-level attributes; `service_af`
/// is used when the kernel does not say the destination's own family.
pub fn decode_dest(
    attrs: &GenlBuffer<u16, Buffer>,
    service_af: AddressFamily,
) -> Result<Destination, Error> {
    let top = top(attrs)?;
    let h = top
        .get_nested_attributes::<DestAttr>(CmdAttr::Dest)
        .map_err(|e| Error::decode("destination", e))?;
    let af = match u16_of(&h, DestAttr::AddrFamily, "destination family")? {
        Some(raw) => af_of(raw, "destination")?,
        None => service_af,
    };
    let raw_fwd =
        required(u32_of(&h, DestAttr::FwdMethod, "forwarding method")?, "forwarding method")?;
    let forward = Forward::from_raw(raw_fwd).ok_or_else(|| {
        Error::decode("destination", format!("unknown forwarding method {raw_fwd}"))
    })?;
    let tunnel = if forward == Forward::Tunnel {
        let kind = match payload(&h, DestAttr::TunType).and_then(|b| b.first().copied()) {
            None | Some(consts::TUNNEL_TYPE_IPIP) => TunnelKind::Ipip,
            Some(consts::TUNNEL_TYPE_GUE) => TunnelKind::Gue,
            Some(consts::TUNNEL_TYPE_GRE) => TunnelKind::Gre,
            Some(other) => {
                return Err(Error::decode("destination", format!("unknown tunnel type {other}")));
            }
        };
        Some(Tunnel {
            kind,
            port: be16_of(&h, DestAttr::TunPort, "tunnel port")?.unwrap_or(0),
            flags: TunnelFlags::from_raw(
                u16_of(&h, DestAttr::TunFlags, "tunnel flags")?.unwrap_or(0),
            ),
        })
    } else {
        None
    };
    let count = |ty, what| -> Result<u32, Error> { Ok(u32_of(&h, ty, what)?.unwrap_or(0)) };
    Ok(Destination {
        addr: addr_of(
            required(payload(&h, DestAttr::Addr), "destination address")?,
            af,
            "destination address",
        )?,
        port: required(be16_of(&h, DestAttr::Port, "destination port")?, "destination port")?,
        forward,
        weight: count(DestAttr::Weight, "weight")?,
        upper_threshold: count(DestAttr::UThresh, "upper threshold")?,
        lower_threshold: count(DestAttr::LThresh, "lower threshold")?,
        active_conns: count(DestAttr::ActiveConns, "active connections")?,
        inactive_conns: count(DestAttr::InactConns, "inactive connections")?,
        persist_conns: count(DestAttr::PersistConns, "persistent connections")?,
        stats: stats_in(&h, DestAttr::Stats64, DestAttr::Stats)?,
        tunnel,
        addr_family: af,
    })
}

/// Decodes the `GET_INFO` reply.
pub fn decode_info(attrs: &GenlBuffer<u16, Buffer>) -> Result<Info, Error> {
    let h = attrs.get_typed_attr_handle::<InfoAttr>().map_err(|e| Error::decode("info", e))?;
    Ok(Info {
        version: required(u32_of(&h, InfoAttr::Version, "version")?, "version")?,
        conn_tab_size: required(u32_of(&h, InfoAttr::ConnTabSize, "table size")?, "table size")?,
    })
}

/// Decodes the `GET_CONFIG` reply.
pub fn decode_timeouts(attrs: &GenlBuffer<u16, Buffer>) -> Result<Timeouts, Error> {
    let h = top(attrs)?;
    Ok(Timeouts {
        tcp: u32_of(&h, CmdAttr::TimeoutTcp, "tcp timeout")?.unwrap_or(0),
        tcp_fin: u32_of(&h, CmdAttr::TimeoutTcpFin, "tcpfin timeout")?.unwrap_or(0),
        udp: u32_of(&h, CmdAttr::TimeoutUdp, "udp timeout")?.unwrap_or(0),
    })
}
