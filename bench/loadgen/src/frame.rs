//! RFC 6455 framing, as much as a client needs: masked frames out, unmasked
//! frames in.

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub fin: bool,
    /// RSV1: a compressed message's first frame (permessage-deflate)
    pub rsv1: bool,
    pub opcode: u8,
    pub header_len: usize,
    pub payload_len: usize,
}

/// The head of the frame at the start of `buf`, once it is all there.
/// RSV1 is allowed with `rsv1_ok` (permessage-deflate negotiated), on a
/// data frame only; RSV2 and RSV3 never.
pub fn parse_head(buf: &[u8], rsv1_ok: bool) -> Result<Option<Head>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    let rsv = if rsv1_ok { 0x30 } else { 0x70 };
    if b0 & rsv != 0 || (b0 & 0x40 != 0 && b0 & 0x0F >= 0x8) {
        return Err(format!("frame with RSV bits set: {b0:#04x}"));
    }
    if b1 & 0x80 != 0 {
        return Err("the server sent a masked frame".into());
    }
    let opcode = b0 & 0x0F;
    let (header_len, payload_len) = match b1 & 0x7F {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (4, usize::from(u16::from_be_bytes([buf[2], buf[3]])))
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            let len = u64::from_be_bytes(b);
            if len > 1 << 40 {
                return Err(format!("frame length {len}"));
            }
            (10, len as usize)
        }
        n => (2, usize::from(n)),
    };
    if opcode >= 0x8 && (payload_len > 125 || b0 & 0x80 == 0) {
        return Err(format!(
            "bad control frame (opcode {opcode}, {payload_len} bytes)"
        ));
    }
    Ok(Some(Head {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        opcode,
        header_len,
        payload_len,
    }))
}

/// XORs `data` with the masking key (RFC 6455 5.3), key byte 0 at data[0].
pub fn mask(data: &mut [u8], key: [u8; 4]) {
    let k8 = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ k8;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Appends one masked frame (FIN set) carrying `payload` to `out`.
pub fn push_masked(out: &mut Vec<u8>, opcode: u8, payload: &[u8], key: [u8; 4]) {
    push_masked_b0(out, 0x80 | opcode, payload, key)
}

/// Appends one masked frame whose first byte (FIN, RSV, opcode) is `b0`.
pub fn push_masked_b0(out: &mut Vec<u8>, b0: u8, payload: &[u8], key: [u8; 4]) {
    out.push(b0);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    let start = out.len();
    out.extend_from_slice(payload);
    mask(&mut out[start..], key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_the_rfc_example() {
        // RFC 6455 5.7: a masked "Hello"
        let mut out = Vec::new();
        push_masked(&mut out, OP_TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(
            out,
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn mask_is_an_involution_at_every_length() {
        for len in 0..40 {
            let orig: Vec<u8> = (0..len as u8).collect();
            let mut d = orig.clone();
            mask(&mut d, [1, 2, 3, 4]);
            for (i, (a, b)) in d.iter().zip(&orig).enumerate() {
                assert_eq!(*a, b ^ [1, 2, 3, 4][i % 4]);
            }
            mask(&mut d, [1, 2, 3, 4]);
            assert_eq!(d, orig);
        }
    }

    #[test]
    fn parses_lengths() {
        let h = parse_head(&[0x82, 5], false).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.rsv1, h.opcode, h.header_len, h.payload_len),
            (true, false, 2, 2, 5)
        );
        assert_eq!(parse_head(&[0x82, 126, 1], false).unwrap(), None);
        let h = parse_head(&[0x02, 126, 1, 0], false).unwrap().unwrap();
        assert_eq!((h.fin, h.header_len, h.payload_len), (false, 4, 256));
        let h = parse_head(&[0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0], false)
            .unwrap()
            .unwrap();
        assert_eq!((h.header_len, h.payload_len), (10, 1 << 20));
        assert!(parse_head(&[0x82, 0x85], false).is_err());
        assert!(parse_head(&[0x09, 0], false).is_err());
        // RSV1: only with permessage-deflate, only on data frames
        assert!(parse_head(&[0xC1, 5], false).is_err());
        assert!(parse_head(&[0xC1, 5], true).unwrap().unwrap().rsv1);
        assert!(parse_head(&[0xC9, 0], true).is_err());
        assert!(parse_head(&[0xA1, 5], true).is_err());
    }
}
