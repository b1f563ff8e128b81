//! The failure timeline on synthetic snapshots of the tutorial lab: rs1's
//! HTTP process stops under 50 req/s, then keepalived (or nothing) reacts.

use super::*;
use crate::monitor::sample;

/// The tutorial at `tick` tenths of a second, with `errors` failed requests
/// so far, rs1's process `up` or not, and rs1 in the table with `weight`
/// (`None`: removed).
fn snap(tick: u32, errors: u64, up: bool, weight: Option<u32>, control: Control) -> Snapshot {
    let mut s = sample::tutorial(tick);
    s.lab.control = control;
    s.lab.real_servers[0].up = up;
    let svc = &mut s.services[0];
    match weight {
        Some(w) => svc.real_servers[0].weight = w,
        None => svc.real_servers.retain(|d| d.name != "rs1"),
    }
    if let Some(t) = &mut s.traffic {
        t.errors = errors;
    }
    s
}

fn run(steps: &[Snapshot]) -> (Timeline, Vec<Moment>) {
    let mut t = Timeline::default();
    let mut all = Vec::new();
    for s in steps {
        all.extend(t.update(s));
    }
    (t, all)
}

fn secs(o: &Outage, at: Option<SystemTime>) -> f64 {
    at.unwrap().duration_since(o.started).unwrap().as_secs_f64()
}

#[test]
fn under_keepalived_the_server_leaves_the_table_and_failures_stop() {
    let k = Control::Keepalived;
    let (t, moments) = run(&[
        snap(10, 0, true, Some(3), k),
        snap(11, 0, false, Some(3), k), // 1.1 s: process down
        snap(12, 4, false, Some(3), k), // first failures
        snap(20, 9, false, Some(3), k),
        snap(25, 12, false, None, k),   // 2.5 s: keepalived removed it
        snap(40, 12, false, None, k),   // no more failures
        snap(60, 12, true, None, k),    // 6.0 s: started again
        snap(72, 12, true, Some(3), k), // 7.2 s: back
        snap(80, 12, true, Some(3), k),
    ]);
    let o = &t.outages()[0];
    assert_eq!(o.server, "rs1");
    assert!(o.checked);
    assert!((secs(o, o.first_failure) - 0.1).abs() < 1e-6);
    let (left, exit) = o.left.unwrap();
    assert_eq!(exit, Exit::Removed);
    assert!((secs(o, Some(left)) - 1.4).abs() < 1e-6);
    assert_eq!(o.failed_before_out, 12);
    assert_eq!(o.failed, 12);
    assert!((secs(o, o.answering) - 4.9).abs() < 1e-6);
    assert!((secs(o, o.back) - 6.1).abs() < 1e-6);
    assert!(o.over());
    assert!(t.open("rs1").is_none());
    let texts: Vec<&str> = moments.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "rs1: outage starts (keepalived's checks will take it out of the table)",
            "rs1: first failed request 0.1 s after it stopped answering",
            "rs1 left the IPVS table 1.4 s after it stopped answering; 12 request(s) failed meanwhile",
            "rs1: up again after 4.9 s down; waiting for its check to pass",
            "rs1 back in the IPVS table: outage 6.1 s, out of the table 4.7 s, 12 request(s) failed",
        ]
    );
    assert_eq!(moments[0].tone, Tone::Bad);
    assert_eq!(moments[4].tone, Tone::Good);
}

#[test]
fn without_checks_it_never_leaves_and_every_failure_counts() {
    let l = Control::Lvslab;
    let (t, moments) = run(&[
        snap(10, 0, true, Some(3), l),
        snap(11, 0, false, Some(3), l),
        snap(20, 20, false, Some(3), l),
        snap(50, 80, false, Some(3), l),
        snap(60, 90, true, Some(3), l),
        snap(70, 90, true, Some(3), l),
    ]);
    let o = &t.outages()[0];
    assert!(!o.checked);
    assert_eq!(o.left, None);
    assert_eq!(o.failed, 90);
    assert!(o.over(), "it answers again and never left: over");
    let last = &moments.last().unwrap().text;
    assert_eq!(
        last,
        "rs1: outage over after 4.9 s: 90 request(s) failed, it never left the table \
         (no health checks)"
    );
    assert!(moments[0].text.contains("no health checks: it keeps its share"), "{moments:?}");
}

#[test]
fn weight_0_on_failure_is_a_way_out_of_the_table_too() {
    let k = Control::Keepalived;
    let (t, moments) = run(&[
        snap(10, 0, true, Some(3), k),
        snap(11, 0, false, Some(3), k),
        snap(20, 5, false, Some(0), k),
        snap(40, 5, true, Some(0), k),
        snap(50, 5, true, Some(3), k),
    ]);
    let o = &t.outages()[0];
    assert_eq!(o.left.map(|(_, e)| e), Some(Exit::WeightZero));
    assert!(o.back.is_some());
    assert!(moments.iter().any(|m| m.text.contains("got weight 0 in the IPVS table 0.9 s")));
    let health = Health::of(&snap(20, 5, false, Some(0), k), "rs1").unwrap();
    assert_eq!(health.mark(), Some("w0"));
    assert_eq!(Health::of(&snap(20, 5, false, None, k), "rs1").unwrap().mark(), Some("out"));
    let drained = Health::of(&snap(20, 5, true, Some(0), k), "rs1").unwrap();
    assert_eq!(drained.mark(), None, "a drained server that answers is not failing");
}

/// Requests fail a poll before the process is seen down: the outage
/// starts at the first failure, and those failures count.
#[test]
fn failures_seen_first_start_the_outage() {
    let k = Control::Keepalived;
    let (t, moments) = run(&[
        snap(10, 0, true, Some(3), k),
        snap(11, 3, true, Some(3), k),
        snap(12, 5, false, Some(3), k),
    ]);
    let o = &t.outages()[0];
    assert!(
        (o.started.duration_since(sample::tutorial(11).at).unwrap().as_secs_f64()).abs() < 1e-9
    );
    assert_eq!(o.first_failure, Some(o.started));
    assert_eq!(o.failed, 5, "those before it was seen down, and those of that poll");
    let said = "rs1: 5 request(s) had already failed, the first 0.1 s before";
    assert!(moments.iter().any(|m| m.text == said), "{moments:?}");
    // Failures long before do not count as this outage's start.
    let (t, _) = run(&[
        snap(10, 0, true, Some(3), k),
        snap(11, 3, true, Some(3), k),
        snap(60, 3, false, Some(3), k),
    ]);
    assert_eq!(t.outages()[0].started, sample::tutorial(60).at);
}

#[test]
fn only_the_newest_outages_are_kept() {
    let l = Control::Lvslab;
    let mut steps = vec![snap(0, 0, true, Some(3), l)];
    for i in 0..(KEPT as u32 + 5) {
        steps.push(snap(2 * i + 1, 0, false, Some(3), l));
        steps.push(snap(2 * i + 2, 0, true, Some(3), l));
    }
    let (t, _) = run(&steps);
    assert_eq!(t.outages().len(), KEPT);
}
