//! The rules of director failover (`[ha]`, see `lab::ha`):
//!
//! - keepalived's VRRP moves the VIP and the DIP between the two directors,
//!   so the lab needs `control = "keepalived"`;
//! - each director keeps an address of its own on each network (VRRP
//!   adverts and the connection sync are sent from them), distinct from
//!   every other address of the lab;
//! - the directors sit on the client network themselves: a lab with a
//!   `[router]` (DR/TUN) has no failover here.

use ipnet::Ipv4Net;
use toml::Spanned;

use super::super::model::{HA_DIRECTORS, Ha};
use super::super::spec::{HaDirectorFile, HaFile, SpecFile};
use super::{AddressBook, Checker};

impl Checker<'_> {
    /// `[ha]`: both directors' own addresses, control by keepalived.
    pub(super) fn ha(
        &mut self,
        raw: &Spanned<HaFile>,
        spec: &SpecFile,
        client_net: Ipv4Net,
        servers_net: Ipv4Net,
        used: &mut AddressBook,
    ) -> Option<Ha> {
        if spec.control.as_ref().is_none_or(|c| c.get_ref() != "keepalived") {
            self.error(
                raw.span(),
                "[ha] needs keepalived: its VRRP moves the VIP and DIP between the directors"
                    .into(),
                "add control = \"keepalived\" at the top of the preset",
            );
        }
        if let Some(router) = &spec.router {
            self.error(
                router.outside.span(),
                "[ha] and [router] cannot be combined".into(),
                "the HA lab's directors sit on the client network themselves; remove [router] \
                 (DR/TUN labs have one director)",
            );
        }
        let ha = raw.get_ref();
        let one = [&ha.director1, &ha.director2]
            .into_iter()
            .zip(HA_DIRECTORS)
            .map(|(d, name)| self.ha_director(d, name, client_net, servers_net, used))
            .collect::<Vec<_>>();
        Some(Ha { own: [one[0]?, one[1]?], sync: ha.sync.unwrap_or(true) })
    }

    fn ha_director(
        &mut self,
        raw: &HaDirectorFile,
        name: &str,
        client_net: Ipv4Net,
        servers_net: Ipv4Net,
        used: &mut AddressBook,
    ) -> Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
        let why = format!(
            "{name}'s own client-side address sends its VRRP adverts: use a free address in \
             {client_net}"
        );
        let client = self.addr_in(&raw.client, &format!("{name} client"), client_net, &why);
        let why = format!(
            "{name}'s own servers-side address sends the connection sync: use a free address \
             in {servers_net}"
        );
        let servers = self.addr_in(&raw.servers, &format!("{name} servers"), servers_net, &why);
        if let Some(a) = client {
            self.claim(used, a, name, raw.client.span());
        }
        if let Some(a) = servers {
            self.claim(used, a, name, raw.servers.span());
        }
        Some((client?, servers?))
    }
}
