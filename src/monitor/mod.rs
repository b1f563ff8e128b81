//! What the dashboard and the read commands consume: immutable snapshots of a
//! running lab, and a bounded history of them.
//!
//! The monitor owns every kernel read; consumers only ever see these plain
//! data types ("snapshots in, commands out" in DESIGN.md), so the UI can be
//! driven by synthetic snapshots in tests.

pub mod gateways;
pub mod history;
pub mod poll;
pub mod sample;
pub mod snapshot;

pub use history::History;
pub use snapshot::{
    ConnMode, Dataplane, DestView, DirectorView, Forward, HostStats, HostView, LabView,
    RealServerView, ServiceView, Snapshot, TrafficView,
};
