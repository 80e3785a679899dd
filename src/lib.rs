//! libwebsockets 2.0 (`libwebsockets.so.8`) in Rust.
//!
//! `ffi` is the C ABI and the only place that touches pointers from C; the
//! rest is the safe core it calls. See README.md for the architecture.

// First, so that its logging macros are visible everywhere below.
#[macro_use]
pub mod plat;

pub mod client;
pub mod conn;
pub mod ext;
pub mod ffi;
pub mod http;
pub mod lwsws;
pub mod service;
pub mod tls;
pub mod util;
pub mod ws;
