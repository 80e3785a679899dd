//! The frame codec (RFC 6455 section 5): an incremental decoder for one
//! receiving direction, header encoding and masking. Pure: bytes in, events out.

use std::ops::Range;

use super::utf8::Utf8Validator;

/// Frame opcodes (RFC 6455 section 5.2).
pub mod opcode {
    pub const CONTINUATION: u8 = 0;
    pub const TEXT: u8 = 1;
    pub const BINARY: u8 = 2;
    pub const CLOSE: u8 = 8;
    pub const PING: u8 = 9;
    pub const PONG: u8 = 10;
}

pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Text that is not UTF-8 (RFC 6455 section 7.4.1).
pub const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// A peer that does not keep to our limits (its PINGs outrun our PONGs).
pub const CLOSE_POLICY_VIOLATION: u16 = 1008;
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;
/// We cannot go on (our allocator refused memory).
pub const CLOSE_INTERNAL_ERROR: u16 = 1011;

/// Longest control frame payload (RFC 6455 section 5.5).
const MAX_CONTROL: usize = 125;

/// Whether a peer may send `code` in a CLOSE frame (RFC 6455 section 7.4):
/// 1000-1003 and 1007-1011 from the RFC, 1012-1014 registered with IANA
/// since, 3000-4999 for libraries and applications. 1004-1006 and 1015 are
/// reserved and never sent.
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What one `Decoder::decode` call found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Payload bytes of a data frame, unmasked in place: `range` indexes the
    /// input given to that call. A frame's payload may come in several events;
    /// a zero-length frame gives one event with an empty range.
    Data {
        range: Range<usize>,
        binary: bool,
        /// These are the first bytes of a new message.
        message_start: bool,
        /// This frame is the message's last.
        fin: bool,
        /// Payload bytes of this frame still to come after `range`; the
        /// message ends with `fin && frame_remaining == 0`.
        frame_remaining: u64,
        /// The message is compressed (permessage-deflate: RSV1 on its first
        /// frame); its text is validated after inflating, not here.
        compressed: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A valid CLOSE: its code (None for an empty payload) and the reason,
    /// the whole payload after the code.
    Close {
        code: Option<u16>,
        reason: Vec<u8>,
    },
    /// The peer broke the protocol: send a CLOSE with this code (1002, 1007
    /// or 1009), then close.
    Error(u16),
}

/// The frame whose payload is being read.
#[derive(Debug, Clone)]
struct Frame {
    opcode: u8,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes already read, for the mask's phase.
    pos: u64,
    remaining: u64,
}

/// Decodes the frames of one direction of a connection, from input that may
/// be split at any byte: partial headers are kept here between calls.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Server side: client frames must be masked; client side: server frames
    /// must not be (RFC 6455 section 5.1).
    require_masked: bool,
    validate_utf8: bool,
    /// permessage-deflate was negotiated: RSV1 may mark a message compressed.
    deflate: bool,
    /// The current message is compressed.
    compressed: bool,
    /// Header bytes gathered so far; a header is at most 14 bytes.
    head: [u8; 14],
    head_len: usize,
    /// Some while reading a payload, None while reading a header.
    frame: Option<Frame>,
    /// A message's first frame came without FIN: continuations are owed.
    fragmented: bool,
    /// Type of the current message, kept through its continuations.
    binary: bool,
    /// The current message has delivered no bytes yet.
    message_start: bool,
    utf8: Utf8Validator,
    /// A control frame's payload, which may span calls.
    control: Vec<u8>,
    /// The error that stopped decoding for good.
    failed: Option<u16>,
}

impl Decoder {
    /// Largest frame accepted; longer declared lengths fail with 1009. No peer
    /// can send 8 PiB, and 2^53 keeps lengths exact wherever they end up as
    /// doubles (JavaScript peers, statistics).
    pub const MAX_FRAME: u64 = 1 << 53;

    pub fn new(require_masked: bool, validate_utf8: bool) -> Decoder {
        Decoder {
            require_masked,
            validate_utf8,
            deflate: false,
            compressed: false,
            head: [0; 14],
            head_len: 0,
            frame: None,
            fragmented: false,
            binary: false,
            message_start: false,
            utf8: Utf8Validator::new(),
            control: Vec::new(),
            failed: None,
        }
    }

    /// permessage-deflate was negotiated: RSV1 on the first frame of a
    /// message marks it compressed (RFC 7692 section 6). Any other RSV bit,
    /// or RSV1 on a continuation or control frame, stays a protocol error.
    pub fn with_deflate(mut self, deflate: bool) -> Decoder {
        self.deflate = deflate;
        self
    }

    /// Text must be UTF-8 (LWS_SERVER_OPTION_VALIDATE_UTF8); compressed
    /// text is the caller's to check once inflated.
    pub fn validates_utf8(&self) -> bool {
        self.validate_utf8
    }

    /// The RSV bits of the current (or last) frame, for `lws_get_reserved_bits`
    /// and extensions.
    pub fn rsv(&self) -> u8 {
        self.head[0] & 0x70
    }

    /// Decodes from the start of `input` and returns how many bytes it used
    /// and at most one event; call again with the rest. Data payloads are
    /// unmasked in place and returned as a range of `input`.
    ///
    /// After an `Event::Error` the decoder is failed for good: every later
    /// call uses no bytes and returns the same error.
    pub fn decode(&mut self, input: &mut [u8]) -> (usize, Option<Event>) {
        if let Some(code) = self.failed {
            return (0, Some(Event::Error(code)));
        }
        let mut used = 0;
        if self.frame.is_none() {
            if self.head_len < 2 {
                used += self.gather(input, 2);
                if self.head_len < 2 {
                    return (used, None);
                }
                if let Err(code) = self.check_start() {
                    return (used, Some(self.fail(code)));
                }
            }
            used += self.gather(&input[used..], self.header_len());
            if self.head_len < self.header_len() {
                return (used, None);
            }
            if let Err(code) = self.start_frame() {
                return (used, Some(self.fail(code)));
            }
        }
        let (n, event) = self.payload(&mut input[used..], used);
        (used + n, event)
    }

    fn fail(&mut self, code: u16) -> Event {
        self.failed = Some(code);
        Event::Error(code)
    }

    /// Copies header bytes until the header has `upto` bytes; returns how many.
    fn gather(&mut self, input: &[u8], upto: usize) -> usize {
        let n = upto.saturating_sub(self.head_len).min(input.len());
        self.head[self.head_len..][..n].copy_from_slice(&input[..n]);
        self.head_len += n;
        n
    }

    /// Header length, once its first two bytes are known.
    fn header_len(&self) -> usize {
        let b1 = self.head[1];
        let ext = match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
    }

    /// Checks what the first two bytes decide, before waiting for the rest.
    fn check_start(&self) -> Result<(), u16> {
        let [b0, b1] = [self.head[0], self.head[1]];
        let op = b0 & 0x0f;
        let fin = b0 & 0x80 != 0;
        let rsv = b0 & 0x70;
        let compressed_start =
            rsv == 0x40 && self.deflate && (op == opcode::TEXT || op == opcode::BINARY);
        if rsv != 0 && !compressed_start {
            return Err(CLOSE_PROTOCOL_ERROR);
        }
        if (b1 & 0x80 != 0) != self.require_masked {
            return Err(CLOSE_PROTOCOL_ERROR);
        }
        match op {
            opcode::CONTINUATION if !self.fragmented => Err(CLOSE_PROTOCOL_ERROR),
            opcode::TEXT | opcode::BINARY if self.fragmented => Err(CLOSE_PROTOCOL_ERROR),
            opcode::CONTINUATION | opcode::TEXT | opcode::BINARY => Ok(()),
            // Control frames are never fragmented and carry at most 125 bytes.
            opcode::CLOSE | opcode::PING | opcode::PONG
                if fin && usize::from(b1 & 0x7f) <= MAX_CONTROL =>
            {
                Ok(())
            }
            _ => Err(CLOSE_PROTOCOL_ERROR),
        }
    }

    /// The header is complete: check the length and enter the payload.
    fn start_frame(&mut self) -> Result<(), u16> {
        let h = &self.head[..self.head_len];
        let (len, rest) = match h[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), &h[4..]),
            127 => {
                let mut b = [0; 8];
                b.copy_from_slice(&h[2..10]);
                (u64::from_be_bytes(b), &h[10..])
            }
            n => (u64::from(n), &h[2..]),
        };
        if len >> 63 != 0 {
            return Err(CLOSE_PROTOCOL_ERROR);
        }
        if len > Self::MAX_FRAME {
            return Err(CLOSE_MESSAGE_TOO_BIG);
        }
        let mask = (rest.len() == 4).then(|| [rest[0], rest[1], rest[2], rest[3]]);
        let op = h[0] & 0x0f;
        let fin = h[0] & 0x80 != 0;
        if op == opcode::TEXT || op == opcode::BINARY {
            self.binary = op == opcode::BINARY;
            self.compressed = h[0] & 0x40 != 0;
            self.message_start = true;
            self.utf8.reset();
        }
        if op < opcode::CLOSE {
            self.fragmented = !fin;
        }
        self.control.clear();
        self.frame = Some(Frame {
            opcode: op,
            fin,
            mask,
            pos: 0,
            remaining: len,
        });
        Ok(())
    }

    /// Reads payload bytes of the current frame from `input`, which starts at
    /// `base` in the caller's buffer.
    fn payload(&mut self, input: &mut [u8], base: usize) -> (usize, Option<Event>) {
        let Some(frame) = self.frame.as_mut() else {
            return (0, None);
        };
        if frame.remaining > 0 && input.is_empty() {
            return (0, None);
        }
        let n = usize::try_from(frame.remaining).map_or(input.len(), |r| r.min(input.len()));
        let chunk = &mut input[..n];
        if let Some(mask) = frame.mask {
            apply_mask(chunk, mask, (frame.pos & 3) as usize);
        }
        frame.pos += n as u64;
        frame.remaining -= n as u64;
        let (op, fin, remaining) = (frame.opcode, frame.fin, frame.remaining);
        if remaining == 0 {
            self.frame = None;
            self.head_len = 0;
        }
        if op >= opcode::CLOSE {
            self.control.extend_from_slice(chunk);
            return (n, (remaining == 0).then(|| self.control_event(op)));
        }
        if self.validate_utf8 && !self.binary && !self.compressed {
            let ends_message = fin && remaining == 0;
            if !self.utf8.feed(chunk) || (ends_message && !self.utf8.is_complete()) {
                return (n, Some(self.fail(CLOSE_INVALID_PAYLOAD)));
            }
        }
        let message_start = std::mem::take(&mut self.message_start);
        let event = Event::Data {
            range: base..base + n,
            binary: self.binary,
            message_start,
            fin,
            frame_remaining: remaining,
            compressed: self.compressed,
        };
        (n, Some(event))
    }

    /// The event for a complete control frame.
    fn control_event(&mut self, op: u8) -> Event {
        let payload = std::mem::take(&mut self.control);
        match op {
            opcode::PING => Event::Ping(payload),
            opcode::PONG => Event::Pong(payload),
            _ => match parse_close(&payload) {
                Ok(code) => Event::Close {
                    code,
                    reason: payload.get(2..).unwrap_or_default().to_vec(),
                },
                Err(code) => self.fail(code),
            },
        }
    }
}

/// Checks a CLOSE payload and returns its code. The reason must be UTF-8
/// whatever `validate_utf8` says: it is tiny and RFC 6455 section 5.5.1
/// requires it.
fn parse_close(payload: &[u8]) -> Result<Option<u16>, u16> {
    match payload {
        [] => Ok(None),
        [_] => Err(CLOSE_PROTOCOL_ERROR),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                Err(CLOSE_PROTOCOL_ERROR)
            } else if std::str::from_utf8(reason).is_err() {
                Err(CLOSE_INVALID_PAYLOAD)
            } else {
                Ok(Some(code))
            }
        }
    }
}

/// A frame header: the bytes and how many of them are used (2, 4 or 10, plus
/// 4 with a mask). Callers copy it into the headroom just before the payload.
pub fn header(opcode: u8, fin: bool, len: u64, mask: Option<[u8; 4]>) -> ([u8; 14], usize) {
    let mut h = [0; 14];
    h[0] = u8::from(fin) << 7 | opcode & 0x0f;
    let mut n = 2;
    match len {
        0..=125 => h[1] = len as u8,
        126..=0xffff => {
            h[1] = 126;
            h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            n = 4;
        }
        _ => {
            h[1] = 127;
            h[2..10].copy_from_slice(&len.to_be_bytes());
            n = 10;
        }
    }
    if let Some(mask) = mask {
        h[1] |= 0x80;
        h[n..n + 4].copy_from_slice(&mask);
        n += 4;
    }
    (h, n)
}

/// XORs `buf` with `mask` (masking and unmasking are the same), where the
/// first byte of `buf` is payload byte `offset`: a payload can be masked in
/// pieces. Sixteen bytes at a time, bytes only for the tail.
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = mask;
    key.rotate_left(offset % 4);
    let mut wide = [0; 16];
    for quad in wide.chunks_exact_mut(4) {
        quad.copy_from_slice(&key);
    }
    let wide = u128::from_ne_bytes(wide);
    let mut chunks = buf.chunks_exact_mut(16);
    for chunk in &mut chunks {
        let mut bytes = [0; 16];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u128::from_ne_bytes(bytes) ^ wide).to_ne_bytes());
    }
    // The tail starts at a multiple of 16, so the key's phase is unchanged.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// A CLOSE payload: the code big-endian, then the reason cut to 123 bytes so
/// that the whole fits a control frame.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let reason = &reason[..reason.len().min(MAX_CONTROL - 2)];
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The masking key of RFC 6455 section 5.7's examples.
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A complete frame as a peer would send it.
    fn frame(op: u8, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let (h, n) = header(op, fin, payload.len() as u64, mask);
        let mut f = h[..n].to_vec();
        let start = f.len();
        f.extend_from_slice(payload);
        if let Some(mask) = mask {
            apply_mask(&mut f[start..], mask, 0);
        }
        f
    }

    /// A frame from a client, for a server's decoder.
    fn masked(op: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        frame(op, fin, payload, Some(MASK))
    }

    fn server() -> Decoder {
        Decoder::new(true, true)
    }

    /// An event with its data copied out of the input.
    #[derive(Debug, PartialEq)]
    enum Got {
        /// bytes, binary, message_start, fin, frame_remaining
        Data(Vec<u8>, bool, bool, bool, u64),
        Other(Event),
    }

    /// Decodes all of `input` (one piece), collecting the events.
    fn feed(dec: &mut Decoder, input: &mut [u8]) -> Vec<Got> {
        let mut got = Vec::new();
        let mut at = 0;
        loop {
            let (n, event) = dec.decode(&mut input[at..]);
            let base = at;
            at += n;
            match event {
                None => break,
                Some(Event::Data {
                    range,
                    binary,
                    message_start,
                    fin,
                    frame_remaining,
                    ..
                }) => {
                    let bytes = input[base + range.start..base + range.end].to_vec();
                    got.push(Got::Data(
                        bytes,
                        binary,
                        message_start,
                        fin,
                        frame_remaining,
                    ));
                }
                Some(e @ Event::Error(_)) => {
                    got.push(Got::Other(e));
                    break;
                }
                Some(e) => got.push(Got::Other(e)),
            }
        }
        assert!(
            at == input.len() || matches!(got.last(), Some(Got::Other(Event::Error(_)))),
            "decoder stopped early"
        );
        got
    }

    /// Decodes `input` and returns its first error code, if any.
    fn error_of(mut dec: Decoder, mut input: Vec<u8>) -> Option<u16> {
        feed(&mut dec, &mut input)
            .into_iter()
            .find_map(|g| match g {
                Got::Other(Event::Error(code)) => Some(code),
                _ => None,
            })
    }

    /// Concatenated data bytes, and whether the last data chunk ended a message.
    fn data_of(got: &[Got]) -> (Vec<u8>, bool) {
        let mut bytes = Vec::new();
        let mut ended = false;
        for g in got {
            if let Got::Data(b, _, _, fin, remaining) = g {
                bytes.extend_from_slice(b);
                ended = *fin && *remaining == 0;
            }
        }
        (bytes, ended)
    }

    #[test]
    fn rfc_examples() {
        // Section 5.7: "Hello" unmasked (server to client) and masked.
        let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let masked_hello = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(frame(opcode::TEXT, true, b"Hello", None), unmasked);
        assert_eq!(masked(opcode::TEXT, true, b"Hello"), masked_hello);
        let hello = Got::Data(b"Hello".to_vec(), false, true, true, 0);
        let mut client = Decoder::new(false, true);
        assert_eq!(feed(&mut client, &mut unmasked.clone()), [hello]);
        let hello = Got::Data(b"Hello".to_vec(), false, true, true, 0);
        assert_eq!(feed(&mut server(), &mut masked_hello.clone()), [hello]);
        // Fragmented: "Hel", then "lo".
        let mut input = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
        let got = feed(&mut Decoder::new(false, true), &mut input);
        assert_eq!(
            got,
            [
                Got::Data(b"Hel".to_vec(), false, true, false, 0),
                Got::Data(b"lo".to_vec(), false, false, true, 0),
            ]
        );
    }

    #[test]
    fn header_lengths_round_trip() {
        for (len, short) in [
            (0u64, 2),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
            (1 << 32, 10),
        ] {
            for mask in [None, Some(MASK)] {
                let (h, n) = header(opcode::BINARY, true, len, mask);
                assert_eq!(n, short + if mask.is_some() { 4 } else { 0 }, "len {len}");
                let mut dec = Decoder::new(mask.is_some(), false);
                // The header alone: a zero-length frame is complete, others wait.
                let mut input = h[..n].to_vec();
                let (used, event) = dec.decode(&mut input);
                assert_eq!(used, n);
                if len == 0 {
                    let data = Event::Data {
                        range: n..n,
                        binary: true,
                        message_start: true,
                        fin: true,
                        frame_remaining: 0,
                        compressed: false,
                    };
                    assert_eq!(event, Some(data));
                    continue;
                }
                assert_eq!(event, None);
                // Three payload bytes (no need for the whole of 4 GiB).
                let mut some = [1, 2, 3];
                let (used, event) = dec.decode(&mut some);
                assert_eq!(used, 3);
                let Some(Event::Data {
                    range,
                    binary: true,
                    message_start: true,
                    fin: true,
                    frame_remaining,
                    compressed: false,
                }) = event
                else {
                    panic!("{event:?}");
                };
                assert_eq!((range, frame_remaining), (0..3, len - 3));
            }
        }
    }

    #[test]
    fn header_bytes() {
        let (h, n) = header(opcode::PING, true, 0, None);
        assert_eq!(&h[..n], [0x89, 0x00]);
        let (h, n) = header(opcode::CONTINUATION, false, 256, Some([1, 2, 3, 4]));
        assert_eq!(&h[..n], [0x00, 0xfe, 0x01, 0x00, 1, 2, 3, 4]);
        let (h, n) = header(opcode::BINARY, true, 0x0102_0304_0506, None);
        assert_eq!(&h[..n], [0x82, 0x7f, 0, 0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let original: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut whole = original.clone();
        apply_mask(&mut whole, MASK, 0);
        // Against a plain byte loop.
        let reference: Vec<u8> = original
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ MASK[i % 4])
            .collect();
        assert_eq!(whole, reference);
        for piece in 1..=40 {
            let mut buf = original.clone();
            let mut at = 0;
            while at < buf.len() {
                let end = (at + piece).min(buf.len());
                apply_mask(&mut buf[at..end], MASK, at);
                at = end;
            }
            assert_eq!(buf, whole, "pieces of {piece}");
        }
        // Masking twice restores the data; an empty buffer is fine.
        apply_mask(&mut whole, MASK, 0);
        assert_eq!(whole, original);
        apply_mask(&mut [], MASK, 3);
    }

    #[test]
    fn masked_frame_split_at_every_byte_boundary() {
        let payload: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8).collect();
        let wire = masked(opcode::BINARY, true, &payload);
        assert_eq!(wire.len(), 4 + 4 + 300);
        for cut in 0..=wire.len() {
            let mut dec = server();
            let mut input = wire.clone();
            let (first, second) = input.split_at_mut(cut);
            let mut got = feed(&mut dec, first);
            got.extend(feed(&mut dec, second));
            assert_eq!(data_of(&got), (payload.clone(), true), "cut at {cut}");
        }
        // And one byte at a time.
        let mut dec = server();
        let mut got = Vec::new();
        for b in &wire {
            got.extend(feed(&mut dec, &mut [*b]));
        }
        assert_eq!(data_of(&got), (payload, true));
        let starts = got
            .iter()
            .filter(|g| matches!(g, Got::Data(_, _, true, _, _)));
        assert_eq!(starts.count(), 1);
    }

    #[test]
    fn a_stream_of_frames_byte_by_byte_matches_one_piece() {
        let mut wire = masked(opcode::TEXT, false, "κό".as_bytes());
        wire.extend(masked(opcode::PING, true, b"are you there"));
        wire.extend(masked(opcode::CONTINUATION, false, b""));
        wire.extend(masked(opcode::CONTINUATION, true, "σμε".as_bytes()));
        wire.extend(masked(opcode::CLOSE, true, &close_payload(1000, b"bye")));
        let whole = feed(&mut server(), &mut wire.clone());
        let mut dec = server();
        let mut bytes = Vec::new();
        let mut others = Vec::new();
        for b in &wire {
            for g in feed(&mut dec, &mut [*b]) {
                match g {
                    Got::Data(d, ..) => bytes.extend(d),
                    other => others.push(other),
                }
            }
        }
        assert_eq!(bytes, "κόσμε".as_bytes());
        assert_eq!(data_of(&whole), (bytes, true));
        let ping = Got::Other(Event::Ping(b"are you there".to_vec()));
        let close = Got::Other(Event::Close {
            code: Some(1000),
            reason: b"bye".to_vec(),
        });
        assert_eq!(others, [ping, close]);
    }

    #[test]
    fn control_frames_interleaved_in_a_fragmented_message() {
        let mut wire = masked(opcode::TEXT, false, b"Hel");
        wire.extend(masked(opcode::PING, true, b"p"));
        wire.extend(masked(opcode::CONTINUATION, false, b"lo "));
        wire.extend(masked(opcode::PONG, true, b""));
        wire.extend(masked(opcode::CONTINUATION, true, b"world"));
        wire.extend(masked(opcode::BINARY, true, b"\xff"));
        let got = feed(&mut server(), &mut wire);
        assert_eq!(
            got,
            [
                Got::Data(b"Hel".to_vec(), false, true, false, 0),
                Got::Other(Event::Ping(b"p".to_vec())),
                Got::Data(b"lo ".to_vec(), false, false, false, 0),
                Got::Other(Event::Pong(Vec::new())),
                Got::Data(b"world".to_vec(), false, false, true, 0),
                Got::Data(b"\xff".to_vec(), true, true, true, 0),
            ]
        );
    }

    #[test]
    fn zero_length_frames_are_delivered() {
        let mut wire = masked(opcode::TEXT, true, b"");
        wire.extend(masked(opcode::BINARY, false, b""));
        wire.extend(masked(opcode::CONTINUATION, true, b""));
        wire.extend(masked(opcode::PING, true, b""));
        wire.extend(masked(opcode::CLOSE, true, b""));
        let got = feed(&mut server(), &mut wire);
        assert_eq!(
            got,
            [
                Got::Data(Vec::new(), false, true, true, 0),
                Got::Data(Vec::new(), true, true, false, 0),
                Got::Data(Vec::new(), true, false, true, 0),
                Got::Other(Event::Ping(Vec::new())),
                Got::Other(Event::Close {
                    code: None,
                    reason: Vec::new()
                }),
            ]
        );
    }

    #[test]
    fn data_ranges_index_the_input_of_each_call() {
        let mut wire = masked(opcode::BINARY, true, b"abc");
        wire.extend(masked(opcode::BINARY, true, b"de"));
        let mut dec = server();
        let (n, event) = dec.decode(&mut wire);
        assert_eq!(n, 9);
        assert!(matches!(event, Some(Event::Data { range, .. }) if range == (6..9)));
        assert_eq!(&wire[6..9], b"abc");
        let rest = &mut wire[9..];
        let (n, event) = dec.decode(rest);
        assert_eq!(n, 8);
        assert!(matches!(event, Some(Event::Data { range, .. }) if range == (6..8)));
        assert_eq!(&rest[6..8], b"de");
        assert_eq!(dec.decode(&mut []), (0, None));
    }

    #[test]
    fn protocol_errors() {
        let e = Some(CLOSE_PROTOCOL_ERROR);
        let with_byte0 = |b0: u8| {
            let mut f = masked(opcode::TEXT, true, b"x");
            f[0] = b0;
            f
        };
        // RSV bits without an extension.
        for rsv in [0x40, 0x20, 0x10] {
            assert_eq!(error_of(server(), with_byte0(0x81 | rsv)), e);
        }
        // Allowed once negotiated, only those bits.
        assert_eq!(
            error_of(server().with_deflate(true), with_byte0(0xc1)),
            None
        );
        assert_eq!(error_of(server().with_deflate(true), with_byte0(0xa1)), e);
        // Unknown opcodes.
        for op in (3..=7).chain(11..=15) {
            assert_eq!(error_of(server(), masked(op, true, b"")), e, "opcode {op}");
        }
        // Control frames: fragmented, or more than 125 bytes.
        for op in [opcode::CLOSE, opcode::PING, opcode::PONG] {
            assert_eq!(error_of(server(), masked(op, false, b"")), e);
            assert_eq!(error_of(server(), masked(op, true, &[b'a'; 126])), e);
            let longest = close_payload(CLOSE_NORMAL, &[b'a'; 123]);
            assert_eq!(error_of(server(), masked(op, true, &longest)), None);
        }
        // Masking wrong for the direction.
        assert_eq!(error_of(server(), frame(opcode::TEXT, true, b"x", None)), e);
        let client = Decoder::new(false, true);
        assert_eq!(error_of(client, masked(opcode::TEXT, true, b"x")), e);
        // Message order.
        assert_eq!(
            error_of(server(), masked(opcode::CONTINUATION, true, b"x")),
            e
        );
        for op in [opcode::TEXT, opcode::BINARY] {
            let mut wire = masked(opcode::BINARY, false, b"x");
            wire.extend(masked(op, true, b"y"));
            assert_eq!(error_of(server(), wire), e);
        }
        let mut wire = masked(opcode::BINARY, true, b"x");
        wire.extend(masked(opcode::CONTINUATION, true, b"y"));
        assert_eq!(error_of(server(), wire), e);
    }

    #[test]
    fn length_limits() {
        let long = |len: u64| header(opcode::BINARY, true, len, Some(MASK)).0[..14].to_vec();
        assert_eq!(
            error_of(server(), long(1 << 63)),
            Some(CLOSE_PROTOCOL_ERROR)
        );
        assert_eq!(
            error_of(server(), long(u64::MAX)),
            Some(CLOSE_PROTOCOL_ERROR)
        );
        let too_big = Decoder::MAX_FRAME + 1;
        assert_eq!(
            error_of(server(), long(too_big)),
            Some(CLOSE_MESSAGE_TOO_BIG)
        );
        assert_eq!(error_of(server(), long(Decoder::MAX_FRAME)), None);
        // The error comes with the header, before any payload.
        let mut dec = server();
        let (n, event) = dec.decode(&mut long(too_big));
        assert_eq!((n, event), (14, Some(Event::Error(CLOSE_MESSAGE_TOO_BIG))));
    }

    #[test]
    fn errors_are_sticky() {
        let mut dec = server();
        let mut bad = masked(13, true, b"");
        assert_eq!(dec.decode(&mut bad).1, Some(Event::Error(1002)));
        let mut good = masked(opcode::TEXT, true, b"fine");
        assert_eq!(dec.decode(&mut good), (0, Some(Event::Error(1002))));
        assert_eq!(dec.decode(&mut []), (0, Some(Event::Error(1002))));
    }

    #[test]
    fn errors_are_found_early() {
        // Two header bytes decide opcode, RSV, FIN and masking errors.
        let mut dec = server();
        assert_eq!(dec.decode(&mut [0x83]), (1, None));
        assert_eq!(dec.decode(&mut [0x80]), (1, Some(Event::Error(1002))));
    }

    #[test]
    fn invalid_utf8_in_text() {
        let e = Some(CLOSE_INVALID_PAYLOAD);
        assert_eq!(error_of(server(), masked(opcode::TEXT, true, b"a\xffb")), e);
        // Found in the first fragment already.
        let mut dec = server();
        let mut wire = masked(opcode::TEXT, false, b"\xed\xa0\x80");
        assert_eq!(feed(&mut dec, &mut wire), [Got::Other(Event::Error(1007))]);
        // Found in the first bytes of a frame, before its end.
        let mut wire = masked(opcode::TEXT, true, b"ok\xf4\x90\x80\x80 and more");
        let cut = 8 + 4;
        let (n, event) = server().decode(&mut wire[..cut]);
        assert_eq!((n, event), (cut, Some(Event::Error(1007))));
        // Truncated at the message end, in a frame or by an empty final one.
        assert_eq!(
            error_of(server(), masked(opcode::TEXT, true, b"a\xe2\x82")),
            e
        );
        let mut wire = masked(opcode::TEXT, false, b"\xe2\x82");
        wire.extend(masked(opcode::CONTINUATION, true, b""));
        assert_eq!(error_of(server(), wire), e);
        // A code point split between fragments is fine, control frames between.
        let mut wire = masked(opcode::TEXT, false, b"\xe2\x82");
        wire.extend(masked(opcode::PING, true, b""));
        wire.extend(masked(opcode::CONTINUATION, true, b"\xac"));
        let got = feed(&mut server(), &mut wire);
        assert_eq!(data_of(&got), ("€".as_bytes().to_vec(), true));
        // Validation resets per message.
        let mut wire = masked(opcode::TEXT, true, b"\xe2\x82\xac");
        wire.extend(masked(opcode::TEXT, true, b"\x82\xac"));
        assert_eq!(error_of(server(), wire), e);
        // Not checked when disabled, nor in binary messages.
        let lax = Decoder::new(true, false);
        assert_eq!(error_of(lax, masked(opcode::TEXT, true, b"\xff")), None);
        assert_eq!(
            error_of(server(), masked(opcode::BINARY, true, b"\xff")),
            None
        );
    }

    #[test]
    fn close_frames() {
        let close = |payload: &[u8]| {
            let mut wire = masked(opcode::CLOSE, true, payload);
            feed(&mut server(), &mut wire)
        };
        assert_eq!(
            close(&close_payload(1000, b"bye")),
            [Got::Other(Event::Close {
                code: Some(1000),
                reason: b"bye".to_vec()
            })]
        );
        assert_eq!(close(b"\x03"), [Got::Other(Event::Error(1002))]);
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014, 3000, 3999, 4000,
            4999,
        ] {
            let got = close(&close_payload(code, b""));
            let want = Event::Close {
                code: Some(code),
                reason: Vec::new(),
            };
            assert_eq!(got, [Got::Other(want)], "code {code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            let got = close(&close_payload(code, b""));
            assert_eq!(got, [Got::Other(Event::Error(1002))], "code {code}");
        }
        let got = close(&close_payload(1000, b"\xce\xba\xff"));
        assert_eq!(got, [Got::Other(Event::Error(1007))]);
        // A close payload split across reads.
        let mut wire = masked(opcode::CLOSE, true, &close_payload(4001, b"later"));
        let mut dec = server();
        let (first, second) = wire.split_at_mut(9);
        assert!(feed(&mut dec, first).is_empty());
        let want = Event::Close {
            code: Some(4001),
            reason: b"later".to_vec(),
        };
        assert_eq!(feed(&mut dec, second), [Got::Other(want)]);
    }

    #[test]
    fn close_payload_bytes() {
        assert_eq!(close_payload(1000, b""), [0x03, 0xe8]);
        assert_eq!(close_payload(1002, b"no"), [0x03, 0xea, b'n', b'o']);
        let long = close_payload(CLOSE_NORMAL, &[b'r'; 200]);
        assert_eq!(long.len(), 125);
    }

    #[test]
    fn rsv1_marks_compressed_messages_only_where_rfc_7692_allows() {
        let rsv1 = |op, fin, payload: &[u8]| {
            let mut f = masked(op, fin, payload);
            f[0] |= 0x40;
            f
        };
        let mut dec = server().with_deflate(true);
        // not valid UTF-8 as it stands: compressed text is checked inflated
        let mut wire = rsv1(opcode::TEXT, false, &[0xff, 0xfe]);
        let (_, event) = dec.decode(&mut wire);
        assert!(
            matches!(
                event,
                Some(Event::Data {
                    compressed: true,
                    ..
                })
            ),
            "{event:?}"
        );
        assert_eq!(dec.rsv(), 0x40);
        let mut cont = masked(opcode::CONTINUATION, true, &[0xff]);
        let (_, event) = dec.decode(&mut cont);
        assert!(matches!(
            event,
            Some(Event::Data {
                compressed: true,
                fin: true,
                ..
            })
        ));
        let mut plain = masked(opcode::TEXT, true, b"ok");
        let (_, event) = dec.decode(&mut plain);
        assert!(matches!(
            event,
            Some(Event::Data {
                compressed: false,
                ..
            })
        ));
        for bad in [rsv1(opcode::PING, true, b""), {
            let mut f = masked(opcode::TEXT, true, b"x");
            f[0] |= 0x20;
            f
        }] {
            assert_eq!(error_of(server().with_deflate(true), bad), Some(1002));
        }
        let mut start = rsv1(opcode::TEXT, false, b"x");
        start.extend(rsv1(opcode::CONTINUATION, true, b"y"));
        assert_eq!(error_of(server().with_deflate(true), start), Some(1002));
        assert_eq!(
            error_of(server(), rsv1(opcode::TEXT, true, b"x")),
            Some(1002)
        );
    }
}
