//! HTTP server: headers, responses, files, forms, CGI.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_char, c_int, c_uchar, c_uint, c_ulong, c_void};
use std::ptr;

use super::enums::{CallbackReason, TokenIndex};
use super::types::{
    lws, lws_http_mount, lws_process_html_args, lws_process_html_state, lws_protocol_vhost_options,
    lws_spa, lws_spa_fileupload_cb,
};

#[no_mangle]
pub extern "C" fn lws_get_mimetype(file: *const c_char, m: *const lws_http_mount) -> *const c_char {
    not_yet!("lws_get_mimetype", ptr::null())
}

#[no_mangle]
pub extern "C" fn lws_serve_http_file(
    wsi: *mut lws,
    file: *const c_char,
    content_type: *const c_char,
    other_headers: *const c_char,
    other_headers_len: c_int,
) -> c_int {
    not_yet!("lws_serve_http_file", -1)
}

#[no_mangle]
pub extern "C" fn lws_serve_http_file_fragment(wsi: *mut lws) -> c_int {
    not_yet!("lws_serve_http_file_fragment", -1)
}

#[no_mangle]
pub extern "C" fn lws_chunked_html_process(
    args: *mut lws_process_html_args,
    s: *mut lws_process_html_state,
) -> c_int {
    not_yet!("lws_chunked_html_process", -1)
}

#[no_mangle]
pub extern "C" fn lws_token_to_string(token: TokenIndex) -> *const c_uchar {
    not_yet!("lws_token_to_string", ptr::null())
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_hdr_total_length(wsi: *mut lws, h: TokenIndex) -> c_int {
    not_yet!("lws_hdr_total_length", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_hdr_fragment_length(wsi: *mut lws, h: TokenIndex, frag_idx: c_int) -> c_int {
    not_yet!("lws_hdr_fragment_length", -1)
}

#[no_mangle]
pub extern "C" fn lws_hdr_copy(
    wsi: *mut lws,
    dest: *mut c_char,
    len: c_int,
    h: TokenIndex,
) -> c_int {
    not_yet!("lws_hdr_copy", -1)
}

#[no_mangle]
pub extern "C" fn lws_hdr_copy_fragment(
    wsi: *mut lws,
    dest: *mut c_char,
    len: c_int,
    h: TokenIndex,
    frag_idx: c_int,
) -> c_int {
    not_yet!("lws_hdr_copy_fragment", -1)
}

#[no_mangle]
pub extern "C" fn lws_get_urlarg_by_name(
    wsi: *mut lws,
    name: *const c_char,
    buf: *mut c_char,
    len: c_int,
) -> *const c_char {
    not_yet!("lws_get_urlarg_by_name", ptr::null())
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_add_http_header_status(
    wsi: *mut lws,
    code: c_uint,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    not_yet!("lws_add_http_header_status", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_add_http_header_by_name(
    wsi: *mut lws,
    name: *const c_uchar,
    value: *const c_uchar,
    length: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    not_yet!("lws_add_http_header_by_name", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_add_http_header_by_token(
    wsi: *mut lws,
    token: TokenIndex,
    value: *const c_uchar,
    length: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    not_yet!("lws_add_http_header_by_token", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_add_http_header_content_length(
    wsi: *mut lws,
    content_length: c_ulong,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    not_yet!("lws_add_http_header_content_length", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_finalize_http_header(
    wsi: *mut lws,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    not_yet!("lws_finalize_http_header", -1)
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
pub extern "C" fn lws_return_http_status(
    wsi: *mut lws,
    code: c_uint,
    html_body: *const c_char,
) -> c_int {
    not_yet!("lws_return_http_status", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_http_redirect(
    wsi: *mut lws,
    code: c_int,
    loc: *const c_uchar,
    len: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    not_yet!("lws_http_redirect", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_http_transaction_completed(wsi: *mut lws) -> c_int {
    not_yet!("lws_http_transaction_completed", -1)
}

#[no_mangle]
pub extern "C" fn lws_callback_http_dummy(
    wsi: *mut lws,
    reason: CallbackReason,
    user: *mut c_void,
    r#in: *mut c_void,
    len: usize,
) -> c_int {
    not_yet!("lws_callback_http_dummy", -1)
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
