//! Outgoing connections: WebSocket and HTTP clients.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::types::{lws, lws_client_connect_info, lws_context};

#[no_mangle]
pub extern "C" fn lws_client_connect_via_info(ccinfo: *mut lws_client_connect_info) -> *mut lws {
    not_yet!("lws_client_connect_via_info", ptr::null_mut())
}

#[must_use]
#[deprecated]
#[no_mangle]
pub extern "C" fn lws_client_connect(
    clients: *mut lws_context,
    address: *const c_char,
    port: c_int,
    ssl_connection: c_int,
    path: *const c_char,
    host: *const c_char,
    origin: *const c_char,
    protocol: *const c_char,
    ietf_version_or_minus_one: c_int,
) -> *mut lws {
    not_yet!("lws_client_connect", ptr::null_mut())
}

#[must_use]
#[deprecated]
#[no_mangle]
pub extern "C" fn lws_client_connect_extended(
    clients: *mut lws_context,
    address: *const c_char,
    port: c_int,
    ssl_connection: c_int,
    path: *const c_char,
    host: *const c_char,
    origin: *const c_char,
    protocol: *const c_char,
    ietf_version_or_minus_one: c_int,
    userdata: *mut c_void,
) -> *mut lws {
    not_yet!("lws_client_connect_extended", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_http_client_read(
    wsi: *mut lws,
    buf: *mut *mut c_char,
    len: *mut c_int,
) -> c_int {
    not_yet!("lws_http_client_read", -1)
}

#[no_mangle]
pub extern "C" fn lws_client_http_body_pending(wsi: *mut lws, something_left_to_send: c_int) {
    not_yet!("lws_client_http_body_pending")
}
