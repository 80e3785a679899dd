//! Library-wide utilities: version, daemonizing, string and encoding helpers.

// The helpers not implemented yet keep their C parameter names.
#![allow(unused_variables)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uchar, c_ulong, c_void};
use std::ptr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::guard;
use crate::plat::daemon;

/// LWS_LIBRARY_VERSION, a space and LWS_BUILD_HASH, as lws_config.h has them.
const LIBRARY_VERSION: &CStr = c"2.0.0 rust";

#[no_mangle]
pub unsafe extern "C" fn lws_urlencode(escaped: *mut c_char, string: *const c_char, len: c_int) -> *const c_char {
    not_yet!("lws_urlencode", ptr::null())
}

#[no_mangle]
pub unsafe extern "C" fn lws_urldecode(string: *mut c_char, escaped: *const c_char, len: c_int) -> c_int {
    not_yet!("lws_urldecode", -1)
}

#[no_mangle]
pub unsafe extern "C" fn lws_sql_purify(escaped: *mut c_char, string: *const c_char, len: c_int) -> *const c_char {
    not_yet!("lws_sql_purify", ptr::null())
}

#[no_mangle]
pub unsafe extern "C" fn lws_json_purify(escaped: *mut c_char, string: *const c_char, len: c_int) -> *const c_char {
    not_yet!("lws_json_purify", ptr::null())
}

#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_daemonize(_lock_path: *const c_char) -> c_int {
    if _lock_path.is_null() {
        lwsl_err!("lws_daemonize: NULL lock path");
        return 1;
    }
    // SAFETY: a non-NULL lock path is a NUL-terminated string.
    let lock_path = unsafe { CStr::from_ptr(_lock_path) };
    guard("lws_daemonize", 1, || daemon::daemonize(lock_path))
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_get_library_version() -> *const c_char {
    LIBRARY_VERSION.as_ptr()
}

#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_parse_uri(p: *mut c_char, prot: *mut *const c_char, ads: *mut *const c_char, port: *mut c_int, path: *mut *const c_char) -> c_int {
    not_yet!("lws_parse_uri", -1)
}

#[no_mangle]
pub extern "C" fn lws_now_secs() -> c_ulong {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    now.as_secs() as c_ulong
}

#[no_mangle]
pub unsafe extern "C" fn lws_set_allocator(realloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>) {
    not_yet!("lws_set_allocator")
}

#[no_mangle]
pub unsafe extern "C" fn lws_SHA1(d: *const c_uchar, n: usize, md: *mut c_uchar) -> *mut c_uchar {
    not_yet!("lws_SHA1", ptr::null_mut())
}

#[no_mangle]
pub unsafe extern "C" fn lws_b64_encode_string(r#in: *const c_char, in_len: c_int, out: *mut c_char, out_size: c_int) -> c_int {
    not_yet!("lws_b64_encode_string", -1)
}

#[no_mangle]
pub unsafe extern "C" fn lws_b64_decode_string(r#in: *const c_char, out: *mut c_char, out_size: c_int) -> c_int {
    not_yet!("lws_b64_decode_string", -1)
}
