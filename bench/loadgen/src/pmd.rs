//! permessage-deflate (RFC 7692), the client's side: the offer, the check of
//! the server's answer, and a connection's compressor and decompressor (raw
//! deflate through zlib, sync flush, the 00 00 ff ff tail taken off what is
//! sent and put back onto what arrives).
//!
//! Context takeover is used wherever the server allows it: our compressor
//! keeps its window across messages unless the server's answer says
//! client_no_context_takeover, and our decompressor keeps its window unless
//! the answer says server_no_context_takeover (or a message ends its
//! stream with a final block).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What we offer: permessage-deflate, and that we can honour a
/// client_max_window_bits the server asks for (as browsers offer it).
pub const OFFER: &str = "permessage-deflate; client_max_window_bits";

/// zlib's fastest level for what we send: the load generator compresses
/// every message the server decompresses, and must not be the bottleneck
/// sooner than it has to be. (What the server sends is compressed at its
/// own level; we only decompress it.)
pub const LEVEL: u32 = 1;

/// A decompressed message larger than this is an error (a runaway stream).
const MAX_MESSAGE: usize = 64 << 20;

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Bytes before compression and on the wire (payload only), both ways, over
/// every connection of the process.
pub static PLAIN_OUT: AtomicU64 = AtomicU64::new(0);
pub static WIRE_OUT: AtomicU64 = AtomicU64::new(0);
pub static PLAIN_IN: AtomicU64 = AtomicU64::new(0);
pub static WIRE_IN: AtomicU64 = AtomicU64::new(0);
/// The first answer (Sec-WebSocket-Extensions) a server gave, to report.
pub static ANSWER: OnceLock<String> = OnceLock::new();

/// The parameters of the server's answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

/// Parses the server's Sec-WebSocket-Extensions value (all of its headers
/// joined with ", "). It must accept permessage-deflate, once, with valid
/// parameters; nothing else was offered, so nothing else may be there.
pub fn parse_answer(value: &str) -> Result<Params, String> {
    let _ = ANSWER.set(value.to_string());
    let mut found: Option<Params> = None;
    for ext in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let mut parts = ext.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        if !name.eq_ignore_ascii_case("permessage-deflate") {
            return Err(format!(
                "the server answered an extension not offered: {ext:?}"
            ));
        }
        if found.is_some() {
            return Err(format!("permessage-deflate twice in the answer: {value:?}"));
        }
        let mut p = Params::default();
        let mut seen = Vec::new();
        for param in parts.filter(|p| !p.is_empty()) {
            let (k, v) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (param, None),
            };
            let k = k.to_ascii_lowercase();
            if seen.contains(&k) {
                return Err(format!("parameter {k} twice in {ext:?}"));
            }
            seen.push(k.clone());
            let bits = |v: Option<&str>| -> Result<u8, String> {
                match v.map(str::parse::<u8>) {
                    Some(Ok(b)) if (8..=15).contains(&b) => Ok(b),
                    _ => Err(format!("bad {k} value {v:?} in {ext:?}")),
                }
            };
            match k.as_str() {
                "server_no_context_takeover" if v.is_none() => p.server_no_context_takeover = true,
                "client_no_context_takeover" if v.is_none() => p.client_no_context_takeover = true,
                "server_max_window_bits" => p.server_max_window_bits = Some(bits(v)?),
                // we offered it without a value: the answer must give one
                "client_max_window_bits" => p.client_max_window_bits = Some(bits(v)?),
                _ => {
                    return Err(format!(
                        "unknown or malformed parameter {param:?} in {ext:?}"
                    ))
                }
            }
        }
        found = Some(p);
    }
    found.ok_or_else(|| format!("no permessage-deflate in the answer {value:?}"))
}

/// One connection's compressor (made when first used: with precomputed
/// messages it never is) and decompressor.
pub struct Codec {
    params: Params,
    bits: u8,
    c: Option<Compress>,
    d: Decompress,
}

impl Codec {
    pub fn new(params: Params) -> Result<Codec, String> {
        // zlib's raw deflate cannot keep to a 256-byte window (it takes 8
        // as 9), so 8 is the one request we cannot honour
        let bits = params.client_max_window_bits.unwrap_or(15);
        if bits < 9 {
            return Err(
                "the server asks for client_max_window_bits=8, which zlib cannot honour".into(),
            );
        }
        Ok(Codec {
            bits,
            c: None,
            // a window as large as any the server may use
            d: Decompress::new_with_window_bits(false, 15),
            params,
        })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Compresses one whole message into `out` (appended): what goes into
    /// its frame, without the 00 00 ff ff tail.
    pub fn compress(&mut self, msg: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let bits = self.bits;
        let c = self.c.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(LEVEL), false, bits)
        });
        let start = out.len();
        let mut used = 0;
        loop {
            out.reserve(msg.len() - used + 64);
            let before = c.total_in();
            c.compress_vec(&msg[used..], out, FlushCompress::Sync)
                .map_err(|e| format!("deflate: {e}"))?;
            used += (c.total_in() - before) as usize;
            // the flush is complete once zlib stops with room to spare
            if used == msg.len() && out.len() < out.capacity() {
                break;
            }
        }
        if !out[start..].ends_with(&TAIL) {
            return Err("deflate: a sync flush that does not end in 00 00 ff ff".into());
        }
        out.truncate(out.len() - TAIL.len());
        if out.len() == start {
            // an empty message: one empty stored block's worth, as RFC 7692
            // 7.2.3.6 shows it
            out.push(0x00);
        }
        if self.params.client_no_context_takeover {
            c.reset();
        }
        Ok(())
    }

    /// Decompresses one whole message's payload (its frames' payloads put
    /// together, without the tail) into `out` (appended). `expect` is the
    /// size it should have, to size the buffer.
    pub fn decompress(
        &mut self,
        wire: &[u8],
        expect: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let start = out.len();
        let mut ended = false;
        for input in [wire, &TAIL[..]] {
            let mut used = 0;
            loop {
                let want = expect.saturating_sub(out.len() - start).max(1024);
                out.reserve(want);
                let (in0, out0) = (self.d.total_in(), out.len());
                let status = self
                    .d
                    .decompress_vec(&input[used..], out, FlushDecompress::Sync)
                    .map_err(|e| format!("inflate: {e}"))?;
                used += (self.d.total_in() - in0) as usize;
                if status == Status::StreamEnd {
                    // a final block: the stream is over; what follows it in
                    // this message (the tail we added) does not count
                    ended = true;
                    break;
                }
                if out.len() - start > MAX_MESSAGE {
                    return Err(format!("inflate: a message over {MAX_MESSAGE} bytes"));
                }
                if used == input.len() && out.len() < out.capacity() {
                    break;
                }
                if self.d.total_in() == in0 && out.len() == out0 && out.len() < out.capacity() {
                    return Err("inflate: no progress".into());
                }
            }
            if ended {
                break;
            }
        }
        if ended || self.params.server_no_context_takeover {
            self.d.reset(false);
        }
        PLAIN_IN.fetch_add((out.len() - start) as u64, Ordering::Relaxed);
        WIRE_IN.fetch_add(wire.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The messages a connection sends, message k being the k-th `size`-byte
/// slice of a text of about 1 MiB (`text_pool`), round and round; every
/// connection sends the same sequence. Compressing them is the load
/// generator's largest cost (zlib level 1 costs about as much per message
/// as the server's own compression, which would make the load generator
/// the bottleneck), so the sequence is compressed once, in advance, as a
/// connection's compressor produces it: with context takeover the stream
/// depends on all the messages before, but after the first pass through
/// the text it repeats pass after pass (checked: passes 2, 3 and 4 must be
/// the same bytes, else every message is compressed live). Without context
/// takeover each message is compressed on its own anyway.
pub struct Messages {
    text: Vec<u8>,
    size: usize,
    /// messages in one pass through the text
    per_pass: usize,
    /// passes 1 and 2 compressed, for the parameters of the first
    /// connection that asked (None: they do not repeat; compress live)
    compressed: std::cell::OnceCell<Option<Precomputed>>,
}

/// Compressed messages and the parameters they were compressed for.
type Precomputed = (Params, Vec<Box<[u8]>>);

impl Messages {
    pub fn new(size: usize, next: impl FnMut() -> u64) -> Messages {
        let per_pass = (1usize << 20).div_ceil(size.max(1)).max(1);
        Messages {
            text: text_pool(per_pass * size, next),
            size,
            per_pass,
            compressed: std::cell::OnceCell::new(),
        }
    }

    /// Message k.
    pub fn plain(&self, k: u64) -> &[u8] {
        let at = (k % self.per_pass as u64) as usize * self.size;
        &self.text[at..at + self.size]
    }

    /// Message k compressed (without the tail) by a connection's compressor
    /// with `params` that compressed messages 0 to k - 1 before it, if
    /// precomputed for these parameters.
    pub fn compressed(&self, params: &Params, k: u64) -> Option<&[u8]> {
        let c = self.compressed.get_or_init(|| self.precompute(params));
        match c {
            Some((p, frames)) if p == params => {
                let n = self.per_pass as u64;
                let i = if k < n { k } else { n + (k - n) % n };
                Some(&frames[i as usize])
            }
            _ => None,
        }
    }

    fn precompute(&self, params: &Params) -> Option<Precomputed> {
        let mut codec = Codec::new(params.clone()).ok()?;
        let n = self.per_pass as u64;
        let mut frames: Vec<Box<[u8]>> = Vec::with_capacity(2 * self.per_pass);
        let mut out = Vec::new();
        for k in 0..4 * n {
            out.clear();
            codec.compress(self.plain(k), &mut out).ok()?;
            if k < 2 * n {
                frames.push(out.as_slice().into());
            } else if *frames[(n + k % n) as usize] != out[..] {
                eprintln!(
                    "lws-loadgen: the compressed messages do not repeat: compressing them live"
                );
                return None;
            }
        }
        Some((params.clone(), frames))
    }
}

/// Counts a compressed message sent (`plain` bytes as `wire` bytes).
pub fn count_out(plain: usize, wire: usize) {
    PLAIN_OUT.fetch_add(plain as u64, Ordering::Relaxed);
    WIRE_OUT.fetch_add(wire as u64, Ordering::Relaxed);
}

/// `len` bytes of JSON-like text for the messages: records of a few fields
/// with names, words and numbers drawn at random, so that they compress
/// about as well as real application messages do (neither random bytes nor
/// one string repeated). One record per line.
pub fn text_pool(len: usize, mut next: impl FnMut() -> u64) -> Vec<u8> {
    const USERS: [&str; 12] = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "oscar",
    ];
    const ACTIONS: [&str; 8] = [
        "login", "logout", "view", "click", "purchase", "update", "delete", "share",
    ];
    const TAGS: [&str; 10] = [
        "news", "sports", "weather", "finance", "tech", "travel", "music", "food", "health",
        "games",
    ];
    const PATHS: [&str; 6] = [
        "/index.html",
        "/api/v1/items",
        "/search",
        "/cart/checkout",
        "/profile/settings",
        "/static/app.js",
    ];
    let mut out = Vec::with_capacity(len + 512);
    let mut id = next() % 1_000_000;
    let mut ts = 1_700_000_000_000 + next() % 1_000_000_000;
    while out.len() < len {
        let r = next();
        id += 1 + r % 7;
        ts += r % 5000;
        let pick = |n: usize, shift: u32| ((r >> shift) as usize) % n;
        let record = format!(
            "{{\"id\":{id},\"ts\":{ts},\"user\":\"{}{}\",\"action\":\"{}\",\"path\":\"{}\",\
             \"amount\":{}.{:02},\"ok\":{},\"tags\":[\"{}\",\"{}\"],\"session\":\"{:08x}\"}}\n",
            USERS[pick(USERS.len(), 8)],
            (r >> 12) % 1000,
            ACTIONS[pick(ACTIONS.len(), 22)],
            PATHS[pick(PATHS.len(), 26)],
            (r >> 30) % 10000,
            (r >> 44) % 100,
            if (r >> 51) & 7 == 0 { "false" } else { "true" },
            TAGS[pick(TAGS.len(), 54)],
            TAGS[pick(TAGS.len(), 58)],
            next() as u32,
        );
        out.extend_from_slice(record.as_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            parse_answer("permessage-deflate").unwrap(),
            Params::default()
        );
        let p = parse_answer(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=\"12\"",
        )
        .unwrap();
        assert!(p.server_no_context_takeover && p.client_no_context_takeover);
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (Some(10), Some(12))
        );
        assert!(parse_answer("x-webkit-deflate-frame").is_err());
        assert!(parse_answer("permessage-deflate; client_max_window_bits").is_err());
        assert!(parse_answer("permessage-deflate; server_max_window_bits=16").is_err());
        assert!(parse_answer("permessage-deflate; foo").is_err());
        assert!(parse_answer("permessage-deflate, permessage-deflate").is_err());
        assert!(parse_answer("").is_err());
    }

    fn roundtrip(params: Params, msgs: &[Vec<u8>]) {
        // one codec plays the client, a second one (its roles swapped) the
        // server: what one compresses the other must decompress
        let mut a = Codec::new(params.clone()).unwrap();
        let mut b = Codec::new(Params {
            server_no_context_takeover: params.client_no_context_takeover,
            client_no_context_takeover: params.server_no_context_takeover,
            ..Params::default()
        })
        .unwrap();
        for m in msgs {
            let mut wire = Vec::new();
            a.compress(m, &mut wire).unwrap();
            assert!(!wire.ends_with(&TAIL));
            let mut back = Vec::new();
            b.decompress(&wire, m.len(), &mut back).unwrap();
            assert_eq!(&back, m);
        }
    }

    #[test]
    fn compresses_and_back_with_and_without_context_takeover() {
        let mut x = 7u64;
        let pool = text_pool(200_000, || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        });
        let msgs: Vec<Vec<u8>> = [0usize, 1, 20, 512, 16384, 100_000]
            .iter()
            .enumerate()
            .map(|(i, &n)| pool[i * 1000..i * 1000 + n].to_vec())
            .collect();
        roundtrip(Params::default(), &msgs);
        roundtrip(
            Params {
                client_no_context_takeover: true,
                server_no_context_takeover: true,
                client_max_window_bits: Some(9),
                ..Params::default()
            },
            &msgs,
        );
        // the text compresses, as real messages do
        let mut c = Codec::new(Params::default()).unwrap();
        let mut wire = Vec::new();
        c.compress(&pool[..16384], &mut wire).unwrap();
        assert!(wire.len() < 16384 / 2, "{} bytes", wire.len());
    }

    #[test]
    fn precomputed_messages_are_what_a_live_compressor_sends() {
        let mut x = 11u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (size, params) in [
            (512, Params::default()),
            (16384, Params::default()),
            (
                1000,
                Params {
                    client_max_window_bits: Some(10),
                    ..Params::default()
                },
            ),
            (
                512,
                Params {
                    client_no_context_takeover: true,
                    ..Params::default()
                },
            ),
        ] {
            let m = Messages::new(size, &mut next);
            let mut live = Codec::new(params.clone()).unwrap();
            let mut server = Codec::new(Params::default()).unwrap();
            let mut precomputed = 0;
            let total = 3 * m.per_pass as u64 + 7;
            for k in 0..total {
                let mut out = Vec::new();
                live.compress(m.plain(k), &mut out).unwrap();
                if let Some(pre) = m.compressed(&params, k) {
                    assert_eq!(pre, &out[..], "size {size} message {k}");
                    precomputed += 1;
                }
                let mut back = Vec::new();
                server.decompress(&out, size, &mut back).unwrap();
                assert_eq!(back, m.plain(k));
            }
            // (the window size does not divide 1000-byte passes evenly; the
            // others must have been precomputed)
            assert!(
                size == 1000 || precomputed == total,
                "size {size}: {precomputed} of {total}"
            );
            // other parameters: not precomputed
            let other = Params {
                server_no_context_takeover: true,
                ..params.clone()
            };
            assert_eq!(m.compressed(&other, 0), None);
        }
    }

    #[test]
    fn rfc7692_hello_example() {
        // RFC 7692 7.2.3.1: "Hello" compressed without context takeover
        let mut c = Codec::new(Params::default()).unwrap();
        let mut out = Vec::new();
        c.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 5, &mut out)
            .unwrap();
        assert_eq!(out, b"Hello");
        // and 7.2.3.2: the same message again, referring to the first
        out.clear();
        c.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00], 5, &mut out)
            .unwrap();
        assert_eq!(out, b"Hello");
        // a stored block (7.2.3.3) and a final block (BFINAL set)
        out.clear();
        c.decompress(
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            5,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"Hello");
        out.clear();
        let mut fresh = Codec::new(Params::default()).unwrap();
        fresh
            .decompress(&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 5, &mut out)
            .unwrap();
        assert_eq!(out, b"Hello");
    }
}
