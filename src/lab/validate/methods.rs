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
//! - TUN wraps the packet unchanged in IPIP: no port mapping either.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use toml::Spanned;

use super::super::model::Router;
use super::super::spec::{RouterFile, SpecFile};
use super::{AddressBook, Checker};

/// The preset's words for each method (also accepted by the validator).
fn is_direct_reply(word: &str) -> Option<&'static str> {
    match word {
        "dr" | "route" | "direct" | "gatewaying" => Some("DR"),
        "tun" | "tunnel" | "ipip" => Some("TUN"),
        _ => None,
    }
}

impl Checker<'_> {
    /// `[router]`: `outside` on the client network, `inside` on the servers'.
    pub(super) fn router(
        &mut self,
        raw: &RouterFile,
        client_net: Ipv4Net,
        servers_net: Ipv4Net,
        used: &mut AddressBook,
    ) -> Option<Router> {
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
        Some(Router { outside: outside?, inside: inside? })
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
