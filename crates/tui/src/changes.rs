//! What changed between two consecutive snapshots, in words for the events
//! log: a server stopped answering, a weight changed, traffic started.
//! Pure, so every rule is unit-tested with hand-made snapshots.

use lvslab_core::monitor::{ServiceView, Snapshot, TrafficView};

/// How much a log line matters, which picks its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something the user did, or a neutral change.
    Info,
    /// Healthy again.
    Ok,
    /// Worth a look (drained, traffic stopped).
    Warn,
    /// Broken (not answering, forwarding off, errors).
    Error,
}

/// One observed change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Its importance.
    pub level: Level,
    /// What happened, as a sentence fragment (`rs2 stopped answering`).
    pub text: String,
}

fn change(level: Level, text: impl Into<String>) -> Change {
    Change { level, text: text.into() }
}

/// Every change from `prev` to `next`, lab first, then services, then traffic.
pub fn diff(prev: &Snapshot, next: &Snapshot) -> Vec<Change> {
    let mut out = Vec::new();
    lab_changes(prev, next, &mut out);
    for service in &next.services {
        let key = (&service.proto, service.vip, service.port);
        match prev.services.iter().find(|s| (&s.proto, s.vip, s.port) == key) {
            Some(before) => service_changes(before, service, &mut out),
            None => {
                out.push(change(Level::Info, format!("service {} added", service_label(service))))
            }
        }
    }
    for service in &prev.services {
        let key = (&service.proto, service.vip, service.port);
        if !next.services.iter().any(|s| (&s.proto, s.vip, s.port) == key) {
            out.push(change(Level::Warn, format!("service {} removed", service_label(service))));
        }
    }
    traffic_changes(prev.traffic.as_ref(), next.traffic.as_ref(), &mut out);
    out
}

/// `TCP 192.0.2.1:80`, as ipvsadm names a service.
pub fn service_label(service: &ServiceView) -> String {
    match service.fwmark {
        Some(mark) => format!("FWM {mark}"),
        None => format!("{} {}:{}", service.proto, service.vip, service.port),
    }
}

fn lab_changes(prev: &Snapshot, next: &Snapshot, out: &mut Vec<Change>) {
    let (before, after) = (&prev.lab.director, &next.lab.director);
    if before.forwarding != after.forwarding {
        out.push(if after.forwarding {
            change(Level::Ok, "director forwarding on")
        } else {
            change(Level::Error, "director forwarding off: replies cannot reach the client")
        });
    }
    for rs in &next.lab.real_servers {
        match prev.real_server(&rs.name) {
            None => {
                out.push(change(Level::Info, format!("{} joined the lab ({})", rs.name, rs.addr)))
            }
            Some(old) if old.up && !rs.up => {
                out.push(change(Level::Error, format!("{} stopped answering", rs.name)));
            }
            Some(old) if !old.up && rs.up => {
                out.push(change(Level::Ok, format!("{} answers again", rs.name)));
            }
            Some(_) => {}
        }
    }
    for rs in &prev.lab.real_servers {
        if next.real_server(&rs.name).is_none() {
            out.push(change(Level::Warn, format!("{} left the lab", rs.name)));
        }
    }
}

fn service_changes(before: &ServiceView, after: &ServiceView, out: &mut Vec<Change>) {
    if before.scheduler != after.scheduler {
        let text = format!("scheduler {} → {}", before.scheduler, after.scheduler);
        out.push(change(Level::Info, text));
    }
    for dest in &after.real_servers {
        let Some(old) = before.dest(&dest.name) else {
            let text =
                format!("{} added to {} (weight {})", dest.name, service_label(after), dest.weight);
            out.push(change(Level::Info, text));
            continue;
        };
        if old.weight != dest.weight {
            out.push(match dest.weight {
                0 => change(
                    Level::Warn,
                    format!("{} drained (weight {} → 0)", dest.name, old.weight),
                ),
                w => change(Level::Info, format!("{} weight {} → {w}", dest.name, old.weight)),
            });
        }
    }
    for dest in &before.real_servers {
        if after.dest(&dest.name).is_none() {
            out.push(change(
                Level::Warn,
                format!("{} removed from {}", dest.name, service_label(after)),
            ));
        }
    }
    // Over the destinations in both: one that left the table (keepalived's
    // check, a removal) takes its count with it, which is no zeroing.
    let kept = |s: &ServiceView, other: &ServiceView| {
        s.real_servers
            .iter()
            .filter(|d| other.dest(&d.name).is_some())
            .map(|d| d.conns)
            .sum::<u64>()
    };
    if kept(after, before) < kept(before, after) {
        out.push(change(Level::Info, "counters zeroed"));
    }
}

/// What the dashboard's own traffic did that no command of the user's says:
/// a start, a new rate or mode comes from a command whose outcome is its
/// line already (one action, one line); a stop is news only when the run
/// ended on its own.
fn traffic_changes(prev: Option<&TrafficView>, next: Option<&TrafficView>, out: &mut Vec<Change>) {
    let (Some(prev), Some(next)) = (prev, next) else { return };
    if prev.running && !next.running && next.ended {
        out.push(change(Level::Warn, "traffic stopped: its run ended"));
    }
    if prev.errors == 0 && next.errors > 0 {
        out.push(change(Level::Error, format!("requests failing: {} errors", next.errors)));
    }
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
