//! CGI from the application's own protocol (`lws_cgi` and friends), as the
//! original's test server ran it; the core is `conn::cgi`.

use std::ffi::{CStr, OsString};
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use super::guard;
use super::handle;
use super::types::{lws, lws_protocol_vhost_options};
use crate::conn::cgi as core_cgi;
use crate::conn::{Conn, Role};

/// Longest `exec_array` taken.
const MAX_ARGS: usize = 256;

fn http_conn(func: &str, wsi: *mut lws) -> Option<Arc<Conn>> {
    let conn = handle::conn(func, wsi)?;
    if matches!(conn.state().role, Role::Http(_)) {
        Some(conn)
    } else {
        lwsl_err!("{func}: wsi {wsi:p} is not a server HTTP connection");
        None
    }
}

/// Runs `exec_array[0]` (NULL-terminated argument list, `exec_array[0]`
/// looked up in the CGI PATH when it has no `/`) for the request `wsi` is
/// answering: the first `script_uri_path_len` bytes of the URI are
/// SCRIPT_NAME, the rest PATH_INFO; `mp_cgienv` adds variables; a script
/// silent for `timeout_secs` (<= 0: 5) is killed. Its pipes then come as
/// LWS_CALLBACK_CGI on `wsi`'s protocol, the request body as
/// CGI_STDIN_DATA, its end as CGI_STDIN_COMPLETED, the script's end as
/// CGI_TERMINATED. 0, or -1 if it cannot run.
///
/// # Safety
/// `wsi` is NULL or live; `exec_array` NULL or a NULL-terminated array of
/// C strings; `mp_cgienv` NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn lws_cgi(
    wsi: *mut lws,
    exec_array: *const *const c_char,
    script_uri_path_len: c_int,
    timeout_secs: c_int,
    mp_cgienv: *const lws_protocol_vhost_options,
) -> c_int {
    let Some(conn) = http_conn("lws_cgi", wsi) else {
        return -1;
    };
    let mut argv = Vec::new();
    if !exec_array.is_null() {
        for i in 0..MAX_ARGS {
            // SAFETY: per this function's contract, up to its NULL.
            let arg = unsafe { *exec_array.add(i) };
            if arg.is_null() {
                break;
            }
            // SAFETY: a C string, per the contract.
            let bytes = unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec();
            argv.push(OsString::from_vec(bytes));
        }
    }
    if argv.first().map_or(true, |a| a.is_empty()) {
        lwsl_err!("lws_cgi: no program in exec_array");
        return -1;
    }
    // SAFETY: per this function's contract.
    let extra = unsafe { super::context::pvo_pairs(mp_cgienv) };
    let spec = core_cgi::Spec {
        argv,
        script_len: usize::try_from(script_uri_path_len).unwrap_or(0),
        timeout_secs: u32::try_from(timeout_secs).unwrap_or(0),
        extra,
        mode: core_cgi::Mode::App,
    };
    guard("lws_cgi", -1, || {
        if core_cgi::start(&conn, spec) {
            0
        } else {
            -1
        }
    })
}

/// Moves the next piece of the script's stdout to the client (call it
/// when `wsi` is writable). The script's header block is collected first:
/// if the application wrote no head of its own, the response head is built
/// from it (`Status:` / `Location:` honoured, chunked when the script
/// gives no Content-Length on HTTP/1.1); after a head of the application's
/// own (a status line without its empty line, as the original's test
/// server wrote) the script's header lines follow it and the body comes
/// as it is. 0, or -1 on an error (the application closes).
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_cgi_write_split_stdout_headers(wsi: *mut lws) -> c_int {
    let Some(conn) = http_conn("lws_cgi_write_split_stdout_headers", wsi) else {
        return -1;
    };
    guard("lws_cgi_write_split_stdout_headers", -1, || {
        core_cgi::write_split_stdout_headers(&conn)
    })
}

/// Stops the script running for `wsi`: SIGTERM to its process group
/// (reaped; SIGKILL if it lingers), then CGI_TERMINATED. 0, also if no
/// script runs; -1 for a bad `wsi`.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_cgi_kill(wsi: *mut lws) -> c_int {
    let Some(conn) = http_conn("lws_cgi_kill", wsi) else {
        return -1;
    };
    guard("lws_cgi_kill", -1, || core_cgi::kill(&conn))
}
