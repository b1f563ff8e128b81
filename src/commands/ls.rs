//! `lvslab ls`: running labs, or the presets.

use std::process::ExitCode;

use anyhow::Result;
use lvslab::lab::presets;
use lvslab::lab::text::shown;
use lvslab::ops::state::LabState;
use lvslab::ops::{state, teardown};
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
    let mut labs = Vec::new();
    for name in state::lab_names()? {
        if let Some(s) = LabState::load(&name)? {
            labs.push(s);
        }
    }
    let recorded: Vec<&str> = labs.iter().map(|s| s.spec.name.as_str()).collect();
    let leftovers: Vec<String> = teardown::labs_with_namespaces()?
        .into_iter()
        .filter(|l| !recorded.contains(&l.as_str()))
        .collect();
    if json {
        let items: Vec<_> = labs
            .iter()
            .map(|s| {
                json!({ "lab": s.spec.name, "origin": s.origin, "dataplane": s.dataplane, "phase": s.phase,
                        "real_servers": s.spec.real_servers.len(), "created_unix": s.created_unix })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "labs": items, "leftovers": leftovers }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if labs.is_empty() && leftovers.is_empty() {
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
    for lab in &leftovers {
        let lab = shown(lab);
        println!(
            "{lab:<12} leftover  namespaces lvs-{lab}-* without a record: run `lvslab down {lab}`"
        );
    }
    Ok(ExitCode::SUCCESS)
}
