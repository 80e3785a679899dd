//! The C ABI: `#[repr(C)]` types, C enums and every exported function.
//!
//! Conventions every export follows:
//! - the body runs inside [`guard`], so a panic is logged with `lwsl_err` and
//!   becomes the function's documented failure value instead of unwinding
//!   into C;
//! - pointers from C are checked for NULL (and lengths for sign) before use,
//!   and a bad argument gets the failure value;
//! - memory C lends us (info structs, protocol arrays, strings) is borrowed for
//!   the lifetime the API documents; memory we hand out (`struct lws *`, user
//!   data, returned strings) stays ours to free;
//! - a function whose behaviour belongs to a later milestone says so through
//!   [`not_yet!`] and returns the failure value; the README's compatibility
//!   table lists each of them.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs an export's body, turning a panic into `failure`.
pub(crate) fn guard<T>(name: &str, failure: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            lwsl_err!("{name}: internal error, returning failure");
            failure
        }
    }
}

/// An export that is declared and linkable but not implemented yet: logs an
/// error naming it and returns the API's failure value.
macro_rules! not_yet {
    ($name:literal) => {
        lwsl_err!("{}: not implemented yet", $name)
    };
    ($name:literal, $failure:expr) => {{
        lwsl_err!("{}: not implemented yet", $name);
        $failure
    }};
}

pub mod enums;
pub mod types;

pub mod client;
pub mod context;
pub mod eventlib;
pub mod ext;
pub mod fops;
pub mod http;
pub mod log;
pub mod service;
pub mod util;
pub mod vhost;
pub mod write;
pub mod wsi;
