//! `lvslab tutorial`: the tutorial preset brought up bare, then the
//! dashboard with the guide open, which adds the missing pieces step by step.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use lvslab::ops::lifecycle::{self, Wiring};
use lvslab::ops::{LabError, dataplane};
use lvslab_core::lab::model::{Dataplane, LabName};
use lvslab_core::lab::presets::{self, Preset};
use lvslab_core::lab::validate;

use lvslab::session::dashboard::bring_up_owned;
use lvslab::session::{Session, show};

use super::tui::{load_theme, require_terminal};
use lvslab_core::lab::model::Forward;

/// The preset the NAT guide walks.
const PRESET: &str = "tutorial-nat.toml";
/// The preset the DR guide walks.
const DR_PRESET: &str = "dr.toml";
/// The preset the TUN guide walks.
const TUN_PRESET: &str = "tun.toml";

/// The tutorial's options.
pub struct Options {
    /// Which walk: NAT, DR or TUN.
    pub method: Forward,
    /// IPVS or topology only; `None` chooses from what the kernel has.
    pub dataplane: Option<Dataplane>,
    /// The lab's name.
    pub name: LabName,
    /// Leave the lab running on quit.
    pub keep: bool,
    /// Theme name or file.
    pub theme: Option<String>,
}

pub fn run(options: &Options) -> Result<ExitCode> {
    super::require_privilege("tutorial")?;
    // The DR and TUN walks exist only on IPVS: without it they are refused below.
    let dataplane = if options.method == Forward::Nat {
        dataplane::settle_walk(options.dataplane, &mut |why| eprintln!("{why}"))
    } else {
        options.dataplane.unwrap_or(Dataplane::Ipvs)
    };
    if dataplane == Dataplane::Nft {
        anyhow::bail!(
            "the guided walk teaches ipvsadm step by step and has no nftables steps yet; \
             run `lvslab up tutorial --dataplane nft` and read its rules with \
             `ip netns exec lvs-tutorial-director nft list table ip lvslab`, or use \
             `lvslab tutorial --dataplane none` on a kernel without IPVS"
        );
    }
    let (file, walk, switch) = match options.method {
        Forward::Nat => (PRESET, "", ""),
        Forward::Dr => (DR_PRESET, "direct routing", Forward::Dr.ipvsadm_switch()),
        Forward::Tun => (TUN_PRESET, "IP tunnelling", Forward::Tun.ipvsadm_switch()),
    };
    if options.method != Forward::Nat && dataplane != Dataplane::Ipvs {
        anyhow::bail!(
            "{walk} is an IPVS forwarding method (ipvsadm {switch}): the walk needs \
             --dataplane ipvs; on a kernel without IPVS, `lvslab tutorial --method nat \
             --dataplane none` walks the routing steps"
        );
    }
    let preset = named_preset(file, &options.name)?;
    require_terminal()?;
    let (theme, theme_error) = load_theme(options.theme.as_deref());
    super::runtime()?.block_on(async move {
        let name = preset.spec.name.clone();
        // An existing lab of that name is refused, never reused or removed.
        lifecycle::prepare(&preset.spec, dataplane, &mut |n| eprintln!("note: {n}"))
            .map_err(|e| match e {
                LabError::Refused(why) => {
                    anyhow!("{why}; pick another name with --name, or `lvslab down {name}`")
                }
                other => anyhow!("{other}"),
            })?;
        eprintln!(
            "bringing up lab '{name}' bare ({}) ...",
            match options.method {
                Forward::Dr => "no VIP on the real servers, ARP sysctls at 0, no IPVS rules",
                Forward::Tun => {
                    "tunl0 down and without the VIP, ARP sysctls at 0, rp_filter strict, no IPVS rules"
                }
                _ => "no gateways, no forwarding, no IPVS rules",
            }
        );
        let mut say = |line: String| eprintln!("  {line}");
        let state = bring_up_owned(preset, dataplane, Wiring::Bare, &mut say).await?;
        let session = Session {
            lab: Some(state),
            owned: true,
            picker: false,
            dataplane,
            keep: options.keep,
            guide: true,
        };
        show(session, theme, theme_error).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Preset `file` under lab name `name`, validated as a preset file
/// with that name would be (so a bad name gets the preset's own message).
fn named_preset(file: &str, name: &str) -> Result<Preset> {
    let source = presets::EMBEDDED
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, source)| *source)
        .ok_or_else(|| anyhow!("the tutorial preset is missing from this build"))?;
    let mut table: toml::Table = toml::from_str(source)?;
    table.insert("name".into(), toml::Value::String(name.to_string()));
    let origin = format!("labs/{file} (as --name {name})");
    let spec = validate::parse(&origin, &toml::to_string(&table)?).map_err(|e| anyhow!("{e}"))?;
    Ok(Preset { spec, origin })
}
