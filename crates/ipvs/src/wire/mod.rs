//! Pure encoding and decoding of IPVS messages: [`Service`], [`Destination`],
//! [`Stats`](crate::Stats), [`Info`](crate::Info) and [`Timeouts`] to and from generic netlink attributes.
//!
//! No socket here: [`super::client`] sends what this builds and hands back
//! what the kernel answered, and the unit tests check both directions byte
//! for byte against messages captured from a real kernel.
//!
//! Decoding walks the attribute bytes in place (`decode`) rather than
//! through neli's attribute handles, which copy every attribute: a stats
//! poll of hundreds of destinations is then a few allocations per entry.
//!
//! Attribute order follows ipvsadm's libipvs, so a request lvslab builds is
//! byte-identical to the one ipvsadm sends for the same rule. Byte orders
//! differ per attribute: ports (service, destination, tunnel) are network
//! order; an IPv4 netmask is network order but an IPv6 one is a host-order
//! prefix length; everything else is host order. Addresses are always sent
//! as the 16-byte `union nf_inet_addr`, IPv4 in the first 4 bytes.

use std::io::Cursor;
use std::net::IpAddr;

use neli::consts::genl::{CtrlAttr, CtrlCmd, NlAttrType};
use neli::consts::nl::NlmF;
use neli::genl::NlattrBuilder;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{Size, ToBytes};

use crate::consts;
use crate::genl::{Cmd, CmdAttr, DestAttr, SvcAttr};

mod decode;
mod receive;
use super::error::Error;
pub use crate::genl::{NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLMSG_NOOP, NLMSG_OVERRUN};
use crate::{AddressFamily, Destination, Service, ServiceKey, Timeouts, TunnelKind};
pub use decode::*;
pub(crate) use receive::Answer;
pub use receive::{Message, Messages, messages};

/// A top-level attribute of a request.
pub type AttrOf = Nlattr<CmdAttr, Buffer>;

/// A request as lvslab sends it: genl header with IPVS command and attributes.
pub type Request = Genlmsghdr<Cmd, CmdAttr>;

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

/// The netlink message carrying `payload` (an IPVS [`Request`], or nlctrl's
/// [`family_request`]) to `family`.
pub fn message<P: Size + ToBytes>(
    family: u16,
    flags: NlmF,
    seq: u32,
    pid: u32,
    payload: P,
) -> Result<Nlmsghdr<u16, P>, Error> {
    NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(flags)
        .nl_seq(seq)
        .nl_pid(pid)
        .nl_payload(NlPayload::Payload(payload))
        .build()
        .map_err(enc)
}

/// The bytes of a message, as written to the socket.
pub fn to_bytes<P: Size + ToBytes>(msg: &Nlmsghdr<u16, P>) -> Result<Vec<u8>, Error> {
    let mut cursor = Cursor::new(vec![0; msg.padded_size()]);
    msg.to_bytes(&mut cursor).map_err(enc)?;
    Ok(cursor.into_inner())
}

/// The bytes [`super::IpvsClient`] sends for one request, its only way of
/// building one: the [`message`] with `flags` plus `NLM_F_REQUEST` and
/// `NLM_F_ACK` (every request is answered with an ack or an error; a dump
/// ends with `NLMSG_DONE` instead), sequence number `seq`, and port id 0
/// (the kernel's to fill in; ipvsadm sends its socket's).
pub fn request_bytes<P: Size + ToBytes>(
    family: u16,
    flags: NlmF,
    seq: u32,
    payload: P,
) -> Result<Vec<u8>, Error> {
    to_bytes(&message(family, flags | NlmF::REQUEST | NlmF::ACK, seq, 0, payload)?)
}

/// nlctrl's `CTRL_CMD_GETFAMILY` for the family called `name`, sent to
/// `GENL_ID_CTRL` to learn the family's id on this boot.
pub fn family_request(name: &str) -> Result<Genlmsghdr<CtrlCmd, CtrlAttr>, Error> {
    let name = attr(CtrlAttr::FamilyName, name)?;
    GenlmsghdrBuilder::default()
        .cmd(CtrlCmd::Getfamily)
        .version(2)
        .attrs(std::iter::once(name).collect::<GenlBuffer<_, _>>())
        .build()
        .map_err(enc)
}
