//! Sending, writeable callbacks, flow control and frame state.
//!
//! HTTP writes work; the WebSocket parts (frames, flow control, frame
//! state) arrive with the WebSocket milestone and until then report
//! themselves as not yet implemented.

// The exports not implemented yet keep their C parameter names.
#![allow(unused_variables)]

use std::os::raw::{c_int, c_uchar};

use super::enums::{lws_write_protocol as W, CloseStatus, WriteProtocol};
use super::guard;
use super::handle;
use super::types::{lws, lws_context, lws_protocols, lws_vhost};
use crate::conn::http as core_http;
use crate::conn::Role;

#[no_mangle]
pub extern "C" fn lws_close_reason(
    wsi: *mut lws,
    status: CloseStatus,
    buf: *mut c_uchar,
    len: usize,
) {
    not_yet!("lws_close_reason")
}

/// Sends `len` bytes at `buf`. HTTP modes send them as they are and return
/// `len` (what the socket does not take now is buffered and sent first when
/// it is writable); -1 on a dead connection or a write while output is
/// still buffered. WebSocket modes on a connection that is not an
/// established WebSocket send nothing and return 0.
///
/// # Safety
/// `wsi` is NULL or live; `buf` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_write(
    wsi: *mut lws,
    buf: *mut c_uchar,
    len: usize,
    protocol: WriteProtocol,
) -> c_int {
    // SAFETY: per this function's contract.
    let Some(conn) = (unsafe { handle::conn(wsi) }) else {
        return -1;
    };
    let mode =
        protocol.0 & !(W::LWS_WRITE_NO_FIN as u32 | W::LWS_WRITE_CLIENT_IGNORE_XOR_MASK as u32);
    let http_mode = [
        W::LWS_WRITE_HTTP,
        W::LWS_WRITE_HTTP_FINAL,
        W::LWS_WRITE_HTTP_HEADERS,
    ]
    .iter()
    .any(|m| *m as u32 == mode);
    if !http_mode || !matches!(conn.state().role, Role::Http(_)) {
        return 0;
    }
    if len == 0 {
        return 0;
    }
    if buf.is_null() {
        return -1;
    }
    // SAFETY: per this function's contract.
    let data = unsafe { std::slice::from_raw_parts(buf, len) };
    guard("lws_write", -1, || core_http::write(&conn, data))
}

/// Asks for a WRITEABLE callback when the connection can take more: 1, or
/// 0 if it is closing, -1 if it is not in the poll set.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_on_writable(wsi: *mut lws) -> c_int {
    // SAFETY: per this function's contract.
    let Some(conn) = (unsafe { handle::conn(wsi) }) else {
        return -1;
    };
    if !matches!(conn.state().role, Role::Http(_)) {
        return -1;
    }
    guard("lws_callback_on_writable", -1, || {
        core_http::request_writable(&conn)
    })
}

#[no_mangle]
pub extern "C" fn lws_callback_on_writable_all_protocol(
    context: *const lws_context,
    protocol: *const lws_protocols,
) -> c_int {
    not_yet!("lws_callback_on_writable_all_protocol", -1)
}

#[no_mangle]
pub extern "C" fn lws_callback_on_writable_all_protocol_vhost(
    vhost: *const lws_vhost,
    protocol: *const lws_protocols,
) -> c_int {
    not_yet!("lws_callback_on_writable_all_protocol_vhost", -1)
}

/// How much the peer allows us to send: unlimited, as only HTTP/2 limits it.
#[no_mangle]
pub extern "C" fn lws_get_peer_write_allowance(wsi: *mut lws) -> usize {
    usize::MAX
}

#[no_mangle]
pub extern "C" fn lws_rx_flow_control(wsi: *mut lws, enable: c_int) -> c_int {
    not_yet!("lws_rx_flow_control", -1)
}

#[no_mangle]
pub extern "C" fn lws_rx_flow_allow_all_protocol(
    context: *const lws_context,
    protocol: *const lws_protocols,
) {
    not_yet!("lws_rx_flow_allow_all_protocol")
}

#[no_mangle]
pub extern "C" fn lws_remaining_packet_payload(wsi: *mut lws) -> usize {
    not_yet!("lws_remaining_packet_payload", 0)
}

#[no_mangle]
pub extern "C" fn lws_read(wsi: *mut lws, buf: *mut c_uchar, len: usize) -> c_int {
    not_yet!("lws_read", -1)
}

/// 1 if output is buffered or the socket cannot take more right now.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_send_pipe_choked(wsi: *mut lws) -> c_int {
    // SAFETY: per this function's contract.
    let Some(conn) = (unsafe { handle::conn(wsi) }) else {
        return 1;
    };
    guard("lws_send_pipe_choked", 1, || {
        c_int::from(core_http::choked(&conn))
    })
}

#[no_mangle]
pub extern "C" fn lws_is_final_fragment(wsi: *mut lws) -> c_int {
    not_yet!("lws_is_final_fragment", -1)
}

#[no_mangle]
pub extern "C" fn lws_get_reserved_bits(wsi: *mut lws) -> c_uchar {
    not_yet!("lws_get_reserved_bits", 0)
}

/// 1 while output the socket refused is waiting to be sent.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_partial_buffered(wsi: *mut lws) -> c_int {
    // SAFETY: per this function's contract.
    let Some(conn) = (unsafe { handle::conn(wsi) }) else {
        return 0;
    };
    c_int::from(core_http::buffered(&conn))
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_frame_is_binary(wsi: *mut lws) -> c_int {
    not_yet!("lws_frame_is_binary", -1)
}
