//! A lab's IPVS table as `ipvsadm -Sn` rules: from the spec (what `up`
//! programs), or read back from a running director's kernel table.

use crate::ipvs::format::Table;
use crate::ipvs::{self, Destination, IpvsClient};
use crate::lab::dataplane;
use crate::lab::error::LabError;
use crate::lab::model::LabSpec;

/// The IPVS table `lvslab up` programs for `spec`.
pub fn table(spec: &LabSpec) -> Vec<(ipvs::Service, Vec<Destination>)> {
    spec.services
        .iter()
        .map(|svc| {
            let dests = svc.members.iter().filter_map(|m| dataplane::destination(spec, m));
            (dataplane::service(svc), dests.collect())
        })
        .collect()
}

/// `ipvsadm -Sn` of the table `spec` describes.
pub fn from_spec(spec: &LabSpec) -> String {
    ipvs::rules::save(&table(spec))
}

/// `ipvsadm -Sn` of the director of running lab `spec`, read from the kernel.
pub fn from_kernel(spec: &LabSpec) -> Result<String, LabError> {
    let table = IpvsClient::open_in(&spec.netns("director"))?.table()?;
    Ok(ipvs::rules::save(&table as &Table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;

    #[test]
    fn the_tutorial_exports_the_rules_ipvsadm_saved_from_it() {
        let spec = presets::load("tutorial").unwrap().spec;
        let real = include_str!("../../../tests/fixtures/ipvsadm/traffic.Sn.txt");
        assert_eq!(from_spec(&spec), real);
    }
}
