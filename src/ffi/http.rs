//! HTTP server exports: request headers, response heads, writing files,
//! transactions. Form parsing, CGI and HTML processing are in `forms`.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uchar, c_uint, c_ulong, c_void};
use std::ptr;
use std::sync::Arc;

use super::enums::{lws_callback_reasons as R, CallbackReason, TokenIndex};
use super::guard;
use super::handle;
use super::types::{lws, lws_http_mount, lws_protocol_vhost_options};
use crate::conn::http::{self as core_http, with_status_block};
use crate::conn::{Conn, Role};
use crate::http::headers::HeaderTable;
use crate::http::response::{HeaderCursor, NoRoom};
use crate::http::{mime, tokens};

/// Runs `f` on the connection's header table; `none` without one (the
/// original dereferences NULL there).
fn with_ah<T>(func: &str, wsi: *const lws, none: T, f: impl FnOnce(&HeaderTable) -> T) -> T {
    let Some(conn) = handle::conn(func, wsi) else {
        return none;
    };
    let st = conn.state();
    match &st.role {
        Role::Http(h) => h.ah.as_deref().map_or(none, f),
        _ => none,
    }
}

/// # Safety
/// `dst` is NULL or has `len` writable bytes.
unsafe fn out_buf<'a>(dst: *mut c_char, len: c_int) -> Option<&'a mut [u8]> {
    let len = usize::try_from(len).ok()?;
    // SAFETY: per this function's contract.
    (!dst.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(dst.cast::<u8>(), len) })
}

/// Length of header `h` (all fragments), 0 if absent.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_hdr_total_length(wsi: *mut lws, h: TokenIndex) -> c_int {
    with_ah("lws_hdr_total_length", wsi, 0, |ah| {
        ah.total_length(h.0 as usize) as c_int
    })
}

/// Length of fragment `frag_idx` of header `h`, 0 if absent.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_hdr_fragment_length(
    wsi: *mut lws,
    h: TokenIndex,
    frag_idx: c_int,
) -> c_int {
    let Ok(idx) = usize::try_from(frag_idx) else {
        return 0;
    };
    with_ah("lws_hdr_fragment_length", wsi, 0, |ah| {
        ah.fragment_length(h.0 as usize, idx) as c_int
    })
}

/// Copies header `h` into `dst`: its length, 0 if absent (dst untouched), -1
/// if it does not fit with its NUL.
///
/// # Safety
/// `wsi` is NULL or live; `dst` NULL or `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_hdr_copy(
    wsi: *mut lws,
    dst: *mut c_char,
    len: c_int,
    h: TokenIndex,
) -> c_int {
    // SAFETY: per this function's contract.
    let Some(out) = (unsafe { out_buf(dst, len) }) else {
        return -1;
    };
    with_ah("lws_hdr_copy", wsi, -1, |ah| ah.copy(h.0 as usize, out))
}

/// Copies fragment `frag_idx` of header `h` into `dst`: its length, or -1.
///
/// # Safety
/// `wsi` is NULL or live; `dst` NULL or `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_hdr_copy_fragment(
    wsi: *mut lws,
    dst: *mut c_char,
    len: c_int,
    h: TokenIndex,
    frag_idx: c_int,
) -> c_int {
    // SAFETY: per this function's contract.
    let Some(out) = (unsafe { out_buf(dst, len) }) else {
        return -1;
    };
    let Ok(idx) = usize::try_from(frag_idx) else {
        return -1;
    };
    with_ah("lws_hdr_copy_fragment", wsi, -1, |ah| {
        ah.copy_fragment(h.0 as usize, idx, out)
    })
}

/// The value of URI argument `name` (given with its `=`), copied into `buf`.
///
/// # Safety
/// `wsi` is NULL or live; `name` NULL or a C string; `buf` NULL or `len`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_get_urlarg_by_name(
    wsi: *mut lws,
    name: *const c_char,
    buf: *mut c_char,
    len: c_int,
) -> *const c_char {
    // SAFETY: per this function's contract.
    let Some(out) = (unsafe { out_buf(buf, len) }) else {
        return ptr::null();
    };
    if name.is_null() {
        return ptr::null();
    }
    // SAFETY: per this function's contract.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    with_ah("lws_get_urlarg_by_name", wsi, ptr::null(), |ah| {
        ah.urlarg_by_name(name, out)
            .map_or(ptr::null(), |v| v.as_ptr().cast())
    })
}

/// The lowercase text of a header token (`"content-length:"`), or NULL.
#[no_mangle]
pub extern "C" fn lws_token_to_string(token: TokenIndex) -> *const c_uchar {
    tokens::token_name_nul(token.0 as usize).map_or(ptr::null(), |n| n.as_ptr())
}

/// Runs a header builder over the C cursor `*p` .. `end`, advancing `*p`:
/// 0, or 1 when it did not fit.
///
/// # Safety
/// `p` is NULL or points at a pointer into a buffer that ends at `end`.
unsafe fn with_cursor(
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
    f: impl FnOnce(&mut HeaderCursor) -> Result<(), NoRoom>,
) -> c_int {
    // SAFETY: per this function's contract.
    let Some(start) = (unsafe { p.as_ref() }).copied() else {
        return 1;
    };
    if start.is_null() || end < start {
        return 1;
    }
    // SAFETY: [start, end) is the caller's writable buffer.
    let buf = unsafe { std::slice::from_raw_parts_mut(start, end.offset_from(start) as usize) };
    let mut cursor = HeaderCursor::new(buf);
    let r = guard("http header", Err(NoRoom), || f(&mut cursor));
    // SAFETY: pos() <= the buffer's length.
    unsafe { *p = start.add(cursor.pos()) };
    c_int::from(r.is_err())
}

/// # Safety
/// `s` is NULL or has `len` readable bytes.
unsafe fn in_bytes<'a>(s: *const c_uchar, len: c_int) -> &'a [u8] {
    match usize::try_from(len) {
        // SAFETY: per this function's contract.
        Ok(n) if !s.is_null() => unsafe { std::slice::from_raw_parts(s, n) },
        _ => &[],
    }
}

/// Writes `HTTP/1.x CODE TEXT`, the vhost's extra headers and `server:`.
///
/// # Safety
/// `wsi` is NULL or live; `p`/`end` as for every header builder.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_add_http_header_status(
    wsi: *mut lws,
    code: c_uint,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    let Some(conn) = handle::conn("lws_add_http_header_status", wsi) else {
        return 1;
    };
    // SAFETY: per this function's contract.
    unsafe {
        with_cursor(p, end, |c| {
            with_status_block(&conn, |block| c.add_status(block, code))
        })
    }
}

/// Writes `name value\r\n` (no colon added: pass `"name:"`).
///
/// # Safety
/// `name` NULL or a C string; `value` `length` readable bytes; `p`/`end` as
/// for every header builder.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_add_http_header_by_name(
    wsi: *mut lws,
    name: *const c_uchar,
    value: *const c_uchar,
    length: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    let _ = wsi;
    // SAFETY: per this function's contract.
    let value = unsafe { in_bytes(value, length) };
    if name.is_null() {
        // SAFETY: per this function's contract.
        return unsafe { with_cursor(p, end, |c| c.add_line(value)) };
    }
    // SAFETY: per this function's contract.
    let name = unsafe { CStr::from_ptr(name.cast()) }.to_bytes();
    // SAFETY: per this function's contract.
    unsafe { with_cursor(p, end, |c| c.add_by_name(name, value)) }
}

/// Writes a header named by its token.
///
/// # Safety
/// As for lws_add_http_header_by_name.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_add_http_header_by_token(
    wsi: *mut lws,
    token: TokenIndex,
    value: *const c_uchar,
    length: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    let _ = wsi;
    // SAFETY: per this function's contract.
    let value = unsafe { in_bytes(value, length) };
    let name = tokens::token_name(token.0 as usize);
    // SAFETY: per this function's contract.
    unsafe { with_cursor(p, end, |c| c.add_by_token(name, value)) }
}

/// Writes `content-length: N`.
///
/// # Safety
/// As for every header builder.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_add_http_header_content_length(
    wsi: *mut lws,
    content_length: c_ulong,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    let _ = wsi;
    // SAFETY: per this function's contract.
    unsafe { with_cursor(p, end, |c| c.add_content_length(content_length)) }
}

/// Ends the head with its blank line.
///
/// # Safety
/// As for every header builder.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_finalize_http_header(
    wsi: *mut lws,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    let _ = wsi;
    // SAFETY: per this function's contract.
    unsafe { with_cursor(p, end, |c| c.finalize()) }
}

/// The live HTTP (or WebSocket) connection `wsi` points at.
fn http_conn(func: &str, wsi: *mut lws) -> Option<Arc<Conn>> {
    handle::conn(func, wsi).filter(|c| matches!(c.state().role, Role::Http(_)))
}

/// Sends a status page for `code` with `html_body` in it. Returns non-zero
/// also on success, as the original does; callers close afterwards.
///
/// # Safety
/// `wsi` is NULL or live; `html_body` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lws_return_http_status(
    wsi: *mut lws,
    code: c_uint,
    html_body: *const c_char,
) -> c_int {
    let Some(conn) = http_conn("lws_return_http_status", wsi) else {
        return -1;
    };
    let body = if html_body.is_null() {
        &[][..]
    } else {
        // SAFETY: per this function's contract.
        unsafe { CStr::from_ptr(html_body) }.to_bytes()
    };
    guard("lws_return_http_status", -1, || {
        core_http::return_status(&conn, code, body)
    })
}

/// Writes a redirect to `loc` with status `code`; bytes written or -1. The
/// `p`/`end` buffer is not needed (the head is built internally).
///
/// # Safety
/// `wsi` is NULL or live; `loc` NULL or `len` readable bytes.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_http_redirect(
    wsi: *mut lws,
    code: c_int,
    loc: *const c_uchar,
    len: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    let _ = (p, end);
    let Some(conn) = http_conn("lws_http_redirect", wsi) else {
        return -1;
    };
    if loc.is_null() || len < 0 {
        lwsl_err!("lws_http_redirect: bad location (NULL or negative length {len})");
        return -1;
    }
    // SAFETY: per this function's contract.
    let location = unsafe { in_bytes(loc, len) };
    guard("lws_http_redirect", -1, || {
        core_http::redirect(&conn, code.max(0) as u32, location)
    })
}

/// Ends the HTTP transaction: 0 and ready for the next request on a
/// keep-alive connection, else 1 (the caller closes).
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_http_transaction_completed(wsi: *mut lws) -> c_int {
    let Some(conn) = http_conn("lws_http_transaction_completed", wsi) else {
        return 1;
    };
    guard("lws_http_transaction_completed", 1, || {
        core_http::transaction_completed(&conn)
    })
}

/// Sends the file `file` as the response, with `content_type` and the
/// verbatim header lines `other_headers`: 1 if complete already, 0 if it
/// continues, -1 if it could not be started.
///
/// # Safety
/// `wsi` is NULL or live; strings NULL or C strings; `other_headers` NULL or
/// `other_headers_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_serve_http_file(
    wsi: *mut lws,
    file: *const c_char,
    content_type: *const c_char,
    other_headers: *const c_char,
    other_headers_len: c_int,
) -> c_int {
    let Some(conn) = http_conn("lws_serve_http_file", wsi) else {
        return -1;
    };
    if file.is_null() {
        return -1;
    }
    // SAFETY: per this function's contract.
    let path = unsafe { CStr::from_ptr(file) };
    let ctype = if content_type.is_null() {
        &[][..]
    } else {
        // SAFETY: per this function's contract.
        unsafe { CStr::from_ptr(content_type) }.to_bytes()
    };
    // SAFETY: per this function's contract.
    let other = unsafe { in_bytes(other_headers.cast(), other_headers_len) };
    guard("lws_serve_http_file", -1, || {
        core_http::serve_file(&conn, path, ctype, other)
    })
}

/// Sends the next part of a file being served: 1 when done, 0 to continue,
/// -1 on error.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_serve_http_file_fragment(wsi: *mut lws) -> c_int {
    let Some(conn) = http_conn("lws_serve_http_file_fragment", wsi) else {
        return -1;
    };
    guard("lws_serve_http_file_fragment", -1, || {
        core_http::file_fragment(&conn)
    })
}

/// The mimetype for `file` by suffix, then the mount's extra mimetypes.
///
/// # Safety
/// `file` NULL or a C string; `m` NULL or a valid mount.
#[no_mangle]
pub unsafe extern "C" fn lws_get_mimetype(
    file: *const c_char,
    m: *const lws_http_mount,
) -> *const c_char {
    if file.is_null() {
        return ptr::null();
    }
    // SAFETY: per this function's contract.
    let name = unsafe { CStr::from_ptr(file) }.to_bytes();
    let mut extra: Vec<(&[u8], &[u8])> = Vec::new();
    // SAFETY: per this function's contract.
    if let Some(mount) = unsafe { m.as_ref() } {
        let mut o: *const lws_protocol_vhost_options = mount.extra_mimetypes;
        // SAFETY: the list and its strings live as long as the mount.
        while let Some(opt) = unsafe { o.as_ref() } {
            if !opt.name.is_null() && !opt.value.is_null() {
                // SAFETY: checked non-NULL C strings.
                extra.push(unsafe {
                    (
                        CStr::from_ptr(opt.name).to_bytes(),
                        CStr::from_ptr(opt.value).to_bytes(),
                    )
                });
            }
            o = opt.next;
        }
    }
    mime::mimetype(name, extra).map_or(ptr::null(), |t| t.as_ptr().cast())
}

/// The protocol callback used when the application gives no protocols: 404
/// for every request, then close. Applications also delegate to it, for
/// what it does with a script `lws_cgi` runs (the original's policy): the
/// script's stdout goes to the client on each HTTP_WRITEABLE
/// (`lws_cgi_write_split_stdout_headers`), asked for when stdout has
/// something; body bytes are written to its stdin; stderr is left to the
/// library, which logs it; CGI_TERMINATED closes the connection.
///
/// # Safety
/// Called by the library as a protocol callback.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_http_dummy(
    wsi: *mut lws,
    reason: CallbackReason,
    user: *mut c_void,
    r#in: *mut c_void,
    len: usize,
) -> c_int {
    let _ = (user, len);
    let r = reason.0;
    if r == R::LWS_CALLBACK_HTTP as u32 {
        // SAFETY: the library passes a live connection.
        unsafe { lws_return_http_status(wsi, 404, ptr::null()) };
        return -1;
    }
    if r == R::LWS_CALLBACK_HTTP_WRITEABLE as u32 {
        // SAFETY: as above.
        if unsafe { super::wsi::lws_is_cgi(wsi) } != 0
            && unsafe { super::cgi::lws_cgi_write_split_stdout_headers(wsi) } < 0
        {
            return -1;
        }
        return 0;
    }
    if r == R::LWS_CALLBACK_CGI_TERMINATED as u32 {
        return -1;
    }
    let is_cgi = r == R::LWS_CALLBACK_CGI as u32;
    if !is_cgi && r != R::LWS_CALLBACK_CGI_STDIN_DATA as u32 {
        return 0;
    }
    // SAFETY: the CGI callbacks pass a struct lws_cgi_args.
    let Some(args) = (unsafe { r#in.cast::<super::types::lws_cgi_args>().as_ref() }) else {
        return 0;
    };
    if is_cgi {
        if args.ch.0 == super::enums::lws_enum_stdinouterr::LWS_STDOUT as u32 {
            // SAFETY: as above.
            unsafe { super::write::lws_callback_on_writable(wsi) };
        }
        return 0;
    }
    // CGI_STDIN_DATA: as much as the pipe takes now (the rest is offered
    // again when it drains)
    if args.stdwsi.is_null() || args.data.is_null() || args.len <= 0 {
        return 0;
    }
    // SAFETY: stdwsi points at the script's three pipe handles.
    let stdin = unsafe { *args.stdwsi };
    let Some(pipe) = handle::conn("lws_callback_http_dummy", stdin) else {
        return -1;
    };
    // SAFETY: the library passes `len` readable bytes at `data`.
    let data = unsafe { std::slice::from_raw_parts(args.data, args.len as usize) };
    match crate::plat::proc::write(pipe.fd(), data) {
        Ok(n) => c_int::try_from(n).unwrap_or(c_int::MAX),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        // the script stopped reading: the rest of the body is dropped
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => args.len,
        Err(_) => -1,
    }
}
