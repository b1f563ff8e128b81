//! The receiving side of a request, without a socket: datagrams in, the
//! request's replies and its outcome out.
//!
//! [`super::super::IpvsClient`] only reads datagrams from its socket and
//! feeds them to an [`Answer`]; everything the kernel's bytes can mean (data,
//! ack, error, end of dump, answers to other requests, malformed framing) is
//! decided here, and unit-tested from byte arrays.

use nix::errno::Errno;

use super::super::error::{Context, Error};
use super::decode::{Reply, parse_reply};
use crate::genl::{NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLMSG_OVERRUN};

/// Size of `struct nlmsghdr`.
const HEADER: usize = 16;

/// One netlink message inside a received datagram, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// `nlmsg_type`: the family id, or `NLMSG_ERROR` / `NLMSG_DONE` / ...
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`, echoing the request's.
    pub seq: u32,
    /// Bytes after the 16-byte header, up to `nlmsg_len`.
    pub payload: &'a [u8],
}

impl Message<'_> {
    /// For `NLMSG_ERROR` and `NLMSG_DONE`: the status word (0 or -errno),
    /// if the payload holds one.
    pub fn status(&self) -> Option<i32> {
        let b = self.payload.get(..4)?;
        Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The netlink messages of one datagram, walked in place; see [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

/// The netlink messages of one datagram, walked in place. A header cut
/// short, or a length shorter than a header or running past the datagram,
/// is an error, after which the walk ends.
pub fn messages(datagram: &[u8]) -> Messages<'_> {
    Messages { rest: datagram }
}

/// The message at the start of `bytes` and the offset of the next one.
#[inline(always)]
fn message_at(bytes: &[u8]) -> Result<(Message<'_>, usize), Error> {
    let Some(h) = bytes.first_chunk::<HEADER>() else {
        return Err(cut_header(bytes.len()));
    };
    let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
    if len < HEADER || len > bytes.len() {
        return Err(bad_length(len, bytes.len()));
    }
    let msg = Message {
        ty: u16::from_ne_bytes([h[4], h[5]]),
        flags: u16::from_ne_bytes([h[6], h[7]]),
        seq: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
        payload: &bytes[HEADER..len],
    };
    // The next message starts at the 4-byte boundary; the last one may end
    // the datagram without its padding.
    Ok((msg, (len + 3) & !3))
}

#[cold]
#[inline(never)]
fn cut_header(left: usize) -> Error {
    Error::decode(
        "netlink message",
        format!("header cut short: {left} bytes left, a header is {HEADER}"),
    )
}

#[cold]
#[inline(never)]
fn bad_length(len: usize, left: usize) -> Error {
    Error::decode("netlink message", format!("length {len} with {left} bytes left in the datagram"))
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.rest);
        Some(message_at(bytes).map(|(msg, next)| {
            self.rest = bytes.get(next..).unwrap_or_default();
            msg
        }))
    }
}

/// The answer to one request (numbered `seq`), read datagram by datagram.
///
/// Data messages answering the request go to the caller's `on_reply`;
/// answers to other requests (a late reply to an earlier one) are skipped.
/// The request is complete at its ack, its error, or the end of its dump.
/// When `on_reply` fails, the rest of the answer is still read (and not
/// handed on) and the first error is the result: the socket is then left
/// clean for the next request, and the kernel would refuse a new dump while
/// the old one is unread (EBUSY).
#[derive(Debug)]
pub(crate) struct Answer<'c> {
    seq: u32,
    ctx: &'c Context,
    failed: Option<Error>,
}

impl<'c> Answer<'c> {
    /// Waits for the answer to request `seq`; `ctx` names it in errors.
    pub(crate) fn new(seq: u32, ctx: &'c Context) -> Self {
        Self { seq, ctx, failed: None }
    }

    /// Reads one datagram. `Some(result)` once the request is answered;
    /// `None` while more is to come. Malformed framing ends the answer with
    /// a decode error at once (nothing after it can be trusted).
    pub(crate) fn feed(
        &mut self,
        datagram: &[u8],
        on_reply: &mut impl FnMut(&Reply<'_>) -> Result<(), Error>,
    ) -> Option<Result<(), Error>> {
        // A loop over offsets rather than [`messages`]: this runs once per
        // destination of a poll.
        let mut at = 0;
        while let Some(rest) = datagram.get(at..).filter(|r| !r.is_empty()) {
            let msg = match message_at(rest) {
                Ok((msg, next)) => {
                    at += next;
                    msg
                }
                Err(e) => return Some(Err(self.failed.take().unwrap_or(e))),
            };
            if msg.seq != self.seq {
                continue;
            }
            match msg.ty {
                NLMSG_ERROR => return Some(self.finish(&msg)),
                NLMSG_DONE => return Some(self.finish(&msg)),
                NLMSG_OVERRUN => {
                    let e = Error::decode("netlink answer", "the kernel lost data (overrun)");
                    return Some(Err(self.failed.take().unwrap_or(e)));
                }
                ty if ty < NLMSG_MIN_TYPE => {} // NLMSG_NOOP and reserved types
                _ if self.failed.is_some() => {}
                _ => {
                    if let Err(e) = parse_reply(msg.payload).and_then(|r| on_reply(&r)) {
                        self.failed = Some(e);
                    }
                }
            }
        }
        None
    }

    /// The result an `NLMSG_ERROR` or `NLMSG_DONE` gives the request.
    fn finish(&mut self, msg: &Message<'_>) -> Result<(), Error> {
        let kernel = match msg.status() {
            Some(0) => Ok(()),
            Some(code) if code < 0 => Err(Error::from_errno(Errno::from_raw(-code), self.ctx)),
            Some(code) => Err(Error::decode("netlink answer", format!("status {code} above 0"))),
            // A bare NLMSG_DONE is a plain end (IPVS sends a status word).
            None if msg.ty == NLMSG_DONE && msg.payload.is_empty() => Ok(()),
            None => Err(Error::decode(
                "netlink answer",
                format!("type {} with {} bytes, no status word", msg.ty, msg.payload.len()),
            )),
        };
        match self.failed.take() {
            Some(e) => Err(e),
            None => kernel,
        }
    }
}
