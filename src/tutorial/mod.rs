//! The guided walks on a live lab: [`lvslab_core::tutorial`]'s steps, done
//! and undone on the kernel by [`live`].

pub mod live;

pub use lvslab_core::tutorial::*;
