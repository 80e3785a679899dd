//! Virtual hosts and their per-protocol storage.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::types::{lws, lws_context, lws_context_creation_info, lws_protocols, lws_vhost};

#[no_mangle]
pub extern "C" fn lws_vhost_name_to_protocol(
    vh: *mut lws_vhost,
    name: *const c_char,
) -> *const lws_protocols {
    not_yet!("lws_vhost_name_to_protocol", ptr::null())
}

#[no_mangle]
pub extern "C" fn lws_protocol_vh_priv_zalloc(
    vhost: *mut lws_vhost,
    prot: *const lws_protocols,
    size: c_int,
) -> *mut c_void {
    not_yet!("lws_protocol_vh_priv_zalloc", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_protocol_vh_priv_get(
    vhost: *mut lws_vhost,
    prot: *const lws_protocols,
) -> *mut c_void {
    not_yet!("lws_protocol_vh_priv_get", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_set_proxy(vhost: *mut lws_vhost, proxy: *const c_char) -> c_int {
    not_yet!("lws_set_proxy", -1)
}

#[no_mangle]
pub extern "C" fn lws_create_vhost(
    context: *mut lws_context,
    info: *mut lws_context_creation_info,
) -> *mut lws_vhost {
    not_yet!("lws_create_vhost", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lwsws_get_config_globals(
    info: *mut lws_context_creation_info,
    d: *const c_char,
    config_strings: *mut *mut c_char,
    len: *mut c_int,
) -> c_int {
    not_yet!("lwsws_get_config_globals", -1)
}

#[no_mangle]
pub extern "C" fn lwsws_get_config_vhosts(
    context: *mut lws_context,
    info: *mut lws_context_creation_info,
    d: *const c_char,
    config_strings: *mut *mut c_char,
    len: *mut c_int,
) -> c_int {
    not_yet!("lwsws_get_config_vhosts", -1)
}

#[deprecated]
#[no_mangle]
pub extern "C" fn lws_vhost_get(wsi: *mut lws) -> *mut lws_vhost {
    not_yet!("lws_vhost_get", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_get_vhost(wsi: *mut lws) -> *mut lws_vhost {
    not_yet!("lws_get_vhost", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_json_dump_vhost(vh: *const lws_vhost, buf: *mut c_char, len: c_int) -> c_int {
    not_yet!("lws_json_dump_vhost", -1)
}

#[no_mangle]
pub extern "C" fn lws_init_vhost_client_ssl(
    info: *const lws_context_creation_info,
    vhost: *mut lws_vhost,
) -> c_int {
    not_yet!("lws_init_vhost_client_ssl", -1)
}
