//! Base64 with the standard alphabet and `=` padding, as C strings.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `input` into `out` without line breaks, then a NUL; returns the
/// encoded length, or None (writing nothing) if `out` cannot hold it and the NUL.
pub fn encode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let len = input.len().div_ceil(3) * 4;
    if out.len() <= len {
        return None;
    }
    for (chunk, quad) in input.chunks(3).zip(out.chunks_mut(4)) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, &b)| v | u32::from(b) << (16 - 8 * i));
        for (i, c) in quad.iter_mut().enumerate() {
            // n input bytes give n + 1 characters; the rest is padding.
            *c = if i <= chunk.len() {
                ALPHABET[(bits >> (18 - 6 * i)) as usize & 63]
            } else {
                b'='
            };
        }
    }
    out[len] = 0;
    Some(len)
}

/// Decodes `input` into `out`, then a NUL; returns the decoded length, or None
/// if `out` cannot hold it and the NUL. Bytes outside the alphabet (padding,
/// whitespace, anything else) are skipped, as the original does, and a final
/// group of 2 or 3 characters yields 1 or 2 bytes.
pub fn decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let room = out.len().checked_sub(1)?;
    let (mut bits, mut nbits, mut n) = (0u32, 0, 0);
    for v in input.iter().filter_map(|&c| sextet(c)) {
        bits = (bits << 6 | u32::from(v)) & 0xffff;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            if n == room {
                return None;
            }
            out[n] = (bits >> nbits) as u8;
            n += 1;
        }
    }
    out[n] = 0;
    Some(n)
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(input: &[u8], size: usize) -> Option<Vec<u8>> {
        let mut out = vec![0xAA; size + 1];
        let n = encode(input, &mut out[..size])?;
        assert_eq!(out[size], 0xAA, "wrote past out_size");
        assert_eq!(out[n], 0);
        out.truncate(n);
        Some(out)
    }

    fn dec(input: &[u8], size: usize) -> Option<Vec<u8>> {
        let mut out = vec![0xAA; size + 1];
        let n = decode(input, &mut out[..size])?;
        assert_eq!(out[size], 0xAA, "wrote past out_size");
        assert_eq!(out[n], 0);
        out.truncate(n);
        Some(out)
    }

    #[test]
    fn encode_pads_each_tail_length() {
        assert_eq!(enc(b"", 8).unwrap(), b"");
        assert_eq!(enc(b"f", 8).unwrap(), b"Zg==");
        assert_eq!(enc(b"fo", 8).unwrap(), b"Zm8=");
        assert_eq!(enc(b"foo", 8).unwrap(), b"Zm9v");
        assert_eq!(enc(b"foobar", 16).unwrap(), b"Zm9vYmFy");
        assert_eq!(enc(b"\xfb\xff\x00", 8).unwrap(), b"+/8A");
    }

    #[test]
    fn encode_needs_room_for_the_nul() {
        assert_eq!(enc(b"foo", 5).unwrap(), b"Zm9v");
        assert_eq!(enc(b"foo", 4), None);
        assert_eq!(enc(b"", 1).unwrap(), b"");
        assert_eq!(enc(b"", 0), None);
    }

    #[test]
    fn decode_each_padding_length() {
        assert_eq!(dec(b"Zg==", 8).unwrap(), b"f");
        assert_eq!(dec(b"Zm8=", 8).unwrap(), b"fo");
        assert_eq!(dec(b"Zm9v", 8).unwrap(), b"foo");
        assert_eq!(dec(b"Zm9vYmFy", 8).unwrap(), b"foobar");
        assert_eq!(dec(b"", 8).unwrap(), b"");
        assert_eq!(dec(b"+/8A", 8).unwrap(), b"\xfb\xff\x00");
    }

    #[test]
    fn decode_without_padding() {
        assert_eq!(dec(b"Zg", 8).unwrap(), b"f");
        assert_eq!(dec(b"Zm8", 8).unwrap(), b"fo");
        // A lone trailing character carries less than a byte.
        assert_eq!(dec(b"Zm9vY", 8).unwrap(), b"foo");
    }

    #[test]
    fn decode_skips_invalid_characters() {
        assert_eq!(dec(b"Zm9v\r\nYm Fy", 8).unwrap(), b"foobar");
        assert_eq!(dec(b"Z*m-9_v!", 8).unwrap(), b"foo");
        assert_eq!(dec(b"Zg==\n", 8).unwrap(), b"f");
        assert_eq!(dec(b"===\x80", 8).unwrap(), b"");
    }

    #[test]
    fn decode_needs_room_for_the_nul() {
        assert_eq!(dec(b"Zm9v", 4).unwrap(), b"foo");
        assert_eq!(dec(b"Zm9v", 3), None);
        assert_eq!(dec(b"", 1).unwrap(), b"");
        assert_eq!(dec(b"", 0), None);
    }

    #[test]
    fn round_trip() {
        let data: Vec<u8> = (0..=255).collect();
        let mut text = [0u8; 400];
        let n = encode(&data, &mut text).unwrap();
        let mut back = [0u8; 300];
        let m = decode(&text[..n], &mut back).unwrap();
        assert_eq!(&back[..m], &data[..]);
    }
}
