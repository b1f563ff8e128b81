//! The failover timeline on synthetic snapshots of the `ha` lab: director1
//! holds the VIP under 50 req/s, loses it, director2 takes over.

use super::*;
use crate::monitor::sample;

const D1: Option<&str> = Some("director1");
const D2: Option<&str> = Some("director2");

/// The ha lab at `tick` tenths of a second with `master` holding the VIP
/// and `errors` failed requests so far.
fn snap(tick: u32, master: Option<&str>, errors: u64) -> Snapshot {
    let mut s = sample::ha(tick, master);
    if let Some(t) = &mut s.traffic {
        t.errors = errors;
    }
    s
}

fn run(steps: &[Snapshot]) -> (Failovers, Vec<Moment>) {
    let mut f = Failovers::default();
    let mut all = Vec::new();
    for s in steps {
        all.extend(f.update(s));
    }
    (f, all)
}

fn texts(moments: &[Moment]) -> Vec<&str> {
    moments.iter().map(|m| m.text.as_str()).collect()
}

#[test]
fn the_vip_without_a_master_then_the_backup_takes_over() {
    let (f, moments) = run(&[
        snap(10, D1, 0),
        snap(11, D1, 2),   // director1 stopped forwarding: failures first
        snap(12, None, 5), // 1.2 s: the VIP is on no director
        snap(20, None, 9),
        snap(25, D2, 12), // 2.5 s: director2 holds it
        snap(40, D2, 15), // requests sent into the gap time out
        snap(80, D2, 15),
        snap(86, D2, 16), // 6.1 s after the takeover: settled, this one not counted
        snap(90, D2, 16),
    ]);
    assert_eq!(f.all().len(), 1);
    let o = &f.all()[0];
    assert_eq!(o.from, "director1");
    assert_eq!(o.to.as_ref().map(|(d, _)| d.as_str()), Some("director2"));
    assert!((o.without_master().unwrap().as_secs_f64() - 1.3).abs() < 1e-6);
    assert_eq!(o.failed_until_master, 12);
    assert_eq!(o.failed, 15);
    assert!(o.settled);
    assert_eq!(
        texts(&moments),
        [
            "director1 lost the VIP (VRRP master lost); 5 request(s) had already failed",
            "director2 holds the VIP (MASTER) 1.3 s after director1 lost it; 12 request(s) \
             failed so far",
            "failover director1 → director2: the VIP had no master for 1.3 s, 15 request(s) \
             failed (counted until 6.1 s after director2 took over)",
        ]
    );
    assert_eq!(
        moments.iter().map(|m| m.tone).collect::<Vec<_>>(),
        [Tone::Bad, Tone::Good, Tone::Info]
    );
}

/// The VIP moved between two polls: the dashboard saw no gap.
#[test]
fn a_move_between_two_polls_has_no_gap_and_no_failures_is_good() {
    let (f, moments) = run(&[snap(10, D1, 0), snap(11, D2, 0), snap(80, D2, 0)]);
    let o = &f.all()[0];
    assert_eq!(o.without_master(), Some(Duration::ZERO));
    assert_eq!(
        texts(&moments),
        [
            "director1 lost the VIP (VRRP master lost)",
            "director2 holds the VIP (MASTER) within one poll of director1 losing it; 0 \
             request(s) failed so far",
            "failover director1 → director2: the VIP had no master for 0.0 s, 0 request(s) \
             failed (counted until 6.9 s after director2 took over)",
        ]
    );
    assert_eq!(moments[2].tone, Tone::Good);
}

#[test]
fn failures_long_before_the_loss_are_not_its_own() {
    let (f, moments) = run(&[snap(10, D1, 0), snap(11, D1, 4), snap(30, None, 4)]);
    assert_eq!(f.all()[0].failed, 0);
    assert_eq!(texts(&moments), ["director1 lost the VIP (VRRP master lost)"]);
}

/// Losing the VIP again before the last failover settled settles it then,
/// with the failures counted so far; the new one counts from there.
#[test]
fn a_second_loss_settles_the_first() {
    let (f, moments) = run(&[
        snap(10, D1, 0),
        snap(11, None, 1),
        snap(15, D2, 3),
        snap(20, D2, 4),
        snap(21, None, 6),
        snap(25, D1, 8),
    ]);
    let [first, second] = f.all() else { panic!("two failovers: {:?}", f.all()) };
    assert!(first.settled);
    assert_eq!(first.failed, 4);
    assert_eq!(second.from, "director2");
    assert_eq!(second.failed, 4, "the loss's poll and the takeover's: 2 + 2");
    assert!(!second.settled);
    assert!(
        texts(&moments).contains(
            &"failover director1 → director2: the VIP had no master for 0.4 s, 4 request(s) \
              failed (counted until 0.6 s after director2 took over)"
        ),
        "{moments:?}"
    );
    assert!(moments.last().unwrap().text.starts_with("director1 holds the VIP (MASTER) 0.4 s"));
}

#[test]
fn no_failover_without_ha_nor_while_the_first_master_is_elected() {
    let mut t = sample::tutorial(10);
    t.traffic.as_mut().unwrap().errors = 7;
    let (f, moments) = run(&[sample::tutorial(5), t]);
    assert!(f.all().is_empty() && moments.is_empty());
    // Brought up just now: VRRP has not chosen yet, then director1 wins.
    let (f, moments) = run(&[snap(1, None, 0), snap(2, None, 0), snap(9, D1, 0)]);
    assert!(f.all().is_empty() && moments.is_empty(), "{moments:?}");
}

#[test]
fn no_master_for_good_keeps_counting() {
    let (f, _) = run(&[snap(10, D1, 0), snap(11, None, 0), snap(200, None, 90)]);
    let o = &f.all()[0];
    assert_eq!((o.failed, o.settled, o.without_master()), (90, false, None));
}

#[test]
fn only_the_newest_failovers_are_kept() {
    let mut steps = vec![snap(0, D1, 0)];
    for i in 0..(KEPT as u32 + 5) {
        steps.push(snap(2 * i + 1, if i % 2 == 0 { D2 } else { D1 }, 0));
    }
    let (f, _) = run(&steps);
    assert_eq!(f.all().len(), KEPT);
}
