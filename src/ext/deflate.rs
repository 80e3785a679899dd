//! The permessage-deflate stage of one connection (RFC 7692 section 7.2):
//! raw deflate with a sync flush per frame, the `00 00 ff ff` tail removed
//! from each message sent and put back behind each message received,
//! context takeover unless agreed otherwise. Inflating is bounded by the
//! caller's room, so a small compressed message can never expand into more
//! memory than one RECEIVE chunk. Pure: bytes in, bytes out.
//!
//! The zlib streams exist only once a message needs them: about 7 KiB +
//! 2^window bytes to inflate (39 KiB at the default window), about 256 KiB
//! to deflate at window 15 (zlib's memory level 8), kept between messages
//! for context takeover.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::negotiate::Agreed;
use super::options::pmd;
use crate::ws::utf8::Utf8Validator;

/// What a sync flush ends with; stripped from messages sent, appended to
/// messages received.
const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// Defaults of the original (CONTRACT section 10).
const DEFAULT_LEVEL: u32 = 1;

/// The compressed data is not a deflate stream (close with 1007).
#[derive(Debug, PartialEq, Eq)]
pub struct BadStream;

/// The receiving direction's decompressor.
#[derive(Default)]
pub struct Inflate {
    z: Option<Decompress>,
    /// bytes of `TAIL` fed behind the current message so far
    tail_fed: usize,
    /// the message's deflate stream ended with a final block: what follows
    /// in the message is ignored and the next message starts a new stream
    ended: bool,
}

impl Inflate {
    /// Inflates message bytes `input` into `out` until it is full; `last`:
    /// `input` ends the message (the tail follows it). Returns the bytes of
    /// `input` used, the bytes written to `out` and whether the message is
    /// fully inflated (every byte in and nothing left to come out).
    pub fn run(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut [u8],
    ) -> Result<(usize, usize, bool), BadStream> {
        if self.ended {
            return Ok((input.len(), 0, last));
        }
        // zlib's raw inflate takes any window up to 15 bits: a peer's
        // smaller window never needs a matching setting here
        let z = self
            .z
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
        let (mut used, mut filled) = (0, 0);
        loop {
            if filled == out.len() {
                return Ok((used, filled, false));
            }
            let feed: &[u8] = if used < input.len() {
                &input[used..]
            } else if last && self.tail_fed < TAIL.len() {
                &TAIL[self.tail_fed..]
            } else {
                &[]
            };
            let (in0, out0) = (z.total_in(), z.total_out());
            let status = z
                .decompress(feed, &mut out[filled..], FlushDecompress::Sync)
                .map_err(|_| BadStream)?;
            let took = (z.total_in() - in0) as usize;
            let made = (z.total_out() - out0) as usize;
            filled += made;
            if used < input.len() {
                used += took;
            } else {
                self.tail_fed += took;
            }
            if status == Status::StreamEnd {
                self.ended = true;
                return Ok((input.len(), filled, last));
            }
            if took == 0 && made == 0 {
                // all that was given is in and out
                return Ok((used, filled, feed.is_empty() && last));
            }
        }
    }

    /// The message is delivered: the next one continues this stream unless
    /// the peer starts every message afresh or this one ended its stream.
    fn end_message(&mut self, no_takeover: bool) {
        if self.ended || no_takeover {
            if let Some(z) = self.z.as_mut() {
                z.reset(false);
            }
        }
        self.tail_fed = 0;
        self.ended = false;
    }
}

/// The sending direction's compressor.
struct Deflate {
    z: Option<Compress>,
    window_bits: u8,
    level: u32,
    /// a level set while the stream existed, applied at the next message
    new_level: bool,
}

impl Deflate {
    /// Compresses one frame's payload onto `out` with a sync flush; `fin`
    /// ends the message (the tail is removed).
    fn run(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) -> Result<(), BadStream> {
        if input.is_empty() {
            // zlib flushes nothing twice: after the last frame's sync flush
            // the stream is byte-aligned, and a message ending here is the
            // empty stored block's first byte (RFC 7692 section 7.2.3.6)
            if fin {
                out.push(0);
            }
            return Ok(());
        }
        let level = Compression::new(self.level);
        let z = self.z.get_or_insert_with(|| {
            Compress::new_with_window_bits(level, false, self.window_bits.clamp(9, 15))
        });
        if std::mem::take(&mut self.new_level) {
            z.set_level(level).map_err(|_| BadStream)?;
        }
        let mut used = 0;
        loop {
            let left = input.len() - used;
            if out.capacity() - out.len() < 64 {
                out.reserve(left + left / 16 + 64);
            }
            let before = z.total_in();
            z.compress_vec(&input[used..], out, FlushCompress::Sync)
                .map_err(|_| BadStream)?;
            used += (z.total_in() - before) as usize;
            // the flush is complete once zlib stops short of the room it had
            if used == input.len() && out.len() < out.capacity() {
                break;
            }
        }
        if fin && out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        Ok(())
    }

    fn end_message(&mut self, no_takeover: bool) {
        if no_takeover {
            if let Some(z) = self.z.as_mut() {
                z.reset();
            }
        }
    }
}

/// permessage-deflate on one connection: the agreed parameters, the two
/// streams, and where the receiving side is within a message.
pub struct Session {
    agreed: Agreed,
    /// our side is the server (decides which RFC parameter names are ours)
    server: bool,
    pub inflate: Inflate,
    deflate: Deflate,
    /// the application's rx_buf_size: RECEIVE chunks of at most this
    rx_chunk: Option<usize>,
    /// the inflated byte beyond the last RECEIVE chunk, first of the next
    pub carry: Option<u8>,
    /// UTF-8 state of the inflated text message being received
    pub utf8: Utf8Validator,
    /// the message being sent is compressed (its first frame had RSV1)
    tx_compressing: bool,
    /// chunks inflated since the loop last let other connections run
    pub burst: u32,
}

impl Session {
    pub fn new(agreed: Agreed, server: bool) -> Session {
        Session {
            agreed,
            server,
            inflate: Inflate::default(),
            deflate: Deflate {
                z: None,
                window_bits: agreed.tx_window_bits,
                level: DEFAULT_LEVEL,
                new_level: false,
            },
            rx_chunk: None,
            carry: None,
            utf8: Utf8Validator::new(),
            tx_compressing: false,
            burst: 0,
        }
    }

    /// The largest RECEIVE chunk for a protocol whose chunks are `rx_size`.
    pub fn chunk(&self, rx_size: usize) -> usize {
        self.rx_chunk.map_or(rx_size, |c| c.min(rx_size)).max(1)
    }

    /// A received compressed message was delivered whole.
    pub fn end_rx_message(&mut self) {
        self.inflate.end_message(self.agreed.rx_no_takeover);
        self.carry = None;
    }

    /// Whether a frame starting a message goes out compressed: always,
    /// unless the peer limited our window below what zlib can do (a
    /// message may always be sent uncompressed).
    pub fn start_tx_message(&mut self) -> bool {
        self.tx_compressing = self.deflate.window_bits >= 9;
        self.tx_compressing
    }

    /// The message being sent is compressed.
    pub fn tx_compressing(&self) -> bool {
        self.tx_compressing
    }

    /// Compresses one frame of the message being sent onto `out`.
    pub fn deflate(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) -> Result<(), BadStream> {
        self.deflate.run(input, fin, out)?;
        if fin {
            self.deflate.end_message(self.agreed.tx_no_takeover);
            self.tx_compressing = false;
        }
        Ok(())
    }

    /// `lws_set_extension_option` / LWS_EXT_CB_OPTION_SET: option `index`
    /// of permessage-deflate's table with `value` (None: named without
    /// one, meaning 1). Only what stays within the agreement applies: our
    /// own side may stop taking over context or shrink its window (before
    /// its compressor exists); the peer's parameters were agreed already.
    /// tx_buf_size and mem_level are accepted and change nothing: each
    /// write is compressed whole, and flate2 builds zlib streams with
    /// zlib's default memory level, the original's default too.
    pub fn set_option(&mut self, index: usize, value: Option<i32>) {
        let v = value.unwrap_or(1);
        let ours = |server_name: bool| server_name == self.server;
        match index {
            pmd::SERVER_NO_CONTEXT_TAKEOVER | pmd::CLIENT_NO_CONTEXT_TAKEOVER
                if ours(index == pmd::SERVER_NO_CONTEXT_TAKEOVER) && v != 0 =>
            {
                self.agreed.tx_no_takeover = true;
            }
            pmd::SERVER_MAX_WINDOW_BITS | pmd::CLIENT_MAX_WINDOW_BITS
                if ours(index == pmd::SERVER_MAX_WINDOW_BITS)
                    && self.deflate.z.is_none()
                    && (8..=15).contains(&v) =>
            {
                self.deflate.window_bits = self.deflate.window_bits.min(v as u8);
            }
            pmd::RX_BUF_SIZE if (0..=24).contains(&v) => self.rx_chunk = Some(1 << v),
            pmd::COMPRESSION_LEVEL if (0..=9).contains(&v) => {
                self.deflate.level = v as u32;
                self.deflate.new_level = self.deflate.z.is_some();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(tx_no: bool, rx_no: bool, bits: u8) -> Agreed {
        Agreed {
            tx_no_takeover: tx_no,
            tx_window_bits: bits,
            rx_no_takeover: rx_no,
        }
    }

    /// What a peer would send: each message compressed, tail removed.
    fn peer_messages(msgs: &[&[u8]], takeover: bool) -> Vec<Vec<u8>> {
        let mut s = Session::new(agreed(!takeover, false, 15), true);
        msgs.iter()
            .map(|m| {
                assert!(s.start_tx_message());
                let mut out = Vec::new();
                s.deflate(m, true, &mut out).unwrap();
                out
            })
            .collect()
    }

    /// Inflates one message given in `pieces` with RECEIVE-sized room.
    fn receive(s: &mut Session, pieces: &[&[u8]], chunk: usize) -> (Vec<u8>, usize) {
        let mut all = Vec::new();
        let mut chunks = 0;
        let mut out = vec![0; chunk];
        let mut fill = 0;
        for (i, piece) in pieces.iter().enumerate() {
            let last = i + 1 == pieces.len();
            let mut rest: &[u8] = piece;
            loop {
                let (used, made, done) = s.inflate.run(rest, last, &mut out[fill..]).unwrap();
                fill += made;
                rest = &rest[used..];
                if done {
                    all.extend_from_slice(&out[..fill]);
                    chunks += 1;
                    s.end_rx_message();
                    return (all, chunks);
                }
                if fill == chunk {
                    all.extend_from_slice(&out[..fill]);
                    fill = 0;
                    chunks += 1;
                    continue;
                }
                assert!(rest.is_empty());
                break;
            }
        }
        panic!("message never completed");
    }

    #[test]
    fn round_trips_with_and_without_context_takeover() {
        let msgs: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("{{\"n\":{i},\"text\":\"hello hello hello\"}}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        for takeover in [true, false] {
            let wire = peer_messages(&refs, takeover);
            let mut rx = Session::new(agreed(false, !takeover, 15), true);
            for (m, w) in msgs.iter().zip(&wire) {
                assert_eq!(receive(&mut rx, &[w], 4096).0, *m);
            }
            if takeover {
                // later messages reuse the history: shorter than the first
                assert!(wire[5].len() < wire[0].len());
            }
        }
    }

    #[test]
    fn output_is_bounded_by_the_room_given() {
        let big = vec![0u8; 1 << 20];
        let wire = peer_messages(&[&big], true);
        assert!(wire[0].len() < 8 << 10);
        let mut rx = Session::new(agreed(false, false, 15), true);
        let (data, chunks) = receive(&mut rx, &[&wire[0]], 1000);
        assert_eq!(data, big);
        assert_eq!(chunks, (1 << 20) / 1000 + 1);
    }

    #[test]
    fn input_split_at_every_byte() {
        let text: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        let wire = peer_messages(&[&text], true).remove(0);
        for cut in 0..=wire.len() {
            let mut rx = Session::new(agreed(false, false, 15), true);
            let (a, b) = wire.split_at(cut);
            assert_eq!(receive(&mut rx, &[a, b], 512).0, text, "cut {cut}");
        }
    }

    #[test]
    fn empty_messages_and_fragments() {
        let mut tx = Session::new(agreed(false, false, 15), false);
        let mut rx = Session::new(agreed(false, false, 15), true);
        tx.start_tx_message();
        let mut empty = Vec::new();
        tx.deflate(b"", true, &mut empty).unwrap();
        assert_eq!(empty, [0]);
        assert_eq!(receive(&mut rx, &[&empty], 100).0, b"");
        // after context was taken over too
        for _ in 0..2 {
            tx.start_tx_message();
            tx.deflate(b"data", true, &mut Vec::new()).unwrap();
            tx.start_tx_message();
            let mut empty = Vec::new();
            tx.deflate(b"", true, &mut empty).unwrap();
            assert_eq!(empty, [0]);
        }
        // one message in three frames, each flushed
        tx.start_tx_message();
        let mut frames = [Vec::new(), Vec::new(), Vec::new()];
        tx.deflate(b"abcabcabc", false, &mut frames[0]).unwrap();
        tx.deflate(b"", false, &mut frames[1]).unwrap();
        tx.deflate(b"abcabc", true, &mut frames[2]).unwrap();
        assert!(!tx.tx_compressing());
        let pieces: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        assert_eq!(receive(&mut rx, &pieces, 100).0, b"abcabcabcabcabc");
    }

    #[test]
    fn a_final_block_ends_the_stream() {
        let mut c = Compress::new(Compression::default(), false);
        let mut wire = Vec::with_capacity(100);
        c.compress_vec(b"final", &mut wire, FlushCompress::Finish)
            .unwrap();
        let mut rx = Session::new(agreed(false, false, 15), true);
        assert_eq!(receive(&mut rx, &[&wire], 100).0, b"final");
        // a new stream for the next message
        let next = peer_messages(&[b"next"], true).remove(0);
        assert_eq!(receive(&mut rx, &[&next], 100).0, b"next");
    }

    #[test]
    fn garbage_is_a_bad_stream() {
        let mut rx = Session::new(agreed(false, false, 15), true);
        let mut out = [0; 100];
        assert_eq!(rx.inflate.run(&[0xff; 16], true, &mut out), Err(BadStream));
    }

    #[test]
    fn small_windows_and_options() {
        let mut s = Session::new(agreed(false, false, 8), true);
        assert!(
            !s.start_tx_message(),
            "no 256-byte window in zlib: uncompressed"
        );
        let mut s = Session::new(agreed(false, false, 15), true);
        s.set_option(pmd::SERVER_MAX_WINDOW_BITS, Some(10));
        assert_eq!(s.deflate.window_bits, 10);
        s.set_option(pmd::CLIENT_MAX_WINDOW_BITS, Some(9));
        assert_eq!(s.deflate.window_bits, 10, "the client's window is not ours");
        s.set_option(pmd::RX_BUF_SIZE, Some(12));
        assert_eq!(s.chunk(65536), 4096);
        assert_eq!(s.chunk(1000), 1000);
        s.set_option(pmd::CLIENT_NO_CONTEXT_TAKEOVER, None);
        assert!(!s.agreed.tx_no_takeover);
        s.set_option(pmd::SERVER_NO_CONTEXT_TAKEOVER, None);
        assert!(s.agreed.tx_no_takeover);
        s.set_option(pmd::COMPRESSION_LEVEL, Some(9));
        s.set_option(pmd::MEM_LEVEL, Some(4));
        let compressible = vec![b'x'; 10000];
        s.start_tx_message();
        let mut out = Vec::new();
        s.deflate(&compressible, true, &mut out).unwrap();
        let mut rx = Session::new(agreed(false, true, 15), false);
        assert_eq!(receive(&mut rx, &[&out], 4096).0, compressible);
    }
}
