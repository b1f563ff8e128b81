//! One kernel change in one namespace ([`Step`]), the vocabulary a lab's
//! plan is written in: executed over netlink by the binary's `ops::build`
//! and printed as the equivalent `ip`/`sysctl` command by its `Display`.

use std::fmt;
use std::net::Ipv4Addr;

use super::model::LabSpec;
use super::text::shell_word;

/// One kernel change, in one namespace.
/// The MAC address of bridge `name` in namespace `netns`, fixed when the
/// bridge is made. Left to itself, a Linux bridge takes the lowest MAC of
/// its ports and changes it when that port goes: removing or adding a real
/// server live then moved the DIP to a new MAC, and the other servers' replies
/// went to the old one (their ARP cache) for about 5 s, until they asked
/// again. A bridge given its address keeps it. Derived from the names (FNV-1a),
/// so a lab's bridges always get the same one; locally administered, unicast.
pub fn bridge_mac(netns: &str, name: &str) -> [u8; 6] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in netns.bytes().chain(std::iter::once(b'/')).chain(name.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let h = hash.to_be_bytes();
    [0x02, h[0], h[1], h[2], h[3], h[4]]
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ip netns add NETNS`.
    AddNetns {
        /// Namespace.
        netns: String,
    },
    /// `ip -n NETNS link add NAME address MAC type bridge`, the MAC from
    /// [`bridge_mac`].
    AddBridge {
        /// Namespace.
        netns: String,
        /// Bridge name.
        name: String,
    },
    /// `ip -n NETNS link add NAME type veth peer name PEER netns PEER_NETNS`.
    AddVeth {
        /// Namespace of the first end.
        netns: String,
        /// First end.
        name: String,
        /// Namespace of the peer end.
        peer_netns: String,
        /// Peer end.
        peer: String,
    },
    /// `ip -n NETNS link set LINK master BRIDGE`.
    SetMaster {
        /// Namespace.
        netns: String,
        /// Port link.
        link: String,
        /// Bridge.
        bridge: String,
    },
    /// `ip -n NETNS addr add ADDR/PREFIX dev LINK`.
    AddAddress {
        /// Namespace.
        netns: String,
        /// Link.
        link: String,
        /// Address.
        addr: Ipv4Addr,
        /// Prefix length.
        prefix: u8,
    },
    /// `ip -n NETNS link set LINK up`.
    LinkUp {
        /// Namespace.
        netns: String,
        /// Link.
        link: String,
    },
    /// `ip -n NETNS route add default via GATEWAY`.
    DefaultRoute {
        /// Namespace.
        netns: String,
        /// Gateway.
        via: Ipv4Addr,
    },
    /// `ip -n NETNS route add default via GATEWAY table TABLE`: a second
    /// routing table, used only by the packets a [`Step::Rule`] sends to it.
    TableDefaultRoute {
        /// Namespace.
        netns: String,
        /// Gateway.
        via: Ipv4Addr,
        /// Routing table id.
        table: u32,
    },
    /// `ip -n NETNS rule add from ADDR table TABLE`: packets sent from ADDR
    /// (a VIP a real server answers for by DR/TUN) use table TABLE.
    Rule {
        /// Namespace.
        netns: String,
        /// Source address.
        from: Ipv4Addr,
        /// Routing table id.
        table: u32,
    },
    /// `modprobe MODULE`: a kernel module the lab needs (ipip, for the
    /// tunnel interface `tunl0` that every namespace then has).
    Modprobe {
        /// Module name.
        module: String,
    },
    /// `ip netns exec NETNS sysctl -qw KEY=VALUE`.
    Sysctl {
        /// Namespace.
        netns: String,
        /// Dotted key.
        key: String,
        /// Value.
        value: String,
    },
}

/// A step as the `ip`/`sysctl` command that does it, every name quoted as
/// one shell word (names are validated, but a record can be edited by hand).
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |s: &str| shell_word(s).into_owned();
        match self {
            Self::AddNetns { netns } => write!(f, "ip netns add {}", q(netns)),
            Self::AddBridge { netns, name } => {
                let mac = bridge_mac(netns, name).map(|b| format!("{b:02x}")).join(":");
                write!(f, "ip -n {} link add {} address {mac} type bridge", q(netns), q(name))
            }
            Self::AddVeth { netns, name, peer_netns, peer } => {
                write!(
                    f,
                    "ip -n {} link add {} type veth peer name {} netns {}",
                    q(netns),
                    q(name),
                    q(peer),
                    q(peer_netns)
                )
            }
            Self::SetMaster { netns, link, bridge } => {
                write!(f, "ip -n {} link set {} master {}", q(netns), q(link), q(bridge))
            }
            Self::AddAddress { netns, link, addr, prefix } => {
                write!(f, "ip -n {} addr add {addr}/{prefix} dev {}", q(netns), q(link))
            }
            Self::LinkUp { netns, link } => write!(f, "ip -n {} link set {} up", q(netns), q(link)),
            Self::DefaultRoute { netns, via } => {
                write!(f, "ip -n {} route add default via {via}", q(netns))
            }
            Self::TableDefaultRoute { netns, via, table } => {
                write!(f, "ip -n {} route add default via {via} table {table}", q(netns))
            }
            Self::Rule { netns, from, table } => {
                write!(f, "ip -n {} rule add from {from} table {table}", q(netns))
            }
            Self::Modprobe { module } => write!(f, "modprobe {}", q(module)),
            Self::Sysctl { netns, key, value } => {
                write!(
                    f,
                    "ip netns exec {} sysctl -qw {}={}",
                    q(netns),
                    q(key),
                    q(&value.to_string())
                )
            }
        }
    }
}

/// `ip addr add ADDR/PREFIX dev LINK` in `netns`.
pub(crate) fn addr(netns: &str, link: &str, addr: Ipv4Addr, prefix: u8) -> Step {
    Step::AddAddress { netns: netns.to_string(), link: link.to_string(), addr, prefix }
}

/// The first steps of every lab: each host's namespace, with its loopback up.
pub(crate) fn namespaces(spec: &LabSpec) -> Vec<Step> {
    let mut steps: Vec<Step> =
        spec.hosts().map(|(host, _)| Step::AddNetns { netns: spec.netns(host) }).collect();
    for (host, _) in spec.hosts() {
        steps.push(Step::LinkUp { netns: spec.netns(host), link: "lo".to_string() });
    }
    steps
}
