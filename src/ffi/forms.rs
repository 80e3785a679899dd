//! HTML processing, form parsing (`lws_spa_*`) and CGI.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::types::{
    lws, lws_process_html_args, lws_process_html_state, lws_protocol_vhost_options, lws_spa,
    lws_spa_fileupload_cb,
};

#[no_mangle]
pub extern "C" fn lws_chunked_html_process(
    args: *mut lws_process_html_args,
    s: *mut lws_process_html_state,
) -> c_int {
    not_yet!("lws_chunked_html_process", -1)
}

#[no_mangle]
pub extern "C" fn lws_spa_create(
    wsi: *mut lws,
    param_names: *const *const c_char,
    count_params: c_int,
    max_storage: c_int,
    opt_cb: lws_spa_fileupload_cb,
    opt_data: *mut c_void,
) -> *mut lws_spa {
    not_yet!("lws_spa_create", ptr::null_mut())
}

#[no_mangle]
pub extern "C" fn lws_spa_process(spa: *mut lws_spa, r#in: *const c_char, len: c_int) -> c_int {
    not_yet!("lws_spa_process", -1)
}

#[no_mangle]
pub extern "C" fn lws_spa_finalize(spa: *mut lws_spa) -> c_int {
    not_yet!("lws_spa_finalize", -1)
}

#[no_mangle]
pub extern "C" fn lws_spa_get_length(spa: *mut lws_spa, n: c_int) -> c_int {
    not_yet!("lws_spa_get_length", -1)
}

#[no_mangle]
pub extern "C" fn lws_spa_get_string(spa: *mut lws_spa, n: c_int) -> *const c_char {
    not_yet!("lws_spa_get_string", ptr::null())
}

#[no_mangle]
pub extern "C" fn lws_spa_destroy(spa: *mut lws_spa) -> c_int {
    not_yet!("lws_spa_destroy", -1)
}

#[no_mangle]
pub extern "C" fn lws_cgi(
    wsi: *mut lws,
    exec_array: *const *const c_char,
    script_uri_path_len: c_int,
    timeout_secs: c_int,
    mp_cgienv: *const lws_protocol_vhost_options,
) -> c_int {
    not_yet!("lws_cgi", -1)
}

#[no_mangle]
pub extern "C" fn lws_cgi_write_split_stdout_headers(wsi: *mut lws) -> c_int {
    not_yet!("lws_cgi_write_split_stdout_headers", -1)
}

#[no_mangle]
pub extern "C" fn lws_cgi_kill(wsi: *mut lws) -> c_int {
    not_yet!("lws_cgi_kill", -1)
}
