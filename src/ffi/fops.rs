//! The context's platform file operations.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::ptr;

use super::types::{lws_context, lws_plat_file_ops};

#[must_use]
#[no_mangle]
pub extern "C" fn lws_get_fops(context: *mut lws_context) -> *mut lws_plat_file_ops {
    not_yet!("lws_get_fops", ptr::null_mut())
}
