//! The service loop, timeouts and socket adoption.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int};
use std::ptr;

use super::enums::PendingTimeout;
use super::types::{lws, lws_context, lws_pollfd, lws_sockfd_type};

#[no_mangle]
pub extern "C" fn lws_service(context: *mut lws_context, timeout_ms: c_int) -> c_int {
    not_yet!("lws_service", -1)
}

#[no_mangle]
pub extern "C" fn lws_service_tsi(
    context: *mut lws_context,
    timeout_ms: c_int,
    tsi: c_int,
) -> c_int {
    not_yet!("lws_service_tsi", -1)
}

#[no_mangle]
pub extern "C" fn lws_cancel_service_pt(wsi: *mut lws) {
    not_yet!("lws_cancel_service_pt")
}

#[no_mangle]
pub extern "C" fn lws_cancel_service(context: *mut lws_context) {
    not_yet!("lws_cancel_service")
}

#[no_mangle]
pub extern "C" fn lws_service_fd(context: *mut lws_context, pollfd: *mut lws_pollfd) -> c_int {
    not_yet!("lws_service_fd", -1)
}

#[no_mangle]
pub extern "C" fn lws_service_fd_tsi(
    context: *mut lws_context,
    pollfd: *mut lws_pollfd,
    tsi: c_int,
) -> c_int {
    not_yet!("lws_service_fd_tsi", -1)
}

#[no_mangle]
pub extern "C" fn lws_set_timeout(wsi: *mut lws, reason: PendingTimeout, secs: c_int) {
    not_yet!("lws_set_timeout")
}

#[no_mangle]
pub extern "C" fn lws_adopt_socket(
    context: *mut lws_context,
    accept_fd: lws_sockfd_type,
) -> *mut lws {
    not_yet!("lws_adopt_socket", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_adopt_socket_readbuf(
    context: *mut lws_context,
    accept_fd: lws_sockfd_type,
    readbuf: *const c_char,
    len: usize,
) -> *mut lws {
    not_yet!("lws_adopt_socket_readbuf", ptr::null_mut())
}
