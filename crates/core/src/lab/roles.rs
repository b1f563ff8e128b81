//! What each real server of a lab is in its services, gathered in one pass:
//! the ports it serves, whether it is NAT, the VIPs it must hold for DR and
//! TUN, and where it sits. Exports and the plan ask this of every server;
//! asking the spec instead scans every member once per server (quadratic).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::model::{Forward, LabSpec, RealServer, Router};

impl LabSpec {
    /// What every real server is in the services, in one pass: for code
    /// that asks it of each server (exports, the plan), which would
    /// otherwise scan every member once per server.
    pub fn roles(&self) -> Roles<'_> {
        let mut roles = Roles { spec: self, servers: HashMap::new(), of: HashMap::new() };
        for rs in &self.real_servers {
            // The first of a name, as a scan finds it.
            roles.servers.entry(rs.name.as_str()).or_insert(rs);
        }
        for svc in &self.services {
            for m in &svc.members {
                let role = roles.of.entry(m.name.as_str()).or_default();
                if m.port != 0 {
                    // Port 0 (fwmark services): the packet's own port is
                    // kept, so there is no one port to serve.
                    role.ports.push(m.port);
                }
                match m.forward {
                    Forward::Nat => role.nat = true,
                    Forward::Dr => role.dr_vips.push(svc.vip),
                    Forward::Tun => role.tun_vips.push(svc.vip),
                }
            }
        }
        for role in roles.of.values_mut() {
            for list in [&mut role.dr_vips, &mut role.tun_vips] {
                list.sort_unstable();
                list.dedup();
            }
            role.ports.sort_unstable();
            role.ports.dedup();
        }
        roles
    }
}

/// What each real server of a lab is in its services ([`LabSpec::roles`]):
/// every question of [`LabSpec`] about one server, answered by lookup.
pub struct Roles<'a> {
    spec: &'a LabSpec,
    servers: HashMap<&'a str, &'a RealServer>,
    of: HashMap<&'a str, Role>,
}

/// One real server's part in the services.
#[derive(Debug, Default)]
struct Role {
    /// Ports it serves, sorted, each once, without 0.
    ports: Vec<u16>,
    /// Whether it is a NAT member of some service.
    nat: bool,
    /// VIPs of its DR services, sorted, each once.
    dr_vips: Vec<Ipv4Addr>,
    /// VIPs of its TUN services, sorted, each once.
    tun_vips: Vec<Ipv4Addr>,
}

impl Roles<'_> {
    /// A real server by name.
    pub fn real_server(&self, name: &str) -> Option<&RealServer> {
        self.servers.get(name).copied()
    }

    /// As [`LabSpec::listen_ports`].
    pub fn listen_ports(&self, server: &str) -> &[u16] {
        self.of.get(server).map_or(&[], |r| &r.ports)
    }

    /// As [`LabSpec::vips_held_by`].
    pub fn vips_held_by(&self, server: &str, forward: Forward) -> &[Ipv4Addr] {
        match (self.of.get(server), forward) {
            (Some(r), Forward::Dr) => &r.dr_vips,
            (Some(r), Forward::Tun) => &r.tun_vips,
            _ => &[],
        }
    }

    /// As [`LabSpec::serves_nat`].
    pub fn serves_nat(&self, server: &str) -> bool {
        self.of.get(server).is_some_and(|r| r.nat)
    }

    /// As [`LabSpec::is_remote`].
    pub fn is_remote(&self, server: &str) -> bool {
        self.spec
            .remote_net
            .zip(self.real_server(server))
            .is_some_and(|(net, rs)| net.contains(&rs.addr))
    }

    /// As [`LabSpec::placement`].
    pub fn placement(&self, server: &str) -> (u8, Ipv4Addr) {
        let spec = self.spec;
        match (spec.router, spec.remote_net) {
            (Some(Router { remote: Some(gw), .. }), Some(net)) if self.is_remote(server) => {
                (net.prefix_len(), gw)
            }
            (Some(router), _) if !self.serves_nat(server) => (spec.servers_prefix(), router.inside),
            _ => (spec.servers_prefix(), spec.director.dip),
        }
    }
}
