//! The dashboard's IO side: it brings a lab up when the picker asks, polls
//! the lab into snapshots on a thread of its own, and applies the user's
//! commands to the kernel. The render loop only ever sees its channels.

use lvslab_core::lab::model::hosts;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::event::BackendSide;
use super::guide;
use super::traffic::Traffic;
use crate::monitor::poll::Poller;
use crate::ops::state::LabState;
use crate::ops::{self, lifecycle};
use lvslab_core::lab::edit::Edit;
use lvslab_core::lab::model::{Dataplane, LabName};
use lvslab_core::lab::presets;
use lvslab_tui::command::{BackendEvent, Command, GuideReport, GuideRequest};

/// How often the lab is polled into a snapshot (the UI draws at most at
/// its frame rate; IPVS counters themselves move every ~2 s).
pub const POLL_PERIOD: Duration = Duration::from_millis(100);
/// The rate the dashboard's traffic starts at, in new connections per second.
pub const DEFAULT_RATE: u32 = 20;

/// The lab the dashboard shows, shared by the poll thread and the commands.
type Shared = Arc<Mutex<LabState>>;

/// Runs the backend until `Quit` or cancellation. `lab` is the lab to
/// attach to, or `None` to wait for the picker's `BringUp` (which names the
/// dataplane chosen in the picker). Returns the lab
/// it ended with (the caller decides whether to tear it down).
pub async fn run(side: BackendSide, lab: Option<LabState>, start_traffic: bool) -> Option<LabName> {
    run_with_guide(side, lab, start_traffic, false).await
}

/// [`run`], opening the tutorial guide once the lab is ready when `guide`.
pub async fn run_with_guide(
    side: BackendSide,
    lab: Option<LabState>,
    start_traffic: bool,
    guide: bool,
) -> Option<LabName> {
    run_owned(side, lab, start_traffic, guide, None).await
}

/// [`run_with_guide`], writing the name of a lab the picker brings up into
/// `owned` before the first change, so the session can tear it down even if
/// this task panics.
pub async fn run_owned(
    mut side: BackendSide,
    lab: Option<LabState>,
    start_traffic: bool,
    guide: bool,
    owned: Option<Arc<Mutex<Option<LabName>>>>,
) -> Option<LabName> {
    let events = side.events.clone();
    let mut start_traffic = start_traffic;
    let state = match lab {
        Some(state) => state,
        None => {
            start_traffic = true;
            loop {
                let command = tokio::select! {
                    c = side.commands.recv() => c?,
                    () = side.cancel.cancelled() => return None,
                };
                match command {
                    Command::BringUp { preset, dataplane } => {
                        let preset = preset.to_string_lossy();
                        if let (Some(slot), Ok(p)) = (&owned, presets::load(&preset)) {
                            *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                                Some(p.spec.name);
                        }
                        match bring_up(&preset, dataplane, &events).await {
                            Ok(state) => break state,
                            Err(e) => {
                                let _ = events.send(BackendEvent::BringUpFailed(e));
                            }
                        }
                    }
                    Command::Quit => return None,
                    _ => {}
                }
            }
        }
    };
    let name = state.spec.name.clone();
    let shared: Shared = Arc::new(Mutex::new(state));
    let traffic = traffic_for(&shared, &events);
    let traffic = Arc::new(Mutex::new(traffic));
    let poll_stop = CancellationToken::new();
    let poller =
        spawn_poller(shared.clone(), traffic.clone(), side.snapshots.clone(), poll_stop.clone());
    let _ = events.send(BackendEvent::LabReady);
    if start_traffic {
        apply(Command::StartTraffic, &shared, &traffic, &events).await;
    }
    if guide {
        apply(Command::Guide(GuideRequest::Open), &shared, &traffic, &events).await;
    }
    loop {
        let command = tokio::select! {
            c = side.commands.recv() => c,
            () = side.cancel.cancelled() => None,
        };
        match command {
            None | Some(Command::Quit) => break,
            Some(command) => apply(command, &shared, &traffic, &events).await,
        }
    }
    poll_stop.cancel();
    let _ = tokio::task::spawn_blocking(move || poller.join()).await;
    drop(traffic);
    Some(name)
}

async fn bring_up(
    preset: &str,
    dataplane: Dataplane,
    events: &UnboundedSender<BackendEvent>,
) -> Result<LabState, String> {
    let preset = presets::load(preset).map_err(|e| e.to_string())?;
    let step = |line: String| {
        let _ = events.send(BackendEvent::Step(line));
    };
    let mut say = step;
    lifecycle::prepare(&preset.spec, dataplane, &mut say).map_err(|e| e.to_string())?;
    let mut say = |line: String| {
        let _ = events.send(BackendEvent::Step(line));
    };
    lifecycle::bring_up(preset, dataplane, &mut say).await.map_err(|e| e.to_string())
}

/// The generator for the lab's first service. Without IPVS nothing answers
/// on the VIP, so it sends to the first real server directly (and says so).
fn traffic_for(shared: &Shared, events: &UnboundedSender<BackendEvent>) -> Option<Traffic> {
    let state = shared.lock().expect("lab state lock");
    let svc = state.spec.services.iter().find(|s| s.addressable())?;
    let target = match state.dataplane {
        Dataplane::Ipvs | Dataplane::Nft => SocketAddr::from((svc.vip, svc.port)),
        Dataplane::None => {
            let member = svc.members.first()?;
            let rs = state.spec.real_server(&member.name)?;
            let _ = events.send(BackendEvent::Applied(Ok(format!(
                "no IPVS (dataplane none): traffic goes to {} {}:{} directly, not through the VIP",
                rs.name, rs.addr, member.port
            ))));
            SocketAddr::from((rs.addr, member.port))
        }
    };
    let rate = state.spec.traffic.rate.map_or(DEFAULT_RATE, |r| r.round().max(1.0) as u32);
    match Traffic::new(&state.spec.netns(hosts::CLIENT), target, rate) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!("no traffic generator: {e}");
            None
        }
    }
}

/// The poll thread: a snapshot every [`POLL_PERIOD`] until stopped.
fn spawn_poller(
    shared: Shared,
    traffic: Arc<Mutex<Option<Traffic>>>,
    snapshots: tokio::sync::watch::Sender<Option<Arc<crate::monitor::Snapshot>>>,
    stop: CancellationToken,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut poller = Poller::new();
        while !stop.is_cancelled() {
            let state = shared.lock().expect("lab state lock").clone();
            let view = traffic.lock().expect("traffic lock").as_ref().map(Traffic::view);
            let snapshot = poller.poll(&state, view);
            snapshots.send_replace(Some(Arc::new(snapshot)));
            std::thread::sleep(POLL_PERIOD);
        }
    })
}

/// Applies one command and reports what happened in the events log.
async fn apply(
    command: Command,
    shared: &Shared,
    traffic: &Arc<Mutex<Option<Traffic>>>,
    events: &UnboundedSender<BackendEvent>,
) {
    let result = match command {
        Command::StartTraffic => with_traffic(traffic, Traffic::start),
        Command::StopTraffic => with_traffic(traffic, |t| {
            t.stop();
            Ok("traffic stopped".into())
        }),
        Command::SetRate(rate) => with_traffic(traffic, |t| t.set_rate(rate)),
        Command::ToggleConnMode => with_traffic(traffic, Traffic::toggle_mode),
        Command::Guide(request) => {
            let state = shared.lock().expect("lab state lock").clone();
            let report = tokio::task::spawn_blocking(move || guide::report(request, &state)).await;
            let report = report.unwrap_or_else(|e| GuideReport {
                steps: Err(format!("the guide failed: {e}")),
                status: Vec::new(),
                effect: Some((request, Err(format!("the guide failed: {e}")))),
            });
            let _ = events.send(BackendEvent::Guide(report));
            return;
        }
        other => {
            let shared = shared.clone();
            match tokio::task::spawn_blocking(move || edit(other, &shared)).await {
                Ok(result) => result,
                Err(e) => Err(format!("the change failed: {e}")),
            }
        }
    };
    let _ = events.send(BackendEvent::Applied(result));
}

fn with_traffic(
    traffic: &Arc<Mutex<Option<Traffic>>>,
    f: impl FnOnce(&mut Traffic) -> Result<String, String>,
) -> Result<String, String> {
    match traffic.lock().expect("traffic lock").as_mut() {
        Some(t) => f(t),
        None => Err("this lab has no service to send traffic to".into()),
    }
}

/// Kernel and process changes, on a blocking thread: an [`Edit`] applied
/// by `ops::edit`, as `lvslab set` applies it (the `a` key first picks the
/// new server's name, address and port).
fn edit(command: Command, shared: &Shared) -> Result<String, String> {
    let mut state = shared.lock().expect("lab state lock").clone();
    let edit = match command {
        Command::Edit(edit) => edit,
        Command::AddServer => {
            let (name, addr, port) = next_server(&state)?;
            Edit::AddServer { name, addr, port, weight: 1 }
        }
        Command::BringUp { .. }
        | Command::Guide(_)
        | Command::Quit
        | Command::StartTraffic
        | Command::StopTraffic
        | Command::SetRate(_)
        | Command::ToggleConnMode => {
            return Ok(String::new());
        }
    };
    // `edit` runs on a blocking thread of the session's runtime, which can
    // drive the async rtnetlink work of an added server from here.
    let message = tokio::runtime::Handle::current()
        .block_on(ops::edit::apply(&mut state, &edit))
        .map_err(|e| e.to_string())?;
    *shared.lock().expect("lab state lock") = state;
    Ok(message)
}

/// A name, a free address after the last real server, and the port the
/// others listen on, for the `a` key.
fn next_server(state: &LabState) -> Result<(String, std::net::Ipv4Addr, u16), String> {
    let spec = &state.spec;
    let name = (1..)
        .map(|i| format!("rs{i}"))
        .find(|n| spec.real_server(n).is_none())
        .expect("a free name");
    let used: Vec<u32> = spec
        .real_servers
        .iter()
        .map(|r| u32::from(r.addr))
        .chain([u32::from(spec.director.dip)])
        .collect();
    let start = used.iter().max().copied().unwrap_or(u32::from(spec.servers_net.network())) + 1;
    let addr = (start..u32::from(spec.servers_net.broadcast()))
        .map(std::net::Ipv4Addr::from)
        .find(|a| !used.contains(&u32::from(*a)))
        .ok_or_else(|| format!("no free address left in {}", spec.servers_net))?;
    let port = spec.services.first().and_then(|s| s.members.first().map(|m| m.port)).unwrap_or(80);
    Ok((name, addr, port))
}
