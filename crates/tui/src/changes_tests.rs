//! Each rule of [`diff`], on the tutorial sample.

use super::*;
use lvslab_core::monitor::ConnMode;
use lvslab_core::monitor::sample;

fn texts(prev: &Snapshot, next: &Snapshot) -> Vec<String> {
    diff(prev, next).into_iter().map(|c| c.text).collect()
}

#[test]
fn nothing_changed_means_no_lines() {
    assert!(diff(&sample::tutorial(30), &sample::tutorial(31)).is_empty());
}

#[test]
fn server_stops_and_comes_back() {
    let up = sample::tutorial(30);
    let mut down = up.clone();
    down.lab.real_servers[1].up = false;
    let changes = diff(&up, &down);
    assert_eq!(changes, vec![change(Level::Error, "rs2 stopped answering")]);
    assert_eq!(diff(&down, &up), vec![change(Level::Ok, "rs2 answers again")]);
}

#[test]
fn weights_drain_and_scheduler() {
    let before = sample::tutorial(30);
    let mut after = before.clone();
    after.services[0].real_servers[0].weight = 4;
    after.services[0].real_servers[1].weight = 0;
    after.services[0].scheduler = "wlc".into();
    assert_eq!(
        texts(&before, &after),
        vec!["scheduler wrr → wlc", "rs1 weight 3 → 4", "rs2 drained (weight 2 → 0)"]
    );
}

#[test]
fn servers_join_and_leave() {
    let two = sample::tutorial(30);
    let mut three = two.clone();
    let bigger = sample::with_servers(&[3, 2, 1], 30);
    three.lab.real_servers.push(bigger.lab.real_servers[2].clone());
    three.services[0].real_servers.push(bigger.services[0].real_servers[2].clone());
    assert_eq!(
        texts(&two, &three),
        vec!["rs3 joined the lab (198.51.100.13)", "rs3 added to TCP 192.0.2.1:80 (weight 1)"]
    );
    let back = texts(&three, &two);
    assert_eq!(back[0], "rs3 left the lab");
    assert_eq!(back[1], "rs3 removed from TCP 192.0.2.1:80");
    assert_eq!(back.len(), 2, "a server leaving the table takes its count, nothing was zeroed");
}

#[test]
fn forwarding_counters_and_traffic() {
    let before = sample::tutorial(300);
    let mut after = sample::tutorial(0);
    after.lab.director.forwarding = false;
    let traffic = after.traffic.as_mut().unwrap();
    traffic.running = false;
    traffic.ended = true;
    // A new rate or mode is a command's, whose outcome is its own line.
    traffic.rate = 100;
    traffic.mode = ConnMode::Long { hold_ms: 2000 };
    assert_eq!(
        texts(&before, &after),
        vec![
            "director forwarding off: replies cannot reach the client",
            "counters zeroed",
            "traffic stopped: its run ended",
        ]
    );
}

/// What the user's own commands did to the traffic (start, stop, rate,
/// mode) is not a change to report: their outcome is the action's line.
#[test]
fn the_users_own_traffic_commands_are_no_changes() {
    let running = sample::tutorial(30);
    let mut stopped = running.clone();
    let traffic = stopped.traffic.as_mut().unwrap();
    traffic.running = false;
    traffic.rate = 20;
    assert!(diff(&running, &stopped).is_empty(), "{:?}", texts(&running, &stopped));
    assert!(diff(&stopped, &running).is_empty(), "{:?}", texts(&stopped, &running));
}

#[test]
fn first_errors_are_reported_once() {
    let before = sample::tutorial(30);
    let mut after = before.clone();
    after.traffic.as_mut().unwrap().errors = 3;
    assert_eq!(texts(&before, &after), vec!["requests failing: 3 errors"]);
    let mut later = after.clone();
    later.traffic.as_mut().unwrap().errors = 9;
    assert!(diff(&after, &later).is_empty());
}
