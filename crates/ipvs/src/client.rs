//! [`IpvsClient`]: one generic netlink socket talking to the kernel's IPVS.
//!
//! The socket belongs to the network namespace of the thread that created
//! it, for its whole life: [`IpvsClient::open_in`] creates it on a thread
//! that entered the lab's namespace, so every call changes that namespace's
//! table and never the host's. The IPVS family id is looked up with nlctrl
//! on each new socket (ids are per boot, and the family only exists while
//! `ip_vs` is loaded).
//!
//! Each request is sent with `NLM_F_ACK` and answered before the next one
//! goes out, except [`IpvsClient::add_destinations`], which keeps a window of
//! requests in flight.

use neli::consts::genl::CtrlAttr;
use neli::consts::nl::{GenlId, NlmF};
use neli::consts::socket::Msg;
use neli::consts::socket::NlFamily;
use neli::socket::NlSocket;
use neli::utils::Groups;
use nix::errno::Errno;

use super::consts::GENL_NAME;
use super::error::{Context, Error};
use super::genl::Cmd;
use super::wire::{self, Reply};
use crate::{Destination, Info, Service, ServiceKey, Timeouts};
use lvslab_sys::netns;

/// Receive buffer; the kernel caps a dump datagram at 32 KiB.
const RECV_BUFFER: usize = 64 * 1024;
/// Requests in flight at once in [`IpvsClient::add_destinations`]; bounded
/// so the acks never overflow the socket's receive buffer.
const PIPELINE_WINDOW: usize = 32;

/// A connection to the IPVS table of one network namespace.
pub struct IpvsClient {
    sock: NlSocket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for IpvsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsClient").field("family", &self.family).field("seq", &self.seq).finish()
    }
}

fn svc_ctx(op: &str, key: &ServiceKey) -> Context {
    Context {
        op: format!("{op} service {key}"),
        service: Some(key.to_string()),
        ..Context::default()
    }
}

fn dest_ctx(op: &str, key: &ServiceKey, addr: std::net::IpAddr, port: u16) -> Context {
    let dest = super::format::addr_port(addr, port);
    Context {
        op: format!("{op} destination {dest} of service {key}"),
        service: Some(key.to_string()),
        dest: Some(dest),
        ..Context::default()
    }
}

impl IpvsClient {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, Error> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::socket("open a generic netlink socket", e))?;
        sock.block().map_err(|e| Error::socket("make the socket blocking", e))?;
        let mut client = Self { sock, family: 0, seq: 0, buf: vec![0; RECV_BUFFER] };
        client.family = client.resolve_family()?;
        Ok(client)
    }

    /// Opens a socket inside the named network namespace (the caller's
    /// thread stays where it is).
    pub fn open_in(netns: &str) -> Result<Self, Error> {
        netns::run_in(netns, Self::open)?
    }

    /// The generic netlink family id of IPVS on this boot.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let ctx = Context { op: "look up the IPVS netlink family".into(), ..Context::default() };
        let genl = wire::family_request(GENL_NAME)?;
        let mut id = None;
        let result = self.transact(GenlId::Ctrl.into(), NlmF::empty(), genl, &ctx, |reply| {
            id = wire::find(reply.attrs, CtrlAttr::FamilyId)?
                .and_then(|p| p.get(..2))
                .map(|p| u16::from_ne_bytes([p[0], p[1]]));
            Ok(())
        });
        match result {
            Err(Error::Kernel { errno, .. }) if errno == Errno::ENOENT as i32 => {
                Err(Error::Unavailable)
            }
            Err(e) => Err(e),
            Ok(()) => id.ok_or(Error::Unavailable),
        }
    }

    fn send<P>(&mut self, nl_type: u16, flags: NlmF, genl: P) -> Result<u32, Error>
    where
        P: neli::Size + neli::ToBytes,
    {
        let seq = self.next_seq();
        let bytes = wire::request_bytes(nl_type, flags, seq, genl)?;
        self.sock.send(&bytes, Msg::empty()).map_err(|e| Error::socket("send to the kernel", e))?;
        Ok(seq)
    }

    /// Reads datagrams until the answer to `seq` is complete (ack, error or
    /// end of dump), passing each data message to `on_reply`; what the
    /// bytes mean is [`wire::Answer`]'s to decide.
    fn receive(
        &mut self,
        seq: u32,
        ctx: &Context,
        on_reply: &mut impl FnMut(&Reply<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut answer = wire::Answer::new(seq, ctx);
        loop {
            // MSG_TRUNC: the datagram's real length, to refuse a cut one.
            let (len, _) = self
                .sock
                .recv(&mut self.buf[..], Msg::TRUNC)
                .map_err(|e| Error::socket("receive from the kernel", e))?;
            let datagram = self.buf.get(..len).ok_or_else(|| {
                Error::decode(
                    "netlink datagram",
                    format!("{len} bytes, more than the {}-byte buffer", self.buf.len()),
                )
            })?;
            if let Some(result) = answer.feed(datagram, on_reply) {
                return result;
            }
        }
    }

    fn transact<P>(
        &mut self,
        nl_type: u16,
        flags: NlmF,
        genl: P,
        ctx: &Context,
        mut on_reply: impl FnMut(&Reply<'_>) -> Result<(), Error>,
    ) -> Result<(), Error>
    where
        P: neli::Size + neli::ToBytes,
    {
        let seq = self.send(nl_type, flags, genl)?;
        self.receive(seq, ctx, &mut on_reply)
    }

    fn call(&mut self, cmd: Cmd, attrs: Vec<wire::AttrOf>, ctx: &Context) -> Result<(), Error> {
        let req = wire::request(cmd, attrs)?;
        self.transact(self.family, NlmF::empty(), req, ctx, |_| Ok(()))
    }

    fn dump(
        &mut self,
        cmd: Cmd,
        attrs: Vec<wire::AttrOf>,
        ctx: &Context,
        on_reply: impl FnMut(&Reply<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let req = wire::request(cmd, attrs)?;
        self.transact(self.family, NlmF::DUMP, req, ctx, on_reply)
    }

    /// IPVS version and connection table size.
    pub fn info(&mut self) -> Result<Info, Error> {
        let ctx = Context { op: "get IPVS info".into(), ..Context::default() };
        let mut info = None;
        let req = wire::request(Cmd::GetInfo, Vec::new())?;
        self.transact(self.family, NlmF::empty(), req, &ctx, |r| {
            info = Some(wire::decode_info(r.attrs)?);
            Ok(())
        })?;
        info.ok_or_else(|| Error::decode("info", "no reply"))
    }

    /// Every service of the namespace, with counters.
    pub fn services(&mut self) -> Result<Vec<Service>, Error> {
        let ctx = Context { op: "list services".into(), ..Context::default() };
        let mut out = Vec::new();
        self.dump(Cmd::GetService, Vec::new(), &ctx, |r| {
            out.push(wire::decode_service(r.attrs)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// One service, with counters.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service, Error> {
        let ctx = svc_ctx("get", key);
        let mut out = None;
        let req = wire::request(Cmd::GetService, vec![wire::service_key_nest(key)?])?;
        self.transact(self.family, NlmF::empty(), req, &ctx, |r| {
            out = Some(wire::decode_service(r.attrs)?);
            Ok(())
        })?;
        out.ok_or_else(|| Error::NoSuchService { service: key.to_string() })
    }

    /// Adds a service.
    pub fn add_service(&mut self, svc: &Service) -> Result<(), Error> {
        let mut ctx = svc_ctx("add", &svc.key);
        ctx.scheduler = Some(svc.scheduler.clone());
        ctx.pe = svc.pe_name.clone();
        self.call(Cmd::NewService, vec![wire::service_nest(svc)?], &ctx)
    }

    /// Changes a service's scheduler, flags, persistence and netmask.
    pub fn edit_service(&mut self, svc: &Service) -> Result<(), Error> {
        let mut ctx = svc_ctx("edit", &svc.key);
        ctx.scheduler = Some(svc.scheduler.clone());
        ctx.pe = svc.pe_name.clone();
        self.call(Cmd::SetService, vec![wire::service_nest(svc)?], &ctx)
    }

    /// Deletes a service and its destinations.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.call(Cmd::DelService, vec![wire::service_key_nest(key)?], &svc_ctx("delete", key))
    }

    /// The destinations of a service, with connection counts and counters.
    pub fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>, Error> {
        let ctx = svc_ctx("list destinations of", key);
        let af = key.af();
        let mut out = Vec::new();
        self.dump(Cmd::GetDest, vec![wire::service_key_nest(key)?], &ctx, |r| {
            wire::push_dest(r.attrs, af, &mut out)
        })?;
        if out.is_empty() {
            // The kernel answers an empty dump for a missing service too.
            self.service(key)?;
        }
        Ok(out)
    }

    /// Adds a destination to a service.
    pub fn add_destination(&mut self, key: &ServiceKey, dest: &Destination) -> Result<(), Error> {
        let ctx = dest_ctx("add", key, dest.addr, dest.port);
        self.call(Cmd::NewDest, vec![wire::service_key_nest(key)?, wire::dest_nest(dest)?], &ctx)
    }

    /// Adds many destinations to a service, keeping several requests in
    /// flight; stops at the first error (earlier ones stay added).
    pub fn add_destinations(
        &mut self,
        key: &ServiceKey,
        dests: &[Destination],
    ) -> Result<(), Error> {
        for window in dests.chunks(PIPELINE_WINDOW) {
            let mut sent = Vec::with_capacity(window.len());
            for dest in window {
                let req = wire::request(
                    Cmd::NewDest,
                    vec![wire::service_key_nest(key)?, wire::dest_nest(dest)?],
                )?;
                sent.push((self.send(self.family, NlmF::empty(), req)?, dest));
            }
            let mut first_err = None;
            for (seq, dest) in sent {
                let ctx = dest_ctx("add", key, dest.addr, dest.port);
                if let Err(e) = self.receive(seq, &ctx, &mut |_| Ok(())) {
                    first_err.get_or_insert(e);
                }
            }
            if let Some(e) = first_err {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Changes a destination's method, weight and thresholds.
    pub fn edit_destination(&mut self, key: &ServiceKey, dest: &Destination) -> Result<(), Error> {
        let ctx = dest_ctx("edit", key, dest.addr, dest.port);
        self.call(Cmd::SetDest, vec![wire::service_key_nest(key)?, wire::dest_nest(dest)?], &ctx)
    }

    /// Removes a destination from a service.
    pub fn del_destination(
        &mut self,
        key: &ServiceKey,
        addr: std::net::IpAddr,
        port: u16,
    ) -> Result<(), Error> {
        let ctx = dest_ctx("delete", key, addr, port);
        self.call(
            Cmd::DelDest,
            vec![wire::service_key_nest(key)?, wire::dest_key_nest(addr, port)?],
            &ctx,
        )
    }

    /// Deletes every service of the namespace.
    pub fn flush(&mut self) -> Result<(), Error> {
        let ctx = Context { op: "flush the IPVS table".into(), ..Context::default() };
        self.call(Cmd::Flush, Vec::new(), &ctx)
    }

    /// Zeroes the counters of one service, or of all with `None`.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Error> {
        match key {
            Some(key) => {
                self.call(Cmd::Zero, vec![wire::service_key_nest(key)?], &svc_ctx("zero", key))
            }
            None => {
                let ctx = Context { op: "zero all counters".into(), ..Context::default() };
                self.call(Cmd::Zero, Vec::new(), &ctx)
            }
        }
    }

    /// The connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let ctx = Context { op: "get timeouts".into(), ..Context::default() };
        let mut out = None;
        let req = wire::request(Cmd::GetConfig, Vec::new())?;
        self.transact(self.family, NlmF::empty(), req, &ctx, |r| {
            out = Some(wire::decode_timeouts(r.attrs)?);
            Ok(())
        })?;
        out.ok_or_else(|| Error::decode("timeouts", "no reply"))
    }

    /// Sets the connection timeouts (0 leaves one unchanged).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), Error> {
        let ctx = Context { op: "set timeouts".into(), ..Context::default() };
        self.call(Cmd::SetConfig, wire::timeout_attrs(t)?, &ctx)
    }

    /// One full poll: every service with its destinations.
    pub fn table(&mut self) -> Result<Vec<(Service, Vec<Destination>)>, Error> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for svc in services {
            let ctx = svc_ctx("list destinations of", &svc.key);
            let af = svc.key.af();
            let mut dests = Vec::new();
            self.dump(Cmd::GetDest, vec![wire::service_key_nest(&svc.key)?], &ctx, |r| {
                wire::push_dest(r.attrs, af, &mut dests)
            })?;
            out.push((svc, dests));
        }
        Ok(out)
    }
}
