//! Incremental UTF-8 validation for text messages that arrive in pieces: a
//! code point may be split between frames and between reads.

/// Validates a byte stream fed chunk by chunk. Bulk bytes go through
/// `std::str::from_utf8` (word-at-a-time ASCII fast path, well tested); only
/// code points split across chunks go through the byte state machine here.
#[derive(Debug, Clone)]
pub struct Utf8Validator {
    /// Continuation bytes the current code point still needs.
    need: u8,
    /// Allowed range of the next continuation byte. Narrower than 0x80..=0xBF
    /// after E0, ED, F0 and F4, which rejects overlongs, surrogates and code
    /// points above U+10FFFF at their second byte, as early as possible.
    lo: u8,
    hi: u8,
    /// An invalid sequence was seen; stays set until `reset`.
    failed: bool,
}

impl Default for Utf8Validator {
    fn default() -> Self {
        Self::new()
    }
}

impl Utf8Validator {
    pub const fn new() -> Self {
        Utf8Validator {
            need: 0,
            lo: 0x80,
            hi: 0xBF,
            failed: false,
        }
    }

    /// Checks the next bytes of the stream; false once anything invalid has
    /// been seen (a prefix that no continuation can make valid counts).
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut rest = bytes;
        // Finish the code point the previous chunk started.
        while self.need > 0 && !self.failed {
            let Some((&b, tail)) = rest.split_first() else {
                return true;
            };
            self.step(b);
            rest = tail;
        }
        if self.failed {
            return false;
        }
        match std::str::from_utf8(rest) {
            Ok(_) => true,
            // Valid so far, but the chunk ends inside a code point: keep it.
            Err(e) if e.error_len().is_none() => {
                rest[e.valid_up_to()..].iter().for_each(|&b| self.step(b));
                !self.failed
            }
            Err(_) => {
                self.failed = true;
                false
            }
        }
    }

    /// True when the bytes fed so far are valid and end on a code point
    /// boundary: what a complete text message must satisfy.
    pub fn is_complete(&self) -> bool {
        self.need == 0 && !self.failed
    }

    /// Starts over, for the next message.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    fn step(&mut self, b: u8) {
        if self.need > 0 {
            if b < self.lo || b > self.hi {
                self.failed = true;
                return;
            }
            self.need -= 1;
            (self.lo, self.hi) = (0x80, 0xBF);
            return;
        }
        (self.need, self.lo, self.hi) = match b {
            0x00..=0x7F => return,
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xE1..=0xEF => (2, 0x80, 0xBF),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            // Continuation bytes without a lead, C0/C1 (overlong), F5..FF.
            _ => {
                self.failed = true;
                return;
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::Utf8Validator;

    fn whole(bytes: &[u8]) -> (bool, bool) {
        let mut v = Utf8Validator::new();
        let ok = v.feed(bytes);
        (ok, v.is_complete())
    }

    /// Feeding `bytes` in two pieces, split anywhere, or byte by byte, must
    /// agree with std on the whole input.
    fn agrees_with_std(bytes: &[u8]) {
        let valid = std::str::from_utf8(bytes).is_ok();
        for cut in 0..=bytes.len() {
            let mut v = Utf8Validator::new();
            let ok = v.feed(&bytes[..cut]) & v.feed(&bytes[cut..]);
            assert_eq!(ok && v.is_complete(), valid, "{bytes:02x?} cut at {cut}");
        }
        let mut v = Utf8Validator::new();
        let ok = bytes.iter().all(|b| v.feed(std::slice::from_ref(b)));
        assert_eq!(ok && v.is_complete(), valid, "{bytes:02x?} byte by byte");
    }

    #[test]
    fn valid_text_split_at_every_boundary() {
        for s in [
            "",
            "Hello-µ@ßöäüàá-UTF-8!!",
            "κόσμε",
            "\u{80}\u{7ff}\u{800}\u{d7ff}\u{e000}\u{fffd}\u{ffff}\u{10000}\u{10ffff}",
            "ascii long enough for the word-at-a-time path: 0123456789abcdef\u{1f600}",
        ] {
            agrees_with_std(s.as_bytes());
            assert_eq!(whole(s.as_bytes()), (true, true));
        }
    }

    #[test]
    fn invalid_sequences_split_at_every_boundary() {
        let cases: &[&[u8]] = &[
            b"\xed\xa0\x80",     // surrogate U+D800
            b"\xed\xbf\xbf",     // surrogate U+DFFF
            b"\xf4\x90\x80\x80", // U+110000
            b"\xf5\x80\x80\x80", // lead byte beyond F4
            b"\xc0\xaf",         // overlong '/'
            b"\xc1\xbf",         // overlong
            b"\xe0\x80\xaf",     // overlong 3 bytes
            b"\xe0\x9f\xbf",     // overlong U+07FF
            b"\xf0\x80\x80\xaf", // overlong 4 bytes
            b"\xf0\x8f\xbf\xbf", // overlong U+FFFF
            b"\x80",             // lone continuation
            b"\xbf",             // lone continuation
            b"\xfe",             // never valid
            b"\xff",             // never valid
            b"\xc2\x41",         // lead then ASCII
            b"\xe1\x80\x41",     // truncated, then ASCII
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xe2\x82",       // truncated at the end
            b"\xf0\x9f\x98",   // truncated at the end
            b"0123456789\xce", // truncated after ASCII
        ];
        for case in cases {
            agrees_with_std(case);
        }
    }

    #[test]
    fn errors_are_reported_at_the_first_impossible_byte() {
        // The second byte already decides surrogates, U+110000 and overlongs.
        for prefix in [
            &b"\xed\xa0"[..],
            b"\xf4\x90",
            b"\xe0\x80",
            b"\xf0\x80",
            b"\xc0",
        ] {
            let mut v = Utf8Validator::new();
            assert!(
                !v.feed(&prefix[..1]) || !v.feed(&prefix[1..]),
                "{prefix:02x?}"
            );
        }
        // A valid prefix is not an error, just incomplete.
        assert_eq!(whole(b"\xf4\x8f\xbf"), (true, false));
        assert_eq!(whole(b"\xed\x9f"), (true, false));
    }

    #[test]
    fn failure_is_sticky_until_reset() {
        let mut v = Utf8Validator::new();
        assert!(!v.feed(b"\xff"));
        assert!(!v.feed(b"a"));
        assert!(!v.is_complete());
        v.reset();
        assert!(v.feed(b"a") && v.is_complete());
        // reset also drops a pending partial code point.
        assert!(v.feed(b"\xe2\x82"));
        assert!(!v.is_complete());
        v.reset();
        assert!(v.is_complete());
    }

    #[test]
    fn every_two_byte_prefix_matches_std() {
        // Exhaustive over lead and second byte, split between them.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let std_ok = match std::str::from_utf8(&[a, b]) {
                    Ok(_) => true,
                    Err(e) => e.error_len().is_none(),
                };
                let mut v = Utf8Validator::new();
                let ok = v.feed(&[a]) && v.feed(&[b]);
                assert_eq!(ok, std_ok, "{a:02x} {b:02x}");
            }
        }
    }
}
