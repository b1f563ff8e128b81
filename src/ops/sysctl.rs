//! The director's IPVS knobs on the kernel: `net.ipv4.vs.*` read and written
//! in the director's namespace (/proc/sys/net is per namespace, so the lab's
//! own), and IPVS's timeouts over generic netlink as `ipvsadm --set` does.
//! What each knob is lives in [`lvslab_core::lab::sysctl`].

use std::fs;

use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::record::LabState;
use lvslab_core::lab::sysctl::{self, Fact, Place, Setting};
use lvslab_ipvs::{IpvsClient, Timeouts};
use lvslab_sys::netns;

use super::error::LabError;
use crate::net::sysctl as net_sysctl;

/// The sysctls' folder in a namespace.
const DIR: &str = "/proc/sys/net/ipv4/vs";

/// One knob as the director has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// Its short name.
    pub name: String,
    /// What lvslab knows of it; `None` for a sysctl of a newer kernel.
    pub fact: Option<&'static Fact>,
    /// Its value as the kernel prints it.
    pub value: String,
}

impl Reading {
    /// Whether it differs from the kernel's default (`false` when it has
    /// no known default).
    pub fn off_default(&self) -> bool {
        self.fact.and_then(|f| f.is_default(&self.value)) == Some(false)
    }
}

/// The director namespaces a change goes to: every director of an HA lab,
/// so a failover keeps the lab's settings.
fn director_netns(state: &LabState) -> Result<Vec<String>, LabError> {
    if state.dataplane != Dataplane::Ipvs {
        return Err(LabError::Refused(format!(
            "lab '{}' has no IPVS (dataplane {}): it has no IPVS settings",
            state.spec.name, state.dataplane
        )));
    }
    Ok(state.spec.directors().into_iter().map(|d| state.spec.netns(d)).collect())
}

/// Every `net.ipv4.vs.*` of the (first) director, by name, then the three
/// timeouts.
///
/// # Errors
/// The lab has no IPVS, or its namespace or IPVS cannot be read.
pub fn read(state: &LabState) -> Result<Vec<Reading>, LabError> {
    let ns = director_netns(state)?.remove(0);
    let files = netns::run_in(&ns, || -> std::io::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(DIR)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // A file the namespace may not read (debug_level) is left out.
            if let Ok(v) = fs::read_to_string(entry.path()) {
                out.push((name, v.trim().to_string()));
            }
        }
        Ok(out)
    })?
    .map_err(|source| LabError::Io { what: format!("read {DIR} in {ns}"), source })?;
    let mut out: Vec<Reading> = files
        .into_iter()
        .map(|(name, value)| Reading { fact: sysctl::fact(&name), name, value })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    let t = IpvsClient::open_in(&ns)?.timeouts()?;
    for (name, v) in [("tcp", t.tcp), ("tcpfin", t.tcp_fin), ("udp", t.udp)] {
        out.push(Reading { name: name.into(), fact: sysctl::fact(name), value: v.to_string() });
    }
    Ok(out)
}

/// Applies `settings` on every director, in order, and returns the values
/// they had (read from the first director), for undoing them with
/// [`apply`] again.
///
/// # Errors
/// The lab has no IPVS, or the kernel refused one: the settings before it
/// are put back first, so the lab is left as it was.
pub fn apply(state: &LabState, settings: &[Setting]) -> Result<Vec<Setting>, LabError> {
    let namespaces = director_netns(state)?;
    let before = previous(&namespaces[0], settings)?;
    for (i, setting) in settings.iter().enumerate() {
        if let Err(e) = write_all(&namespaces, setting) {
            // Put back what was already changed, so a refused setting
            // leaves the lab as it was.
            for undo in before[..i].iter().rev() {
                let _ = write_all(&namespaces, undo);
            }
            return Err(e);
        }
    }
    Ok(before)
}

/// The current values of the knobs `settings` name, as settings.
fn previous(ns: &str, settings: &[Setting]) -> Result<Vec<Setting>, LabError> {
    let mut timeouts = None;
    settings
        .iter()
        .map(|s| {
            let value = match s.fact.place {
                Place::Sysctl => net_sysctl::read(ns, &key(s.fact))?,
                Place::Timeout => {
                    let t = match timeouts {
                        Some(t) => t,
                        None => *timeouts.insert(IpvsClient::open_in(ns)?.timeouts()?),
                    };
                    timeout_of(&t, s.fact.name).to_string()
                }
            };
            Ok(Setting { fact: s.fact, value })
        })
        .collect()
}

fn key(fact: &Fact) -> String {
    format!("{}{}", sysctl::PREFIX, fact.name)
}

fn timeout_of(t: &Timeouts, name: &str) -> u32 {
    match name {
        "tcp" => t.tcp,
        "tcpfin" => t.tcp_fin,
        _ => t.udp,
    }
}

fn write_all(namespaces: &[String], setting: &Setting) -> Result<(), LabError> {
    for ns in namespaces {
        match setting.fact.place {
            Place::Sysctl => net_sysctl::write(ns, &key(setting.fact), &setting.value)?,
            Place::Timeout => {
                // Validated by the fact (1 ..= MAX_TIMEOUT); 0 in the other
                // two leaves them unchanged.
                let v: u32 = setting.value.parse().unwrap_or(0);
                let mut t = Timeouts::default();
                match setting.fact.name {
                    "tcp" => t.tcp = v,
                    "tcpfin" => t.tcp_fin = v,
                    _ => t.udp = v,
                }
                IpvsClient::open_in(ns)?.set_timeouts(&t)?;
            }
        }
    }
    Ok(())
}

/// The director's settings that differ from the kernel's default, as
/// `name=value (default D)` on one line, for `status`; `None` when all are
/// at their default or the lab has no IPVS to read.
pub fn off_default_line(state: &LabState) -> Option<String> {
    let readings = read(state).ok()?;
    let off: Vec<String> = readings
        .iter()
        .filter(|r| r.off_default())
        .map(|r| {
            let default = r.fact.and_then(|f| f.default).unwrap_or("?").replace('\t', " ");
            format!("{}={} (default {default})", r.name, r.value.replace('\t', " "))
        })
        .collect();
    (!off.is_empty()).then(|| lvslab_core::lab::text::shown(&off.join(", ")).into_owned())
}

/// Applies the preset's `[director.sysctl]` (at `up`): one line for people
/// saying what was set, `None` when the preset sets nothing. A lab on
/// nftables has no IPVS: its line says the settings were left out.
///
/// # Errors
/// A setting was refused by the kernel (the earlier ones are put back).
pub fn apply_preset(state: &LabState) -> Result<Option<String>, LabError> {
    let wanted = &state.spec.director.sysctl;
    if wanted.is_empty() {
        return Ok(None);
    }
    let words: Vec<String> =
        wanted.iter().map(|(k, v)| format!("{k}={}", v.replace('\t', " "))).collect();
    if state.dataplane != Dataplane::Ipvs {
        return Ok(Some(format!(
            "left out: [director.sysctl] {} (IPVS settings; this lab balances with {})",
            words.join(" "),
            state.dataplane
        )));
    }
    // Validated when the preset was read; parsed again into the facts' types.
    let settings = words
        .iter()
        .map(|w| sysctl::parse_setting(w).map_err(LabError::Refused))
        .collect::<Result<Vec<_>, _>>()?;
    apply(state, &settings)?;
    Ok(Some(format!("director sysctl (the preset's [director.sysctl]): {}", words.join(" "))))
}
