//! The guides' steps as data: `assets/tutorial/lvs-{nat,dr,tun}.toml` parsed,
//! checked (every action known, every placeholder known) and rendered for
//! one lab, with each step's status worked out from what was observed on
//! the live lab. Pure: no IO, so all of it is unit-tested.

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;

use super::template::{RS_VARS, VARS, Vars, arp_server, placeholders};
use crate::lab::LabSpec;
use crate::lab::model::{Dataplane, Forward};
use crate::monitor::merge::{self, Origin};
use crate::monitor::{IpvsRead, Observation};

/// Where the embedded steps come from (for error messages).
pub const GUIDE_FILE: &str = "assets/tutorial/lvs-nat.toml";
/// The embedded steps of the LVS-NAT walk.
pub const GUIDE_SOURCE: &str = include_str!("../../../../assets/tutorial/lvs-nat.toml");
/// Where the LVS-DR walk's steps come from.
pub const DR_GUIDE_FILE: &str = "assets/tutorial/lvs-dr.toml";
/// The embedded steps of the LVS-DR walk.
pub const DR_GUIDE_SOURCE: &str = include_str!("../../../../assets/tutorial/lvs-dr.toml");
/// Where the LVS-TUN walk's steps come from.
pub const TUN_GUIDE_FILE: &str = "assets/tutorial/lvs-tun.toml";
/// The embedded steps of the LVS-TUN walk.
pub const TUN_GUIDE_SOURCE: &str = include_str!("../../../../assets/tutorial/lvs-tun.toml");

/// What a step does to the live lab (the `action` of a step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing: the step explains.
    Explain,
    /// Every real server's default route via the DIP.
    RsGateway,
    /// `net.ipv4.ip_forward=1` in the director.
    IpForward,
    /// The first service, with no real server yet.
    IpvsService,
    /// One real server (by name) as a destination of the first service.
    IpvsRealServer(String),
    /// Shows `ipvsadm -Ln`.
    ShowTable,
    /// A few HTTP requests from the client.
    Curl,
    /// Shows `ipvsadm -Sn`.
    SaveRules,
    /// `arp_ignore=1`, `arp_announce=2` on every real server (DR).
    RsArp,
    /// The VIP on every real server's loopback (DR).
    RsVip,
    /// The ARP problem on one real server (by name): its ARP sysctls back
    /// to 0 and the VIP announced to the router, which then sends the
    /// client's requests straight to it. Undone by [`Action::ArpFix`]'s do.
    ArpProblem(String),
    /// The fix: that server's sysctls restored and the router's neighbour
    /// entry for the VIP flushed, so the director answers for it again.
    ArpFix(String),
    /// The VIP on every real server's `tunl0`, and `tunl0` up (TUN).
    RsTunnel,
    /// The TUN trap: every real server's reverse-path filter strict
    /// (`rp_filter=1` on `all` and `tunl0`), so the requests they unwrap are
    /// dropped; its effect is a request that times out and the kernel's
    /// drop counter. Undone by [`Action::RpFilter`]'s do.
    RpFilterTrap,
    /// The fix: `rp_filter=0` on `all` and `tunl0` of every real server.
    RpFilter,
}

/// The action names a steps file may use.
pub const ACTION_NAMES: &[&str] = &[
    "explain",
    "rs-gateway",
    "ip-forward",
    "ipvs-service",
    "ipvs-real-server",
    "show-table",
    "curl",
    "save-rules",
    "rs-arp",
    "rs-vip",
    "arp-problem",
    "arp-fix",
    "rs-tunnel",
    "rp-filter-trap",
    "rp-filter",
];

impl Action {
    /// Whether it reads or changes the IPVS table.
    pub fn needs_ipvs(&self) -> bool {
        matches!(
            self,
            Self::IpvsService | Self::IpvsRealServer(_) | Self::ShowTable | Self::SaveRules
        )
    }

    /// Whether it changes the lab (so it can be undone).
    pub fn changes_lab(&self) -> bool {
        matches!(
            self,
            Self::RsGateway
                | Self::IpForward
                | Self::IpvsService
                | Self::IpvsRealServer(_)
                | Self::RsArp
                | Self::RsVip
                | Self::ArpProblem(_)
                | Self::ArpFix(_)
                | Self::RsTunnel
                | Self::RpFilterTrap
                | Self::RpFilter
        )
    }

    /// Whether doing it runs its change even when the status already says
    /// done: the ARP fix's neighbour flush is not observed, and is harmless.
    pub fn always_redone(&self) -> bool {
        matches!(self, Self::ArpFix(_))
    }
}

/// A step rendered for one lab: the words and commands filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Unique id (`rs-gateway`; `ipvs-real-server-rs1` for expanded steps).
    pub id: String,
    /// One line.
    pub title: String,
    /// What and why, paragraphs separated by blank lines.
    pub text: String,
    /// The equivalent shell commands, one per line (may be empty).
    pub command: Vec<String>,
    /// What doing it changes or shows.
    pub action: Action,
}

/// A step's state on the live lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// What the step sets up is in place.
    Done,
    /// Not in place yet.
    Todo,
    /// The step only explains or reads: nothing to be in place.
    NoChange,
    /// The step cannot run on this lab (why, e.g. no IPVS).
    Unavailable(String),
}

/// A problem in the steps file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {what}; {fix}")]
pub struct GuideError {
    /// The steps file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, quoting the bad value.
    pub what: String,
    /// How to fix it.
    pub fix: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawFile {
    step: Vec<toml::Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawStep {
    id: String,
    title: String,
    text: String,
    #[serde(default)]
    command: String,
    action: toml::Spanned<String>,
    #[serde(default)]
    each_member: bool,
}

/// The steps file, parsed and checked, not yet rendered for a lab.
#[derive(Clone, Debug)]
pub struct Guide {
    steps: Vec<RawGuideStep>,
}

#[derive(Clone, Debug)]
struct RawGuideStep {
    id: String,
    title: String,
    text: String,
    command: String,
    action: String,
    each_member: bool,
}

/// What is wrong with a step besides its action name: each-member where it
/// does not belong, a repeated id, an unknown placeholder (what, fix).
fn problem(step: &RawStep, action: &str, earlier: &[RawGuideStep]) -> Option<(String, String)> {
    if (action == "ipvs-real-server") != step.each_member {
        return Some((
            format!(
                "step '{}': each-member = {} with action '{action}'",
                step.id, step.each_member
            ),
            "set each-member = true exactly on ipvs-real-server steps".into(),
        ));
    }
    if earlier.iter().any(|s| s.id == step.id) || step.id.is_empty() {
        return Some((
            format!("step id '{}' is empty or used twice", step.id),
            "give every step its own id".into(),
        ));
    }
    let unknown = [&step.title, &step.text, &step.command]
        .into_iter()
        .flat_map(|part| placeholders(part))
        .find(|name| !VARS.contains(&name.as_str()) && !RS_VARS.contains(&name.as_str()))?;
    Some((
        format!("unknown placeholder '{{{unknown}}}' in step '{}'", step.id),
        format!("use one of: {}, {}", VARS.join(" "), RS_VARS.join(" ")),
    ))
}

fn line_of(source: &str, span: &Range<usize>) -> usize {
    crate::lab::error::line_col(source, span.start).0
}

impl Guide {
    /// The embedded LVS-NAT walk, parsed and checked once per process (the
    /// dashboard asks for it on every guide key).
    pub fn embedded() -> Result<Self, GuideError> {
        static PARSED: OnceLock<Result<Guide, GuideError>> = OnceLock::new();
        PARSED.get_or_init(|| Self::parse(GUIDE_FILE, GUIDE_SOURCE)).clone()
    }

    /// The embedded LVS-DR walk, parsed and checked once per process.
    pub fn embedded_dr() -> Result<Self, GuideError> {
        static PARSED: OnceLock<Result<Guide, GuideError>> = OnceLock::new();
        PARSED.get_or_init(|| Self::parse(DR_GUIDE_FILE, DR_GUIDE_SOURCE)).clone()
    }

    /// The embedded LVS-TUN walk, parsed and checked once per process.
    pub fn embedded_tun() -> Result<Self, GuideError> {
        static PARSED: OnceLock<Result<Guide, GuideError>> = OnceLock::new();
        PARSED.get_or_init(|| Self::parse(TUN_GUIDE_FILE, TUN_GUIDE_SOURCE)).clone()
    }

    /// The walk that fits lab `spec`: DR or TUN when every real server of
    /// its first service forwards that way, else NAT.
    pub fn for_lab(spec: &LabSpec) -> Result<Self, GuideError> {
        let all = |forward: Forward| {
            spec.services.first().is_some_and(|s| {
                !s.members.is_empty() && s.members.iter().all(|m| m.forward == forward)
            })
        };
        if all(Forward::Dr) {
            Self::embedded_dr()
        } else if all(Forward::Tun) {
            Self::embedded_tun()
        } else {
            Self::embedded()
        }
    }

    /// Parses and checks a steps file: known actions, unique ids, known
    /// placeholders, `each-member` only where it makes sense.
    pub fn parse(file: &str, source: &str) -> Result<Self, GuideError> {
        let error = |line, what: String, fix: &str| GuideError {
            file: file.to_string(),
            line,
            what,
            fix: fix.to_string(),
        };
        let raw: RawFile = toml::from_str(source).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(source, &s));
            error(line, e.message().to_string(), "see the comment at the top of the file")
        })?;
        let mut steps: Vec<RawGuideStep> = Vec::new();
        for spanned in raw.step {
            let line = line_of(source, &spanned.span());
            let step = spanned.into_inner();
            let action_line = line_of(source, &step.action.span());
            let action = step.action.get_ref().clone();
            if !ACTION_NAMES.contains(&action.as_str()) {
                return Err(error(
                    action_line,
                    format!("unknown action '{action}' in step '{}'", step.id),
                    &format!("use one of: {}", ACTION_NAMES.join(", ")),
                ));
            }
            if let Some((what, fix)) = problem(&step, &action, &steps) {
                return Err(error(line, what, &fix));
            }
            steps.push(RawGuideStep {
                id: step.id,
                title: step.title,
                text: step.text,
                command: step.command,
                action,
                each_member: step.each_member,
            });
        }
        if steps.is_empty() {
            return Err(error(1, "no [[step]]".into(), "add at least one [[step]]"));
        }
        Ok(Self { steps })
    }

    /// The steps for lab `spec`, placeholders filled in; `each-member`
    /// steps become one step per real server of the first service.
    pub fn render(&self, spec: &LabSpec, dataplane: Dataplane) -> Vec<Step> {
        let vars = Vars::new(spec, dataplane);
        let mut out = Vec::new();
        for raw in &self.steps {
            if raw.each_member {
                for member in spec.services.first().map_or(&[][..], |s| &s.members[..]) {
                    let one = |t: &str| vars.fill(t, Some(member));
                    out.push(Step {
                        id: format!("{}-{}", raw.id, member.name),
                        title: one(raw.title.trim()),
                        text: one(raw.text.trim()),
                        command: lines(&one(raw.command.trim())),
                        action: Action::IpvsRealServer(member.name.clone()),
                    });
                }
                continue;
            }
            // The ARP steps act on the first real server of the service.
            let loud = || arp_server(spec).unwrap_or_default();
            let action = match raw.action.as_str() {
                "arp-problem" => Action::ArpProblem(loud()),
                "arp-fix" => Action::ArpFix(loud()),
                other => action(other),
            };
            out.push(Step {
                id: raw.id.clone(),
                title: vars.fill_lines(raw.title.trim()),
                text: vars.fill_lines(raw.text.trim()),
                command: lines(&vars.fill_lines(raw.command.trim())),
                action,
            });
        }
        out
    }
}

/// Whether host `name` holds `vip`/32 on its loopback.
fn holds_vip_on_lo(seen: &Observation, name: &str, vip: std::net::Ipv4Addr) -> bool {
    let want = format!("{vip}/32");
    seen.host(name)
        .is_some_and(|h| h.interfaces.iter().any(|l| l.name == "lo" && l.addresses.contains(&want)))
}

/// Whether host `name` holds `vip`/32 on an up `tunl0`.
fn holds_vip_on_tunnel(seen: &Observation, name: &str, vip: std::net::Ipv4Addr) -> bool {
    let want = format!("{vip}/32");
    seen.host(name).is_some_and(|h| {
        h.interfaces
            .iter()
            .any(|l| l.name == crate::lab::routed::TUNNEL && l.up && l.addresses.contains(&want))
    })
}

/// Whether a reverse-path filter set to (`all`, `tunl0`) is strict on
/// `tunl0`: the kernel applies the larger of the two, and only 1 (strict)
/// drops a packet whose source is routed out of another interface; 2
/// (loose) only asks for some route back.
pub fn rp_filter_strict((all, tunnel): (u8, u8)) -> bool {
    all.max(tunnel) == 1
}

/// Whether every real server's reverse-path filter is read and not strict.
pub fn rp_filters_relaxed(spec: &LabSpec, seen: &Observation) -> bool {
    !spec.real_servers.is_empty()
        && spec.real_servers.iter().all(|rs| {
            seen.host(&rs.name).and_then(|h| h.rp_filter).is_some_and(|f| !rp_filter_strict(f))
        })
}

/// The ARP sysctls DR needs on a real server.
pub const ARP_QUIET: (u8, u8) = (1, 2);

fn lines(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

fn action(name: &str) -> Action {
    match name {
        "rs-gateway" => Action::RsGateway,
        "ip-forward" => Action::IpForward,
        "ipvs-service" => Action::IpvsService,
        "show-table" => Action::ShowTable,
        "curl" => Action::Curl,
        "save-rules" => Action::SaveRules,
        "rs-arp" => Action::RsArp,
        "rs-vip" => Action::RsVip,
        "rs-tunnel" => Action::RsTunnel,
        "rp-filter-trap" => Action::RpFilterTrap,
        "rp-filter" => Action::RpFilter,
        // Checked at parse time; ipvs-real-server steps are expanded before.
        _ => Action::Explain,
    }
}

/// The state of `step` on the lab, from what the monitor observed.
pub fn status(step: &Step, spec: &LabSpec, seen: &Observation) -> Status {
    let service = spec.services.first();
    if step.action.needs_ipvs() {
        match &seen.ipvs {
            IpvsRead::NotUsed => {
                return Status::Unavailable(
                    "needs IPVS (this lab runs with dataplane none): press s to skip".into(),
                );
            }
            IpvsRead::Failed(why) => {
                return Status::Unavailable(format!("the IPVS table cannot be read: {why}"));
            }
            IpvsRead::Table(_) => {}
        }
        if service.is_none() {
            return Status::Unavailable("this lab has no virtual service".into());
        }
    }
    // The tutorial's service is the lab's first; merge puts it first too.
    let merged = merge::merge(spec, seen.ipvs.table());
    let observed = merged.first().filter(|m| service.is_some() && m.programmed());
    let done = match &step.action {
        Action::Explain | Action::ShowTable | Action::Curl | Action::SaveRules => {
            return Status::NoChange;
        }
        Action::RsGateway => {
            !spec.real_servers.is_empty()
                && spec
                    .real_servers
                    .iter()
                    .all(|rs| seen.gateway(&rs.name) == Some(spec.director.dip))
        }
        Action::IpForward => seen.forwarding == Some(true),
        Action::IpvsService => observed.is_some(),
        Action::RsArp => {
            // Only servers on the director's segment can be asked for the VIP.
            let mut asked = spec.real_servers.iter().filter(|rs| !spec.is_remote(&rs.name));
            if spec.real_servers.iter().all(|rs| spec.is_remote(&rs.name)) {
                return Status::NoChange;
            }
            asked.all(|rs| seen.host(&rs.name).and_then(|h| h.arp) == Some(ARP_QUIET))
        }
        Action::RsVip => {
            let vip = service.map_or(spec.director.vip, |s| s.vip);
            !spec.real_servers.is_empty()
                && spec.real_servers.iter().all(|rs| holds_vip_on_lo(seen, &rs.name, vip))
        }
        Action::ArpProblem(name) => {
            let vip = service.map_or(spec.director.vip, |s| s.vip);
            let arp = seen.host(name).and_then(|h| h.arp);
            holds_vip_on_lo(seen, name, vip) && arp.is_some_and(|a| a != ARP_QUIET)
        }
        Action::ArpFix(name) => seen.host(name).and_then(|h| h.arp) == Some(ARP_QUIET),
        Action::RsTunnel => {
            let vip = service.map_or(spec.director.vip, |s| s.vip);
            !spec.real_servers.is_empty()
                && spec.real_servers.iter().all(|rs| holds_vip_on_tunnel(seen, &rs.name, vip))
        }
        // Unreadable filters count neither as the trap nor as the fix.
        Action::RpFilterTrap => spec
            .real_servers
            .iter()
            .any(|rs| seen.host(&rs.name).and_then(|h| h.rp_filter).is_some_and(rp_filter_strict)),
        Action::RpFilter => rp_filters_relaxed(spec, seen),
        Action::IpvsRealServer(name) => observed.is_some_and(|svc| {
            svc.dests.iter().any(|d| &d.name == name && d.origin == Origin::Lab && d.programmed())
        }),
    };
    if done { Status::Done } else { Status::Todo }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done => f.write_str("done"),
            Self::Todo => f.write_str("to do"),
            Self::NoChange => f.write_str("nothing to change"),
            Self::Unavailable(why) => f.write_str(why),
        }
    }
}

#[cfg(test)]
#[path = "steps_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "steps_tun_tests.rs"]
mod tun_tests;
