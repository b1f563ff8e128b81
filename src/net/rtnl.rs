//! One rtnetlink connection inside one namespace, and the few operations a
//! lab needs: links (veth, bridge), addresses, routes — what `ip -n NS ...`
//! would do, without spawning `ip`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};

use lvslab_core::monitor::observation::LinkInfo;
use lvslab_sys::{Error, netns};

/// An rtnetlink connection bound to one named namespace.
pub struct Rtnl {
    netns: String,
    handle: Handle,
    /// Link indices looked up so far (name -> ifindex); links are never
    /// renamed by lvslab, so the cache cannot go stale within one build.
    indices: HashMap<String, u32>,
}

/// Runs `future` (rtnetlink work) to completion from synchronous code, on a
/// small runtime made for it: the one place sync code drives rtnetlink. Not
/// for use inside a runtime (tokio refuses to nest them).
pub fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::netlink("start a runtime for rtnetlink", e))?
        .block_on(future)
}

impl Rtnl {
    /// Opens a connection inside `netns`; its socket stays in that namespace.
    ///
    /// Must be called within a tokio runtime, which drives the connection.
    pub fn connect(netns_name: &str) -> Result<Self, Error> {
        let runtime = tokio::runtime::Handle::current();
        let (connection, handle, _) = netns::run_in(netns_name, move || {
            // The socket is created here, on the thread inside the namespace;
            // it is registered with the caller's runtime.
            let _guard = runtime.enter();
            rtnetlink::new_connection()
        })?
        .map_err(|e| Error::io("open a netlink socket in", netns::path(netns_name), e))?;
        tokio::spawn(connection);
        Ok(Self { netns: netns_name.to_string(), handle, indices: HashMap::new() })
    }

    /// Opens a connection in the calling thread's own namespace (lvslab's:
    /// `diagnose --host`).
    ///
    /// Must be called within a tokio runtime, which drives the connection.
    pub fn connect_here() -> Result<Self, Error> {
        let (connection, handle, _) = rtnetlink::new_connection()
            .map_err(|e| Error::io("open a netlink socket in", "this namespace", e))?;
        tokio::spawn(connection);
        Ok(Self { netns: "this namespace".into(), handle, indices: HashMap::new() })
    }

    fn fail(&self, what: String, err: rtnetlink::Error) -> Error {
        Error::netlink(format!("{what} in {}", self.netns), err)
    }

    /// The ifindex of link `name`.
    pub async fn index(&mut self, name: &str) -> Result<u32, Error> {
        if let Some(index) = self.indices.get(name) {
            return Ok(*index);
        }
        let link = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_next()
            .await
            .map_err(|e| self.fail(format!("look up link {name}"), e))?
            .ok_or_else(|| {
                Error::netlink(format!("look up link {name} in {}", self.netns), "no such link")
            })?;
        self.indices.insert(name.to_string(), link.header.index);
        Ok(link.header.index)
    }

    /// `ip link add NAME address MAC type bridge`: a bridge given its MAC
    /// keeps it whatever ports come and go.
    pub async fn add_bridge(&mut self, name: &str, mac: [u8; 6]) -> Result<(), Error> {
        self.handle
            .link()
            .add(LinkBridge::new(name).address(mac.to_vec()).build())
            .execute()
            .await
            .map_err(|e| self.fail(format!("create bridge {name}"), e))
    }

    /// `ip link add NAME type veth peer name PEER netns PEER_NETNS`: the peer
    /// is born directly in the other namespace, so no link ever appears in
    /// the host's namespace, not even for a moment.
    pub async fn add_veth(
        &mut self,
        name: &str,
        peer: &str,
        peer_netns: &str,
    ) -> Result<(), Error> {
        let peer_ns = netns::open(peer_netns)?;
        let peer_msg = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer.to_string())
            .setns_by_fd(peer_ns.as_raw_fd())
            .build();
        let message = LinkVeth::new(name, peer)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg)))
            .build();
        self.handle
            .link()
            .add(message)
            .execute()
            .await
            .map_err(|e| self.fail(format!("create veth {name} <-> {peer_netns}/{peer}"), e))
    }

    /// `ip link set LINK master BRIDGE`.
    pub async fn set_master(&mut self, link: &str, bridge: &str) -> Result<(), Error> {
        let index = self.index(link).await?;
        let master = self.index(bridge).await?;
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).controller(master).build())
            .execute()
            .await
            .map_err(|e| self.fail(format!("attach {link} to {bridge}"), e))
    }

    /// `ip link set LINK up`.
    pub async fn set_up(&mut self, link: &str) -> Result<(), Error> {
        self.set_admin_state(link, true).await
    }

    /// `ip link set LINK down`.
    pub async fn set_down(&mut self, link: &str) -> Result<(), Error> {
        self.set_admin_state(link, false).await
    }

    async fn set_admin_state(&mut self, link: &str, up: bool) -> Result<(), Error> {
        let index = self.index(link).await?;
        let change = LinkUnspec::new_with_index(index);
        let (change, word) = if up { (change.up(), "up") } else { (change.down(), "down") };
        self.handle
            .link()
            .set(change.build())
            .execute()
            .await
            .map_err(|e| self.fail(format!("bring {link} {word}"), e))
    }

    /// `ip addr add ADDR/PREFIX dev LINK`.
    pub async fn add_address(&mut self, link: &str, addr: IpAddr, prefix: u8) -> Result<(), Error> {
        let index = self.index(link).await?;
        self.handle
            .address()
            .add(index, addr, prefix)
            .execute()
            .await
            .map_err(|e| self.fail(format!("add {addr}/{prefix} to {link}"), e))
    }

    /// `ip route add default via GATEWAY`.
    pub async fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<(), Error> {
        let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).build();
        self.handle
            .route()
            .add(route)
            .execute()
            .await
            .map_err(|e| self.fail(format!("add default route via {gateway}"), e))
    }

    /// `ip route add default via GATEWAY table TABLE`.
    pub async fn add_table_default_route(
        &mut self,
        gateway: Ipv4Addr,
        table: u32,
    ) -> Result<(), Error> {
        let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).table_id(table).build();
        self.handle
            .route()
            .add(route)
            .execute()
            .await
            .map_err(|e| self.fail(format!("add default route via {gateway} to table {table}"), e))
    }

    /// `ip rule add from ADDR table TABLE`.
    pub async fn add_source_rule(&mut self, from: Ipv4Addr, table: u32) -> Result<(), Error> {
        self.handle
            .rule()
            .add()
            .v4()
            .source_prefix(from, 32)
            .table_id(table)
            .action(netlink_packet_route::rule::RuleAction::ToTable)
            .execute()
            .await
            .map_err(|e| self.fail(format!("add rule from {from} to table {table}"), e))
    }

    /// `ip route del default via GATEWAY`.
    pub async fn del_default_route(&mut self, gateway: Ipv4Addr) -> Result<(), Error> {
        let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).build();
        self.handle
            .route()
            .del(route)
            .execute()
            .await
            .map_err(|e| self.fail(format!("delete default route via {gateway}"), e))
    }

    /// Every link with its addresses, in ifindex order.
    pub async fn links(&mut self) -> Result<Vec<LinkInfo>, Error> {
        let messages: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| self.fail("list links".into(), e))?;
        let addresses: Vec<_> = self
            .handle
            .address()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| self.fail("list addresses".into(), e))?;
        let name_of = |link: &LinkMessage| {
            link.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(name) => Some(name.clone()),
                _ => None,
            })
        };
        let mut out = Vec::new();
        for link in &messages {
            let name = name_of(link);
            let master = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::Controller(index) => {
                    messages.iter().find(|m| m.header.index == *index).and_then(name_of)
                }
                _ => None,
            });
            let addrs = addresses
                .iter()
                .filter(|a| a.header.index == link.header.index)
                .filter_map(|a| {
                    a.attributes.iter().find_map(|attr| match attr {
                        AddressAttribute::Address(ip) => {
                            Some(format!("{ip}/{}", a.header.prefix_len))
                        }
                        _ => None,
                    })
                })
                .collect();
            out.push(LinkInfo {
                name: name.unwrap_or_default(),
                up: link.header.flags.contains(LinkFlags::Up),
                addresses: addrs,
                master,
            });
        }
        Ok(out)
    }

    /// The names of the links that never answer ARP (`NOARP`, as ipip's
    /// tunl0) or are loopbacks.
    pub async fn noarp_links(&mut self) -> Result<Vec<String>, Error> {
        let messages: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| self.fail("list links".into(), e))?;
        Ok(messages
            .iter()
            .filter(|m| m.header.flags.intersects(LinkFlags::Noarp | LinkFlags::Loopback))
            .filter_map(|m| {
                m.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(name) => Some(name.clone()),
                    _ => None,
                })
            })
            .collect())
    }

    /// The IPv4 default gateway, if any.
    pub async fn default_gateway(&mut self) -> Result<Option<Ipv4Addr>, Error> {
        let request = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let routes: Vec<_> = self
            .handle
            .route()
            .get(request)
            .execute()
            .try_collect()
            .await
            .map_err(|e| self.fail("list routes".into(), e))?;
        // The main table's default route: a lab may keep others in tables of
        // their own (a real server's DR/TUN replies, table 100).
        let main = |r: &&netlink_packet_route::route::RouteMessage| {
            r.header.table == netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN
        };
        Ok(routes.iter().filter(main).filter(|r| r.header.destination_prefix_length == 0).find_map(
            |r| {
                r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(RouteAddress::Inet(gw)) => Some(*gw),
                    _ => None,
                })
            },
        ))
    }
}
