//! Platform services: logging, daemonizing.

#[macro_use]
pub mod log;
pub mod daemon;
