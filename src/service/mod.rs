//! The library instance: context, vhosts, protocols and the per-thread
//! service loop.

pub mod confined;
pub mod context;
pub mod files;
pub mod pt;
pub mod registry;
pub mod source;
pub mod stats;
pub mod status;
pub mod vhost;

pub use crate::plat::clock::now_secs;
