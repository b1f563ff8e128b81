//! Filling a step's words with the lab's values: `{vip}`, `{dip}`,
//! `{rs.addr}`… Pure string work, kept apart from the steps' structure.

use crate::lab::LabSpec;
use crate::lab::model::Dataplane;
use crate::lab::model::hosts;
use crate::lab::model::{Member, Scheduler};

/// Lab-wide placeholders.
pub const VARS: &[&str] = &[
    "lab",
    "vip",
    "dip",
    "port",
    "scheduler",
    hosts::CLIENT,
    "client.netns",
    "director.netns",
    "http.target",
    hosts::ROUTER,
    "router.netns",
    "arp.rs",
    "arp.rs.netns",
];
/// Per-real-server placeholders.
pub const RS_VARS: &[&str] = &["rs.name", "rs.addr", "rs.netns", "rs.port", "rs.weight"];

/// The `{name}`s in `text`.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        out.push(rest[start + 1..start + len].to_string());
        rest = &rest[start + len + 1..];
    }
    out
}

/// The values placeholders take for one lab.
pub struct Vars<'a> {
    spec: &'a LabSpec,
    lab: Vec<(&'static str, String)>,
}

impl<'a> Vars<'a> {
    /// The values for lab `spec` run with `dataplane`.
    pub fn new(spec: &'a LabSpec, dataplane: Dataplane) -> Self {
        let service = spec.services.first();
        let port = service.map_or(80, |s| s.port);
        let vip = service.map_or(spec.director.vip, |s| s.vip);
        // Without IPVS nothing answers on the VIP: the client talks to the
        // first real server directly.
        let target = match (dataplane, service.and_then(|s| s.members.first())) {
            (Dataplane::None, Some(m)) => spec
                .real_server(&m.name)
                .map_or_else(|| format!("{vip}:{port}"), |rs| format!("{}:{}", rs.addr, m.port)),
            _ => format!("{vip}:{port}"),
        };
        let loud = arp_server(spec).unwrap_or_default();
        let lab = vec![
            ("lab", spec.name.to_string()),
            ("vip", vip.to_string()),
            ("dip", spec.director.dip.to_string()),
            ("port", port.to_string()),
            ("scheduler", service.map_or(Scheduler::DEFAULT, |s| s.scheduler).to_string()),
            (hosts::CLIENT, spec.client.to_string()),
            ("client.netns", spec.netns(hosts::CLIENT)),
            ("director.netns", spec.netns(hosts::DIRECTOR)),
            ("http.target", target),
            (
                hosts::ROUTER,
                spec.router.map_or_else(|| "(no router)".into(), |r| r.inside.to_string()),
            ),
            ("router.netns", spec.netns(hosts::ROUTER)),
            ("arp.rs", loud.clone()),
            ("arp.rs.netns", spec.netns(&loud)),
        ];
        Self { spec, lab }
    }

    fn rs(&self, name: &str, member: Option<&Member>) -> Vec<(&'static str, String)> {
        let addr = self.spec.real_server(name).map_or_else(String::new, |rs| rs.addr.to_string());
        let member = member.or_else(|| {
            self.spec.services.first().and_then(|s| s.members.iter().find(|m| m.name == name))
        });
        vec![
            ("rs.name", name.to_string()),
            ("rs.addr", addr),
            ("rs.netns", self.spec.netns(name)),
            ("rs.port", member.map_or_else(|| "80".into(), |m| m.port.to_string())),
            ("rs.weight", member.map_or_else(|| "1".into(), |m| m.weight.to_string())),
        ]
    }

    /// Fills `text` for one member.
    pub fn fill(&self, text: &str, member: Option<&Member>) -> String {
        let mut out = text.to_string();
        let rs = member.map(|m| self.rs(&m.name, Some(m))).unwrap_or_default();
        for (name, value) in self.lab.iter().chain(&rs) {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    /// Fills `text`, repeating each line that uses `{rs.*}` per real server.
    pub fn fill_lines(&self, text: &str) -> String {
        let mut out = Vec::new();
        for line in text.split('\n') {
            if line.contains("{rs.") {
                for rs in &self.spec.real_servers {
                    let mut filled = self.fill(line, None);
                    for (name, value) in self.rs(&rs.name, None) {
                        filled = filled.replace(&format!("{{{name}}}"), &value);
                    }
                    out.push(filled);
                }
            } else {
                out.push(self.fill(line, None));
            }
        }
        out.join("\n")
    }
}

/// The real server the ARP steps make announce the VIP: the first of the
/// lab's first service.
pub fn arp_server(spec: &LabSpec) -> Option<String> {
    spec.services.first().and_then(|s| s.members.first()).map(|m| m.name.clone())
}
