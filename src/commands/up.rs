//! `lvslab up LAB`: build a lab and leave it running.
//!
//! Order matters for "leave the machine as it was": everything that can be
//! checked is checked before the first change (privilege, preset, IPVS,
//! leftovers), the record is written before the first namespace, and any
//! failure or signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) during the build
//! removes what was made.

use lvslab_core::lab::model::hosts;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use lvslab::ops::state::{LabState, Phase, Stored};
use lvslab::ops::{dataplane, lifecycle, servers, teardown};
use lvslab_core::lab::model::LabSpec;
use lvslab_core::lab::model::{Control, Dataplane};
use lvslab_core::lab::presets;

use super::signals::unless_signalled;

pub async fn run(
    lab: &str,
    dataplane: Option<Dataplane>,
    control: Option<Control>,
    no_sync: bool,
) -> Result<ExitCode> {
    super::require_privilege("up")?;
    let mut preset = presets::load(lab).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(control) = control {
        preset.spec.control = control;
    }
    if no_sync {
        let Some(ha) = preset.spec.ha.as_mut() else {
            bail!("--no-sync is for HA labs (two directors, e.g. `lvslab up ha --no-sync`)");
        };
        ha.sync = false;
    }
    // The command line's choice, else the preset's, else what this machine has.
    let dataplane = dataplane::settle(dataplane, &preset.spec, &mut |why| eprintln!("{why}"))
        .map_err(|e| anyhow::anyhow!("{e}. Nothing was changed."))?;
    let spec = preset.spec.clone();
    if let Some(code) = revive_running(&spec, dataplane)? {
        return Ok(code);
    }
    lifecycle::prepare(&spec, dataplane, &mut |note| eprintln!("note: {note}"))
        .map_err(|e| anyhow::anyhow!("{e}. Nothing was changed."))?;

    let started = Instant::now();
    let mut quiet = |line: String| tracing::info!("{line}");
    let outcome = match unless_signalled(lifecycle::bring_up(preset, dataplane, &mut quiet)).await?
    {
        Ok(result) => result.map_err(anyhow::Error::from),
        Err(signal) => Err(anyhow::anyhow!("{signal}")),
    };
    if let Err(err) = outcome {
        // bring_up rolled back its own failures; after a signal its future
        // was dropped mid-way, so remove what it made here.
        let cleanup = match teardown::remove(&spec.name) {
            Ok(_) => "rolled back: nothing of it is left".to_string(),
            Err(e) => format!("rollback failed too ({e}); run `lvslab down {}`", spec.name),
        };
        bail!("lab '{}' was not built: {err:#}; {cleanup}", spec.name);
    }
    print_summary(&spec, dataplane, started.elapsed().as_secs_f64() * 1000.0);
    Ok(ExitCode::SUCCESS)
}

/// `up` of a lab that is up: restart its real servers' processes that died
/// and say so. `None` if the lab is not up.
fn revive_running(spec: &LabSpec, dataplane: Dataplane) -> Result<Option<ExitCode>> {
    let name = &spec.name;
    let Some(mut state) = LabState::load(name)? else { return Ok(None) };
    if state.phase != Phase::Up || teardown::lab_namespaces(name)?.is_empty() {
        return Ok(None);
    }
    if state.dataplane != dataplane {
        bail!(
            "lab '{name}' is already up with dataplane {}; `lvslab down {name}` first to rebuild it with {dataplane}",
            state.dataplane
        );
    }
    let restarted = lvslab::ops::live::locked(&mut state, servers::start_missing)?;
    if restarted == 0 {
        println!(
            "lab '{name}' is already up and every real server answers; see `lvslab status {name}`"
        );
    } else {
        println!(
            "lab '{name}' is already up; restarted {restarted} real-server process(es) that had died"
        );
    }
    Ok(Some(ExitCode::SUCCESS))
}

fn print_summary(spec: &LabSpec, dataplane: Dataplane, ms: f64) {
    let name = &spec.name;
    println!(
        "lab '{name}' is up ({} hosts, dataplane {dataplane}) in {ms:.0} ms",
        spec.hosts().count()
    );
    println!(
        "  {:<9} {:<24} eth0 {}/{} via {}",
        hosts::CLIENT,
        spec.netns(hosts::CLIENT),
        spec.client,
        spec.client_prefix(),
        spec.director.vip
    );
    if let Some(ha) = spec.ha {
        for (i, (host, (c, s))) in
            lvslab_core::lab::model::HA_DIRECTORS.iter().zip(ha.own).enumerate()
        {
            println!(
                "  {:<9} {:<24} eth0 {c}, eth1 {s}, ip_forward=1, VRRP {} (priority {})",
                host,
                spec.netns(host),
                if i == 0 { "MASTER" } else { "BACKUP" },
                lvslab_core::lab::ha::PRIORITIES[i]
            );
        }
        println!(
            "  VRRP      the MASTER holds the VIP {} and the DIP {}; connection sync {}",
            spec.director.vip,
            spec.director.dip,
            if ha.sync { "on (lvs_sync_daemon on eth1)" } else { "off" }
        );
    } else {
        println!(
            "  {:<9} {:<24} eth0 {}/{} (VIP), br0 {}/{} (DIP), ip_forward=1",
            hosts::DIRECTOR,
            spec.netns(hosts::DIRECTOR),
            spec.director.vip,
            spec.client_prefix(),
            spec.director.dip,
            spec.servers_prefix()
        );
    }
    for rs in &spec.real_servers {
        let (prefix, gateway) = spec.placement(&rs.name);
        println!(
            "  {:<9} {:<24} eth0 {}/{prefix} via {gateway}",
            rs.name,
            spec.netns(&rs.name),
            rs.addr,
        );
    }
    for svc in &spec.services {
        let members: Vec<String> =
            svc.members.iter().map(|m| format!("{}:{} w{}", m.name, m.port, m.weight)).collect();
        println!("  service   {} {} -> {}", svc.label(), svc.scheduler, members.join(", "));
    }
    if spec.control == Control::Keepalived {
        for host in spec.directors() {
            println!(
                "  control   keepalived in {} owns the table: {} (HTTP check of /health every 1 s)",
                spec.netns(host),
                lvslab::ops::state::config_path_of(name, host).display()
            );
        }
    }
    if dataplane == Dataplane::None {
        println!("  (dataplane none: no IPVS; the director routes between the two networks)");
    }
    let first = spec.real_servers.first().map(|rs| rs.addr.to_string()).unwrap_or_default();
    println!("\nTry:");
    println!("  ip netns exec {} ping -c1 {first}", spec.netns(hosts::CLIENT));
    if dataplane.balances()
        && let Some(svc) = spec.services.iter().find(|s| s.addressable())
    {
        println!("  ip netns exec {} curl http://{}:{}/", spec.netns("client"), svc.vip, svc.port);
        if dataplane == Dataplane::Nft {
            println!("  ip netns exec {} nft list table ip lvslab", spec.netns(hosts::DIRECTOR));
            println!("  ip netns exec {} conntrack -L", spec.netns(hosts::DIRECTOR));
        } else {
            println!("  ip netns exec {} ipvsadm -Ln", spec.netns(spec.directors()[0]));
        }
    }
    println!("  lvslab status {name}");
    if spec.ha.is_some() {
        println!("  lvslab set {name} --fail director1    # then --recover director1");
    }
    println!("  lvslab down {name}");
}
