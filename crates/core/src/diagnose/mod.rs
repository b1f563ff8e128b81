//! `lvslab diagnose`: the known LVS pitfalls found in what a director (and,
//! in a lab, its real servers and keepalived) shows. Pure: the checks are
//! functions of an [`Evidence`] that `ops::diagnose` gathers; what each
//! finding means is the [`catalogue`]'s data.
//!
//! - [`evidence`]: what is read;
//! - [`keepalived`]: a keepalived.conf read for its VRRP and check timing;
//! - [`catalogue`]: the pitfalls (id, severity, why, fix, see);
//! - `checks_*`: one module per part of the system looked at.

pub mod catalogue;
mod checks_director;
mod checks_keepalived;
mod checks_servers;
mod checks_table;
pub mod evidence;
pub mod keepalived;

use serde::Serialize;

pub use catalogue::{Entry, Severity};
pub use evidence::Evidence;

use crate::lab::text::shown;

/// The version of the `--json` report's shape; raised on any change a
/// reader could trip on.
pub const SCHEMA_VERSION: u32 = 1;

/// One pitfall found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The catalogue's id.
    pub id: &'static str,
    /// How bad.
    pub severity: Severity,
    /// One line: what is wrong.
    pub title: &'static str,
    /// Where: `director`, `rs1`, `service tcp 192.0.2.1:80`, a file.
    pub subject: String,
    /// The values read that show it.
    pub evidence: Vec<String>,
    /// Why it breaks things.
    pub why: &'static str,
    /// The fix, as commands for this subject.
    pub fix: Vec<String>,
    /// Where lvslab shows it live.
    pub see: Option<String>,
}

impl Entry {
    /// A finding of this entry about `subject`.
    pub fn found(
        &'static self,
        subject: impl Into<String>,
        evidence: Vec<String>,
        fix: Vec<String>,
    ) -> Finding {
        Finding {
            id: self.id,
            severity: self.severity,
            title: self.title,
            subject: subject.into(),
            evidence,
            why: self.why,
            fix,
            see: self.see.map(str::to_string),
        }
    }
}

/// Every check's findings, worst first, then in catalogue order.
pub fn run(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    checks_director::run(e, &mut out);
    checks_servers::run(e, &mut out);
    checks_table::run(e, &mut out);
    checks_keepalived::run(e, &mut out);
    if let evidence::Scope::Lab { name } = &e.scope {
        for f in &mut out {
            f.see = f.see.take().map(|s| s.replace("LAB", name));
        }
    }
    let rank = |f: &Finding| catalogue::CATALOGUE.iter().position(|c| c.id == f.id);
    out.sort_by_key(|f| (std::cmp::Reverse(f.severity), rank(f)));
    out
}

/// Whether a finding should make the command fail (a warning or worse).
pub fn fails(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity >= Severity::Warning)
}

/// The `--json` report.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What was looked at.
    pub scope: &'a evidence::Scope,
    /// The IPVS table's state.
    pub ipvs: &'a evidence::Ipvs,
    /// Counts by severity.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Infos.
    pub infos: usize,
    /// The findings, worst first.
    pub findings: &'a [Finding],
}

impl<'a> Report<'a> {
    /// The report of `findings` about `e`.
    pub fn new(e: &'a Evidence, findings: &'a [Finding]) -> Self {
        let count = |s| findings.iter().filter(|f| f.severity == s).count();
        Self {
            schema_version: SCHEMA_VERSION,
            scope: &e.scope,
            ipvs: &e.ipvs,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            findings,
        }
    }
}

/// The findings for a terminal: every value escaped (they come from the
/// kernel and from configuration files).
pub fn render(e: &Evidence, findings: &[Finding]) -> String {
    let what = match &e.scope {
        evidence::Scope::Lab { name } => format!("lab {}", shown(name)),
        evidence::Scope::Host => "this host".to_string(),
    };
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{} [{}] {}: {}\n",
            f.severity.name(),
            f.id,
            shown(&f.subject),
            f.title
        ));
        for line in &f.evidence {
            out.push_str(&format!("    found: {}\n", shown(line)));
        }
        out.push_str(&format!("    why:   {}\n", f.why));
        for line in &f.fix {
            out.push_str(&format!("    fix:   {}\n", shown(line)));
        }
        if let Some(see) = &f.see {
            out.push_str(&format!("    see:   {}\n", shown(see)));
        }
        out.push('\n');
    }
    let r = Report::new(e, findings);
    let ran = catalogue::CATALOGUE.len();
    out.push_str(&match (r.errors, r.warnings) {
        (0, 0) => format!("{what}: nothing wrong found ({ran} checks, {} notes)\n", r.infos),
        (errors, warnings) => {
            format!("{what}: {errors} errors, {warnings} warnings, {} notes\n", r.infos)
        }
    });
    out
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Evidence of a small healthy lab for the checks' tests, to break.

    use std::net::Ipv4Addr;

    use super::evidence::{Dest, Evidence, Link, Node, RealServer, Scope, Service};
    use crate::lab::model::Forward;

    pub fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    pub fn link(name: &str, addrs: &[&str]) -> Link {
        Link {
            name: name.into(),
            up: true,
            noarp: name == "lo",
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    pub fn node(name: &str, sysctls: &[(&str, &str)], links: Vec<Link>, gw: &str) -> Node {
        Node {
            name: name.into(),
            netns: Some(format!("lvs-t-{name}")),
            sysctls: sysctls.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            links,
            gateway: Some(ip(gw)),
        }
    }

    /// A clean lab: one service at VIP 198.51.100.100:80 with two real
    /// servers forwarded by `forward`, each set up as lvslab sets it up.
    pub fn lab(forward: Forward) -> Evidence {
        let vip = "198.51.100.100";
        let dest = |rip: &str| Dest { addr: ip(rip), port: 80, forward, weight: 1, templates: 0 };
        let mut e = Evidence::empty(Scope::Lab { name: "t".into() });
        e.services = vec![Service {
            label: format!("tcp {vip}:80"),
            vip: Some(ip(vip)),
            persistent: false,
            dests: vec![dest("198.51.100.11"), dest("198.51.100.12")],
        }];
        e.director = node(
            "director",
            &[
                ("net.ipv4.ip_forward", "1"),
                ("net.ipv4.vs.conn_reuse_mode", "3"),
                ("net.ipv4.vs.expire_nodest_conn", "0"),
                ("net.ipv4.vs.expire_quiescent_template", "0"),
            ],
            vec![
                link("lo", &["127.0.0.1/8"]),
                link("br0", &["198.51.100.1/24", "198.51.100.100/32"]),
            ],
            "198.51.100.254",
        );
        e.dip = Some(ip("198.51.100.1"));
        e.servers_net = Some("198.51.100.0/24".parse().unwrap());
        let gw = if forward == Forward::Nat { "198.51.100.1" } else { "198.51.100.254" };
        let server = |name: &str, rip: &str| {
            let mut links =
                vec![link("lo", &["127.0.0.1/8"]), link("eth0", &[&format!("{rip}/24")])];
            let mut sysctls = vec![
                ("net.ipv4.conf.all.arp_ignore", "0"),
                ("net.ipv4.conf.all.arp_announce", "0"),
                ("net.ipv4.conf.all.rp_filter", "0"),
                ("net.ipv4.conf.eth0.arp_ignore", "0"),
                ("net.ipv4.conf.eth0.arp_announce", "0"),
            ];
            match forward {
                Forward::Nat => {}
                Forward::Dr => links[0].addrs.push(format!("{vip}/32").parse().unwrap()),
                Forward::Tun => {
                    links.push(link("tunl0", &[&format!("{vip}/32")]));
                    sysctls.push(("net.ipv4.conf.tunl0.rp_filter", "0"));
                }
            }
            if forward != Forward::Nat {
                sysctls[0].1 = "1";
                sysctls[1].1 = "2";
            }
            RealServer { rip: ip(rip), on_segment: true, node: node(name, &sysctls, links, gw) }
        };
        e.real_servers = Some(vec![server("rs1", "198.51.100.11"), server("rs2", "198.51.100.12")]);
        e
    }

    /// The ids found, in order.
    pub fn ids(e: &Evidence) -> Vec<&'static str> {
        super::run(e).iter().map(|f| f.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::lab::model::Forward;

    #[test]
    fn clean_labs_of_each_method_have_no_finding() {
        for forward in [Forward::Nat, Forward::Dr, Forward::Tun] {
            assert_eq!(ids(&lab(forward)), Vec::<&str>::new(), "{forward}");
        }
    }

    #[test]
    fn findings_go_worst_first_and_the_text_escapes_what_the_kernel_said() {
        let mut e = lab(Forward::Dr);
        e.director.sysctls.insert("net.ipv4.vs.conn_reuse_mode".into(), "1".into());
        let rs = &mut e.real_servers.as_mut().unwrap()[0].node;
        rs.sysctls.insert("net.ipv4.conf.all.arp_ignore".into(), "0".into());
        rs.links[1].name = "eth\u{1b}[2J0".into();
        let found = run(&e);
        assert_eq!(
            found.iter().map(|f| f.id).collect::<Vec<_>>(),
            ["dr-arp-ignore", "conn-reuse-mode"]
        );
        assert!(fails(&found));
        let text = render(&e, &found);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("1 errors, 1 warnings"), "{text}");
        let json = serde_json::to_value(Report::new(&e, &found)).unwrap();
        assert_eq!(json["schema_version"], SCHEMA_VERSION);
        assert_eq!(json["findings"][0]["id"], "dr-arp-ignore");
        assert_eq!(json["findings"][0]["severity"], "error");
    }
}
