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
//!   data, returned strings) stays ours to free.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs an export's body, turning a panic into `failure`.
pub(crate) fn guard<T>(name: &str, failure: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("panic");
            lwsl_err!("{name}: internal error ({why}), returning failure");
            failure
        }
    }
}

/// `CONTEXT_PORT_NO_LISTEN`: a vhost that listens nowhere (client only).
pub(crate) const CONTEXT_PORT_NO_LISTEN: std::os::raw::c_int = -1;

pub mod enums;
pub mod types;

pub mod callback;
pub mod cgi;
pub mod client;
pub mod context;
pub mod eventlib;
pub mod ext;
pub mod fops;
pub mod forms;
pub(crate) mod handle;
pub mod html;
pub mod http;
pub mod json;
pub mod log;
pub(crate) mod plugin;
pub mod service;
pub mod util;
pub mod vhost;
pub mod write;
pub mod wsi;

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn guard_turns_a_panic_into_the_failure_value() {
        assert_eq!(guard("ok", -1, || 5), 5);
        assert_eq!(guard("boom", -1, || -> i32 { panic!("boom") }), -1);
        assert!(guard("boom", std::ptr::null::<u8>(), || panic!("boom")).is_null());
    }

    #[test]
    fn cgi_exports_refuse_null() {
        // SAFETY: NULL is a documented argument.
        unsafe {
            assert_eq!(super::cgi::lws_cgi_kill(std::ptr::null_mut()), -1);
            assert_eq!(
                super::cgi::lws_cgi_write_split_stdout_headers(std::ptr::null_mut()),
                -1
            );
            assert_eq!(
                super::cgi::lws_cgi(
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    0,
                    0,
                    std::ptr::null()
                ),
                -1
            );
        }
    }
}
