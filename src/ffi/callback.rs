//! Calling the application: protocol callbacks and file operations.
//!
//! The core hands over addresses (connections, user data, buffers) as raw
//! pointers; only here are the application's function pointers called.

use std::os::raw::{c_int, c_void};

use super::enums::CallbackReason;
use super::types::lws;

/// The type of `struct lws_protocols.callback`.
pub(crate) type ProtocolCallback =
    unsafe extern "C" fn(*mut lws, CallbackReason, *mut c_void, *mut c_void, usize) -> c_int;

/// Calls a protocol callback; a panic unwinding out of it (a Rust callback
/// behind the C ABI) counts as -1.
pub(crate) fn invoke(
    callback: ProtocolCallback,
    wsi: *const c_void,
    reason: u32,
    user: *mut c_void,
    input: *mut c_void,
    len: usize,
) -> i32 {
    super::guard("protocol callback", -1, || {
        // SAFETY: the application registered this callback for exactly these
        // arguments; wsi and user stay valid for the call.
        unsafe {
            callback(
                wsi.cast_mut().cast(),
                CallbackReason(reason),
                user,
                input,
                len,
            )
        }
    })
}

/// How a connection's socket entered, left or changed in the poll set, for
/// applications running their own poll loop.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollOp {
    Add,
    Delete,
    Change,
}

/// Tells `protocols[0]` about a poll-set change: LOCK_POLL, then
/// ADD_POLL_FD / DEL_POLL_FD / CHANGE_MODE_POLL_FD, then UNLOCK_POLL, each with
/// a `struct lws_pollargs *` (len 1 for insert/delete, 0 for a change).
pub(crate) fn poll_event(
    conn: &std::sync::Arc<crate::conn::Conn>,
    op: PollOp,
    fd: i32,
    events: u32,
    prev: u32,
) {
    use super::enums::lws_callback_reasons as R;
    let mut args = super::types::lws_pollargs {
        fd,
        events: if op == PollOp::Delete {
            0
        } else {
            events as c_int
        },
        prev_events: if op == PollOp::Change {
            prev as c_int
        } else {
            0
        },
    };
    let (what, lock_len) = match op {
        PollOp::Add => (R::LWS_CALLBACK_ADD_POLL_FD, 1),
        PollOp::Delete => (R::LWS_CALLBACK_DEL_POLL_FD, 1),
        PollOp::Change => (R::LWS_CALLBACK_CHANGE_MODE_POLL_FD, 0),
    };
    let ptr = (&mut args as *mut super::types::lws_pollargs).cast::<c_void>();
    conn.callback_p0(R::LWS_CALLBACK_LOCK_POLL as u32, ptr, lock_len);
    conn.callback_p0(what as u32, ptr, 0);
    conn.callback_p0(R::LWS_CALLBACK_UNLOCK_POLL as u32, ptr, lock_len);
}

pub(crate) fn poll_change(
    conn: &std::sync::Arc<crate::conn::Conn>,
    fd: i32,
    events: u32,
    prev: u32,
) {
    poll_event(conn, PollOp::Change, fd, events, prev)
}

/// CHECK_ACCESS_RIGHTS with `struct lws_process_html_args` {p = URI, len,
/// max_len = auth_mask, final = 0}: the callback's return and `final`.
pub(crate) fn check_access_rights(
    conn: &std::sync::Arc<crate::conn::Conn>,
    uri: &mut [u8],
    auth_mask: u32,
) -> (i32, i32) {
    use super::enums::lws_callback_reasons as R;
    let mut args = super::types::lws_process_html_args {
        p: uri.as_mut_ptr().cast(),
        len: c_int::try_from(uri.len()).unwrap_or(c_int::MAX),
        max_len: auth_mask as c_int,
        r#final: 0,
    };
    let r = conn.callback(
        R::LWS_CALLBACK_CHECK_ACCESS_RIGHTS as u32,
        (&mut args as *mut super::types::lws_process_html_args).cast(),
        0,
    );
    (r, args.r#final)
}

/// ADD_HEADERS on protocol `index` with `struct lws_process_html_args`
/// {p = cursor into `buf`, max_len = room}: the callback's return and the
/// header bytes it wrote.
pub(crate) fn add_headers(
    conn: &std::sync::Arc<crate::conn::Conn>,
    index: usize,
    buf: &mut [u8],
) -> (i32, usize) {
    use super::enums::lws_callback_reasons as R;
    let start = buf.as_mut_ptr();
    let mut args = super::types::lws_process_html_args {
        p: start.cast(),
        len: 0,
        max_len: c_int::try_from(buf.len()).unwrap_or(c_int::MAX),
        r#final: 0,
    };
    let user = conn.user_ptr();
    let r = conn.callback_protocol(
        index,
        R::LWS_CALLBACK_ADD_HEADERS as u32,
        user,
        (&mut args as *mut super::types::lws_process_html_args).cast(),
        0,
    );
    // The callback advances args.p over what it wrote (never past max_len).
    let written = (args.p as usize)
        .saturating_sub(start as usize)
        .min(buf.len());
    (r, written)
}

/// Bytes PROCESS_HTML may write before `args.p`: `lws_chunked_html_process`
/// puts the chunk-size line there, as the original's callers allowed.
pub(crate) const PROCESS_HTML_HEADROOM: usize = crate::http::html_subst::MAX_HEAD;

/// PROCESS_HTML on protocol `index` for the first `len` bytes of `buf` (an
/// interpreted file piece, CONTRACT §9) with `struct lws_process_html_args`
/// {p = the piece, moved PROCESS_HTML_HEADROOM bytes into `buf`, len,
/// max_len = the room after it, final}: what the callback left at `args.p`
/// / `args.len` (it may rewrite in place, up to max_len, or point at memory
/// of its own) and, when `lws_chunked_html_process` framed it as a chunk
/// already, where the data lies inside that; None when the callback
/// returned < 0.
pub(crate) fn process_html(
    conn: &std::sync::Arc<crate::conn::Conn>,
    index: usize,
    buf: &mut [u8],
    len: usize,
    last: bool,
) -> Option<(Vec<u8>, Option<std::ops::Range<usize>>)> {
    use super::enums::lws_callback_reasons as R;
    let head = PROCESS_HTML_HEADROOM.min(buf.len());
    let len = len.min(buf.len() - head);
    buf.copy_within(..len, head);
    let mut args = super::types::lws_process_html_args {
        p: buf[head..].as_mut_ptr().cast(),
        len: c_int::try_from(len).unwrap_or(c_int::MAX),
        max_len: c_int::try_from(buf.len() - head).unwrap_or(c_int::MAX),
        r#final: c_int::from(last),
    };
    let user = conn.user_ptr();
    super::html::clear_framed();
    let r = conn.callback_protocol(
        index,
        R::LWS_CALLBACK_PROCESS_HTML as u32,
        user,
        (&mut args as *mut super::types::lws_process_html_args).cast(),
        0,
    );
    if r < 0 {
        return None;
    }
    let framed = super::html::framed_data(&args);
    let mut n = usize::try_from(args.len).unwrap_or(0);
    let (start, at) = (buf.as_ptr() as usize, args.p as usize);
    if (start..start + buf.len()).contains(&at) {
        // inside our buffer: never past its end
        n = n.min(start + buf.len() - at);
    }
    if n == 0 || args.p.is_null() {
        return Some((Vec::new(), framed.filter(|_| n == 0)));
    }
    // SAFETY: the callback left `args.p` pointing at `args.len` readable
    // bytes: still `buf` (bounded by max_len) or memory of its own, as the
    // original trusted it.
    let piece = unsafe { std::slice::from_raw_parts(args.p.cast::<u8>(), n) }.to_vec();
    Some((piece, framed.filter(|r| r.end <= n)))
}

/// The SSL a certificate-verification step belongs to (as an address).
pub(crate) fn ssl_of_store(store: usize) -> usize {
    // SAFETY: `store` is the live X509_STORE_CTX OpenSSL is verifying with;
    // the index is OpenSSL's own for the SSL it belongs to.
    unsafe {
        let idx = openssl_sys::SSL_get_ex_data_X509_STORE_CTX_idx();
        openssl_sys::X509_STORE_CTX_get_ex_data(store as *mut openssl_sys::X509_STORE_CTX, idx)
            as usize
    }
}

/// A CGI callback (CGI, CGI_TERMINATED, CGI_STDIN_DATA,
/// CGI_STDIN_COMPLETED) on the connection the script runs for, with
/// `struct lws_cgi_args` {stdwsi = the pipes' array at `stdwsi`, ch,
/// data / len = `data` (with room for a NUL after it, which the original's
/// handlers write), hdr_state}.
pub(crate) fn cgi(
    conn: &std::sync::Arc<crate::conn::Conn>,
    reason: u32,
    stdwsi: usize,
    ch: usize,
    data: Option<&mut Vec<u8>>,
    hdr_state: u32,
) -> i32 {
    let (ptr, len) = match data {
        Some(v) => {
            v.reserve(1);
            (v.as_mut_ptr(), v.len())
        }
        None => (std::ptr::null_mut(), 0),
    };
    let mut args = super::types::lws_cgi_args {
        stdwsi: stdwsi as *mut *mut lws,
        ch: super::enums::StdInOutErr(ch as u32),
        data: ptr,
        hdr_state: super::enums::CgiHdrState(hdr_state),
        len: c_int::try_from(len).unwrap_or(c_int::MAX),
    };
    conn.callback(
        reason,
        (&mut args as *mut super::types::lws_cgi_args).cast(),
        0,
    )
}
