//! `lvslab compare LAB`: the same traffic through IPVS and nftables, side by
//! side (see `lvslab::ops::compare`).

use std::process::ExitCode;

use anyhow::Result;
use lvslab::ops::compare;
use lvslab_core::lab::presets;

pub fn run(lab: &str, requests: u64, json: bool) -> Result<ExitCode> {
    super::require_privilege("compare")?;
    let preset = presets::load(lab).map_err(|e| anyhow::anyhow!("{e}"))?;
    if preset.spec.ha.is_some() {
        anyhow::bail!(
            "lab '{}' has two directors under keepalived; compare builds one director with IPVS \
             and with nftables: try `lvslab compare tutorial`",
            preset.spec.name
        );
    }
    let runs = super::runtime()?.block_on(async {
        // Only the steps of the comparison; each bring-up's detail goes to the log.
        let mut say = |line: String| {
            if line.starts_with("ipvs:") || line.starts_with("nft:") {
                eprintln!("  {line}");
            } else {
                tracing::info!("{line}");
            }
        };
        compare::compare(&preset, requests, &mut say).await
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        println!(
            "lab '{}': {requests} connections through each dataplane (copies of the lab, one after the other)\n",
            preset.spec.name
        );
        print!("{}", compare::render(&runs));
        println!(
            "\nkernel CPU is machine-wide (the director's share cannot be told apart in namespaces);\n\
             compare the columns, not the absolute figures. Programming: one service with N real\n\
             servers, IPVS over netlink (pipelined), nftables as one `nft -f` transaction."
        );
    }
    Ok(if runs.iter().any(|r| r.skipped.is_none()) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
