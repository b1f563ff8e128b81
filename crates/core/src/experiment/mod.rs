//! The experiments as data: what each one changes, which settings it
//! compares (its arms), what it counts, and how the counts become one table
//! and one sentence. No IO: the binary's `ops::experiment` drives the
//! kernel and hands the counts back here to be judged and shown.
//!
//! Each experiment reproduces a behaviour operators file bugs about (issue
//! 22): the facts behind them are the sysctl table's
//! ([`crate::lab::sysctl`]); an arm names its settings by that table's
//! names, and a test checks every one parses there.

pub mod outcome;
pub mod report;

/// Which driver runs an experiment: what traffic it holds and what it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Busy keep-alive connections held to one server while its destination
    /// is deleted (or drained first, then deleted).
    Removal,
    /// A persistent service; the client's server is drained and its new
    /// connections are counted.
    Persistence,
}

/// One setting compared: a label and the knobs it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm {
    /// What the table's first column shows.
    pub label: &'static str,
    /// `NAME=VALUE`s of the sysctl table, applied for this arm only.
    pub settings: &'static [&'static str],
    /// Removal only: drain the server (weight 0) and let its connections
    /// finish before its destination is deleted.
    pub drain_first: bool,
}

/// One experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Experiment {
    /// What `lvslab experiment LAB NAME` takes.
    pub name: &'static str,
    /// One line for `--list`.
    pub title: &'static str,
    /// Its driver.
    pub kind: Kind,
    /// The settings compared, in the table's order.
    pub arms: &'static [Arm],
    /// Set once for the whole run (IPVS timeouts, so a hang shows in seconds).
    pub settings: &'static [&'static str],
    /// The steps, in words: what the dashboard's walk would show.
    pub steps: &'static [&'static str],
}

/// IPVS's TCP timeout during the removal experiment, seconds: short, so a
/// hang that lasts 900 s by default ends within the run.
pub const REMOVAL_TCP_TIMEOUT: u32 = 4;
/// Busy connections held open in each removal arm.
pub const HELD: u32 = 8;
/// Persistence timeout the persistence experiment gives the service,
/// seconds: longer than the whole run, so no template expires by itself.
pub const PERSISTENCE: u32 = 300;
/// New connections the persistent client makes after the drain.
pub const NEW_CONNECTIONS: u32 = 10;

/// Every experiment lvslab runs.
pub const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "removal-held-tcp",
        title: "a real server removed under held, busy TCP connections: hang, reset or finish",
        kind: Kind::Removal,
        arms: &[
            Arm {
                label: "expire_nodest_conn=0",
                settings: &["expire_nodest_conn=0"],
                drain_first: false,
            },
            Arm {
                label: "expire_nodest_conn=1",
                settings: &["expire_nodest_conn=1"],
                drain_first: false,
            },
            Arm { label: "drain first", settings: &["expire_nodest_conn=0"], drain_first: true },
        ],
        settings: &["tcp=4"],
        steps: &[
            "set IPVS's tcp timeout to 4 s (ipvsadm --set 4 0 0), so a hang ends within the run",
            "open busy keep-alive connections to the VIP (a request every 100 ms)",
            "delete the destination of the server holding the first of them (ipvsadm -d)",
            "or, drain first: weight 0, let them finish, then delete it",
            "count each connection on that server: completed, reset (fast) or hung, and when it failed",
            "put the destination, the weight and the settings back; check the lab equals its snapshot",
        ],
    },
    Experiment {
        name: "drained-persistence",
        title: "a drained server and persistence: does the persistent client leave it",
        kind: Kind::Persistence,
        arms: &[
            Arm {
                label: "expire_quiescent_template=0",
                settings: &["expire_quiescent_template=0"],
                drain_first: false,
            },
            Arm {
                label: "expire_quiescent_template=1",
                settings: &["expire_quiescent_template=1"],
                drain_first: false,
            },
        ],
        settings: &[],
        steps: &[
            "make the first TCP service persistent (ipvsadm -E ... -p 300)",
            "one connection from the client: its template picks a server",
            "drain that server (weight 0)",
            "make new connections from the same client and count where each lands",
            "put the weight, the service and the settings back; check the lab equals its snapshot",
        ],
    },
];

/// The experiment called `name`.
///
/// # Errors
/// No experiment has that name: the message lists the known ones.
pub fn find(name: &str) -> Result<&'static Experiment, String> {
    EXPERIMENTS.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<&str> = EXPERIMENTS.iter().map(|e| e.name).collect();
        format!(
            "unknown experiment '{}'; known: {} (lvslab experiment --list)",
            crate::lab::text::shown(name),
            names.join(", ")
        )
    })
}

/// `--list`: each experiment's name and what it shows.
pub fn listing() -> String {
    let width = EXPERIMENTS.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for e in EXPERIMENTS {
        let arms: Vec<&str> = e.arms.iter().map(|a| a.label).collect();
        out.push_str(&format!(
            "{:width$}  {}\n{:width$}  compares: {}\n",
            e.name,
            e.title,
            "",
            arms.join(" | ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::sysctl::parse_setting;

    #[test]
    fn every_setting_is_one_the_sysctl_table_takes() {
        for e in EXPERIMENTS {
            for s in e.settings.iter().chain(e.arms.iter().flat_map(|a| a.settings)) {
                assert!(parse_setting(s).is_ok(), "{}: {s}", e.name);
            }
            assert!(e.arms.len() >= 2, "{}: an experiment compares", e.name);
        }
        let tcp = format!("tcp={REMOVAL_TCP_TIMEOUT}");
        assert_eq!(find("removal-held-tcp").unwrap().settings, [tcp.as_str()]);
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones() {
        let e = find("nodest").unwrap_err();
        assert!(e.contains("removal-held-tcp") && e.contains("drained-persistence"), "{e}");
        let e = find("x\u{1b}[2J").unwrap_err();
        assert!(!e.contains('\u{1b}'), "{e}");
        let list = listing();
        assert!(list.contains("removal-held-tcp") && list.contains("expire_quiescent_template=1"));
    }
}
