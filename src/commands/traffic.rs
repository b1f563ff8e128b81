//! `lvslab traffic LAB`: send requests to a service's VIP from the client's
//! namespace and report how the director spread them.

use lvslab_core::lab::model::hosts;
use std::collections::BTreeMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use lvslab::monitor::observe::CountsReader;
use lvslab::monitor::{KernelObserver, Observe, predict, verdict};
use lvslab::ops::state::{LabState, Stored};
use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::model::{LabSpec, Service};
use lvslab_core::lab::ranges;
use lvslab_sys::netns;
use lvslab_traffic::{
    BeforeConnect, ConnectionMode, Generator, Load, Profile, RequestKind, results,
};

/// What the command line says about the load (each unset field falls back
/// to the preset's `[traffic]` profile).
#[derive(Debug, Default, Clone)]
pub struct LoadArgs {
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
    pub rate: Option<f64>,
    pub concurrency: Option<u32>,
    pub hold_ms: Option<u64>,
    pub keep_alive: bool,
    /// Use this many of the client's addresses, one per connection in turn.
    pub clients: Option<u32>,
    /// Predict each connection's real server, then compare with the answers.
    pub predict: bool,
    /// Width of the report's timeline buckets (default 1 s).
    pub bucket: Option<Duration>,
}

pub fn run(
    lab: &LabName,
    args: &LoadArgs,
    to: Option<SocketAddrV4>,
    json: bool,
) -> Result<ExitCode> {
    super::require_privilege("traffic")?;
    let Some(state) = LabState::load(lab)? else {
        bail!("no lab '{lab}' is running (lvslab up {lab} builds it)");
    };
    let spec = &state.spec;
    let Some(svc) = target_service(spec, to) else {
        bail!("lab '{lab}' has no address service (-t/-u) to send traffic to")
    };
    let target = match to {
        Some(to) => {
            let in_lab = spec.services.iter().any(|s| s.vip == *to.ip())
                || spec.real_servers.iter().any(|rs| rs.addr == *to.ip());
            if !in_lab {
                bail!(
                    "{to} is not an address of lab '{lab}': give a VIP or a real server's address"
                );
            }
            SocketAddr::V4(to)
        }
        None if state.dataplane == Dataplane::None => bail!(
            "lab '{lab}' has no IPVS (dataplane none), so nothing answers on the VIP {}:{}; send to a \
             real server directly, e.g. --to {}:{}",
            svc.vip,
            svc.port,
            spec.real_servers[0].addr,
            svc.members.first().map_or(svc.port, |m| m.port)
        ),
        None => SocketAddr::from((svc.vip, svc.port)),
    };
    let through_service = target == SocketAddr::from((svc.vip, svc.port));
    let mut profile = profile(&spec.traffic, args)?;
    let mut predictor = if args.predict {
        if !through_service || state.dataplane != Dataplane::Ipvs {
            bail!(
                "--predict needs IPVS and traffic to a service's VIP (the director chooses there)"
            );
        }
        // One connection at a time: the order the director sees is then the
        // order of the answers, which rr, wrr and the counting schedulers need.
        profile.load = Load::Concurrency(1);
        let seen = KernelObserver::new(Duration::ZERO).with_conns().observe(&state);
        let Some(table) = seen.ipvs.table() else { bail!("cannot read the director's IPVS table") };
        let key = lvslab_ipvs::ServiceKey::Addr {
            proto: svc.protocol,
            addr: std::net::IpAddr::V4(svc.vip),
            port: svc.port,
        };
        let conns = seen.conns.table().unwrap_or_default();
        let name_of = |ip| lvslab::monitor::merge::name_of(spec, ip);
        let scheduler = table
            .iter()
            .find(|(s, _)| s.key == key)
            .map(|(s, _)| s.scheduler.clone())
            .unwrap_or_default();
        let predictor = predict::for_service(table, &key, conns, name_of)
            .map_err(|why| anyhow::anyhow!("cannot predict {}:{}: {why}", svc.vip, svc.port))?;
        let counts = predictor
            .counts_matter()
            .then(|| CountsReader::open(&state, key))
            .transpose()
            .context("open the director's IPVS to read connection counts")?;
        Some((predictor, scheduler, counts))
    } else {
        None
    };
    // The counts each connection was scheduled by, read just before it.
    let counts_read: Arc<Mutex<Vec<predict::Counts>>> = Arc::default();
    let before_connect =
        predictor.as_mut().and_then(|(_, _, reader)| reader.take()).map(|reader| {
            let (reader, read) = (Mutex::new(reader), Arc::clone(&counts_read));
            Box::new(move || {
                let counts = reader.lock().unwrap_or_else(PoisonError::into_inner).read();
                read.lock().unwrap_or_else(PoisonError::into_inner).push(counts);
            }) as BeforeConnect
        });
    if let Some(n) = args.clients {
        if n > spec.client_addresses {
            bail!(
                "lab '{lab}''s client owns {} address{}, so --clients {n} cannot be: lower it, or \
                 give the preset `[client] addresses = {n}` (see labs/tour-clients.toml)",
                spec.client_addresses,
                if spec.client_addresses == 1 { "" } else { "es" }
            );
        }
        if args.keep_alive {
            bail!(
                "--clients needs a new connection per request (each picks its client): drop --keep-alive"
            );
        }
        profile.sources =
            spec.client_addrs().into_iter().take(n as usize).map(std::net::IpAddr::V4).collect();
    }
    let report = netns::run_in(&spec.netns(hosts::CLIENT), move || -> Result<results::Report> {
        // Built here, so that every runtime thread, and every socket they
        // open, is inside the client's namespace.
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        runtime.block_on(async {
            Ok(Generator::start_watched(target, profile, before_connect)?.finish().await?)
        })
    })?
    .with_context(|| format!("traffic from {} to {target}", spec.netns(hosts::CLIENT)))?;

    let verdict = predictor.map(|(predictor, scheduler, _)| {
        let answers: Vec<(std::net::Ipv4Addr, String)> = report
            .sequence
            .iter()
            .filter_map(|(c, s)| match c {
                std::net::IpAddr::V4(c) => Some((*c, s.clone())),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        let cycle: usize = predictor.dests().len().max(1)
            * usize::try_from(predictor.dests().iter().map(|d| d.weight).max().unwrap_or(1))
                .unwrap_or(1);
        let counts = counts_read.lock().unwrap_or_else(PoisonError::into_inner);
        verdict::verify(
            predictor,
            &scheduler,
            &answers,
            (2 * cycle).min(answers.len() / 10),
            &counts,
        )
    });
    if json {
        let mut doc = serde_json::to_value(&report)?;
        if let Some(v) = &verdict {
            doc["prediction"] = serde_json::to_value(v)?;
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        // Expected shares only where the scheduler makes them exact.
        let share = svc.scheduler.exact_share().filter(|_| through_service);
        let weights: Option<BTreeMap<String, u32>> = share.map(|share| {
            svc.members.iter().map(|m| (m.name.clone(), share.part(m.weight))).collect()
        });
        if through_service {
            let proto = svc.protocol.to_string().to_uppercase();
            println!("{proto} {target} {} — from {}", svc.scheduler, spec.netns(hosts::CLIENT));
        }
        print!("{}", results::render_table(&report, weights.as_ref()));
        if args.clients.is_some_and(|n| n > 1) {
            print!("{}", results::render_clients(&report));
        }
        if let Some(v) = &verdict {
            print!("{}", prediction_text(v));
        }
    }
    Ok(if report.ok == report.requests { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

/// The verdict for people: agreement overall and per server, the first mismatches.
fn prediction_text(v: &verdict::Verdict) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let sync = if v.synced_on > 0 {
        format!(
            ", after synchronising {}'s position on the first {} answers",
            v.scheduler, v.synced_on
        )
    } else if v.recounted > 0 {
        format!(", from the counts read before each of {} connections", v.recounted)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "\nprediction ({}{sync}): {} of {} connections went where predicted ({:.1} %)",
        v.scheduler, v.agreed, v.compared, v.percent
    );
    let _ = writeln!(s, "  {:<10} {:>9} {:>9} {:>9}", "server", "predicted", "answered", "agreed");
    for p in &v.per_server {
        let _ = writeln!(
            s,
            "  {:<10} {:>9} {:>9} {:>9}",
            lvslab_core::lab::text::shown(&p.name),
            p.predicted,
            p.actual,
            p.agreed
        );
    }
    for m in &v.mismatches {
        let _ = writeln!(
            s,
            "  mismatch: connection {} from {}: predicted {}, answered by {}",
            m.index,
            m.client,
            lvslab_core::lab::text::shown(&m.predicted),
            lvslab_core::lab::text::shown(&m.actual)
        );
    }
    s
}

/// The service the traffic is about: the one listening on `to` when that is
/// a service's VIP:PORT (a lab may have several, e.g. one VIP each for dh),
/// else the first.
/// The service `--to` names, else the first one clients reach by address (a
/// firewall-mark service has no address of its own to send to).
fn target_service(spec: &LabSpec, to: Option<SocketAddrV4>) -> Option<&Service> {
    let mut addressable = spec.services.iter().filter(|s| s.addressable());
    to.and_then(|to| addressable.clone().find(|s| s.vip == *to.ip() && s.port == to.port()))
        .or_else(|| addressable.next())
}

/// The run: the command line over the lab's `[traffic]` profile. The
/// profile comes from the lab's record, which can be edited by hand, so its
/// numbers are checked against the same ranges as a preset's.
fn profile(preset: &lvslab_core::lab::model::TrafficProfile, args: &LoadArgs) -> Result<Profile> {
    let mut p = Profile::default();
    let recorded = match preset.duration_s {
        None => None,
        Some(s) => Some(
            ranges::DURATION_S
                .checked(s)
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .with_context(|| {
                    format!(
                        "the lab's traffic profile: {}",
                        ranges::DURATION_S.checked(s).unwrap_err()
                    )
                })?,
        ),
    };
    let duration = args.duration.or(recorded);
    p.duration = duration;
    p.requests = match (args.requests, args.duration) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) if duration.is_some() => None,
        (None, None) => preset.requests.or(Some(1000)),
    };
    p.load = match (args.rate, args.concurrency) {
        (Some(rate), _) => Load::Rate(rate),
        (None, Some(c)) => Load::Concurrency(c),
        (None, None) => preset.rate.map_or(Load::Concurrency(preset.concurrency), Load::Rate),
    };
    let hold = args.hold_ms.unwrap_or(preset.hold_ms);
    if hold > 0 {
        p.request = RequestKind::Hold(Duration::from_millis(hold));
    }
    if args.keep_alive || preset.keep_alive {
        p.connection = ConnectionMode::KeepAlive;
    }
    if let Some(bucket) = args.bucket {
        p.bucket = bucket;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_a_services_vip_and_port_picks_that_service() {
        let source = include_str!("../../labs/tour-dh.toml");
        let spec = lvslab_core::lab::validate::parse("tour-dh.toml", source).unwrap();
        let second = SocketAddrV4::new(spec.services[1].vip, spec.services[1].port);
        assert_eq!(target_service(&spec, Some(second)), Some(&spec.services[1]));
        assert_eq!(target_service(&spec, None), Some(&spec.services[0]));
        // A real server's address is not a service: the first is reported.
        let rs = SocketAddrV4::new(spec.real_servers[0].addr, 80);
        assert_eq!(target_service(&spec, Some(rs)), Some(&spec.services[0]));
    }

    /// A record edited by hand cannot make the run panic: a duration the
    /// clock cannot hold is refused with the range.
    #[test]
    fn a_recorded_duration_out_of_range_is_an_error_not_a_panic() {
        for bad in [1e20, f64::INFINITY, f64::NAN, -1.0, 0.0] {
            let preset = lvslab_core::lab::model::TrafficProfile {
                duration_s: Some(bad),
                ..Default::default()
            };
            let err = profile(&preset, &LoadArgs::default()).unwrap_err().to_string();
            assert!(err.contains("duration") && err.contains("out of range"), "{bad}: {err}");
        }
    }
}
