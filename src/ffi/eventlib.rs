//! libuv and libev event loop integration.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::c_int;
use std::ptr;

use super::types::{ev_loop, ev_signal, lws_context, uv_loop_t, uv_signal_cb, uv_signal_t};

#[no_mangle]
pub extern "C" fn lws_ev_sigint_cfg(
    context: *mut lws_context,
    use_ev_sigint: c_int,
    cb: Option<unsafe extern "C" fn(*mut ev_loop, *mut ev_signal, c_int)>,
) -> c_int {
    not_yet!("lws_ev_sigint_cfg", -1)
}

#[no_mangle]
pub extern "C" fn lws_ev_initloop(
    context: *mut lws_context,
    r#loop: *mut ev_loop,
    tsi: c_int,
) -> c_int {
    not_yet!("lws_ev_initloop", -1)
}

#[no_mangle]
pub extern "C" fn lws_ev_sigint_cb(r#loop: *mut ev_loop, watcher: *mut ev_signal, revents: c_int) {
    not_yet!("lws_ev_sigint_cb")
}

#[no_mangle]
pub extern "C" fn lws_uv_sigint_cfg(
    context: *mut lws_context,
    use_uv_sigint: c_int,
    cb: uv_signal_cb,
) -> c_int {
    not_yet!("lws_uv_sigint_cfg", -1)
}

#[no_mangle]
pub extern "C" fn lws_libuv_run(context: *const lws_context, tsi: c_int) {
    not_yet!("lws_libuv_run")
}

#[no_mangle]
pub extern "C" fn lws_libuv_stop(context: *mut lws_context) {
    not_yet!("lws_libuv_stop")
}

#[no_mangle]
pub extern "C" fn lws_uv_initloop(
    context: *mut lws_context,
    r#loop: *mut uv_loop_t,
    tsi: c_int,
) -> c_int {
    not_yet!("lws_uv_initloop", -1)
}

#[no_mangle]
pub extern "C" fn lws_uv_getloop(context: *mut lws_context, tsi: c_int) -> *mut uv_loop_t {
    not_yet!("lws_uv_getloop", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_uv_sigint_cb(watcher: *mut uv_signal_t, signum: c_int) {
    not_yet!("lws_uv_sigint_cb")
}
