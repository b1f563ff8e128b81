//! Byte-for-byte checks of lvslab's encoder and decoder against requests
//! ipvsadm 1.31 sent to, and replies Debian's 6.1 kernel sent back, captured
//! with nlmon in the VM. Annotated field by field from `ip_vs.h`.

use std::net::{IpAddr, Ipv4Addr};

use neli::consts::nl::NlmF;
use neli::nl::NlPayload;

use crate::capture::load;
use crate::dest::*;
use crate::error::{Context, Error};
use crate::genl::Cmd;
use crate::types::*;
use crate::wire;

const IPVS_FAMILY: u16 = 0x20; // on the capturing boot
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

#[rustfmt::skip]
const ADD_WRR: &[u8] = &[
    // nlmsghdr: len 104, type 0x20 (IPVS), flags REQUEST|ACK, seq, pid
    0x68, 0, 0, 0,  0x20, 0,  0x05, 0,  0x96, 0xf3, 0x06, 0x6b,  0x11, 0x01, 0xc0, 0x15,
    // genlmsghdr: cmd 1 NEW_SERVICE, version 1, reserved
    0x01, 0x01, 0, 0,
    // CMD_ATTR_SERVICE (1 | NLA_F_NESTED), len 84
    0x54, 0, 0x01, 0x80,
    //   SVC_ATTR_AF u16 2 (AF_INET) + 2 pad
    0x06, 0, 0x01, 0,  0x02, 0, 0, 0,
    //   SVC_ATTR_PROTOCOL u16 6 (TCP) + pad
    0x06, 0, 0x02, 0,  0x06, 0, 0, 0,
    //   SVC_ATTR_ADDR 16 bytes nf_inet_addr: 192.0.2.1 then zeros
    0x14, 0, 0x03, 0,  192, 0, 2, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
    //   SVC_ATTR_PORT u16 network order 80 + pad
    0x06, 0, 0x04, 0,  0x00, 0x50, 0, 0,
    //   SVC_ATTR_SCHED_NAME "wrr\0"
    0x08, 0, 0x06, 0,  b'w', b'r', b'r', 0,
    //   SVC_ATTR_FLAGS {flags 0, mask 0xffffffff}
    0x0c, 0, 0x07, 0,  0, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,
    //   SVC_ATTR_TIMEOUT u32 0
    0x08, 0, 0x08, 0,  0, 0, 0, 0,
    //   SVC_ATTR_NETMASK 255.255.255.255 (network order)
    0x08, 0, 0x09, 0,  0xff, 0xff, 0xff, 0xff,
];

#[rustfmt::skip]
const ADD_SIP_SERVICE_NEST: &[u8] = &[
    0x5c, 0, 0x01, 0x80,                                    // SERVICE nest, len 92
    0x06, 0, 0x01, 0,  0x02, 0, 0, 0,                       // AF inet
    0x06, 0, 0x02, 0,  0x11, 0, 0, 0,                       // PROTOCOL 17 (UDP)
    0x14, 0, 0x03, 0,  192, 0, 2, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
    0x06, 0, 0x04, 0,  0x13, 0xc4, 0, 0,                    // PORT 5060
    0x07, 0, 0x06, 0,  b'r', b'r', 0, 0,                    // SCHED_NAME "rr\0" + pad
    0x08, 0, 0x0b, 0,  b's', b'i', b'p', 0,                 // PE_NAME "sip\0"
    0x0c, 0, 0x07, 0,  0x01, 0, 0, 0,  0xff, 0xff, 0xff, 0xff, // FLAGS persistent, mask all
    0x08, 0, 0x08, 0,  0x3c, 0, 0, 0,                       // TIMEOUT 60 s
    0x08, 0, 0x09, 0,  0xff, 0xff, 0xff, 0xff,              // NETMASK /32
];

#[rustfmt::skip]
const GUE_DEST_NEST: &[u8] = &[
    0x60, 0, 0x02, 0x80,                                    // DEST nest, len 96
    0x06, 0, 0x0b, 0,  0x02, 0, 0, 0,                       // ADDR_FAMILY inet
    0x14, 0, 0x01, 0,  198, 51, 100, 13,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, // ADDR
    0x06, 0, 0x02, 0,  0x00, 0x35, 0, 0,                    // PORT 53, network order
    0x08, 0, 0x03, 0,  0x02, 0, 0, 0,                       // FWD_METHOD 2 tunnel
    0x08, 0, 0x04, 0,  0x01, 0, 0, 0,                       // WEIGHT 1
    0x05, 0, 0x0d, 0,  0x01, 0, 0, 0,                       // TUN_TYPE u8 1 (gue) + pad
    0x06, 0, 0x0e, 0,  0x17, 0xc0, 0, 0,                    // TUN_PORT 6080, network order
    0x06, 0, 0x0f, 0,  0x01, 0, 0, 0,                       // TUN_FLAGS u16 1 (csum)
    0x08, 0, 0x05, 0,  0, 0, 0, 0,                          // U_THRESH 0
    0x08, 0, 0x06, 0,  0, 0, 0, 0,                          // L_THRESH 0
];

fn nest_bytes(attr: &wire::AttrOf) -> Vec<u8> {
    let mut c = std::io::Cursor::new(Vec::new());
    neli::ToBytes::to_bytes(attr, &mut c).unwrap();
    c.into_inner()
}

#[test]
fn add_service_request_is_byte_identical_to_ipvsadm() {
    let svc = Service::new(ServiceKey::Addr { proto: Protocol::Tcp, addr: VIP, port: 80 }, "wrr");
    let req = wire::request(Cmd::NewService, vec![wire::service_nest(&svc).unwrap()]).unwrap();
    let msg = wire::message(IPVS_FAMILY, NlmF::REQUEST | NlmF::ACK, 0x6b06_f396, 0x15c0_0111, req)
        .unwrap();
    assert_eq!(wire::to_bytes(&msg).unwrap(), ADD_WRR);
}

/// What the client writes: the same bytes through the one path it builds
/// every request with, except the port id, which lvslab leaves to the kernel.
#[test]
fn client_request_bytes_are_ipvsadms_but_for_the_port_id() {
    let svc = Service::new(ServiceKey::Addr { proto: Protocol::Tcp, addr: VIP, port: 80 }, "wrr");
    let req = wire::request(Cmd::NewService, vec![wire::service_nest(&svc).unwrap()]).unwrap();
    let sent = wire::request_bytes(IPVS_FAMILY, NlmF::empty(), 0x6b06_f396, req).unwrap();
    let mut expected = ADD_WRR.to_vec();
    expected[12..16].fill(0); // nlmsg_pid
    assert_eq!(sent, expected);
}

/// A dump request: ipvsadm's `GET_SERVICE` dump from the capture (flags
/// REQUEST|ACK|DUMP), but for the port id.
#[test]
fn dump_request_matches_ipvsadm() {
    let captured = load("kitchen-list")
        .into_iter()
        .find(|d| d.tx && d.bytes[16] == u8::from(Cmd::GetService))
        .unwrap()
        .bytes;
    let seq = u32::from_ne_bytes(captured[8..12].try_into().unwrap());
    let req = wire::request(Cmd::GetService, vec![]).unwrap();
    let sent = wire::request_bytes(IPVS_FAMILY, NlmF::DUMP, seq, req).unwrap();
    let mut expected = captured.clone();
    expected[12..16].fill(0);
    assert_eq!(sent, expected);
}

/// The family lookup the client sends on every new socket.
#[test]
fn family_lookup_bytes() {
    let sent =
        wire::request_bytes(0x10, NlmF::empty(), 9, wire::family_request("IPVS").unwrap()).unwrap();
    #[rustfmt::skip]
    let expected: &[u8] = &[
        // nlmsghdr: len 32, type 0x10 (GENL_ID_CTRL), REQUEST|ACK, seq 9, pid 0
        0x20, 0, 0, 0,  0x10, 0,  0x05, 0,  9, 0, 0, 0,  0, 0, 0, 0,
        // genlmsghdr: CTRL_CMD_GETFAMILY (3), version 2
        0x03, 0x02, 0, 0,
        // CTRL_ATTR_FAMILY_NAME (2), len 9: "IPVS\0" + 3 pad
        0x09, 0, 0x02, 0,  b'I', b'P', b'V', b'S',  0, 0, 0, 0,
    ];
    assert_eq!(sent, expected);
}

#[test]
fn add_service_request_decodes_back() {
    let msg = &wire::parse_datagram(ADD_WRR).unwrap()[0];
    let NlPayload::Payload(buf) = msg.nl_payload() else { panic!("no payload") };
    let svc = wire::decode_service(wire::parse_reply(buf.as_ref()).unwrap().attrs).unwrap();
    assert_eq!(
        svc,
        Service::new(ServiceKey::Addr { proto: Protocol::Tcp, addr: VIP, port: 80 }, "wrr")
    );
}

#[test]
fn persistent_service_with_engine_matches_ipvsadm() {
    let mut svc =
        Service::new(ServiceKey::Addr { proto: Protocol::Udp, addr: VIP, port: 5060 }, "rr");
    svc.flags.persistent = true;
    svc.persistence_timeout = 60;
    svc.pe_name = Some("sip".into());
    assert_eq!(nest_bytes(&wire::service_nest(&svc).unwrap()), ADD_SIP_SERVICE_NEST);
}

#[test]
fn gue_destination_nest_matches_ipvsadm() {
    let mut d = Destination::new("198.51.100.13".parse().unwrap(), 53, Forward::Tunnel);
    d.tunnel = Some(Tunnel { kind: TunnelKind::Gue, port: 6080, flags: TunnelFlags::Csum });
    assert_eq!(nest_bytes(&wire::dest_nest(&d).unwrap()), GUE_DEST_NEST);
}

#[test]
fn kernel_error_reply_maps_to_scheduler_message() {
    let rx: Vec<_> = load("err-twos").into_iter().filter(|d| !d.tx).collect();
    let errors: Vec<i32> = rx
        .iter()
        .flat_map(|d| wire::parse_datagram(&d.bytes).unwrap())
        .filter_map(|m| match m.nl_payload() {
            NlPayload::Err(e) => Some(*e.error()),
            _ => None,
        })
        .collect();
    assert_eq!(errors, [-2], "the kernel answers ENOENT");
    let ctx =
        Context { op: "add service".into(), scheduler: Some("twos".into()), ..Context::default() };
    let err = Error::from_errno(nix::errno::Errno::from_raw(2), &ctx);
    assert_eq!(
        err.to_string(),
        "scheduler 'twos' is not available in this kernel (no ip_vs_twos module)"
    );
}

#[test]
fn timeouts_reply_decodes() {
    let t = load("timeouts")
        .iter()
        .filter(|d| !d.tx)
        .flat_map(|d| wire::parse_datagram(&d.bytes).unwrap())
        .filter(|m| *m.nl_type() == IPVS_FAMILY)
        .find_map(|m| match m.nl_payload() {
            NlPayload::Payload(b) => {
                let reply = wire::parse_reply(b.as_ref()).unwrap();
                // GET_CONFIG is answered with cmd SET_CONFIG
                (Cmd::from(reply.cmd) == Cmd::SetConfig)
                    .then(|| wire::decode_timeouts(reply.attrs).unwrap())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(t, Timeouts { tcp: 1000, tcp_fin: 100, udp: 200 });
}

#[test]
fn scheduler_names_are_free_form_but_bounded() {
    let key = ServiceKey::Fwmark { af: AddressFamily::Inet, mark: 1 };
    assert!(wire::service_nest(&Service::new(key, "anything-new")).is_ok());
    let err = wire::service_nest(&Service::new(key, "x".repeat(16))).unwrap_err();
    assert!(err.to_string().contains("1 to 15 characters"), "{err}");
}
