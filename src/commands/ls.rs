//! `lvslab ls`: running labs, or the presets.

use std::process::ExitCode;

use anyhow::Result;
use lvslab::ops::{state, teardown};
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::presets;
use lvslab_core::lab::text::shown;
use serde_json::json;

pub fn run(show_presets: bool, json: bool) -> Result<ExitCode> {
    if show_presets {
        let list = presets::embedded();
        if json {
            let items: Vec<_> = list
                .iter()
                .map(|p| json!({ "name": p.spec.name, "file": p.origin, "description": p.spec.description }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        } else {
            for p in &list {
                let (name, origin) = (shown(&p.spec.name), shown(&p.origin));
                println!("{name:<12} {origin:<24} {}", shown(&p.spec.description));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    // A record that cannot be read is listed as broken; the others still are.
    let mut labs = Vec::new();
    let mut broken = Vec::new();
    for (name, record) in state::list()? {
        match record {
            Ok(s) => labs.push(s),
            Err(why) => broken.push((name, why)),
        }
    }
    let recorded: Vec<&str> = labs
        .iter()
        .map(|s| s.spec.name.as_str())
        .chain(broken.iter().map(|(n, _)| n.as_str()))
        .collect();
    let foreign = teardown::foreign_namespaces()?;
    let leftovers: Vec<LabName> = teardown::labs_with_namespaces()?
        .into_iter()
        .filter(|l| !recorded.contains(&l.as_str()))
        .filter(|l| {
            teardown::lab_namespaces(l).unwrap_or_default().iter().any(|ns| !foreign.contains(ns))
        })
        .collect();
    if json {
        let items: Vec<_> = labs
            .iter()
            .map(|s| {
                json!({ "lab": s.spec.name, "origin": s.origin, "dataplane": s.dataplane, "phase": s.phase,
                        "real_servers": s.spec.real_servers.len(), "created_unix": s.created_unix })
            })
            .collect();
        let broken: Vec<_> = broken
            .iter()
            .map(|(lab, why)| json!({ "lab": lab, "record": state::path(lab), "error": why }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "labs": items,
                "broken": broken,
                "leftovers": leftovers,
                "foreign_namespaces": foreign,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if labs.is_empty() && broken.is_empty() && leftovers.is_empty() && foreign.is_empty() {
        println!("no labs are running (lvslab ls --presets lists what `lvslab up` can build)");
    }
    for s in &labs {
        println!(
            "{:<12} {:<9} dataplane {:<5} {} real servers  ({})",
            shown(&s.spec.name),
            format!("{:?}", s.phase).to_lowercase(),
            s.dataplane.to_string(),
            s.spec.real_servers.len(),
            shown(&s.origin)
        );
    }
    for (lab, why) in &broken {
        println!(
            "{lab:<12} broken    its record cannot be read ({why}): `lvslab down {lab}` removes the lab"
        );
    }
    for lab in &leftovers {
        let lab = shown(lab);
        println!(
            "{lab:<12} leftover  namespaces lvs-{lab}-* without a record: run `lvslab down {lab}`"
        );
    }
    for ns in &foreign {
        let removable = teardown::force_removes(ns);
        let ns = shown(ns);
        let how = if removable {
            format!("`ip netns delete {ns}` or `lvslab down --all --force` removes it")
        } else {
            format!("it names no lab, so only `ip netns delete {ns}` removes it")
        };
        println!(
            "{ns:<24} not lvslab's: lvslab did not make this namespace and leaves it alone; {how}"
        );
    }
    Ok(ExitCode::SUCCESS)
}
