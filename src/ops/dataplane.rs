//! The machine probed for [`lvslab_core::lab::dataplane::choose`]: whether
//! the kernel has IPVS and whether `nft` runs. The choice itself is core's.

use lvslab_core::lab::dataplane::{self, Choice, Machine};
use lvslab_core::lab::model::{Control, Dataplane, LabSpec};
use lvslab_ipvs::probe::{self, Support};

use super::error::LabError;

/// Why this kernel cannot balance with IPVS, or `None` when it can (a
/// module not loaded yet is loaded on first use).
pub fn ipvs_missing(support: &Support) -> Option<String> {
    match support {
        Support::Loaded | Support::NotLoaded => None,
        Support::ModuleMissing => {
            Some("this kernel has IPVS as a module, but no ip_vs module is installed".into())
        }
        Support::Absent => Some("this kernel has no IPVS (CONFIG_IP_VS is not set)".into()),
    }
}

/// This machine, probed.
pub fn machine() -> Machine {
    Machine { ipvs_missing: ipvs_missing(&probe::support()), nft: crate::nft::exec::has_nft() }
}

/// The dataplane for `spec`: `given` (the command line's), else the
/// preset's, else chosen from what this machine has, with its line said.
pub fn settle(
    given: Option<Dataplane>,
    spec: &LabSpec,
    say: &mut dyn FnMut(String),
) -> Result<Dataplane, LabError> {
    if let Some(dataplane) = given.or(spec.dataplane) {
        return Ok(dataplane);
    }
    let needs = (spec.control == Control::Keepalived).then_some("keepalived programs IPVS");
    let Choice { dataplane, why } =
        dataplane::choose(&machine(), needs).map_err(LabError::Refused)?;
    say(why);
    Ok(dataplane)
}

/// The guided walk's dataplane: `given`, else chosen for the walk.
pub fn settle_walk(given: Option<Dataplane>, say: &mut dyn FnMut(String)) -> Dataplane {
    given.unwrap_or_else(|| {
        let Choice { dataplane, why } = dataplane::choose_for_walk(&machine());
        say(why);
        dataplane
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loadable_module_counts_as_ipvs() {
        assert_eq!(ipvs_missing(&Support::Loaded), None);
        assert_eq!(ipvs_missing(&Support::NotLoaded), None);
        assert!(ipvs_missing(&Support::Absent).unwrap().contains("CONFIG_IP_VS"));
        assert!(ipvs_missing(&Support::ModuleMissing).is_some());
    }
}
