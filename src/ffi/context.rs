//! Creating and destroying the library context.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::types::{lws_context, lws_context_creation_info};

#[no_mangle]
pub extern "C" fn lws_finalize_startup(context: *mut lws_context) -> c_int {
    not_yet!("lws_finalize_startup", -1)
}

#[no_mangle]
pub extern "C" fn lws_create_context(info: *mut lws_context_creation_info) -> *mut lws_context {
    not_yet!("lws_create_context", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_context_destroy(context: *mut lws_context) {
    not_yet!("lws_context_destroy")
}

#[no_mangle]
pub extern "C" fn lws_json_dump_context(
    context: *const lws_context,
    buf: *mut c_char,
    len: c_int,
) -> c_int {
    not_yet!("lws_json_dump_context", -1)
}

#[no_mangle]
pub extern "C" fn lws_context_user(context: *mut lws_context) -> *mut c_void {
    not_yet!("lws_context_user", ptr::null_mut())
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_canonical_hostname(context: *mut lws_context) -> *const c_char {
    not_yet!("lws_canonical_hostname", ptr::null())
}

#[no_mangle]
pub extern "C" fn lws_get_random(context: *mut lws_context, buf: *mut c_void, len: c_int) -> c_int {
    not_yet!("lws_get_random", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_get_count_threads(context: *mut lws_context) -> c_int {
    not_yet!("lws_get_count_threads", -1)
}
