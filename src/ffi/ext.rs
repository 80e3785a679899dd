//! WebSocket extensions (permessage-deflate).
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int, c_void};

use super::enums::ExtCallbackReason;
use super::types::{lws, lws_context, lws_ext_options, lws_extension};

#[no_mangle]
pub extern "C" fn lws_set_extension_option(
    wsi: *mut lws,
    ext_name: *const c_char,
    opt_name: *const c_char,
    opt_val: *const c_char,
) -> c_int {
    not_yet!("lws_set_extension_option", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_ext_parse_options(
    ext: *const lws_extension,
    wsi: *mut lws,
    ext_user: *mut c_void,
    opts: *const lws_ext_options,
    o: *const c_char,
    len: c_int,
) -> c_int {
    not_yet!("lws_ext_parse_options", -1)
}

#[no_mangle]
pub extern "C" fn lws_extension_callback_pm_deflate(
    context: *mut lws_context,
    ext: *const lws_extension,
    wsi: *mut lws,
    reason: ExtCallbackReason,
    user: *mut c_void,
    r#in: *mut c_void,
    len: usize,
) -> c_int {
    not_yet!("lws_extension_callback_pm_deflate", -1)
}
