//! The receiving side, from byte arrays: what [`wire::Answer`] makes of
//! acks, errors, dumps, answers to other requests and malformed datagrams,
//! and what the decoders make of malformed attributes. Real datagrams come
//! from the captures in `tests/fixtures/netlink/`; the broken ones are
//! built here. Every case ends in a value or an error, never a panic.

use nix::errno::Errno;

use crate::capture::{Datagram, load};
use crate::error::{Context, Error};
use crate::genl::Cmd;
use crate::types::AddressFamily;
use crate::wire::{self, Answer, Reply};

fn seq_of(bytes: &[u8]) -> u32 {
    u32::from_ne_bytes(bytes[8..12].try_into().unwrap())
}

fn pid_of(bytes: &[u8]) -> u32 {
    u32::from_ne_bytes(bytes[12..16].try_into().unwrap())
}

/// The request ipvsadm sent with genl command `cmd`, and the datagrams the
/// kernel sent back to that socket after it (ipvsadm opens a socket per
/// request, so sequence numbers repeat across a capture; port ids do not).
fn exchange(capture: &[Datagram], cmd: Cmd) -> (Vec<u8>, Vec<Vec<u8>>) {
    let at = capture
        .iter()
        .position(|d| d.tx && d.bytes[16] == u8::from(cmd))
        .unwrap_or_else(|| panic!("no {cmd:?} request in the capture"));
    let request = capture[at].bytes.clone();
    let replies = capture[at + 1..]
        .iter()
        .filter(|d| !d.tx && pid_of(&d.bytes) == pid_of(&request))
        .map(|d| d.bytes.clone())
        .collect();
    (request, replies)
}

/// Feeds `datagrams` in order until the answer is complete: the result,
/// the genl commands handed on, and how many datagrams were read.
fn answer(
    seq: u32,
    ctx: &Context,
    datagrams: &[Vec<u8>],
) -> (Option<Result<(), Error>>, Vec<u8>, usize) {
    let mut a = Answer::new(seq, ctx);
    let mut cmds = Vec::new();
    for (i, d) in datagrams.iter().enumerate() {
        let done = a.feed(d, &mut |r: &Reply<'_>| {
            cmds.push(r.cmd);
            Ok(())
        });
        if done.is_some() {
            return (done, cmds, i + 1);
        }
    }
    (None, cmds, datagrams.len())
}

fn ctx() -> Context {
    Context { op: "list services".into(), ..Context::default() }
}

/// A netlink message: header (`len` as given, or the real length) + payload.
fn nlmsg(len: Option<u32>, ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = len.unwrap_or(16 + payload.len() as u32);
    let mut m = Vec::new();
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(payload);
    while m.len() % 4 != 0 {
        m.push(0);
    }
    m
}

fn status(code: i32) -> Vec<u8> {
    code.to_ne_bytes().to_vec()
}

fn decode_error(r: Option<Result<(), Error>>) -> String {
    match r {
        Some(Err(e @ Error::Decode { .. })) => e.to_string(),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn service_dump_is_handed_on_and_ends_at_done() {
    let (req, replies) = exchange(&load("kitchen-list"), Cmd::GetService);
    let (result, cmds, read) = answer(seq_of(&req), &ctx(), &replies);
    assert!(matches!(result, Some(Ok(()))), "{result:?}");
    assert_eq!(read, 2, "the services, then NLMSG_DONE in a datagram of its own");
    assert_eq!(cmds, vec![u8::from(Cmd::NewService); 11]);
}

#[test]
fn destination_dump_decodes_every_reply() {
    let (req, replies) = exchange(&load("kitchen-list"), Cmd::GetDest);
    let ctx = ctx();
    let mut a = Answer::new(seq_of(&req), &ctx);
    let mut dests = Vec::new();
    let mut result = None;
    for d in &replies {
        result = a.feed(d, &mut |r| {
            dests.push(wire::decode_dest(r.attrs, AddressFamily::Inet)?);
            Ok(())
        });
        if result.is_some() {
            break;
        }
    }
    assert!(matches!(result, Some(Ok(()))), "{result:?}");
    assert!(!dests.is_empty());
}

#[test]
fn data_then_ack_completes_a_request() {
    // GET_INFO was sent with NLM_F_ACK: its reply, then the ack.
    let (req, replies) = exchange(&load("kitchen-list"), Cmd::GetInfo);
    let (result, cmds, read) = answer(seq_of(&req), &ctx(), &replies);
    assert!(matches!(result, Some(Ok(()))), "{result:?}");
    assert_eq!((cmds, read), (vec![u8::from(Cmd::SetInfo)], 2));
}

#[test]
fn kernel_errno_becomes_the_mapped_error() {
    let (req, replies) = exchange(&load("err-twos"), Cmd::NewService);
    let ctx = Context {
        op: "add service tcp 192.0.2.1:82".into(),
        scheduler: Some("twos".into()),
        ..Context::default()
    };
    let (result, cmds, _) = answer(seq_of(&req), &ctx, &replies);
    assert!(cmds.is_empty());
    match result {
        Some(Err(Error::SchedulerUnavailable { scheduler })) => assert_eq!(scheduler, "twos"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dump_ended_by_done_with_an_errno_fails() {
    let d = nlmsg(None, wire::NLMSG_DONE, 2, 5, &status(-(Errno::EBUSY as i32)));
    match answer(5, &ctx(), &[d]).0 {
        Some(Err(Error::Kernel { errno, op })) if errno == Errno::EBUSY as i32 => {
            assert_eq!(op, "list services")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bare_done_ends_a_dump() {
    let d = nlmsg(None, wire::NLMSG_DONE, 2, 5, &[]);
    assert!(matches!(answer(5, &ctx(), &[d]).0, Some(Ok(()))));
}

#[test]
fn answers_to_other_requests_are_skipped() {
    let (req, replies) = exchange(&load("kitchen-list"), Cmd::GetService);
    let seq = seq_of(&req);
    // The whole dump, answering another request, then our own ack.
    let mut datagrams = replies.clone();
    datagrams.push(nlmsg(None, wire::NLMSG_ERROR, 0x100, seq.wrapping_add(1), &[0; 20]));
    let (result, cmds, read) = answer(seq.wrapping_add(1), &ctx(), &datagrams);
    assert!(matches!(result, Some(Ok(()))), "{result:?}");
    assert!(cmds.is_empty(), "nothing of the other dump is handed on");
    assert_eq!(read, datagrams.len());
    // Only answers to other requests: still waiting.
    assert!(answer(seq.wrapping_add(2), &ctx(), &replies).0.is_none());
}

#[test]
fn noop_and_reserved_types_are_skipped() {
    let mut d = nlmsg(None, wire::NLMSG_NOOP, 0, 5, &[]);
    d.extend(nlmsg(None, 7, 0, 5, &[1, 2, 3, 4]));
    d.extend(nlmsg(None, wire::NLMSG_ERROR, 0, 5, &[0; 20]));
    let (result, cmds, _) = answer(5, &ctx(), &[d]);
    assert!(matches!(result, Some(Ok(()))), "{result:?}");
    assert!(cmds.is_empty());
}

#[test]
fn overrun_is_an_error() {
    let d = nlmsg(None, wire::NLMSG_OVERRUN, 0, 5, &[]);
    assert!(decode_error(answer(5, &ctx(), &[d]).0).contains("overrun"));
}

#[test]
fn error_message_without_a_status_is_refused() {
    let d = nlmsg(None, wire::NLMSG_ERROR, 0, 5, &[0, 0]);
    let e = decode_error(answer(5, &ctx(), &[d]).0);
    assert!(e.contains("no status word"), "{e}");
    let d = nlmsg(None, wire::NLMSG_ERROR, 0, 5, &status(3));
    assert!(decode_error(answer(5, &ctx(), &[d]).0).contains("status 3 above 0"));
}

#[test]
fn truncated_netlink_header_is_an_error() {
    let ack = nlmsg(None, wire::NLMSG_ERROR, 0, 5, &[0; 20]);
    for cut in 1..16 {
        let e = decode_error(answer(5, &ctx(), &[ack[..cut].to_vec()]).0);
        assert!(e.contains("header cut short"), "{cut}: {e}");
    }
}

#[test]
fn message_length_beyond_the_datagram_is_an_error() {
    let d = nlmsg(Some(400), wire::NLMSG_ERROR, 0, 5, &[0; 20]);
    let e = decode_error(answer(5, &ctx(), &[d]).0);
    assert!(e.contains("length 400 with 36 bytes left"), "{e}");
    // Shorter than its own header.
    let d = nlmsg(Some(8), wire::NLMSG_ERROR, 0, 5, &[0; 20]);
    assert!(decode_error(answer(5, &ctx(), &[d]).0).contains("length 8"));
}

#[test]
fn a_cut_dump_datagram_is_an_error_after_the_whole_replies() {
    let (req, replies) = exchange(&load("kitchen-list"), Cmd::GetService);
    let full = &replies[0];
    let lens: Vec<usize> =
        wire::messages(full).map(|m| m.unwrap().payload.len() + 16).collect::<Vec<_>>();
    // Cut inside the third service: two are handed on, then the error.
    let cut = lens[0] + lens[1] + 30;
    let ctx = ctx();
    let mut a = Answer::new(seq_of(&req), &ctx);
    let mut n = 0;
    let r = a.feed(&full[..cut], &mut |_| {
        n += 1;
        Ok(())
    });
    assert!(decode_error(r).contains("length"));
    assert_eq!(n, 2);
}

/// A reply the decoder refuses does not stop the reading: the rest of the
/// dump is read (so the socket is clean for the next request) and the
/// decoder's error is the result.
#[test]
fn a_reply_the_caller_refuses_fails_the_request_at_its_end() {
    let (req, replies) = exchange(&load("kitchen-list"), Cmd::GetService);
    let ctx = ctx();
    let mut a = Answer::new(seq_of(&req), &ctx);
    let mut seen = 0;
    let mut on_reply = |r: &Reply<'_>| {
        seen += 1;
        let svc = wire::decode_service(r.attrs)?;
        if seen == 3 {
            return Err(Error::decode("service", format!("refused {}", svc.key)));
        }
        Ok(())
    };
    assert!(a.feed(&replies[0], &mut on_reply).is_none(), "the dump is not over");
    let r = a.feed(&replies[1], &mut on_reply);
    assert!(decode_error(r).contains("refused"));
    assert_eq!(seen, 3, "nothing is handed on after the refusal");
}

/// A genl payload shorter than its 4-byte header.
#[test]
fn short_generic_netlink_payload_is_an_error() {
    let mut d = nlmsg(None, 0x20, 2, 5, &[1, 1]);
    d.extend(nlmsg(None, wire::NLMSG_DONE, 2, 5, &status(0)));
    assert!(decode_error(answer(5, &ctx(), &[d]).0).contains("generic netlink reply"));
}

/// The destination replies of the capture: (genl attributes) of each.
fn dest_replies() -> Vec<Vec<u8>> {
    let (_, replies) = exchange(&load("kitchen-list"), Cmd::GetDest);
    replies
        .iter()
        .flat_map(|d| wire::messages(d).map(Result::unwrap).collect::<Vec<_>>())
        .filter(|m| m.ty >= wire::NLMSG_MIN_TYPE)
        .map(|m| wire::parse_reply(m.payload).unwrap().attrs.to_vec())
        .collect()
}

#[test]
fn truncated_attributes_are_errors() {
    let attrs = &dest_replies()[0];
    assert!(wire::decode_dest(attrs, AddressFamily::Inet).is_ok());
    // Cut anywhere, the outer DEST attribute runs past the bytes.
    for cut in 1..attrs.len() {
        let e = wire::decode_dest(&attrs[..cut], AddressFamily::Inet).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{cut}: {e}");
    }
    assert!(wire::decode_dest(&[], AddressFamily::Inet).is_err(), "no DEST attribute at all");
}

#[test]
fn attribute_length_beyond_the_nest_is_an_error() {
    let mut attrs = dest_replies()[0].clone();
    // The DEST nest's first child claims 0x200 bytes inside a shorter nest.
    attrs[4..6].copy_from_slice(&0x200u16.to_ne_bytes());
    let e = wire::decode_dest(&attrs, AddressFamily::Inet).unwrap_err();
    assert!(e.to_string().contains("length 512 with"), "{e}");
    // A length shorter than the attribute header.
    attrs[4..6].copy_from_slice(&2u16.to_ne_bytes());
    assert!(wire::decode_dest(&attrs, AddressFamily::Inet).is_err());
}

#[test]
fn wrong_sized_values_are_errors() {
    let mut attrs = dest_replies()[0].clone();
    // Find DEST_ATTR_PORT (2) inside the nest and shrink it to one byte.
    let nest = 4;
    let mut at = nest;
    loop {
        let ty = u16::from_ne_bytes([attrs[at + 2], attrs[at + 3]]);
        let len = usize::from(u16::from_ne_bytes([attrs[at], attrs[at + 1]]));
        if ty == 2 {
            attrs[at..at + 2].copy_from_slice(&5u16.to_ne_bytes());
            break;
        }
        at += (len + 3) & !3;
    }
    let e = wire::decode_dest(&attrs, AddressFamily::Inet).unwrap_err();
    assert!(e.to_string().contains("destination port: 1 bytes, expected 2"), "{e}");
}

/// A small deterministic generator for garbage.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Garbage, and real datagrams cut at every length or with bytes changed:
/// the answer and the decoders return, they never panic.
#[test]
fn garbage_never_panics() {
    let capture = load("kitchen-list");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for len in 0..300 {
        inputs.push((0..len).map(|_| rng.next() as u8).collect());
    }
    for d in capture.iter().filter(|d| !d.tx) {
        for cut in 0..d.bytes.len().min(600) {
            inputs.push(d.bytes[..cut].to_vec());
        }
        for _ in 0..50 {
            let mut b = d.bytes.clone();
            for _ in 0..4 {
                let i = rng.next() as usize % b.len();
                b[i] = rng.next() as u8;
            }
            inputs.push(b);
        }
    }
    let ctx = ctx();
    for bytes in &inputs {
        let seq = if bytes.len() >= 12 { seq_of(bytes) } else { 0 };
        let mut a = Answer::new(seq, &ctx);
        let _ = a.feed(bytes, &mut |r| {
            let _ = wire::decode_service(r.attrs);
            let _ = wire::decode_dest(r.attrs, AddressFamily::Inet);
            let _ = wire::decode_info(r.attrs);
            let _ = wire::decode_timeouts(r.attrs);
            Ok(())
        });
        for skip in [0, 4, 16, 20] {
            let attrs = bytes.get(skip..).unwrap_or_default();
            let _ = wire::decode_service(attrs);
            let _ = wire::decode_dest(attrs, AddressFamily::Inet6);
            let _ = wire::decode_stats(attrs);
        }
    }
}
