//! Doing, undoing and observing the guide's steps on a live lab. Blocking
//! (netlink, sysctl, HTTP): the dashboard's backend calls it on a blocking
//! thread, never on the render path. Every call works on the kernel as it
//! is, so the guide also follows changes made from another shell.

use std::net::SocketAddr;
use std::time::Duration;

use super::steps::{Action, Status, Step, status};
use crate::ipvs::{self, IpvsClient};
use crate::lab::model::Dataplane;
use crate::lab::table;
use crate::monitor::{KernelObserver, Observation};
use crate::net::rtnl::{self, Rtnl};
use crate::net::{netns, sysctl};
use crate::ops::state::LabState;
use crate::traffic::{self, ErrorKind};

/// Requests the curl step sends: with weights 3:2, one full wrr round.
pub const CURL_REQUESTS: usize = 5;
/// How long one request may take before the step says it failed.
pub const CURL_TIMEOUT: Duration = Duration::from_secs(3);

type Outcome = Result<Vec<String>, String>;

/// Whether a step is being done or undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Put the step's change in place.
    Do,
    /// Take it out again.
    Undo,
}

/// What the lab looks like now, through the one observer.
fn observe(state: &LabState) -> Observation {
    KernelObserver::once(state)
}

/// Each step's status now.
pub fn statuses(steps: &[Step], state: &LabState) -> Vec<Status> {
    let seen = observe(state);
    steps.iter().map(|s| status(s, &state.spec, &seen)).collect()
}

/// Does or undoes `step` and returns the effect to show: the route lines,
/// the sysctl, the IPVS table, the answers.
pub fn perform(step: &Step, state: &LabState, direction: Direction) -> Outcome {
    let undo = direction == Direction::Undo;
    let before = status(step, &state.spec, &observe(state));
    if let Status::Unavailable(why) = &before {
        return Err(format!("{}: {why}", step.title));
    }
    if undo && !step.action.changes_lab() {
        return Err(format!("nothing to undo: '{}' changes nothing", step.title));
    }
    let wanted = if undo { Status::Todo } else { Status::Done };
    let mut lines = Vec::new();
    if step.action.changes_lab() && before == wanted {
        lines.push(if undo { "already not in place".into() } else { "already in place".into() });
    } else if step.action.changes_lab() {
        change(&step.action, state, direction)?;
    }
    lines.extend(effect(&step.action, state)?);
    Ok(lines)
}

fn change(action: &Action, state: &LabState, direction: Direction) -> Result<(), String> {
    let undo = direction == Direction::Undo;
    match action {
        Action::RsGateway => gateways(state, undo),
        Action::IpForward => {
            let value = if undo { "0" } else { "1" };
            sysctl::write(&state.spec.netns("director"), "net.ipv4.ip_forward", value)
                .map_err(|e| e.to_string())
        }
        Action::IpvsService => service(state, undo),
        Action::IpvsRealServer(name) => destination(state, name, undo),
        Action::Explain | Action::ShowTable | Action::Curl | Action::SaveRules => Ok(()),
    }
}

/// Every real server's default route: via the DIP, or none.
fn gateways(state: &LabState, undo: bool) -> Result<(), String> {
    let spec = &state.spec;
    rtnl::block_on(async {
        for rs in &spec.real_servers {
            let mut conn = Rtnl::connect(&spec.netns(&rs.name))?;
            match (undo, conn.default_gateway().await?) {
                (false, None) => conn.add_default_route(spec.director.dip).await?,
                (true, Some(gw)) => conn.del_default_route(gw).await?,
                _ => {}
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// The first service, empty (`ipvsadm -A`), or removed (`ipvsadm -D`).
fn service(state: &LabState, undo: bool) -> Result<(), String> {
    let svc = state.spec.services.first().ok_or("this lab has no virtual service")?;
    let mut client = director_ipvs(state)?;
    if undo {
        client.del_service(&table::key(svc))
    } else {
        let mut empty = svc.clone();
        empty.members.clear();
        client.add_service(&table::service(&empty))
    }
    .map_err(|e| e.to_string())
}

/// Real server `name` in the first service (`ipvsadm -a ... -m -w`), or out of it.
fn destination(state: &LabState, name: &str, undo: bool) -> Result<(), String> {
    let spec = &state.spec;
    let svc = spec.services.first().ok_or("this lab has no virtual service")?;
    let member = svc
        .members
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| format!("{name} is not a real server of the service"))?;
    let dest = table::destination(spec, member).ok_or("unknown real server")?;
    let mut client = director_ipvs(state)?;
    if undo {
        client.del_destination(&table::key(svc), dest.addr, dest.port)
    } else {
        client.add_destination(&table::key(svc), &dest)
    }
    .map_err(|e| match e {
        ipvs::Error::NoSuchService { .. } if !undo => {
            format!("{e} (do the virtual service step first)")
        }
        other => other.to_string(),
    })
}

/// What to show after a step: the state it is about, read back.
fn effect(action: &Action, state: &LabState) -> Outcome {
    let spec = &state.spec;
    match action {
        Action::Explain => Ok(Vec::new()),
        Action::RsGateway => {
            let seen = observe(state);
            Ok(spec
                .real_servers
                .iter()
                .map(|rs| match seen.gateway(&rs.name) {
                    Some(gw) => format!("{}: default via {gw} dev eth0", rs.name),
                    None => format!("{}: no default route", rs.name),
                })
                .collect())
        }
        Action::IpForward => {
            let value = sysctl::read(&spec.netns("director"), "net.ipv4.ip_forward")
                .map_err(|e| e.to_string())?;
            Ok(vec![format!("net.ipv4.ip_forward = {value}")])
        }
        Action::IpvsService | Action::IpvsRealServer(_) | Action::ShowTable => {
            let mut client = director_ipvs(state)?;
            let info = client.info().map_err(|e| e.to_string())?;
            let table = client.table().map_err(|e| e.to_string())?;
            Ok(ipvs::format::list(&info, &table).lines().map(str::to_string).collect())
        }
        Action::SaveRules => {
            let table = director_ipvs(state)?.table().map_err(|e| e.to_string())?;
            let rules = ipvs::rules::save(&table);
            Ok(if rules.is_empty() {
                vec!["(the table is empty)".into()]
            } else {
                rules.lines().map(str::to_string).collect()
            })
        }
        Action::Curl => curl(state),
    }
}

/// A few requests from the client, each on a new connection; stops at the
/// first failure and says what it means.
fn curl(state: &LabState) -> Outcome {
    let target = http_target(state)?;
    let client = state.spec.netns("client");
    let mut lines = Vec::new();
    for _ in 0..CURL_REQUESTS {
        match netns::run_in(&client, || get(target)).map_err(|e| e.to_string())? {
            Ok(server) => lines.push(format!("GET http://{target}/ -> answered by {server}")),
            Err(e) => {
                lines.push(format!("GET http://{target}/ -> {e}"));
                return Err(format!(
                    "{}; is every earlier step done (gateways, forwarding, service)?",
                    lines.join("; ")
                ));
            }
        }
    }
    Ok(lines)
}

/// Where the client sends: the VIP, or without IPVS the first real server.
fn http_target(state: &LabState) -> Result<SocketAddr, String> {
    let spec = &state.spec;
    let svc = spec.services.first().ok_or("this lab has no virtual service")?;
    Ok(match state.dataplane {
        Dataplane::Ipvs | Dataplane::Nft => SocketAddr::from((svc.vip, svc.port)),
        Dataplane::None => {
            let member = svc.members.first().ok_or("the service has no real server")?;
            let rs = spec.real_server(&member.name).ok_or("unknown real server")?;
            SocketAddr::from((rs.addr, member.port))
        }
    })
}

/// One request from the calling thread's namespace, with [`CURL_TIMEOUT`];
/// the name of the real server that answered, or what went wrong.
fn get(target: SocketAddr) -> Result<String, String> {
    // The timer must be made inside the runtime: build the future in block_on.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = runtime
        .block_on(async { tokio::time::timeout(CURL_TIMEOUT, traffic::one_request(target)).await });
    match answer {
        Ok(Ok(server)) => Ok(server),
        Ok(Err(ErrorKind::Refused)) => Err("no connection (refused)".into()),
        Ok(Err(ErrorKind::Reset)) => Err("connection reset before a full answer".into()),
        Ok(Err(ErrorKind::Timeout)) | Err(_) => {
            Err(format!("no answer within {} s", CURL_TIMEOUT.as_secs()))
        }
        Ok(Err(ErrorKind::Other)) => Err("an answer that is not a real server's".into()),
    }
}

fn director_ipvs(state: &LabState) -> Result<IpvsClient, String> {
    if state.dataplane != Dataplane::Ipvs {
        return Err("needs IPVS (this lab runs with dataplane none)".into());
    }
    IpvsClient::open_in(&state.spec.netns("director")).map_err(|e| e.to_string())
}
