//! The value parsers the command line shares: lab names, presets, rates
//! and durations, each refused with what to write instead.

use lvslab_core::lab::model::LabName;
use lvslab_core::lab::ranges;

/// A timeline bucket: a duration of at least 100 ms.
pub(super) fn parse_bucket(s: &str) -> Result<std::time::Duration, String> {
    let d = ranges::parse_duration(s)?;
    if d < lvslab_traffic::profile::MIN_BUCKET {
        return Err(format!("bucket {s} is too narrow: use 100ms or more"));
    }
    Ok(d)
}

/// A lab's name, checked by the preset validator's own rule before any
/// command builds a path or a namespace name from it.
pub(super) fn lab_name(s: &str) -> Result<LabName, String> {
    LabName::parse(s)
}

/// A running lab or a preset: a path (it contains '/' or ends in `.toml`)
/// is taken as a file; any other word must be a lab or preset name.
pub(super) fn lab_or_preset(s: &str) -> Result<String, String> {
    if lvslab_core::lab::presets::is_path(s) {
        return Ok(s.to_string());
    }
    lab_name(s).map(String::from).map_err(|e| {
        format!(
            "{e}; a preset file is named by a path (with a '/' or ending in .toml), e.g. ./{}",
            lvslab_core::lab::text::shown(s)
        )
    })
}

/// `--rate`: new connections per second, in range.
pub(super) fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|_| format!("'{s}' is not a rate: {}", ranges::RATE.help))?;
    ranges::RATE.checked(rate)
}
