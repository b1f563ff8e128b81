//! A lab's IPVS table as `ipvsadm -Sn` rules: the table the spec describes
//! (what `up` programs), or any table read back from a director.

use crate::lab::model::LabSpec;
use crate::lab::table;
use lvslab_ipvs::{self as ipvs, Destination};

/// `ipvsadm -Sn` of the table `spec` describes.
pub fn from_spec(spec: &LabSpec) -> String {
    ipvs::rules::save(&table::table(spec))
}

/// `ipvsadm -Sn` of a table as the kernel lists it.
pub fn from_table(table: &[(ipvs::Service, Vec<Destination>)]) -> String {
    ipvs::rules::save(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;

    #[test]
    fn the_tutorial_exports_the_rules_ipvsadm_saved_from_it() {
        let spec = presets::load("tutorial").unwrap().spec;
        let real = include_str!("../../../../../tests/fixtures/ipvsadm/traffic.Sn.txt");
        assert_eq!(from_spec(&spec), real);
    }
}
