//! Sending, writeable callbacks, flow control and frame state.
//!
//! Writes (HTTP and WebSocket frames), writeable requests, rx flow
//! control and the state of the frame being received.

use std::os::raw::{c_int, c_uchar};

use super::enums::{lws_write_protocol as W, CloseStatus, WriteProtocol};
use super::guard;
use super::handle;
use super::types::{lws, lws_context, lws_protocols, lws_vhost};
use crate::conn::http as core_http;
use crate::conn::ws as core_ws;
use crate::conn::{Conn, Role};
use crate::plat::mem;
use crate::service::context::Context;
use crate::service::vhost::Vhost;

/// Runs `f` on every established WebSocket of `vhosts` bound to the entry
/// matching `protocol` (same callback and name).
fn for_ws_using(
    ctx: &Context,
    vhosts: &[std::sync::Arc<Vhost>],
    protocol: &lws_protocols,
    mut f: impl FnMut(&std::sync::Arc<Conn>),
) {
    for vhost in vhosts {
        let Some(index) = super::wsi::same_protocol(vhost, protocol) else {
            continue;
        };
        for pt in &ctx.pts {
            for conn in pt.connections() {
                if std::sync::Arc::ptr_eq(&conn.vhost(), vhost)
                    && conn.protocol_index() == index
                    && !conn.is_dead()
                    && core_ws::is_established(&conn)
                {
                    f(&conn);
                }
            }
        }
    }
}

/// Sets the status and reason sent in the CLOSE frame when the application
/// next closes this WebSocket (reason cut to 123 bytes).
///
/// # Safety
/// `wsi` is NULL or live; `buf` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_close_reason(
    wsi: *mut lws,
    status: CloseStatus,
    buf: *mut c_uchar,
    len: usize,
) {
    let Some(conn) = handle::conn("lws_close_reason", wsi) else {
        return;
    };
    let reason = if buf.is_null() {
        &[][..]
    } else {
        // SAFETY: per this function's contract; only the first 123 bytes
        // are ever used, so a wrong length reads no further.
        unsafe { std::slice::from_raw_parts(buf, len.min(125)) }
    };
    guard("lws_close_reason", (), || {
        core_ws::set_close_reason(&conn, status.0 as u16, reason)
    })
}

/// Sends `len` bytes at `buf`. HTTP modes send them as they are and return
/// `len` (what the socket does not take now is buffered and sent first when
/// it is writable); -1 on a dead connection or a write while output is
/// still buffered. WebSocket modes build the frame header in the LWS_PRE
/// bytes before `buf` and send header and payload in one write; they return
/// `len` (plus the header for PING/PONG), 0 on a connection that is not
/// an established WebSocket, -1 for an unknown mode.
///
/// A length that cannot be right (more than INT_MAX, so not even the
/// return value can hold it: typically -1 from a length field) fails with
/// -1 and closes this connection, as does a buffer the kernel finds is not
/// (all) memory; other connections are not affected.
///
/// # Safety
/// `wsi` is NULL or a connection from this library; `buf` NULL or `len`
/// readable bytes, with LWS_PRE writable bytes before it for the WebSocket
/// modes (and the payload writable too on a client, which masks it there).
#[no_mangle]
pub unsafe extern "C" fn lws_write(
    wsi: *mut lws,
    buf: *mut c_uchar,
    len: usize,
    protocol: WriteProtocol,
) -> c_int {
    let Some(conn) = handle::conn("lws_write", wsi) else {
        return -1;
    };
    if len > c_int::MAX as usize {
        lwsl_err!(
            "lws_write: impossible length {len} (more than INT_MAX; -1 in a length field?): \
             closing the connection"
        );
        guard("lws_write", (), || core_http::fail(&conn));
        return -1;
    }
    let Some(target) = core_ws::write_target(&conn) else {
        lwsl_err!("lws_write: wsi {wsi:p} is closed");
        return -1;
    };
    let flags = W::LWS_WRITE_NO_FIN as u32 | W::LWS_WRITE_CLIENT_IGNORE_XOR_MASK as u32;
    let mode = protocol.0 & !flags;
    let http_mode = [
        W::LWS_WRITE_HTTP,
        W::LWS_WRITE_HTTP_FINAL,
        W::LWS_WRITE_HTTP_HEADERS,
    ]
    .iter()
    .any(|m| *m as u32 == mode);
    if !target.http {
        return 0;
    }
    if buf.is_null() && (len > 0 || !http_mode) {
        lwsl_err!("lws_write: NULL buf");
        return -1;
    }
    if !http_mode {
        let start = buf.wrapping_sub(core_ws::LWS_PRE);
        // A client masks the payload in place and TLS encrypts from it in
        // user space: check the range first, what a plain send leaves to
        // the kernel. (A server's headroom is the application's to get
        // right, as with the original.)
        if (target.ws_client || target.tls)
            && target.ws_open
            && !mem::accessible(start, core_ws::LWS_PRE + len, target.ws_client)
        {
            lwsl_err!(
                "lws_write: buf {buf:p} has no {len} accessible bytes: closing the connection"
            );
            guard("lws_write", (), || core_http::fail(&conn));
            return -1;
        }
        // SAFETY: callers leave LWS_PRE writable bytes before the payload;
        // the payload is only handed to the kernel (checked above where it
        // is read or written here).
        let frame = unsafe { std::slice::from_raw_parts_mut(start, core_ws::LWS_PRE + len) };
        return guard("lws_write", -1, || {
            core_ws::write(&conn, frame, mode, fin_of(protocol))
        });
    }
    if len == 0 {
        return 0;
    }
    if target.tls && !mem::accessible(buf, len, false) {
        lwsl_err!("lws_write: buf {buf:p} has no {len} readable bytes: closing the connection");
        guard("lws_write", (), || core_http::fail(&conn));
        return -1;
    }
    // SAFETY: per this function's contract; a length past the buffer only
    // reaches the kernel (see core_http::write).
    let data = unsafe { std::slice::from_raw_parts(buf, len) };
    guard("lws_write", -1, || {
        crate::conn::cgi::note_app_write(&conn);
        core_http::write(&conn, data)
    })
}

fn fin_of(protocol: WriteProtocol) -> bool {
    protocol.0 & W::LWS_WRITE_NO_FIN as u32 == 0
}

/// Asks for a WRITEABLE callback when the connection can take more: 1, or
/// 0 if it is closing, -1 if it is not in the poll set.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_on_writable(wsi: *mut lws) -> c_int {
    let Some(conn) = handle::conn("lws_callback_on_writable", wsi) else {
        return -1;
    };
    if conn.is_dead() {
        return 0;
    }
    if !conn.state().in_table {
        // (closing: its final callbacks run after it left the poll set)
        lwsl_err!("lws_callback_on_writable: wsi {wsi:p} is not in the poll set");
        return -1;
    }
    if !matches!(conn.state().role, Role::Http(_)) {
        return -1;
    }
    guard("lws_callback_on_writable", -1, || {
        core_http::request_writable(&conn)
    })
}

/// Asks a WRITEABLE callback for every WebSocket using `protocol` on any
/// vhost (same callback and name). Returns 0.
///
/// # Safety
/// `context` is NULL or live; `protocol` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_on_writable_all_protocol(
    context: *const lws_context,
    protocol: *const lws_protocols,
) -> c_int {
    // SAFETY: per this function's contract.
    let (Some(h), Some(protocol)) = (
        handle::context("lws_callback_on_writable_all_protocol", context),
        unsafe { protocol.as_ref() },
    ) else {
        return -1;
    };
    guard("lws_callback_on_writable_all_protocol", -1, || {
        for_ws_using(&h.ctx, &h.ctx.vhosts(), protocol, |c| {
            core_http::request_writable(c);
        });
        0
    })
}

/// lws_callback_on_writable_all_protocol for one vhost; `protocol` must be
/// one of its protocols (else -1).
///
/// # Safety
/// `vhost` is NULL or live; `protocol` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_on_writable_all_protocol_vhost(
    vhost: *const lws_vhost,
    protocol: *const lws_protocols,
) -> c_int {
    // SAFETY: per this function's contract.
    let (Some(vh), Some(entry)) = (
        handle::vhost("lws_callback_on_writable_all_protocol_vhost", vhost),
        unsafe { protocol.as_ref() },
    ) else {
        return -1;
    };
    if !vh.protocols.iter().any(|p| p.c_addr == protocol as usize) {
        return -1;
    }
    let Some(ctx) = crate::service::context::owner_of(&vh) else {
        return -1;
    };
    guard("lws_callback_on_writable_all_protocol_vhost", -1, || {
        for_ws_using(&ctx, &[vh], entry, |c| {
            core_http::request_writable(c);
        });
        0
    })
}

/// How much the peer allows us to send: unlimited, as only HTTP/2 limits it.
#[no_mangle]
pub extern "C" fn lws_get_peer_write_allowance(wsi: *mut lws) -> usize {
    let _ = wsi;
    usize::MAX
}

/// Stops (`enable` 0) or resumes receiving on a WebSocket: bytes already
/// read wait, in order, until it resumes. Returns 0.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_rx_flow_control(wsi: *mut lws, enable: c_int) -> c_int {
    let Some(conn) = handle::conn("lws_rx_flow_control", wsi) else {
        return -1;
    };
    guard("lws_rx_flow_control", -1, || {
        // (a CGI pipe: its events stop / resume)
        crate::conn::cgi::pipe_flow(&conn, enable != 0)
            .unwrap_or_else(|| core_ws::flow_control(&conn, enable != 0))
    })
}

/// Resumes receiving on every WebSocket using `protocol`.
///
/// # Safety
/// `context` is NULL or live; `protocol` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_rx_flow_allow_all_protocol(
    context: *const lws_context,
    protocol: *const lws_protocols,
) {
    // SAFETY: per this function's contract.
    let (Some(h), Some(protocol)) = (
        handle::context("lws_rx_flow_allow_all_protocol", context),
        unsafe { protocol.as_ref() },
    ) else {
        return;
    };
    guard("lws_rx_flow_allow_all_protocol", (), || {
        for_ws_using(&h.ctx, &h.ctx.vhosts(), protocol, |c| {
            core_ws::flow_control(c, true);
        })
    })
}

/// Bytes of the frame being received still to come after this RECEIVE.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_remaining_packet_payload(wsi: *mut lws) -> usize {
    handle::conn("lws_remaining_packet_payload", wsi)
        .map_or(0, |c| core_ws::frame_info(&c).remaining as usize)
}

/// Feeds `len` bytes to the connection as if read from its socket; 0, or -1
/// if the connection closed.
///
/// # Safety
/// `wsi` is NULL or live; `buf` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_read(wsi: *mut lws, buf: *mut c_uchar, len: usize) -> c_int {
    let Some(conn) = handle::conn("lws_read", wsi) else {
        return -1;
    };
    if buf.is_null() || len > c_int::MAX as usize {
        lwsl_err!("lws_read: bad buffer {buf:p} / length {len}");
        return -1;
    }
    // copied through the kernel: a length past the buffer is EFAULT, not
    // SIGSEGV
    let mut data = Vec::new();
    if mem::append_checked(&mut data, buf, len).is_err() {
        lwsl_err!("lws_read: buf {buf:p} has no {len} readable bytes");
        return -1;
    }
    guard("lws_read", -1, || {
        if core_http::feed(&conn, &data) {
            0
        } else {
            -1
        }
    })
}

/// 1 if output is buffered: the socket did not take all of the last write.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_send_pipe_choked(wsi: *mut lws) -> c_int {
    let Some(conn) = handle::conn("lws_send_pipe_choked", wsi) else {
        return 1;
    };
    guard("lws_send_pipe_choked", 1, || {
        c_int::from(core_http::choked(&conn))
    })
}

/// Whether this RECEIVE ends its message.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_is_final_fragment(wsi: *mut lws) -> c_int {
    handle::conn("lws_is_final_fragment", wsi).map_or(0, |c| {
        let f = core_ws::frame_info(&c);
        c_int::from(f.fin && f.remaining == 0)
    })
}

/// The RSV bits of the frame being received, as in its header (0x40 on
/// the first frame of a compressed message; other bits are refused).
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_get_reserved_bits(wsi: *mut lws) -> c_uchar {
    handle::conn("lws_get_reserved_bits", wsi).map_or(0, |c| core_ws::frame_info(&c).rsv)
}

/// 1 while output the socket refused is waiting to be sent.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_partial_buffered(wsi: *mut lws) -> c_int {
    let Some(conn) = handle::conn("lws_partial_buffered", wsi) else {
        return 0;
    };
    c_int::from(core_http::buffered(&conn))
}

/// Whether the message being received is binary.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_frame_is_binary(wsi: *mut lws) -> c_int {
    handle::conn("lws_frame_is_binary", wsi)
        .map_or(0, |c| c_int::from(core_ws::frame_info(&c).binary))
}
