//! An experiment's result: the counts of each arm, the side-by-side table
//! and the one sentence saying what it shows, all from the measured counts
//! (a run that does not show the expected direction says so). `--json` is
//! [`Report`], schema_version [`SCHEMA_VERSION`]
//! (assets/schemas/experiment.schema.json).

use serde::Serialize;

use super::outcome::{End, Outcome, median};

/// The version of the `--json` document.
pub const SCHEMA_VERSION: u32 = 1;

/// What one arm measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Measured {
    /// Removal: the held connections on the removed server.
    Removal {
        /// IPVS's tcp timeout during the run, seconds.
        tcp_timeout_s: u32,
        /// The server whose destination was deleted.
        server: String,
        /// Connections it held.
        held: u32,
        /// Of them, finished their work.
        completed: u32,
        /// Failed fast (within half the tcp timeout).
        reset: u32,
        /// Stalled at least half the tcp timeout.
        hung: u32,
        /// Median seconds from the change to a failure (`None`: none failed).
        time_to_fail_s: Option<f64>,
    },
    /// Persistence: where the persistent client's new connections landed.
    Persistence {
        /// The drained server (the one the client's template named).
        drained: String,
        /// New connections made after the drain.
        new_connections: u32,
        /// Of them, answered by the drained server.
        to_drained: u32,
        /// Of them, failed.
        failed: u32,
    },
}

impl Measured {
    /// The removal counts from each held connection's end.
    pub fn removal(server: &str, tcp_timeout_s: u32, ends: &[End]) -> Self {
        let count =
            |o: Outcome| ends.iter().filter(|e| e.outcome(tcp_timeout_s) == o).count() as u32;
        let mut failed: Vec<f64> = ends.iter().filter_map(|e| e.failed_after()).collect();
        Measured::Removal {
            tcp_timeout_s,
            server: server.to_string(),
            held: ends.len() as u32,
            completed: count(Outcome::Completed),
            reset: count(Outcome::Reset),
            hung: count(Outcome::Hung),
            time_to_fail_s: median(&mut failed).map(|s| (s * 100.0).round() / 100.0),
        }
    }
}

/// One arm's line of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmResult {
    /// The arm's label.
    pub label: String,
    /// The settings it ran with, `NAME=VALUE`.
    pub settings: Vec<String>,
    /// What it measured.
    pub measured: Measured,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The experiment's name.
    pub experiment: String,
    /// The lab it ran on.
    pub lab: String,
    /// The kernel it ran on (`uname -r`).
    pub kernel: String,
    /// One per arm, in the experiment's order.
    pub arms: Vec<ArmResult>,
    /// What the numbers show and which setting to choose.
    pub verdict: String,
    /// Whether the lab equalled its snapshot after the undo.
    pub restored: bool,
}

impl Report {
    /// The report of `arms`, with its verdict.
    pub fn new(experiment: &str, lab: &str, kernel: &str, arms: Vec<ArmResult>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            experiment: experiment.into(),
            lab: lab.into(),
            kernel: kernel.into(),
            verdict: verdict(&arms),
            arms,
            restored: true,
        }
    }
}

/// The side-by-side table and the verdict under it.
pub fn render(report: &Report) -> String {
    let width = report.arms.iter().map(|a| a.label.len()).max().unwrap_or(7).max(7);
    let mut out =
        format!("{} on lab {} (kernel {})\n", report.experiment, report.lab, report.kernel);
    match report.arms.first().map(|a| &a.measured) {
        Some(Measured::Removal { tcp_timeout_s, server, .. }) => {
            out.push_str(&format!(
                "destination {server} deleted under held connections; IPVS tcp timeout {tcp_timeout_s} s\n\n"
            ));
            out.push_str(&format!(
                "{:width$}  {:>4}  {:>9}  {:>5}  {:>4}  {:>12}\n",
                "SETTING", "HELD", "COMPLETED", "RESET", "HUNG", "TIME TO FAIL"
            ));
        }
        Some(Measured::Persistence { .. }) => {
            out.push_str("the persistent client's server drained (weight 0)\n\n");
            out.push_str(&format!(
                "{:width$}  {:>7}  {:>10}  {:>10}  {:>6}\n",
                "SETTING", "DRAINED", "NEW CONNS", "TO DRAINED", "FAILED"
            ));
        }
        None => {}
    }
    for arm in &report.arms {
        match &arm.measured {
            Measured::Removal { held, completed, reset, hung, time_to_fail_s, .. } => {
                let fail = time_to_fail_s.map_or("-".to_string(), |s| format!("{s:.2} s"));
                out.push_str(&format!(
                    "{:width$}  {held:>4}  {completed:>9}  {reset:>5}  {hung:>4}  {fail:>12}\n",
                    arm.label
                ));
            }
            Measured::Persistence { drained, new_connections, to_drained, failed } => {
                out.push_str(&format!(
                    "{:width$}  {drained:>7}  {new_connections:>10}  {to_drained:>10}  {failed:>6}\n",
                    arm.label
                ));
            }
        }
    }
    out.push_str(&format!("\n{}\n", report.verdict));
    out
}

/// One sentence from the measured arms.
fn verdict(arms: &[ArmResult]) -> String {
    let mut removal = Vec::new();
    let mut persistence = Vec::new();
    for arm in arms {
        match &arm.measured {
            Measured::Removal {
                held,
                completed,
                reset,
                hung,
                time_to_fail_s,
                tcp_timeout_s,
                ..
            } => {
                removal.push((
                    arm.label.as_str(),
                    *held,
                    *completed,
                    *reset,
                    *hung,
                    *time_to_fail_s,
                    *tcp_timeout_s,
                ));
            }
            Measured::Persistence { new_connections, to_drained, .. } => {
                persistence.push((arm.label.as_str(), *new_connections, *to_drained));
            }
        }
    }
    if !removal.is_empty() {
        let parts: Vec<String> = removal
            .iter()
            .map(|&(label, held, completed, reset, hung, fail, timeout)| {
                let after = fail.map_or(String::new(), |s| format!(" after {s:.1} s"));
                if completed == held {
                    format!("with {label} all {held} completed")
                } else if hung > 0 {
                    let ratio = fail.map_or(0.0, |s| s / f64::from(timeout));
                    format!(
                        "with {label} {hung} of {held} hung{after} ({ratio:.1}x the {timeout} s tcp timeout)"
                    )
                } else {
                    format!("with {label} {reset} of {held} were reset{after}")
                }
            })
            .collect();
        let best = removal.iter().max_by_key(|r| r.2).map_or("", |r| r.0);
        let fast = removal
            .iter()
            .filter(|r| r.3 > 0 && r.4 == 0)
            .map(|r| r.0)
            .next()
            .map_or(String::new(), |l| {
                format!(", and {l} where a removal must fail fast rather than hang")
            });
        return format!(
            "{}: an operator chooses {best} before removing a server{fast}.",
            capitalised(&parts.join("; "))
        );
    }
    let parts: Vec<String> = persistence
        .iter()
        .map(|&(label, n, to)| {
            format!("with {label} {to} of {n} new connections went to the drained server")
        })
        .collect();
    let leaves = persistence.iter().filter(|p| p.2 == 0).map(|p| p.0).next();
    let choice = match leaves {
        Some(l) => format!("an operator who drains to move persistent clients sets {l}"),
        None => "no setting moved the persistent client off the drained server in this run".into(),
    };
    format!("{}: {choice}.", capitalised(&parts.join("; ")))
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removal(label: &str, ends: &[End]) -> ArmResult {
        ArmResult {
            label: label.into(),
            settings: vec![],
            measured: Measured::removal("rs1", 4, ends),
        }
    }

    #[test]
    fn the_removal_table_counts_and_the_verdict_follows_the_numbers() {
        let arms = vec![
            removal("expire_nodest_conn=0", &[End::Failed(6.2), End::GaveUp(12.0)]),
            removal("expire_nodest_conn=1", &[End::Failed(0.1), End::Failed(0.3)]),
            removal("drain first", &[End::Completed, End::Completed]),
        ];
        let report = Report::new("removal-held-tcp", "tutorial", "6.1.0", arms);
        let Measured::Removal { hung, time_to_fail_s, .. } = report.arms[0].measured else {
            panic!()
        };
        assert_eq!((hung, time_to_fail_s), (2, Some(12.0)));
        let text = render(&report);
        assert!(text.contains("COMPLETED") && text.contains("drain first"), "{text}");
        assert!(
            report.verdict.starts_with("With expire_nodest_conn=0 2 of 2 hung"),
            "{}",
            report.verdict
        );
        assert!(report.verdict.contains("chooses drain first"), "{}", report.verdict);
        assert!(report.verdict.contains("expire_nodest_conn=1 where a removal must fail fast"));
        assert_eq!(report.verdict.matches(". ").count(), 0, "one sentence");
    }

    #[test]
    fn the_persistence_verdict_names_the_setting_that_moved_the_client() {
        let arm = |label: &str, to| ArmResult {
            label: label.into(),
            settings: vec![],
            measured: Measured::Persistence {
                drained: "rs1".into(),
                new_connections: 10,
                to_drained: to,
                failed: 0,
            },
        };
        let report =
            Report::new("drained-persistence", "t", "6.1", vec![arm("q=0", 10), arm("q=1", 0)]);
        assert!(report.verdict.contains("q=0 10 of 10") && report.verdict.contains("sets q=1"));
        let stuck =
            Report::new("drained-persistence", "t", "6.1", vec![arm("q=0", 10), arm("q=1", 3)]);
        assert!(stuck.verdict.contains("no setting moved"), "{}", stuck.verdict);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["arms"][0]["measured"]["kind"], "persistence");
    }
}
