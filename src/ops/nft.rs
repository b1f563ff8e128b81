//! The director's nftables table for `--dataplane nft`: created from the
//! spec at bring-up, replaced in one transaction by live edits, deleted at
//! teardown. Every command runs inside the director's namespace, so the
//! host's ruleset is never touched.

use super::error::LabError;
use crate::nft::{self, exec, ruleset};
use lvslab_core::lab::model::LabSpec;
use lvslab_core::lab::model::hosts;
use lvslab_core::lab::nftables;

/// The table for `spec`, or why nftables cannot run it (before any change).
pub fn ruleset(spec: &LabSpec) -> Result<ruleset::Ruleset, LabError> {
    nftables::ruleset(spec).map_err(LabError::Refused)
}

/// Fails if nftables with NAT, numgen and jhash does not work here, or the
/// lab has a service nftables cannot run. Changes nothing.
pub fn check(spec: &LabSpec) -> Result<(), LabError> {
    ruleset(spec)?;
    Ok(exec::probe()?)
}

/// Creates the lab's table in the director's namespace.
pub fn program(spec: &LabSpec) -> Result<(), LabError> {
    Ok(exec::apply(&spec.netns(hosts::DIRECTOR), &ruleset(spec)?.create())?)
}

/// Turns the table `old` describes into the one `new` does, in one `nft -f`
/// transaction. Refused (nothing changed) if nftables cannot run `new`.
pub fn replace(old: &LabSpec, new: &LabSpec) -> Result<(), LabError> {
    let script = ruleset(new)?.replace(&nftables::ruleset(old).unwrap_or_default());
    Ok(exec::apply(&new.netns(hosts::DIRECTOR), &script)?)
}

/// Zeroes every counter of the lab's table.
pub fn zero(spec: &LabSpec) -> Result<(), LabError> {
    let script = format!("reset counters table {} {}\n", nft::FAMILY, nft::TABLE);
    exec::apply(&spec.netns(hosts::DIRECTOR), &script).map_err(Into::into)
}

/// Deletes the lab's table (the namespace's deletion would too; this is the
/// explicit path, and it is tested).
pub fn clear(spec: &LabSpec) -> Result<(), LabError> {
    Ok(exec::apply(&spec.netns(hosts::DIRECTOR), &ruleset::delete())?)
}
