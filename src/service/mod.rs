//! The library instance: context, vhosts, protocols and the per-thread
//! service loop.

pub mod confined;
pub mod context;
pub mod files;
pub mod pt;
pub mod vhost;

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock seconds, the granularity of lws timeouts.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
