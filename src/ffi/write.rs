//! Sending, writeable callbacks, flow control and frame state.
//!
//! Declared and exported; the behaviour arrives with its milestone (see the
//! README's compatibility table), so each export reports itself as not yet
//! implemented and returns the API's failure value.

#![allow(unused_variables)]

use std::os::raw::{c_int, c_uchar};

use super::enums::{CloseStatus, WriteProtocol};
use super::types::{lws, lws_context, lws_protocols, lws_vhost};

#[no_mangle]
pub extern "C" fn lws_close_reason(
    wsi: *mut lws,
    status: CloseStatus,
    buf: *mut c_uchar,
    len: usize,
) {
    not_yet!("lws_close_reason")
}

#[no_mangle]
pub extern "C" fn lws_write(
    wsi: *mut lws,
    buf: *mut c_uchar,
    len: usize,
    protocol: WriteProtocol,
) -> c_int {
    not_yet!("lws_write", -1)
}

#[no_mangle]
pub extern "C" fn lws_callback_on_writable(wsi: *mut lws) -> c_int {
    not_yet!("lws_callback_on_writable", -1)
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

#[no_mangle]
pub extern "C" fn lws_get_peer_write_allowance(wsi: *mut lws) -> usize {
    not_yet!("lws_get_peer_write_allowance", 0)
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

#[must_use]
#[no_mangle]
pub extern "C" fn lws_send_pipe_choked(wsi: *mut lws) -> c_int {
    not_yet!("lws_send_pipe_choked", -1)
}

#[no_mangle]
pub extern "C" fn lws_is_final_fragment(wsi: *mut lws) -> c_int {
    not_yet!("lws_is_final_fragment", -1)
}

#[no_mangle]
pub extern "C" fn lws_get_reserved_bits(wsi: *mut lws) -> c_uchar {
    not_yet!("lws_get_reserved_bits", 0)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_partial_buffered(wsi: *mut lws) -> c_int {
    not_yet!("lws_partial_buffered", -1)
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_frame_is_binary(wsi: *mut lws) -> c_int {
    not_yet!("lws_frame_is_binary", -1)
}
