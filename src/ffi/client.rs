//! Outgoing connections: WebSocket and HTTP clients.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::guard;
use super::handle;
use super::types::{lws, lws_client_connect_info, lws_context};
use crate::conn::client::{self, ConnectRequest};

/// # Safety
/// `s` is NULL or a C string.
unsafe fn bytes(s: *const c_char) -> Option<Vec<u8>> {
    // SAFETY: per this function's contract.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_bytes().to_vec())
}

/// Starts a WebSocket (or, with `method`, HTTP) client connection. Non-NULL
/// means "in progress": CLIENT_ESTABLISHED / ESTABLISHED_CLIENT_HTTP report
/// success, CLIENT_CONNECTION_ERROR failure. `*pwsi` is set before any
/// callback; NULL (and `*pwsi` NULL) when it failed at once.
///
/// # Safety
/// `ccinfo` is NULL or valid, its strings C strings.
#[no_mangle]
pub unsafe extern "C" fn lws_client_connect_via_info(
    ccinfo: *mut lws_client_connect_info,
) -> *mut lws {
    // SAFETY: per this function's contract.
    let Some(info) = (unsafe { ccinfo.as_ref() }) else {
        return ptr::null_mut();
    };
    let pwsi = info.pwsi;
    let set_pwsi = |wsi: *mut lws| {
        if !pwsi.is_null() {
            // SAFETY: the application gave a writable `struct lws **`.
            unsafe { *pwsi = wsi };
        }
    };
    let Some(h) = handle::context("lws_client_connect_via_info", info.context) else {
        set_pwsi(ptr::null_mut());
        return ptr::null_mut();
    };
    // SAFETY: per this function's contract.
    let (address, path, host) =
        unsafe { (bytes(info.address), bytes(info.path), bytes(info.host)) };
    let (Some(address), Ok(port)) = (address, u16::try_from(info.port)) else {
        lwsl_err!("lws_client_connect_via_info: address and port are required");
        set_pwsi(ptr::null_mut());
        return ptr::null_mut();
    };
    let vhost = if info.vhost.is_null() {
        h.ctx.first_vhost()
    } else {
        handle::vhost("lws_client_connect_via_info", info.vhost)
    };
    let Some(vhost) = vhost else {
        set_pwsi(ptr::null_mut());
        return ptr::null_mut();
    };
    let parent = if info.parent_wsi.is_null() {
        None
    } else {
        let Some(parent) = handle::conn("lws_client_connect_via_info", info.parent_wsi) else {
            set_pwsi(ptr::null_mut());
            return ptr::null_mut();
        };
        Some(parent)
    };
    let address = String::from_utf8_lossy(&address).into_owned();
    let req = ConnectRequest {
        host: host.unwrap_or_else(|| address.clone().into_bytes()),
        address,
        port,
        path: path.unwrap_or_else(|| b"/".to_vec()),
        // SAFETY: per this function's contract.
        origin: unsafe { bytes(info.origin) },
        // SAFETY: per this function's contract.
        protocols: unsafe { bytes(info.protocol) },
        // SAFETY: per this function's contract.
        method: unsafe { bytes(info.method) },
        userdata: info.userdata as usize,
        parent,
        tls: info.ssl_connection as u32,
        // SAFETY: client_exts is NULL or a NULL-callback terminated array.
        extensions: if info.client_exts.is_null() {
            vhost.extensions.clone()
        } else {
            unsafe { super::ext::declared(info.client_exts, usize::MAX) }
        },
        vhost,
    };
    let mut result = ptr::null_mut();
    guard("lws_client_connect_via_info", (), || {
        let conn = client::connect(&h.ctx, req, |c| set_pwsi(handle::wsi_of(c)));
        result = conn.as_ref().map_or(ptr::null_mut(), handle::wsi_of);
    });
    if result.is_null() {
        set_pwsi(ptr::null_mut());
    }
    result
}

/// The pre-2.0 entry point: lws_client_connect_extended without userdata.
///
/// # Safety
/// As for lws_client_connect_via_info.
#[must_use]
#[deprecated]
#[no_mangle]
pub unsafe extern "C" fn lws_client_connect(
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
    #[allow(deprecated)]
    // SAFETY: per this function's contract.
    unsafe {
        lws_client_connect_extended(
            clients,
            address,
            port,
            ssl_connection,
            path,
            host,
            origin,
            protocol,
            ietf_version_or_minus_one,
            ptr::null_mut(),
        )
    }
}

/// The pre-2.0 entry point, as lws_client_connect_via_info.
///
/// # Safety
/// As for lws_client_connect_via_info.
#[must_use]
#[deprecated]
#[no_mangle]
pub unsafe extern "C" fn lws_client_connect_extended(
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
    let mut info = lws_client_connect_info {
        context: clients,
        address,
        port,
        ssl_connection,
        path,
        host,
        origin,
        protocol,
        ietf_version_or_minus_one,
        userdata,
        client_exts: ptr::null(),
        method: ptr::null(),
        parent_wsi: ptr::null_mut(),
        uri_replace_from: ptr::null(),
        uri_replace_to: ptr::null(),
        vhost: ptr::null_mut(),
        pwsi: ptr::null_mut(),
        _unused: [ptr::null_mut(); 4],
    };
    // SAFETY: info is valid and its strings are the caller's.
    unsafe { lws_client_connect_via_info(&mut info) }
}

/// Reads the HTTP reply body into `*buf` (at most `*len` bytes): the data
/// arrives as RECEIVE_CLIENT_HTTP_READ, the end as COMPLETED_CLIENT_HTTP.
/// Returns 0, or -1 on error or once a non-keep-alive transfer completed.
///
/// # Safety
/// `wsi` is NULL or live; `buf`/`len` valid, `*buf` with `*len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_http_client_read(
    wsi: *mut lws,
    buf: *mut *mut c_char,
    len: *mut c_int,
) -> c_int {
    let Some(conn) = handle::conn("lws_http_client_read", wsi) else {
        return -1;
    };
    // SAFETY: per this function's contract.
    let (Some(out), Some(room)) = (unsafe { buf.as_ref() }, unsafe { len.as_mut() }) else {
        return -1;
    };
    let Ok(size) = usize::try_from(*room) else {
        return -1;
    };
    if out.is_null() {
        return -1;
    }
    // SAFETY: *buf has *len writable bytes.
    let data = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), size) };
    let (r, n) = guard("lws_http_client_read", (-1, 0), || {
        client::http_client_read(&conn, data)
    });
    *room = c_int::try_from(n).unwrap_or(0);
    r
}

/// Whether the application still has request body to send (it gets
/// CLIENT_HTTP_WRITEABLE while it does).
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_client_http_body_pending(
    wsi: *mut lws,
    something_left_to_send: c_int,
) {
    if let Some(conn) = handle::conn("lws_client_http_body_pending", wsi) {
        client::set_body_pending(&conn, something_left_to_send != 0);
    }
}
