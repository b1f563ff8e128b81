//! The director's IPVS table, changed as a whole: programmed from the spec at
//! bring-up, flushed at teardown. Every call opens its socket inside the
//! director's namespace, so the host's table is never touched.

use super::error::LabError;
use crate::ipvs::{self, IpvsClient};
use crate::lab::model::LabSpec;
use crate::lab::table;

/// Fails with [`ipvs::Error::Unavailable`] if the kernel has no IPVS. Only
/// resolves the generic netlink family: no table is read or changed.
pub fn probe() -> Result<(), ipvs::Error> {
    IpvsClient::open().map(drop)
}

/// Adds every service of `spec` with its real servers to the director's table.
pub fn program(spec: &LabSpec) -> Result<(), LabError> {
    let mut client = IpvsClient::open_in(&spec.netns("director"))?;
    for (service, dests) in table::table(spec) {
        client.add_service(&service)?;
        client.add_destinations(&service.key, &dests)?;
    }
    Ok(())
}

/// Removes every service from the director's table (the namespace's
/// deletion would too; this is the explicit path, and it is tested).
pub fn clear(spec: &LabSpec) -> Result<(), LabError> {
    clear_in(spec, "director")
}

/// Removes every service from director `host`'s table.
pub fn clear_in(spec: &LabSpec, host: &str) -> Result<(), LabError> {
    Ok(IpvsClient::open_in(&spec.netns(host))?.flush()?)
}
