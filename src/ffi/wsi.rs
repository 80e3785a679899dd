//! Connection accessors and protocol-wide callbacks.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::types::{lws, lws_context, lws_protocols, lws_sockfd_type, lws_vhost, sockaddr_in};

#[no_mangle]
pub extern "C" fn lws_get_protocol(wsi: *mut lws) -> *const lws_protocols {
    not_yet!("lws_get_protocol", ptr::null())
}

#[deprecated]
#[no_mangle]
pub extern "C" fn lws_protocol_get(wsi: *mut lws) -> *const lws_protocols {
    not_yet!("lws_protocol_get", ptr::null())
}

#[no_mangle]
pub extern "C" fn lws_callback_all_protocol(
    context: *mut lws_context,
    protocol: *const lws_protocols,
    reason: c_int,
) -> c_int {
    not_yet!("lws_callback_all_protocol", -1)
}

#[no_mangle]
pub extern "C" fn lws_callback_all_protocol_vhost(
    vh: *mut lws_vhost,
    protocol: *const lws_protocols,
    reason: c_int,
) -> c_int {
    not_yet!("lws_callback_all_protocol_vhost", -1)
}

#[no_mangle]
pub extern "C" fn lws_callback_vhost_protocols(
    wsi: *mut lws,
    reason: c_int,
    r#in: *mut c_void,
    len: c_int,
) -> c_int {
    not_yet!("lws_callback_vhost_protocols", -1)
}

#[no_mangle]
pub extern "C" fn lws_get_socket_fd(wsi: *mut lws) -> c_int {
    not_yet!("lws_get_socket_fd", -1)
}

#[no_mangle]
pub extern "C" fn lws_get_peer_addresses(
    wsi: *mut lws,
    fd: lws_sockfd_type,
    name: *mut c_char,
    name_len: c_int,
    rip: *mut c_char,
    rip_len: c_int,
) {
    not_yet!("lws_get_peer_addresses")
}

#[no_mangle]
pub extern "C" fn lws_get_peer_simple(
    wsi: *mut lws,
    name: *mut c_char,
    namelen: c_int,
) -> *const c_char {
    not_yet!("lws_get_peer_simple", ptr::null())
}

#[no_mangle]
pub extern "C" fn lws_interface_to_sa(
    ipv6: c_int,
    ifname: *const c_char,
    addr: *mut sockaddr_in,
    addrlen: usize,
) -> c_int {
    not_yet!("lws_interface_to_sa", -1)
}

#[no_mangle]
pub extern "C" fn lws_wsi_user(wsi: *mut lws) -> *mut c_void {
    not_yet!("lws_wsi_user", ptr::null_mut())
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_get_context(wsi: *const lws) -> *mut lws_context {
    not_yet!("lws_get_context", ptr::null_mut())
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_get_parent(wsi: *const lws) -> *mut lws {
    not_yet!("lws_get_parent", ptr::null_mut())
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_get_child(wsi: *const lws) -> *mut lws {
    not_yet!("lws_get_child", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_is_ssl(wsi: *mut lws) -> c_int {
    not_yet!("lws_is_ssl", -1)
}

#[no_mangle]
pub extern "C" fn lws_is_cgi(wsi: *mut lws) -> c_int {
    not_yet!("lws_is_cgi", -1)
}
