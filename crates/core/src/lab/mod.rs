//! What a lab is, with no I/O: a preset file validated into a [`LabSpec`],
//! the plan that builds its topology (printable as `ip` commands), the IPVS
//! table it describes, the scheduler list, and its export to and import
//! from other formats, and its record as `/run/lvslab` keeps it. Operating a
//! lab on the kernel is the binary's `ops`.

pub mod dataplane;
pub mod edit;
pub mod error;
pub mod export;
pub mod ha;
pub mod import;
pub mod input;
pub mod leaves;
pub mod model;
pub mod name;
pub mod nat;
pub mod neighbours;
pub mod nftables;
pub mod plan;
pub mod presets;
pub mod ranges;
pub mod record;
pub mod roles;
pub mod routed;
pub mod schedulers;
pub mod spec;
pub mod step;
pub mod sysctl;
pub mod table;
pub mod text;
pub mod validate;

pub use error::{SpecError, SpecErrors};
pub use model::LabSpec;
