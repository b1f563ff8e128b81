//! The limits a preset must keep: lvslab's own caps on real servers,
//! services and members ([`ranges`]), and the kernel's on a bridge's ports,
//! each reported at the first entry that passes it.

use std::collections::HashSet;

use super::super::model::LabSpec;
use super::super::plan::{MAX_BRIDGE_PORTS, Plan};
use super::super::spec::SpecFile;
use super::super::{ranges, text};
use super::{Checker, services};

impl Checker<'_> {
    /// The caps of [`ranges`] on real servers, services and members, each
    /// reported at the first entry past it. Whether any was exceeded.
    pub(super) fn caps(&mut self, raw: &SpecFile) -> bool {
        if let Some(rs) = raw.real_servers.get(ranges::REAL_SERVERS.max) {
            let what = format!("real server '{}'", text::shown(rs.name.get_ref()));
            self.error(
                rs.name.span(),
                ranges::REAL_SERVERS.message(&what),
                ranges::REAL_SERVERS.help,
            );
        }
        if let Some(svc) = raw.services.get(ranges::SERVICES.max) {
            self.error(
                services::key_span(svc),
                ranges::SERVICES.message("this [[service]]"),
                ranges::SERVICES.help,
            );
        }
        let members = raw.services.iter().flat_map(|s| &s.real_servers);
        if let Some(m) = members.clone().nth(ranges::MEMBERS.max) {
            let what = format!("this member ('{}')", text::shown(m.name.get_ref()));
            self.error(m.name.span(), ranges::MEMBERS.message(&what), ranges::MEMBERS.help);
        }
        !self.errors.is_empty()
    }

    /// No bridge of the lab's plan past the kernel's [`MAX_BRIDGE_PORTS`]:
    /// reported at the first real server that would not attach. The plan
    /// moves servers past one bridge to leaf bridges ([`super::super::leaves`]),
    /// so within the caps of [`ranges`] every bridge fits; this keeps a
    /// raised cap or a new topology from reaching the kernel's `EXFULL`.
    pub(super) fn bridge_ports(&mut self, raw: &SpecFile, spec: &LabSpec) {
        let servers: HashSet<&str> = spec.real_servers.iter().map(|r| r.name.as_str()).collect();
        for bridge in Plan::topology(spec).bridge_ports() {
            let Some(past) = bridge.ports.get(MAX_BRIDGE_PORTS) else { continue };
            let others = bridge.ports.iter().filter(|p| !servers.contains(p.as_str())).count();
            let span = raw
                .real_servers
                .iter()
                .find(|rs| rs.name.get_ref() == past)
                .map_or(0..0, |rs| rs.name.span());
            let (n, on) = (bridge.ports.len(), &bridge.bridge);
            let host = bridge.netns.rsplit('-').next().unwrap_or(&bridge.netns);
            self.error(
                span,
                format!(
                    "real server '{}' would be port {} of bridge {on} in the {host}: a Linux \
                     bridge takes at most {MAX_BRIDGE_PORTS} ports (the kernel's BR_MAX_PORTS \
                     is 1024, port 0 reserved), and this lab puts {n} on it",
                    text::shown(past),
                    MAX_BRIDGE_PORTS + 1,
                ),
                format!(
                    "lvslab puts the real servers of one network on leaf bridges of at most \
                     {} servers each, joined to one trunk{}: keep fewer real servers on this \
                     network, or split them over several labs",
                    super::super::leaves::SERVERS_PER_LEAF,
                    match others {
                        0 => String::new(),
                        n => format!(" (the lab's own links and leaves take {n} of its ports)"),
                    }
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use crate::lab::error::SpecError;
    use std::fmt::Write;
    use std::net::Ipv4Addr;

    /// A preset with `servers` real servers (198.18.0.10 up) and `services`
    /// services on ports 1.., each with every server.
    fn preset(servers: usize, services: usize) -> String {
        let mut text = String::from(
            "name = \"big\"\n[networks]\nclient = \"203.0.113.0/24\"\nservers = \"198.18.0.0/15\"\n\
             [client]\naddress = \"203.0.113.2\"\n[director]\nvip = \"203.0.113.1\"\ndip = \"198.18.0.1\"\n",
        );
        for i in 0..servers {
            let ip = Ipv4Addr::from(0xC612_000Au32 + i as u32);
            write!(text, "[[real-server]]\nname = \"rs{}\"\naddress = \"{ip}\"\n", i + 1).unwrap();
        }
        for port in 1..=services {
            write!(text, "[[service]]\nport = {port}\nscheduler = \"rr\"\n").unwrap();
            for i in 0..servers {
                write!(text, "[[service.real-server]]\nname = \"rs{}\"\n", i + 1).unwrap();
            }
        }
        text
    }

    fn refused(source: &str) -> SpecError {
        let mut errors = parse("big.toml", source).unwrap_err().0;
        assert_eq!(errors.len(), 1, "only the cap is reported: {errors:?}");
        errors.remove(0)
    }

    #[test]
    fn a_lab_past_a_cap_is_refused_at_the_entry_that_crosses_it() {
        let max = ranges::REAL_SERVERS.max;
        let source = preset(max + 1, 0);
        let e = refused(&source);
        let line = source.lines().position(|l| l == "name = \"rs16385\"").unwrap() + 1;
        assert_eq!((e.file.as_str(), e.line, e.col), ("big.toml", line, 8), "{e}");
        assert_eq!(
            e.message,
            "real server 'rs16385' is the 16385th: a lab has at most 16384 real servers"
        );

        let e = refused(&preset(1, ranges::SERVICES.max + 1));
        assert!(e.message.contains("this [[service]] is the 4097th"), "{e}");
        assert!(e.line > 0 && e.help.unwrap().contains("several labs"));

        // 16 services of 4,097 servers: the 65,537th member is in the 16th.
        let e = refused(&preset(4097, 16));
        assert!(e.message.contains("is the 65537th: a lab has at most 65536"), "{e}");
    }

    #[test]
    fn a_lab_at_the_caps_is_accepted_with_every_bridge_within_the_kernels_limit() {
        // Past one bridge the servers move to leaves of a trunk, so the cap
        // on real servers, not a bridge's 1,023 ports, bounds a lab.
        let spec = parse("big.toml", &preset(ranges::REAL_SERVERS.max, 1)).unwrap();
        let bridges = Plan::topology(&spec).bridge_ports();
        assert_eq!(bridges.len(), 1 + ranges::REAL_SERVERS.max.div_ceil(1022));
        for b in &bridges {
            assert!(b.ports.len() <= MAX_BRIDGE_PORTS, "{} has {}", b.bridge, b.ports.len());
        }
    }

    #[test]
    fn a_lab_past_one_bridge_is_accepted_on_a_trunk_of_leaves() {
        let spec = parse("big.toml", &preset(MAX_BRIDGE_PORTS, 1)).unwrap();
        let ports = |spec: &LabSpec| -> Vec<(String, usize)> {
            let bridges = Plan::topology(spec).bridge_ports();
            bridges.into_iter().map(|b| (b.bridge, b.ports.len())).collect()
        };
        assert_eq!(ports(&spec), [("br0".to_string(), 1023)], "one bridge, as it always was");

        let spec = parse("big.toml", &preset(MAX_BRIDGE_PORTS + 1, 1)).unwrap();
        assert_eq!(spec.real_servers.len(), 1024);
        let s = ToString::to_string;
        assert_eq!(ports(&spec), [(s("br0"), 2), (s("br0-l1"), 1023), (s("br0-l2"), 3)]);
    }

    #[test]
    fn many_errors_are_listed_up_to_the_limit_and_the_rest_counted() {
        let mut source = preset(1, 1);
        for i in 0..250 {
            write!(source, "[[service.real-server]]\nname = \"nope{i}\"\n").unwrap();
        }
        let errors = parse("big.toml", &source).unwrap_err().0;
        assert_eq!(errors.len(), ranges::MAX_ERRORS + 1);
        let last = errors.last().unwrap();
        assert_eq!(last.message, "150 more problems not listed (the first 100 are above)");
        // Each listed error has its own line, found by the index.
        assert!(errors[0].line < errors[99].line, "{:?} {:?}", errors[0], errors[99]);
    }
}
