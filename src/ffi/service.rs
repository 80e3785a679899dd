//! The service loop, waking it, timeouts and socket adoption.

use std::os::fd::FromRawFd;
use std::os::raw::{c_char, c_int};
use std::ptr;

use super::enums::PendingTimeout;
use super::guard;
use super::handle;
use super::types::{lws, lws_context, lws_pollfd, lws_sockfd_type};
use crate::conn::transport::Stream;
use crate::conn::Conn;
use crate::service::pt;

/// `lws_service_tsi(context, timeout_ms, 0)`.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_service(context: *mut lws_context, timeout_ms: c_int) -> c_int {
    // SAFETY: per this function's contract.
    unsafe { lws_service_tsi(context, timeout_ms, 0) }
}

/// Waits up to `timeout_ms` for events on service thread `tsi`'s
/// connections and services them: 0, 1 without a context or vhost, -1 on a
/// poll failure.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_service_tsi(
    context: *mut lws_context,
    timeout_ms: c_int,
    tsi: c_int,
) -> c_int {
    let Some(h) = handle::context("lws_service_tsi", context) else {
        return 1;
    };
    let Some(tsi) = valid_tsi("lws_service_tsi", h, tsi) else {
        return -1;
    };
    guard("lws_service", -1, || pt::service(&h.ctx, tsi, timeout_ms))
}

/// `tsi` if it names one of the context's service threads (logged if not).
pub(crate) fn valid_tsi(func: &str, h: &handle::ContextHandle, tsi: c_int) -> Option<usize> {
    let valid = usize::try_from(tsi).ok().filter(|t| *t < h.ctx.pts.len());
    if valid.is_none() {
        lwsl_err!(
            "{func}: tsi {tsi} out of range (count_threads {})",
            h.ctx.pts.len()
        );
    }
    valid
}

/// Makes the service thread of `wsi` return from its wait (any thread).
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_cancel_service_pt(wsi: *mut lws) {
    if let Some(conn) = handle::conn("lws_cancel_service_pt", wsi) {
        conn.ctx.pts[conn.tsi].wake();
    }
}

/// Makes every service thread return from its wait (any thread).
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_cancel_service(context: *mut lws_context) {
    if let Some(h) = handle::context("lws_cancel_service", context) {
        h.ctx.pts.iter().for_each(|pt| pt.wake());
    }
}

/// `lws_service_fd_tsi(context, pollfd, 0)`.
///
/// # Safety
/// `context` is NULL or a live context; `pollfd` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_service_fd(
    context: *mut lws_context,
    pollfd: *mut lws_pollfd,
) -> c_int {
    // SAFETY: per this function's contract.
    unsafe { lws_service_fd_tsi(context, pollfd, 0) }
}

/// Services one fd an external poll loop found ready (NULL: only the
/// once-a-second work). 0, or 1 if the connection was closed; `revents` is
/// zeroed when the fd was ours and is still open.
///
/// # Safety
/// `context` is NULL or a live context; `pollfd` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_service_fd_tsi(
    context: *mut lws_context,
    pollfd: *mut lws_pollfd,
    tsi: c_int,
) -> c_int {
    let Some(h) = handle::context("lws_service_fd_tsi", context) else {
        return -1;
    };
    let Some(tsi) = valid_tsi("lws_service_fd_tsi", h, tsi) else {
        return -1;
    };
    // SAFETY: per this function's contract.
    let pfd = unsafe { pollfd.as_mut() };
    let ready = pfd.as_ref().map(|p| (p.fd, p.revents as u16 as u32));
    let (r, ours) = guard("lws_service_fd", (-1, false), || {
        pt::service_fd(&h.ctx, tsi, ready)
    });
    if let Some(p) = pfd {
        if ours && r == 0 {
            p.revents = 0;
        }
    }
    r
}

/// Arms (or with reason 0 cancels) a timeout: when `secs` seconds have
/// passed the connection is closed.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_set_timeout(wsi: *mut lws, reason: PendingTimeout, secs: c_int) {
    if let Some(conn) = handle::conn("lws_set_timeout", wsi) {
        guard("lws_set_timeout", (), || {
            conn.set_timeout(reason.0, i64::from(secs))
        });
    }
}

/// Makes an already-accepted socket a connection of the first vhost.
///
/// # Safety
/// `context` is NULL or a live context; `accept_fd` an open socket whose
/// ownership passes to the library.
#[no_mangle]
pub unsafe extern "C" fn lws_adopt_socket(
    context: *mut lws_context,
    accept_fd: lws_sockfd_type,
) -> *mut lws {
    // SAFETY: per this function's contract.
    unsafe { lws_adopt_socket_readbuf(context, accept_fd, ptr::null(), 0) }
}

/// lws_adopt_socket, with `len` bytes already read from the socket that are
/// parsed first.
///
/// # Safety
/// As lws_adopt_socket; `readbuf` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_adopt_socket_readbuf(
    context: *mut lws_context,
    accept_fd: lws_sockfd_type,
    readbuf: *const c_char,
    len: usize,
) -> *mut lws {
    let Some(h) = handle::context("lws_adopt_socket_readbuf", context) else {
        return ptr::null_mut();
    };
    if accept_fd < 0 {
        return ptr::null_mut();
    }
    // SAFETY: the caller hands over an open socket it no longer uses.
    let socket = unsafe { std::net::TcpStream::from_raw_fd(accept_fd) };
    let pre: &[u8] = if readbuf.is_null() {
        &[]
    } else {
        // SAFETY: the caller gives len readable bytes.
        unsafe { std::slice::from_raw_parts(readbuf.cast(), len) }
    };
    guard("lws_adopt_socket", ptr::null_mut(), || {
        let _ = socket.set_nonblocking(true);
        let _ = socket.set_nodelay(true);
        let Some(vh) = h.ctx.first_vhost() else {
            return ptr::null_mut();
        };
        let via = Conn::fake(&h.ctx, &vh, 0);
        crate::conn::http::adopt(&via, Stream::Tcp(socket), pre)
            .map_or(ptr::null_mut(), |c| handle::wsi_of(&c))
    })
}
