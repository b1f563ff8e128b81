//! The lab: a preset file validated into a [`LabSpec`], planned as steps,
//! built into kernel state, recorded in a state file, and torn down.

pub mod build;
pub mod dataplane;
pub mod error;
pub mod export;
pub mod import;
pub mod lifecycle;
pub mod live;
pub mod model;
pub mod plan;
pub mod presets;
pub mod process;
pub mod schedulers;
pub mod servers;
pub mod spec;
pub mod state;
pub mod status;
pub mod teardown;
pub mod validate;

pub use error::{LabError, SpecError, SpecErrors};
pub use model::LabSpec;
