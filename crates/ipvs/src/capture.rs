//! Replays a captured ipvsadm session: datagrams in both directions, from
//! which the table ipvsadm listed is rebuilt with lvslab's decoder.

use crate::genl::Cmd;
use crate::wire;
use crate::{Destination, Service};

/// One captured datagram.
pub struct Datagram {
    /// User to kernel.
    pub tx: bool,
    pub bytes: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Reads `tests/fixtures/netlink/NAME.hex`.
pub fn load(name: &str) -> Vec<Datagram> {
    let path = format!(
        "{}/tests/fixtures/netlink/{name}.hex",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (dir, hex) = l.split_once(' ').unwrap();
            Datagram { tx: dir == "tx", bytes: unhex(hex) }
        })
        .collect()
}

/// Reads a text fixture under `tests/fixtures/ipvsadm/`.
pub fn text(name: &str) -> String {
    let path =
        format!("{}/tests/fixtures/ipvsadm/{name}", concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The table a `ipvsadm -L` session saw: services from the service dump,
/// each with the destinations dumped after ipvsadm asked for them.
pub fn table(datagrams: &[Datagram]) -> (crate::Info, Vec<(Service, Vec<Destination>)>) {
    let mut info = None;
    let mut services: Vec<(Service, Vec<Destination>)> = Vec::new();
    let mut current: Option<usize> = None;
    for d in datagrams {
        // The same in-place walk the client uses.
        for msg in wire::messages(&d.bytes) {
            let msg = msg.unwrap();
            if msg.ty < wire::NLMSG_MIN_TYPE {
                continue;
            }
            let reply = wire::parse_reply(msg.payload).unwrap();
            let cmd = Cmd::from(reply.cmd);
            match (d.tx, cmd) {
                (true, Cmd::GetDest) => {
                    let key = wire::decode_service(reply.attrs).unwrap().key;
                    current = services.iter().position(|(s, _)| s.key == key);
                }
                (false, Cmd::SetInfo) => info = Some(wire::decode_info(reply.attrs).unwrap()),
                (false, Cmd::NewService) => {
                    services.push((wire::decode_service(reply.attrs).unwrap(), vec![]))
                }
                (false, Cmd::NewDest) => {
                    let i = current.expect("destination before GET_DEST");
                    let af = services[i].0.key.af();
                    services[i].1.push(wire::decode_dest(reply.attrs, af).unwrap());
                }
                _ => {}
            }
        }
    }
    (info.expect("no GET_INFO reply in capture"), services)
}

/// Asserts two texts are equal, showing the first differing line.
pub fn assert_text(ours: &str, theirs: &str) {
    for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        assert_eq!(a, b, "line {} differs:\nours:    {a:?}\nipvsadm: {b:?}", i + 1);
    }
    assert_eq!(ours, theirs);
}
