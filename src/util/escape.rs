//! URL encoding and decoding, and escaping for SQL and JSON string literals.
//!
//! Each function writes into a caller-sized buffer and NUL-terminates it, as
//! the C API does; none writes past `out.len()` bytes, NUL included.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// What one input byte becomes: itself (or a substitute), or an escape of
/// exactly `N` bytes.
enum Encoded<const N: usize> {
    Byte(u8),
    Escape([u8; N]),
}

/// Writes the encoding of each byte of `input` into `out`, then a NUL, and
/// returns the length before the NUL (0 with nothing written if `out` is
/// empty). As in the original, a byte is encoded only while more than `N`
/// bytes remain, so output stops early rather than cutting an escape.
fn escape<const N: usize>(
    input: &[u8],
    out: &mut [u8],
    encode: impl Fn(u8) -> Encoded<N>,
) -> usize {
    let Some(room) = out.len().checked_sub(1) else {
        return 0;
    };
    let mut n = 0;
    for &b in input {
        if room - n < N {
            break;
        }
        match encode(b) {
            Encoded::Byte(c) => {
                out[n] = c;
                n += 1;
            }
            Encoded::Escape(seq) => {
                out[n..n + N].copy_from_slice(&seq);
                n += N;
            }
        }
    }
    out[n] = 0;
    n
}

/// URL-encodes `input`: ASCII letters and digits are kept, space becomes `+`
/// and every other byte `%XX` (uppercase hex).
pub fn urlencode(input: &[u8], out: &mut [u8]) -> usize {
    escape(input, out, |b| match b {
        b' ' => Encoded::Byte(b'+'),
        b if b.is_ascii_alphanumeric() => Encoded::Byte(b),
        b => Encoded::Escape([b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
    })
}

/// Doubles each `'` so `input` can sit inside an SQL string literal.
pub fn sql_purify(input: &[u8], out: &mut [u8]) -> usize {
    escape(input, out, |b| {
        if b == b'\'' {
            Encoded::Escape([b'\''; 2])
        } else {
            Encoded::Byte(b)
        }
    })
}

/// Escapes `"`, `\` and control bytes as `\u00XX` so `input` can sit inside a
/// JSON string. Bytes from 0x80 are escaped too: the original compares a
/// signed `char`, so they count as negative, i.e. below 0x20.
pub fn json_purify(input: &[u8], out: &mut [u8]) -> usize {
    escape(input, out, |b| match b {
        b'"' | b'\\' | 0..=0x1f | 0x80..=0xff => Encoded::Escape([
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 15)],
        ]),
        b => Encoded::Byte(b),
    })
}

/// Decodes `%XX` escapes (either case) and `+` as space from `input` into
/// `out`, then a NUL; returns the decoded length, or None if a `%` is followed
/// by a non-hex byte. Decoding stops when `out` is full (leaving room for the
/// NUL) or at a `%` cut off by the end of the input.
pub fn urldecode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let Some(room) = out.len().checked_sub(1) else {
        return Some(0);
    };
    let mut bytes = input.iter().copied();
    let mut n = 0;
    while n < room {
        let Some(b) = bytes.next() else { break };
        out[n] = match b {
            b'+' => b' ',
            b'%' => {
                let Some(hi) = bytes.next() else { break };
                let hi = hex_value(hi)?;
                let Some(lo) = bytes.next() else { break };
                hi << 4 | hex_value(lo)?
            }
            b => b,
        };
        n += 1;
    }
    out[n] = 0;
    Some(n)
}

/// The value of one hex digit (either case).
pub fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|v| v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` with an output buffer of `len` bytes (0xAA-filled, with a guard
    /// byte after it), checks the guard and returns the text before the NUL.
    fn run(len: usize, f: impl FnOnce(&mut [u8]) -> usize) -> Vec<u8> {
        let mut buf = vec![0xAA; len + 1];
        let n = f(&mut buf[..len]);
        assert_eq!(buf[len], 0xAA, "wrote past len");
        if len == 0 {
            assert_eq!(n, 0);
            return Vec::new();
        }
        assert_eq!(buf[n], 0, "not NUL-terminated");
        buf.truncate(n);
        buf
    }

    #[test]
    fn urlencode_keeps_alnum_and_escapes_the_rest() {
        let out = run(64, |o| urlencode(b"a Z9-_.~/\xff\x01", o));
        assert_eq!(out, b"a+Z9%2D%5F%2E%7E%2F%FF%01");
    }

    #[test]
    fn urlencode_stops_before_an_escape_would_not_fit() {
        // Like the original, each byte needs more than 3 bytes left.
        assert_eq!(run(4, |o| urlencode(b"abc", o)), b"a");
        assert_eq!(run(5, |o| urlencode(b"abc", o)), b"ab");
        assert_eq!(run(4, |o| urlencode(b"/b", o)), b"%2F");
        assert_eq!(run(6, |o| urlencode(b"a/b", o)), b"a%2F");
        assert_eq!(run(5, |o| urlencode(b"ab/", o)), b"ab");
        assert_eq!(run(3, |o| urlencode(b"abc", o)), b"");
        assert_eq!(run(1, |o| urlencode(b"abc", o)), b"");
        assert_eq!(run(0, |o| urlencode(b"abc", o)), b"");
    }

    #[test]
    fn sql_purify_doubles_quotes() {
        assert_eq!(run(64, |o| sql_purify(b"it's 'x'", o)), b"it''s ''x''");
        assert_eq!(run(64, |o| sql_purify(b"", o)), b"");
        // Each byte needs more than 2 bytes left.
        assert_eq!(run(4, |o| sql_purify(b"abcd", o)), b"ab");
        assert_eq!(run(4, |o| sql_purify(b"a'", o)), b"a''");
        assert_eq!(run(4, |o| sql_purify(b"ab'", o)), b"ab");
        assert_eq!(run(1, |o| sql_purify(b"a", o)), b"");
        assert_eq!(run(0, |o| sql_purify(b"a", o)), b"");
    }

    #[test]
    fn json_purify_escapes_quotes_backslashes_controls_and_high_bytes() {
        let out = run(128, |o| json_purify(b"a\"b\\c\n\x1f \x7f\xc3\xa9", o));
        assert_eq!(out, b"a\\u0022b\\u005Cc\\u000A\\u001F \x7f\\u00C3\\u00A9");
    }

    #[test]
    fn json_purify_bounds() {
        // Each byte needs more than 6 bytes left.
        assert_eq!(run(7, |o| json_purify(b"\"", o)), b"\\u0022");
        assert_eq!(run(6, |o| json_purify(b"\"", o)), b"");
        assert_eq!(run(8, |o| json_purify(b"ab\"", o)), b"ab");
        assert_eq!(run(9, |o| json_purify(b"ab\"", o)), b"ab\\u0022");
        assert_eq!(run(1, |o| json_purify(b"ab", o)), b"");
        assert_eq!(run(0, |o| json_purify(b"ab", o)), b"");
    }

    #[test]
    fn urldecode_plus_and_hex() {
        let mut out = [0u8; 32];
        assert_eq!(urldecode(b"a+b%2f%2F%41%e9c", &mut out), Some(8));
        assert_eq!(&out[..9], b"a b//A\xe9c\0");
    }

    #[test]
    fn urldecode_rejects_bad_hex() {
        let mut out = [0u8; 16];
        assert_eq!(urldecode(b"%G1", &mut out), None);
        assert_eq!(urldecode(b"%1G", &mut out), None);
        assert_eq!(urldecode(b"ab%zz", &mut out), None);
        assert_eq!(urldecode(b"%G", &mut out), None);
    }

    #[test]
    fn urldecode_accepts_an_escape_cut_by_the_end() {
        let mut out = [0xAA; 16];
        assert_eq!(urldecode(b"ab%", &mut out), Some(2));
        assert_eq!(&out[..3], b"ab\0");
        assert_eq!(urldecode(b"ab%4", &mut out), Some(2));
        assert_eq!(&out[..3], b"ab\0");
    }

    #[test]
    fn urldecode_stops_when_full() {
        let decode = |input: &[u8], len| run(len, |o| urldecode(input, o).unwrap());
        assert_eq!(decode(b"abcdef", 4), b"abc");
        assert_eq!(decode(b"%41%42%43", 3), b"AB");
        // Bytes past the point where out is full are not looked at.
        assert_eq!(decode(b"ab%zz", 3), b"ab");
        assert_eq!(decode(b"abc", 1), b"");
        assert_eq!(decode(b"abc", 0), b"");
    }
}
