//! Server-side WebSocket connections: the upgrade (CONTRACT §3 E/F),
//! receiving (§5: RECEIVE in rx_buffer_size chunks with LWS_PRE headroom,
//! automatic PONG, peer close), writing frames in the caller's headroom (§4),
//! rx flow control, the close handshake and the idle ping.

use std::os::raw::c_void;
use std::sync::Arc;

use super::http::{self, with_http, Flow, Phase, Step};
use super::{reason, Conn, Role};
use crate::ext::deflate::Session as Deflate;
use crate::ext::negotiate::{self, Agreed};
use crate::ffi::enums::lws_callback_reasons as R;
use crate::ffi::enums::pending_timeout as T;
use crate::http::tokens;
use crate::plat::alloc::{AppBox, AppBytes};
use crate::plat::epoll::{READABLE, WRITABLE};
use crate::service::pt::CloseWhy;
use crate::ws::frame::{self, opcode, Decoder, Event};
use crate::ws::handshake;

/// The headroom lws callers leave before payloads (`LWS_PRE`).
pub const LWS_PRE: usize = 16;
/// Longest close reason lws_close_reason keeps (125 minus the code).
const CLOSE_REASON_MAX: usize = 123;
/// Bytes of PONG frames queued at most per connection.
const PONG_QUEUE_MAX: usize = 4096;
/// How long we wait for the peer's CLOSE after sending ours.
const CLOSE_ACK_SECS: i64 = 1;
/// RECEIVEs of inflated data in a row before other connections get a turn:
/// a small compressed message may inflate to gigabytes.
const INFLATE_BURST: u32 = 64;
/// Capacity of the per-thread compression buffer kept between writes.
const DEFLATE_SCRATCH_KEEP: usize = 256 << 10;

pub struct WsState {
    decoder: Decoder,
    /// payload bytes per RECEIVE (rx_buffer_size, or pt_serv_buf_size)
    rx_size: usize,
    /// LWS_PRE headroom, then the payload collected for the next RECEIVE
    /// (the application's allocator's memory: C reads RECEIVE's `in` there)
    rx_buf: AppBytes,
    /// payload bytes collected in `rx_buf` after the headroom
    rx_fill: usize,
    /// the frame of the current RECEIVE, for lws_is_final_fragment & co.
    pub fin: bool,
    pub binary: bool,
    pub remaining: u64,
    /// the PONG frames answering PINGs not answered yet, in order and ready
    /// to send in one write at the next writable moment (at most
    /// PONG_QUEUE_MAX bytes)
    pongs: Vec<u8>,
    /// a CLOSE to send at the next writable moment, then close
    pending_close: Option<Vec<u8>>,
    /// what lws_close_reason set: the CLOSE payload of an application close
    pub close_reason: Option<Vec<u8>>,
    /// a CLOSE was sent or received: data frames are discarded
    closing: bool,
    pub flow_disabled: bool,
    /// last second with traffic, for ws_ping_pong_interval
    pub last_io: u64,
    /// the connection was idle for ws_ping_pong_interval: PING when writable
    ping_due: bool,
    /// an idle PING is out and its PONG awaited
    ping_out: bool,
    /// our side is the client: frames out are masked, in must not be
    client: bool,
    /// decoded payload waiting for the next RECEIVE
    spill: Option<Spill>,
    /// RSV bits of the frame of the current RECEIVE
    pub rsv: u8,
    /// permessage-deflate, when negotiated
    deflate: Option<Box<Deflate>>,
}

impl WsState {
    fn new(rx_size: usize, validate_utf8: bool, client: bool, deflate: Option<Agreed>) -> WsState {
        WsState {
            decoder: Decoder::new(!client, validate_utf8).with_deflate(deflate.is_some()),
            rx_size,
            // allocated when data first arrives: idle connections stay small
            rx_buf: AppBytes::empty(),
            rx_fill: 0,
            fin: false,
            binary: false,
            remaining: 0,
            pongs: Vec::new(),
            pending_close: None,
            close_reason: None,
            closing: false,
            flow_disabled: false,
            last_io: crate::service::now_secs(),
            ping_due: false,
            ping_out: false,
            client,
            spill: None,
            rsv: 0,
            deflate: deflate.map(|a| Box::new(Deflate::new(a, !client))),
        }
    }
}

fn with_ws<T>(conn: &Conn, f: impl FnOnce(&mut WsState) -> T) -> Option<T> {
    with_http(conn, |h| h.ws.as_deref_mut().map(f)).flatten()
}

/// The request head asks for a WebSocket (Upgrade: websocket).
pub fn wants_upgrade(conn: &Arc<Conn>) -> bool {
    http::header_text(conn, tokens::WSI_TOKEN_UPGRADE)
        .is_some_and(|u| u.eq_ignore_ascii_case(b"websocket"))
}

/// Answers a refused upgrade with an HTTP error (426 with the version we
/// speak for a wrong version), then closes without the final callbacks of
/// a connection that was never established (CONTRACT §3 F). The original
/// answered nothing; RFC 6455 §4.2.2 asks for an HTTP error.
fn refuse(conn: &Arc<Conn>, code: u32) -> Flow {
    let head = http::build_head(conn, |c, block| {
        c.add_status(block, code)?;
        if code == 426 {
            c.add_by_name(b"Sec-WebSocket-Version:", b"13")?;
        }
        c.add_by_name(b"connection:", b"close")?;
        c.add_content_length(0)?;
        c.finalize()
    });
    if let Some(head) = head {
        http::write(conn, &head);
    }
    Flow::Close(CloseWhy::Rejected)
}

/// The upgrade: check the handshake, pick the protocol, FILTER_PROTOCOL_
/// CONNECTION, 101, ESTABLISHED; the header table goes back to the pool
/// after that.
pub fn upgrade(conn: &Arc<Conn>) -> Flow {
    let hdr = |t| http::header_text(conn, t);
    let protocol_header = hdr(tokens::WSI_TOKEN_PROTOCOL);
    let key = hdr(tokens::WSI_TOKEN_KEY);
    if let Err(why) = handshake::check_upgrade(
        hdr(tokens::WSI_TOKEN_HOST).as_deref(),
        hdr(tokens::WSI_TOKEN_UPGRADE).as_deref(),
        hdr(tokens::WSI_TOKEN_CONNECTION).as_deref(),
        hdr(tokens::WSI_TOKEN_VERSION).as_deref(),
        key.as_deref(),
        protocol_header.as_deref(),
    ) {
        lwsl_notice!("refusing a WebSocket upgrade: {why:?}");
        let code = if why == handshake::Reject::BadVersion {
            426
        } else {
            400
        };
        return refuse(conn, code);
    }
    let vhost = &conn.vhost();
    let chosen = match &protocol_header {
        Some(list) => handshake::protocols(list).find_map(|name| vhost.protocol_by_name(name)),
        None => Some(vhost.default_ws_protocol()),
    };
    let Some(index) = chosen else {
        lwsl_notice!(
            "refusing a WebSocket upgrade: no protocol of {:?} is served",
            protocol_header.map(|p| String::from_utf8_lossy(&p).into_owned())
        );
        return refuse(conn, 400);
    };
    let protocol = &vhost.protocols[index];
    {
        let Ok(user) = super::session_data(protocol.per_session_data_size) else {
            return refuse(conn, 500);
        };
        let old = {
            let mut st = conn.state();
            st.protocol = index;
            std::mem::replace(&mut st.user, user)
        };
        if let Some(old) = old {
            conn.ctx.pts[conn.tsi].retire(old);
        }
    }
    let mut raw = protocol_header.clone().map(|mut p| {
        p.push(0);
        p
    });
    let raw_ptr = raw
        .as_mut()
        .map_or(std::ptr::null_mut(), |p| p.as_mut_ptr().cast::<c_void>());
    if conn.callback(
        reason(R::LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION),
        raw_ptr,
        0,
    ) != 0
    {
        return refuse(conn, 403);
    }
    let deflate = accept_deflate(conn, hdr(tokens::WSI_TOKEN_EXTENSIONS).as_deref());
    let (rx_size, validate) = rx_settings(conn, index);
    let Some(ws) = AppBox::new(
        WsState::new(rx_size, validate, false, deflate.as_ref().map(|(a, _)| *a)),
        "a WebSocket connection",
    ) else {
        return refuse(conn, 500);
    };
    let accept = handshake::accept_key(key.as_deref().unwrap_or_default());
    let selected = protocol_header.as_ref().map(|_| protocol.name.as_slice());
    let answer = deflate.as_ref().map(|(_, a)| a.as_str());
    if http::write(conn, &handshake::response(&accept, selected, answer)) < 0 {
        return Flow::Close(CloseWhy::Hangup);
    }
    crate::service::stats::ConnStats::bump(&vhost.stats.ws_upg);
    with_http(conn, |h| {
        h.phase = Phase::Ws;
        h.in_transaction = false;
        h.ws = Some(ws);
        // the head's buffer is not needed any more: idle connections stay small
        if h.rx.is_empty() {
            h.rx = Vec::new();
        }
    });
    conn.set_timeout(0, 0);
    // ESTABLISHED gets the connection's SSL (NULL without TLS)
    let ssl = with_http(conn, |h| h.stream.ssl_addr()).unwrap_or(0);
    if conn.callback(reason(R::LWS_CALLBACK_ESTABLISHED), ssl as *mut c_void, 0) != 0 {
        return Flow::Close(CloseWhy::App);
    }
    if with_http(conn, |h| h.ah.take().is_some()).unwrap_or(false) {
        conn.ctx.pts[conn.tsi].release_ah();
    }
    Flow::Continue
}

/// The server's answer to the request's extension offers: permessage-
/// deflate when the vhost lists it, an offer is acceptable and protocol 0
/// does not refuse it at CONFIRM_EXTENSION_OKAY (CONTRACT §10).
fn accept_deflate(conn: &Arc<Conn>, offers: Option<&[u8]>) -> Option<(Agreed, String)> {
    let listed = conn.with_vhost(|v| v.extensions.iter().any(|e| e.is_pm_deflate()));
    let chosen = negotiate::server_accept(offers.filter(|_| listed)?)?;
    let mut name = format!("{}\0", crate::ext::PM_DEFLATE).into_bytes();
    let refused = conn.callback_protocol(
        0,
        reason(R::LWS_CALLBACK_CONFIRM_EXTENSION_OKAY),
        conn.user_ptr(),
        name.as_mut_ptr().cast(),
        0,
    ) != 0;
    (!refused).then_some(chosen)
}

/// What decoding one event asks the connection to do next.
enum Next {
    /// a RECEIVE of the buffer's payload length; then, if set, other
    /// connections get a turn before this one goes on
    Receive(AppBytes, usize, bool),
    Pong(Vec<u8>, bool),
    PeerClose(Vec<u8>),
    Fail(u16),
    /// a burst of PINGs half filled the PONG queue: answer them now
    SendPongs,
    Again,
    Wait,
    /// all input is consumed after reading stopped at the backlog limit
    Resume,
}

/// Unmasked payload bytes beyond the room of one RECEIVE, still in `rx`
/// (for a compressed message: input not inflated yet, possibly none while
/// the decompressor still holds output).
struct Spill {
    range: std::ops::Range<usize>,
    fin: bool,
    frame_remaining: u64,
    compressed: bool,
}

/// Adds payload bytes `range` of `rx` to the RECEIVE being collected: a
/// RECEIVE is due when it holds rx_size bytes or the frame ends; bytes
/// beyond its room wait in `ws.spill`.
fn take_payload(
    ws: &mut WsState,
    rx: &[u8],
    range: std::ops::Range<usize>,
    fin: bool,
    frame_remaining: u64,
) -> Next {
    if !rx_buf_ready(ws) {
        return Next::Fail(frame::CLOSE_INTERNAL_ERROR);
    }
    let room = ws.rx_size - ws.rx_fill;
    let take = range.len().min(room);
    let left = (range.len() - take) as u64;
    let at = LWS_PRE + ws.rx_fill;
    ws.rx_buf[at..at + take].copy_from_slice(&rx[range.start..range.start + take]);
    ws.rx_fill += take;
    if left > 0 {
        ws.spill = Some(Spill {
            range: range.start + take..range.end,
            fin,
            frame_remaining,
            compressed: false,
        });
    }
    if ws.rx_fill < ws.rx_size && frame_remaining + left > 0 {
        return Next::Again;
    }
    ws.fin = fin;
    ws.remaining = frame_remaining + left;
    hand_over(ws, false)
}

/// The RECEIVE buffer: LWS_PRE headroom, rx_size payload bytes, one
/// inflated byte held back and the NUL after the payload. Allocated when
/// data first arrives (idle connections stay small); false if the
/// application's allocator refused it.
fn rx_buf_ready(ws: &mut WsState) -> bool {
    if ws.rx_buf.is_empty() {
        match AppBytes::zeroed(LWS_PRE + ws.rx_size + 2, "a WebSocket receive buffer") {
            Some(buf) => ws.rx_buf = buf,
            None => return false,
        }
    }
    true
}

/// The collected payload becomes a RECEIVE: the buffer goes to the
/// callback (NUL-terminated) and comes back after it.
fn hand_over(ws: &mut WsState, pause: bool) -> Next {
    let collected = std::mem::take(&mut ws.rx_fill);
    let mut buf = std::mem::take(&mut ws.rx_buf);
    buf[LWS_PRE + collected] = 0;
    Next::Receive(buf, collected, pause)
}

/// Drops input already decoded from the front of a WebSocket's input
/// buffer (payload held back for the next RECEIVE moves with it), once that
/// prefix is at least as long as what stays: a buffer that never quite
/// empties between reads (rx flow control stopping mid-stream) would
/// otherwise keep every byte ever read, and the move costs at most what is
/// dropped.
pub(crate) fn compact_input(h: &mut http::HttpConn) {
    let spill = h.ws.as_deref_mut().and_then(|w| w.spill.as_mut());
    let keep_from = spill
        .as_ref()
        .map_or(h.rx_off, |s| s.range.start.min(h.rx_off));
    if keep_from == 0 || keep_from < h.rx.len() - keep_from {
        return;
    }
    if let Some(s) = spill {
        s.range = s.range.start - keep_from..s.range.end - keep_from;
    }
    h.rx.drain(..keep_from);
    h.rx_off -= keep_from;
}

/// Inflates payload bytes `range` of a compressed message into the RECEIVE
/// being collected. A RECEIVE is due when the chunk is full (one inflated
/// byte more is held back, so that a full chunk is known not to be the
/// message's last), the message is complete, or a frame ends; input the
/// chunk has no room for waits in `ws.spill`.
fn take_compressed(
    ws: &mut WsState,
    rx: &[u8],
    range: std::ops::Range<usize>,
    fin: bool,
    frame_remaining: u64,
) -> Next {
    if !rx_buf_ready(ws) {
        return Next::Fail(frame::CLOSE_INTERNAL_ERROR);
    }
    let Some(d) = ws.deflate.as_deref_mut() else {
        return Next::Fail(frame::CLOSE_PROTOCOL_ERROR);
    };
    if let Some(b) = d.carry.take() {
        ws.rx_buf[LWS_PRE + ws.rx_fill] = b;
        ws.rx_fill += 1;
    }
    let chunk = d.chunk(ws.rx_size);
    let last = fin && frame_remaining == 0;
    let before = LWS_PRE + ws.rx_fill;
    let room = &mut ws.rx_buf[before..LWS_PRE + chunk + 1];
    let Ok((used, made, done)) = d.inflate.run(&rx[range.clone()], last, room) else {
        return Next::Fail(frame::CLOSE_INVALID_PAYLOAD);
    };
    ws.rx_fill += made;
    if ws.decoder.validates_utf8() && !ws.binary {
        let fresh = &ws.rx_buf[before..before + made];
        if !d.utf8.feed(fresh) || (done && !d.utf8.is_complete()) {
            return Next::Fail(frame::CLOSE_INVALID_PAYLOAD);
        }
    }
    let collected = ws.rx_fill;
    let rest = range.start + used..range.end;
    if collected > chunk {
        ws.rx_fill = chunk;
        d.carry = Some(ws.rx_buf[LWS_PRE + chunk]);
        ws.spill = Some(Spill {
            range: rest,
            fin,
            frame_remaining,
            compressed: true,
        });
        ws.fin = false;
        ws.remaining = frame_remaining + 1;
    } else if done {
        d.end_rx_message();
        ws.fin = true;
        ws.remaining = 0;
    } else if frame_remaining == 0 && collected > 0 {
        // a fragment ends: what it inflated to is delivered, as a plain
        // fragment would be
        ws.fin = false;
        ws.remaining = 0;
    } else {
        return Next::Again;
    }
    d.burst += 1;
    let pause = d.burst >= INFLATE_BURST;
    if pause {
        d.burst = 0;
    }
    hand_over(ws, pause)
}

/// Decodes buffered input: RECEIVE per rx_size bytes or frame end, control
/// frames handled here. Stops while rx flow is off.
pub(crate) fn deliver(conn: &Arc<Conn>) -> Step {
    let next = with_http(conn, |h| {
        let Some(ws) = h.ws.as_deref_mut() else {
            return Next::Wait;
        };
        if ws.flow_disabled {
            return Next::Wait;
        }
        // payload decoded earlier but beyond the last RECEIVE's room first
        if let Some(spill) = ws.spill.take() {
            let take = if spill.compressed {
                take_compressed
            } else {
                take_payload
            };
            return take(ws, &h.rx, spill.range, spill.fin, spill.frame_remaining);
        }
        if h.rx_off >= h.rx.len() {
            // reading stopped at the backlog limit resumes now
            let resume = h.rx.len() >= http::WS_RX_BACKLOG;
            h.rx.clear();
            h.rx_off = 0;
            return if resume { Next::Resume } else { Next::Wait };
        }
        let (used, event) = ws.decoder.decode(&mut h.rx[h.rx_off..]);
        let start = h.rx_off;
        h.rx_off += used;
        ws.last_io = crate::service::now_secs();
        match event {
            None => {
                if used == 0 {
                    return Next::Wait;
                }
                Next::Again
            }
            Some(Event::Data {
                range,
                binary,
                message_start,
                fin,
                frame_remaining,
                compressed,
            }) => {
                if ws.closing {
                    return Next::Again;
                }
                ws.rsv = ws.decoder.rsv();
                if message_start {
                    ws.binary = binary;
                }
                let payload = start + range.start..start + range.end;
                if !compressed {
                    return take_payload(ws, &h.rx, payload, fin, frame_remaining);
                }
                if message_start {
                    if let Some(d) = ws.deflate.as_deref_mut() {
                        d.utf8.reset();
                    }
                }
                take_compressed(ws, &h.rx, payload, fin, frame_remaining)
            }
            Some(Event::Ping(payload)) => {
                if ws.closing {
                    return Next::Again;
                }
                let mask = mask_key(&conn.ctx, ws.client);
                let (head, hlen) = frame::header(opcode::PONG, true, payload.len() as u64, mask);
                if ws.pongs.len() + hlen + payload.len() > PONG_QUEUE_MAX {
                    // a peer pinging faster than it reads our answers
                    return Next::Fail(frame::CLOSE_POLICY_VIOLATION);
                }
                ws.pongs.extend_from_slice(&head[..hlen]);
                let start = ws.pongs.len();
                ws.pongs.extend_from_slice(&payload);
                if let Some(key) = mask {
                    frame::apply_mask(&mut ws.pongs[start..], key, 0);
                }
                if ws.pongs.len() > PONG_QUEUE_MAX / 2 {
                    Next::SendPongs
                } else {
                    Next::Again
                }
            }
            Some(Event::Pong(payload)) => {
                let answered = std::mem::replace(&mut ws.ping_out, false);
                Next::Pong(payload, answered)
            }
            Some(Event::Close { code, reason }) => {
                if ws.closing {
                    // the peer's answer to our CLOSE
                    return Next::Fail(0);
                }
                ws.closing = true;
                let mut raw = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                raw.extend_from_slice(&reason);
                Next::PeerClose(raw)
            }
            Some(Event::Error(code)) => Next::Fail(code),
        }
    });
    match next {
        None | Some(Next::Wait) => Step::Wait,
        Some(Next::Resume) => {
            conn.add_events(READABLE);
            Step::Wait
        }
        Some(Next::SendPongs) => match send_pongs(conn) {
            Ok(_) => Step::Again,
            Err(()) => Step::Done(Flow::Close(CloseWhy::Hangup)),
        },
        Some(Next::Again) => {
            conn.add_events(
                if conn.state().events & WRITABLE == 0 && has_control_out(conn) {
                    WRITABLE
                } else {
                    0
                },
            );
            Step::Again
        }
        Some(Next::Receive(mut buf, len, pause)) => {
            let client = is_client(conn);
            let r_reason = if client {
                R::LWS_CALLBACK_CLIENT_RECEIVE
            } else {
                R::LWS_CALLBACK_RECEIVE
            };
            let r = conn.callback(reason(r_reason), buf[LWS_PRE..].as_mut_ptr().cast(), len);
            // a client closes on any non-zero return, a server on negative ones
            if r < 0 || (client && r != 0) {
                return Step::Done(Flow::Close(CloseWhy::App));
            }
            // the next chunk reuses the delivered buffer
            with_ws(conn, |ws| {
                if ws.rx_buf.is_empty() {
                    ws.rx_buf = buf;
                }
            });
            if pause {
                conn.ctx.pts[conn.tsi].mark_pending(conn);
                return Step::Wait;
            }
            Step::Again
        }
        Some(Next::Pong(mut payload, answered)) => {
            if answered {
                conn.set_timeout(0, 0);
            }
            let len = payload.len();
            payload.push(0);
            if conn.callback(
                reason(if is_client(conn) {
                    R::LWS_CALLBACK_CLIENT_RECEIVE_PONG
                } else {
                    R::LWS_CALLBACK_RECEIVE_PONG
                }),
                payload.as_mut_ptr().cast(),
                len,
            ) < 0
            {
                return Step::Done(Flow::Close(CloseWhy::App));
            }
            Step::Again
        }
        Some(Next::PeerClose(mut raw)) => {
            let len = raw.len();
            raw.push(0);
            if conn.callback(
                reason(R::LWS_CALLBACK_WS_PEER_INITIATED_CLOSE),
                raw.as_mut_ptr().cast(),
                len,
            ) != 0
            {
                return Step::Done(Flow::Close(CloseWhy::Hangup));
            }
            raw.truncate(len);
            // echo the peer's status (RFC 6455 5.5.1), then close
            let echo = raw.get(..2).map(<[u8]>::to_vec).unwrap_or_default();
            with_ws(conn, |ws| ws.pending_close = Some(echo));
            conn.add_events(WRITABLE);
            Step::Wait
        }
        Some(Next::Fail(0)) => Step::Done(Flow::Close(CloseWhy::PeerEof)),
        Some(Next::Fail(code)) => {
            lwsl_notice!("WebSocket protocol violation: closing with {code}");
            send_close_now(conn, &frame::close_payload(code, b""));
            // an orderly close, so the CLOSE is not lost to a reset
            Step::Done(Flow::Close(CloseWhy::App))
        }
    }
}

fn has_control_out(conn: &Conn) -> bool {
    with_ws(conn, |ws| {
        !ws.pongs.is_empty() || ws.pending_close.is_some()
    })
    .unwrap_or(false)
}

/// Sends a CLOSE frame with what the socket takes now (best effort: the
/// connection is going anyway).
fn send_close_now(conn: &Arc<Conn>, payload: &[u8]) {
    let mut frame = vec![0; LWS_PRE];
    frame.extend_from_slice(payload);
    let _ = send_frame_with(
        conn,
        &mut frame,
        opcode::CLOSE,
        true,
        0,
        http::write_after_buffered,
    );
    with_ws(conn, |ws| ws.closing = true);
}

/// Writes one frame whose payload follows LWS_PRE bytes of headroom in
/// `frame`: the header goes into the headroom and the frame leaves in one
/// write; what the socket refuses is buffered. Returns the header length,
/// or -1.
fn send_frame(conn: &Arc<Conn>, frame: &mut [u8], op: u8, fin: bool) -> i32 {
    send_frame_with(conn, frame, op, fin, 0, http::write)
}

/// `send_frame` with RSV bits `rsv` and the write to use.
fn send_frame_with(
    conn: &Arc<Conn>,
    frame: &mut [u8],
    op: u8,
    fin: bool,
    rsv: u8,
    write: fn(&Arc<Conn>, &[u8]) -> i32,
) -> i32 {
    let len = frame.len() - LWS_PRE;
    // A client masks in the caller's buffer (as the original did).
    let mask = mask_key(&conn.ctx, is_client(conn));
    if let Some(key) = mask {
        frame::apply_mask(&mut frame[LWS_PRE..], key, 0);
    }
    let (mut head, hlen) = frame::header(op, fin, len as u64, mask);
    head[0] |= rsv & 0x70;
    let start = LWS_PRE - hlen;
    frame[start..LWS_PRE].copy_from_slice(&head[..hlen]);
    if write(conn, &frame[start..]) < 0 {
        return -1;
    }
    with_ws(conn, |ws| ws.last_io = crate::service::now_secs());
    hlen as i32
}

/// `lws_write` in a WebSocket mode on an established connection. `frame`
/// is the caller's buffer from LWS_PRE bytes before the payload to its end.
/// Returns the payload length (plus the header for PING/PONG/CLOSE, as the
/// original did), 0 if the connection is not an open WebSocket, -1 on error.
pub fn write(conn: &Arc<Conn>, frame: &mut [u8], mode: u32, fin: bool) -> i32 {
    use crate::ffi::enums::lws_write_protocol as W;
    let op = match mode {
        m if m == W::LWS_WRITE_TEXT as u32 => Some(opcode::TEXT),
        m if m == W::LWS_WRITE_BINARY as u32 => Some(opcode::BINARY),
        m if m == W::LWS_WRITE_CONTINUATION as u32 => Some(opcode::CONTINUATION),
        m if m == W::LWS_WRITE_PING as u32 => Some(opcode::PING),
        m if m == W::LWS_WRITE_PONG as u32 => Some(opcode::PONG),
        4 => Some(opcode::CLOSE),
        _ => None,
    };
    // one look: open, and whether this frame goes through permessage-deflate
    let Some(compress) = with_ws(conn, |ws| {
        (!ws.closing || ws.pending_close.is_some()).then(|| op.is_some_and(|op| deflates(ws, op)))
    })
    .flatten() else {
        return 0;
    };
    let Some(op) = op else {
        lwsl_err!("lws_write: unknown write protocol {mode}");
        return -1;
    };
    let len = frame.len() - LWS_PRE;
    let hlen = if compress {
        send_deflated(conn, &frame[LWS_PRE..], op, fin)
    } else {
        send_frame(conn, frame, op, fin)
    };
    if hlen < 0 {
        return -1;
    }
    let len = i32::try_from(len).unwrap_or(i32::MAX);
    if matches!(op, opcode::PING | opcode::PONG | opcode::CLOSE) {
        len.saturating_add(hlen)
    } else {
        len
    }
}

thread_local! {
    /// Where a thread compresses frames: LWS_PRE headroom, then the output.
    static DEFLATE_OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a frame with opcode `op` goes out compressed: data frames of a
/// compressed message (a message's first frame decides) when deflate was
/// negotiated; never control frames.
fn deflates(ws: &mut WsState, op: u8) -> bool {
    let Some(d) = ws.deflate.as_deref_mut() else {
        return false;
    };
    match op {
        opcode::TEXT | opcode::BINARY => d.start_tx_message(),
        opcode::CONTINUATION => d.tx_compressing(),
        _ => false,
    }
}

/// Sends data frame `payload` of a compressed message, compressed (its
/// first frame gets RSV1): the header length, or -1.
fn send_deflated(conn: &Arc<Conn>, payload: &[u8], op: u8, fin: bool) -> i32 {
    let mut out = DEFLATE_OUT.with(|b| std::mem::take(&mut *b.borrow_mut()));
    out.clear();
    out.resize(LWS_PRE, 0);
    let compressed = with_ws(conn, |ws| {
        ws.deflate
            .as_deref_mut()
            .is_some_and(|d| d.deflate(payload, fin, &mut out).is_ok())
    });
    let sent = if compressed == Some(true) {
        let rsv = if op == opcode::CONTINUATION { 0 } else { 0x40 };
        send_frame_with(conn, &mut out, op, fin, rsv, http::write)
    } else {
        lwsl_err!("permessage-deflate: compressing failed");
        -1
    };
    if out.capacity() <= DEFLATE_SCRATCH_KEEP {
        DEFLATE_OUT.with(|b| *b.borrow_mut() = out);
    }
    sent
}

/// POLLOUT on a WebSocket after the buffered output drained: a pending
/// CLOSE, then a pending PONG (followed by an unrequested WRITEABLE, as lws
/// did), then the idle PING, then SERVER_WRITEABLE.
pub fn on_writable(conn: &Arc<Conn>, was_buffered: bool) -> Flow {
    let (close, ping) = with_ws(conn, |ws| {
        let ping = ws.ping_due && !ws.ping_out;
        (ws.pending_close.take(), ping)
    })
    .unwrap_or((None, false));
    if let Some(payload) = close {
        send_close_now(conn, &payload);
        return Flow::Close(CloseWhy::App);
    }
    let unrequested = match send_pongs(conn) {
        Ok(sent) => was_buffered || sent,
        Err(()) => return Flow::Close(CloseWhy::Hangup),
    };
    if ping {
        let mut frame = vec![0; LWS_PRE];
        if send_frame(conn, &mut frame, opcode::PING, true) < 0 {
            return Flow::Close(CloseWhy::Hangup);
        }
        with_ws(conn, |ws| {
            ws.ping_due = false;
            ws.ping_out = true;
        });
        conn.set_timeout(
            T::PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG as u32,
            i64::from(conn.ctx.cfg.timeout_secs),
        );
    }
    if http::buffered(conn) {
        return Flow::Continue;
    }
    let requested = std::mem::replace(&mut conn.state().writable_requested, false);
    conn.remove_events(WRITABLE);
    if (requested || unrequested)
        && conn.callback(
            reason(if is_client(conn) {
                R::LWS_CALLBACK_CLIENT_WRITEABLE
            } else {
                R::LWS_CALLBACK_SERVER_WRITEABLE
            }),
            std::ptr::null_mut(),
            0,
        ) != 0
    {
        return Flow::Close(CloseWhy::App);
    }
    Flow::Continue
}

/// What `lws_write` must know of a connection, seen in one look.
#[derive(Default)]
pub struct WriteTarget {
    /// an HTTP or WebSocket connection (not a listener)
    pub http: bool,
    /// TLS encrypts the payload in user space
    pub tls: bool,
    /// a WebSocket client, which masks the payload in place
    pub ws_client: bool,
    /// an established WebSocket (ws modes send on it)
    pub ws_open: bool,
}

/// None for a connection that is closed: dead, or out of the poll set in
/// its final callbacks.
pub fn write_target(conn: &Conn) -> Option<WriteTarget> {
    let st = conn.state();
    if st.dead || !st.in_table {
        return None;
    }
    let Role::Http(h) = &st.role else {
        return Some(WriteTarget::default());
    };
    let ws = h.ws.as_deref();
    Some(WriteTarget {
        http: true,
        tls: h.stream.is_tls(),
        ws_client: ws.is_some_and(|w| w.client),
        ws_open: ws.is_some_and(|w| !w.closing),
    })
}

/// A client's frames are masked with a fresh key each; a server's are not.
fn mask_key(ctx: &crate::service::context::Context, client: bool) -> Option<[u8; 4]> {
    client.then(|| {
        let mut key = [0u8; 4];
        ctx.random(&mut key);
        key
    })
}

/// The queued PONGs, in one write unless output is still buffered (what
/// the socket refuses is buffered); whether any were sent.
fn send_pongs(conn: &Arc<Conn>) -> Result<bool, ()> {
    if http::buffered(conn) {
        return Ok(false);
    }
    let frames = with_ws(conn, |ws| std::mem::take(&mut ws.pongs)).unwrap_or_default();
    if frames.is_empty() {
        return Ok(false);
    }
    if http::write(conn, &frames) < 0 {
        return Err(());
    }
    with_ws(conn, |ws| ws.last_io = crate::service::now_secs());
    Ok(true)
}

/// `lws_close_reason`: the CLOSE payload for when the application closes.
pub fn set_close_reason(conn: &Arc<Conn>, code: u16, reason: &[u8]) {
    let payload = frame::close_payload(code, &reason[..reason.len().min(CLOSE_REASON_MAX)]);
    with_ws(conn, |ws| ws.close_reason = Some(payload));
}

/// The application closes an established WebSocket: a CLOSE (its
/// lws_close_reason, else 1000) goes out and the peer has a second to
/// answer before the write side is shut. True if that started.
pub fn begin_close(conn: &Arc<Conn>) -> bool {
    let Some(payload) = with_ws(conn, |ws| {
        if ws.closing {
            return None;
        }
        Some(
            ws.close_reason
                .take()
                .unwrap_or_else(|| frame::close_payload(frame::CLOSE_NORMAL, b"")),
        )
    })
    .flatten() else {
        return false;
    };
    send_close_now(conn, &payload);
    conn.set_timeout(T::PENDING_TIMEOUT_CLOSE_ACK as u32, CLOSE_ACK_SECS);
    conn.ctx.pts[conn.tsi].mark_pending(conn);
    true
}

/// `lws_rx_flow_control`: stop (false) or resume (true) receiving; bytes
/// already read wait, in order, until it resumes.
///
/// Stopping leaves POLLIN armed: input arriving while stopped disarms it
/// (`http::on_readable`), so an application that stops after every message
/// and resumes once it has answered - one message in flight, the peer
/// waiting - costs no epoll_ctl at all.
pub fn flow_control(conn: &Arc<Conn>, enable: bool) -> i32 {
    let Some(was) = with_ws(conn, |ws| std::mem::replace(&mut ws.flow_disabled, !enable)) else {
        return 0;
    };
    if enable && was {
        conn.add_events(READABLE);
        let held = with_http(conn, |h| {
            h.rx_off < h.rx.len() || h.ws.as_ref().is_some_and(|w| w.spill.is_some())
        })
        .unwrap_or(false);
        if held {
            conn.ctx.pts[conn.tsi].mark_pending(conn);
        }
    }
    0
}

/// Once a second with ws_ping_pong_interval set: connections idle that
/// long get a PING at their next writable moment.
pub fn idle_check(conn: &Arc<Conn>, interval: u64, now: u64) {
    let due = with_ws(conn, |ws| {
        let due = !ws.closing && !ws.ping_out && now > ws.last_io + interval;
        if due {
            ws.ping_due = true;
        }
        due
    })
    .unwrap_or(false);
    if due {
        conn.add_events(WRITABLE);
    }
}

/// The frame a RECEIVE belongs to.
#[derive(Default)]
pub struct FrameInfo {
    pub fin: bool,
    pub binary: bool,
    pub remaining: u64,
    pub rsv: u8,
}

pub fn frame_info(conn: &Conn) -> FrameInfo {
    with_ws(conn, |ws| FrameInfo {
        fin: ws.fin,
        binary: ws.binary,
        remaining: ws.remaining,
        rsv: ws.rsv,
    })
    .unwrap_or_default()
}

/// An established WebSocket that is not closing.
pub fn is_established(conn: &Conn) -> bool {
    with_ws(conn, |ws| !ws.closing).unwrap_or(false)
}

fn is_client(conn: &Conn) -> bool {
    with_ws(conn, |ws| ws.client).unwrap_or(false)
}

/// The RECEIVE size of protocol `index` (its rx_buffer_size, else
/// pt_serv_buf_size) and whether text must be valid UTF-8.
fn rx_settings(conn: &Conn, index: usize) -> (usize, bool) {
    let rx = conn.with_vhost(|v| v.protocols.get(index).map_or(0, |p| p.rx_buffer_size));
    let size = if rx == 0 {
        conn.ctx.cfg.pt_serv_buf_size
    } else {
        rx
    };
    let validate = crate::service::context::has_option(
        conn.ctx.cfg.options,
        crate::ffi::enums::lws_context_options::LWS_SERVER_OPTION_VALIDATE_UTF8,
    );
    (size.max(1), validate)
}

/// The client's upgrade was accepted (with permessage-deflate when the
/// server agreed to it): the connection speaks WebSocket now. False if the
/// application's allocator refused the WebSocket state.
pub fn become_client(conn: &Arc<Conn>, deflate: Option<Agreed>) -> bool {
    let (rx_size, validate) = rx_settings(conn, conn.protocol_index());
    let Some(ws) = AppBox::new(
        WsState::new(rx_size, validate, true, deflate),
        "a WebSocket connection",
    ) else {
        return false;
    };
    with_http(conn, |h| {
        h.phase = Phase::Ws;
        h.ws = Some(ws);
    });
    true
}

/// `lws_set_extension_option` on permessage-deflate: -1 when it is not
/// active on the connection, else 0 (an unknown option changes nothing).
pub fn set_deflate_option(conn: &Conn, index: Option<usize>, value: Option<i32>) -> i32 {
    with_ws(conn, |ws| {
        let d = ws.deflate.as_deref_mut()?;
        if let Some(i) = index {
            d.set_option(i, value);
        }
        Some(0)
    })
    .flatten()
    .unwrap_or(-1)
}
