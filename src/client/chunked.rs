//! Incremental de-chunking of `Transfer-Encoding: chunked` bodies.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// reading the hex size (and any extension) up to CRLF
    Size,
    /// `n` data bytes left in the chunk
    Data(u64),
    /// the CRLF after a chunk's data
    DataEnd,
    /// trailer lines after the last chunk, up to the empty line
    Trailer,
    Done,
}

/// The chunk framing is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadChunk;

/// One body's de-chunker: feed it bytes as they come, get data back.
#[derive(Debug)]
pub struct Dechunker {
    state: State,
    size: u64,
    line: Vec<u8>,
}

/// What one step produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// body bytes: this range of the input
    Data(std::ops::Range<usize>),
    /// the body is complete
    End,
}

impl Default for Dechunker {
    fn default() -> Self {
        Dechunker {
            state: State::Size,
            size: 0,
            line: Vec::new(),
        }
    }
}

impl Dechunker {
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes from `input`: bytes used and at most one piece; Err on a
    /// malformed chunk framing.
    pub fn step(&mut self, input: &[u8]) -> Result<(usize, Option<Piece>), BadChunk> {
        let mut used = 0;
        while used < input.len() {
            match self.state {
                State::Data(left) => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - used);
                    let range = used..used + n;
                    used += n;
                    self.state = if left == n as u64 {
                        State::DataEnd
                    } else {
                        State::Data(left - n as u64)
                    };
                    return Ok((used, Some(Piece::Data(range))));
                }
                State::Done => return Ok((used, None)),
                State::Size | State::DataEnd | State::Trailer => {
                    let b = input[used];
                    used += 1;
                    if b != b'\n' {
                        if self.line.len() > 1024 {
                            return Err(BadChunk);
                        }
                        self.line.push(b);
                        continue;
                    }
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    match self.state {
                        State::DataEnd => {
                            if !line.is_empty() {
                                return Err(BadChunk);
                            }
                            self.state = State::Size;
                        }
                        State::Size => {
                            let hex = line
                                .split(|&b| b == b';')
                                .next()
                                .unwrap_or_default()
                                .trim_ascii();
                            let text = std::str::from_utf8(hex).map_err(|_| BadChunk)?;
                            self.size = u64::from_str_radix(text, 16).map_err(|_| BadChunk)?;
                            self.state = if self.size == 0 {
                                State::Trailer
                            } else {
                                State::Data(self.size)
                            };
                        }
                        _ => {
                            if line.is_empty() {
                                self.state = State::Done;
                                return Ok((used, Some(Piece::End)));
                            }
                        }
                    }
                }
            }
        }
        Ok((used, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dechunk(input: &[u8], step_len: usize) -> Result<(Vec<u8>, bool), BadChunk> {
        let mut d = Dechunker::default();
        let mut out = Vec::new();
        let mut ended = false;
        for piece in input.chunks(step_len) {
            let mut pos = 0;
            while pos < piece.len() {
                let (used, p) = d.step(&piece[pos..])?;
                match p {
                    Some(Piece::Data(r)) => {
                        out.extend_from_slice(&piece[pos + r.start..pos + r.end])
                    }
                    Some(Piece::End) => ended = true,
                    None => {}
                }
                pos += used;
                if used == 0 {
                    break;
                }
            }
        }
        Ok((out, ended))
    }

    #[test]
    fn dechunks_at_every_split() {
        let body = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for step in 1..body.len() {
            assert_eq!(
                dechunk(body, step),
                Ok((b"hello 0123456789".to_vec(), true)),
                "step {step}"
            );
        }
    }

    #[test]
    fn malformed_framing_is_an_error() {
        assert!(dechunk(b"zz\r\n", 4).is_err());
        assert!(dechunk(b"2\r\nabX\r\n", 8).is_err());
    }
}
