//! The rules of the forwarding methods that let real servers answer the
//! client themselves, LVS-DR (`forward = "dr"`) and LVS-TUN (`"tun"`):
//!
//! - replies go from the real server straight to the client, so something
//!   other than the director must route them: the lab needs a `[router]`
//!   (the client's gateway, with a leg on the servers' segment);
//! - the director receives the clients' packets on the servers' segment,
//!   from the router, so the VIPs are addresses of that segment (the real
//!   servers hold them too, but on interfaces that never answer ARP:
//!   loopback for DR, the tunnel for TUN, with `arp_ignore=1`/`arp_announce=2`);
//! - DR hands the packet on unchanged, by MAC address: the director and the
//!   real servers share one L2 segment (the servers' network, enforced for
//!   every real server) and the destination port cannot change (no port
//!   mapping: the real server's port equals the service's);
//! - TUN wraps the packet unchanged in IPIP: no port mapping either; and
//!   since the wrapped packet is routed like any other, a TUN real server
//!   may sit on another network than the director's: the `remote` network
//!   behind the router. Only TUN reaches it (NAT needs the DIP as the
//!   server's gateway, DR the director's L2 segment).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use toml::Spanned;

use super::super::model::{RealServer, Router};
use super::super::spec::{RouterFile, SpecFile};
use super::{AddressBook, Checker};

/// The lab's networks, once each is valid.
#[derive(Clone, Copy)]
pub(super) struct Nets {
    pub client: Ipv4Net,
    pub servers: Ipv4Net,
    pub remote: Option<Ipv4Net>,
}

/// The preset's words for each method (also accepted by the validator).
fn is_direct_reply(word: &str) -> Option<&'static str> {
    match word {
        "dr" | "route" | "direct" | "gatewaying" => Some("DR"),
        "tun" | "tunnel" | "ipip" => Some("TUN"),
        _ => None,
    }
}

impl Checker<'_> {
    /// `[networks] remote`: disjoint from the other two, and only with a
    /// router. `None` when it is unusable (every address check would fail).
    pub(super) fn remote_net(
        &mut self,
        raw: &SpecFile,
        client_net: Ipv4Net,
        servers_net: Ipv4Net,
    ) -> Option<Option<Ipv4Net>> {
        let Some(value) = &raw.networks.remote else {
            if let Some(remote) = raw.router.as_ref().and_then(|r| r.remote.as_ref()) {
                self.error(
                    remote.span(),
                    "the router has a remote address but the lab has no remote network".into(),
                    "add remote = \"203.0.113.0/24\" (say) under [networks], or drop this line",
                );
            }
            return Some(None);
        };
        let net = self.network(value, "remote")?;
        if let Some(other) = [client_net, servers_net]
            .into_iter()
            .find(|o| o.contains(&net.network()) || net.contains(&o.network()))
        {
            self.error(
                value.span(),
                format!("networks '{other}' and '{net}' overlap"),
                "the remote network is a third subnet, reached through the router: pick one \
                 disjoint from the client and servers' networks, e.g. remote = \"203.0.113.0/24\"",
            );
            return None;
        }
        if raw.router.is_none() {
            self.error(
                value.span(),
                format!("a remote network {net} but no [router]"),
                "the remote network hangs off the router, which carries the director's tunnelled \
                 requests to it and the replies to the client: add [router] with outside, \
                 inside and remote addresses (see labs/tun-remote.toml)",
            );
        }
        Some(Some(net))
    }

    /// `[router]`: `outside` on the client network, `inside` on the
    /// servers', `remote` on the remote network when there is one.
    pub(super) fn router(
        &mut self,
        raw: &RouterFile,
        nets: Nets,
        used: &mut AddressBook,
    ) -> Option<Router> {
        let (client_net, servers_net) = (nets.client, nets.servers);
        let why = format!(
            "the router's outside address is the client's default gateway, on the client \
             network: use an address in {client_net}"
        );
        let outside = self.addr_in(&raw.outside, "router outside address", client_net, &why);
        let why = format!(
            "the router's inside address is the real servers' way out to the client, on their \
             segment: use an address in {servers_net}"
        );
        let inside = self.addr_in(&raw.inside, "router inside address", servers_net, &why);
        if let Some(a) = outside {
            self.claim(used, a, "the router", raw.outside.span());
        }
        if let Some(a) = inside {
            self.claim(used, a, "the router", raw.inside.span());
        }
        let remote = match (&raw.remote, nets.remote) {
            (Some(value), Some(net)) => {
                let why = format!(
                    "the router's remote address is the gateway of the real servers on the \
                     remote network: use an address in {net}"
                );
                let a = self.addr_in(value, "router remote address", net, &why)?;
                self.claim(used, a, "the router", value.span());
                Some(a)
            }
            (None, Some(net)) => {
                self.error(
                    raw.inside.span(),
                    format!("the router has no address on the remote network {net}"),
                    format!(
                        "add remote = \"{}\" (say) to [router]: the real servers there route \
                         their replies to the client through it",
                        super::prev(net.broadcast())
                    ),
                );
                return None;
            }
            // Reported with the networks (no remote network).
            (_, None) => None,
        };
        Some(Router { outside: outside?, inside: inside?, remote })
    }

    /// A real server on the remote network is reached by TUN alone.
    pub(super) fn remote_rules(
        &mut self,
        raw: &SpecFile,
        real_servers: &[RealServer],
        remote_net: Option<Ipv4Net>,
    ) {
        let Some(net) = remote_net else { return };
        // Looked up once per member: a set, not a scan of every server.
        let on_remote: std::collections::HashSet<&str> = real_servers
            .iter()
            .filter(|r| net.contains(&r.addr))
            .map(|r| r.name.as_str())
            .collect();
        let remote = |name: &str| on_remote.contains(name);
        for m in raw.services.iter().flat_map(|s| &s.real_servers) {
            let name = m.name.get_ref();
            let method = m.forward.as_ref().map_or("nat", |f| f.get_ref().as_str());
            if !remote(name) || is_direct_reply(method) == Some("TUN") {
                continue;
            }
            let span = m.forward.as_ref().map_or_else(|| m.name.span(), Spanned::span);
            self.error(
                span,
                format!(
                    "real server '{name}' is on the remote network {net}, behind the router, \
                     but uses {}",
                    is_direct_reply(method).unwrap_or("NAT")
                ),
                "only TUN reaches a real server on another network: the director wraps the \
                 request in IPIP to the server's address and any router can carry that. NAT \
                 needs the DIP as the server's gateway, DR needs the director's own L2 segment. \
                 Use forward = \"tun\", or give the server an address on the servers' network",
            );
        }
    }

    /// The director's VIP in a lab with a router: on the servers' segment.
    pub(super) fn routed_vip(
        &mut self,
        value: &Spanned<String>,
        client_net: Ipv4Net,
        servers_net: Ipv4Net,
        used: &mut AddressBook,
    ) -> Option<Ipv4Addr> {
        let why = format!(
            "in a lab with a [router] (DR/TUN), the client reaches the VIP through the router and \
             the director receives it on the servers' segment, beside the real servers (which \
             hold the VIP too, on interfaces that do not answer ARP): use an address in \
             {servers_net}, not in the client network {client_net}"
        );
        let addr = self.addr_in(value, "VIP", servers_net, &why)?;
        self.claim(used, addr, "the director's VIP", value.span());
        Some(addr)
    }

    /// DR and TUN members need a router, and keep the service's port.
    pub(super) fn method_rules(&mut self, raw: &SpecFile, has_router: bool) {
        for svc in &raw.services {
            for m in &svc.real_servers {
                let Some(f) = &m.forward else { continue };
                let Some(method) = is_direct_reply(f.get_ref()) else { continue };
                if !has_router {
                    self.error(
                        f.span(),
                        format!(
                            "real server '{}' uses {method}, but the lab has no [router]",
                            m.name.get_ref()
                        ),
                        format!(
                            "with {method} the real server answers the client itself, so the \
                             replies need a way to the client that is not the director: add \
                             [router] with `outside` (the client's gateway, on the client \
                             network) and `inside` (on the servers' network), and put the VIP \
                             on the servers' network (see labs/dr.toml)"
                        ),
                    );
                }
                let (Some(port), Some(svc_port)) = (&m.port, &svc.port) else { continue };
                if port.get_ref() != svc_port.get_ref() {
                    self.error(
                        port.span(),
                        format!(
                            "real server '{}' port {} differs from the service port {} under {method}",
                            m.name.get_ref(),
                            port.get_ref(),
                            svc_port.get_ref()
                        ),
                        format!(
                            "{method} passes the client's packet on unchanged (by MAC address or \
                             inside a tunnel), so the real server sees the service's own port: \
                             use port = {} (port mapping needs forward = \"nat\")",
                            svc_port.get_ref()
                        ),
                    );
                }
            }
        }
    }
}
