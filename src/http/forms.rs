//! Form bodies (`lws_spa_*`): an incremental parser for
//! `application/x-www-form-urlencoded` and `multipart/form-data` request
//! bodies. Bytes go in, in pieces split anywhere; the values of the listed
//! names come out decoded and NUL-terminated in one arena of a fixed size,
//! and file parts are streamed to a sink as they arrive.
//!
//! Memory stays bounded whatever the body: a name is at most [`MAX_NAME`]
//! bytes, a multipart header line at most [`MAX_HEADER_LINE`], values share
//! the arena (what does not fit is cut off), and file content is handed on at
//! once - only a possible start of the boundary delimiter is held back, and
//! that is known to be a prefix of the delimiter, so nothing is copied.

use std::fmt;

/// The longest parameter name, decoded (the original's name buffer held 31
/// characters and a NUL).
pub const MAX_NAME: usize = 31;
/// The longest header line of a multipart part.
pub const MAX_HEADER_LINE: usize = 1024;
/// The longest multipart boundary (RFC 2046).
pub const MAX_BOUNDARY: usize = 70;

/// Why a form cannot be parsed. Once `process` failed the form stays failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// `multipart/form-data` without a `boundary` parameter.
    NoBoundary,
    /// A boundary that is empty, longer than 70 bytes or contains CR / LF.
    BadBoundary,
    /// A parameter name longer than [`MAX_NAME`].
    NameTooLong,
    /// `%` not followed by two hex digits.
    BadEscape,
    /// A multipart body that does not start with `--boundary`.
    MissingBoundary,
    /// Something other than `--` or CRLF after a boundary.
    Junk,
    /// A part header line longer than [`MAX_HEADER_LINE`].
    HeaderTooLong,
    /// A part header line without `:`, with a stray CR or a NUL, or a
    /// `Content-Disposition` that is not `form-data` or does not parse.
    BadHeader,
    /// A part without a `Content-Disposition: form-data; name=...`.
    NoName,
    /// The body ended inside a `%XX` escape or before the closing boundary.
    Truncated,
    /// The file sink refused the content.
    Rejected,
    /// `process` after `finalize`.
    Finished,
    /// A call after an earlier failure.
    Failed,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoBoundary => "multipart/form-data without a boundary",
            Self::BadBoundary => "unusable multipart boundary",
            Self::NameTooLong => "parameter name longer than 31 bytes",
            Self::BadEscape => "bad %XX escape",
            Self::MissingBoundary => "multipart body does not start with its boundary",
            Self::Junk => "junk after a multipart boundary",
            Self::HeaderTooLong => "multipart part header line too long",
            Self::BadHeader => "malformed multipart part header",
            Self::NoName => "multipart part without a form-data name",
            Self::Truncated => "form body ended early",
            Self::Rejected => "the file upload callback refused the content",
            Self::Finished => "form body after its end",
            Self::Failed => "form body already failed",
        })
    }
}

/// How the body is encoded, from the request's `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    UrlEncoded,
    Multipart { boundary: Vec<u8> },
}

impl Encoding {
    /// `multipart/form-data; boundary=X` (any case, `X` maybe quoted) is
    /// multipart; anything else, or no `Content-Type`, urlencoded.
    pub fn from_content_type(content_type: Option<&[u8]>) -> Result<Self, FormError> {
        let Some(ct) = content_type else {
            return Ok(Self::UrlEncoded);
        };
        let end = ct.iter().position(|&b| b == b';').unwrap_or(ct.len());
        if !trim(&ct[..end]).eq_ignore_ascii_case(b"multipart/form-data") {
            return Ok(Self::UrlEncoded);
        }
        let params = header_params(&ct[end..]).map_err(|_| FormError::BadBoundary)?;
        let boundary = params
            .into_iter()
            .find(|(k, _)| k == b"boundary")
            .map(|(_, v)| v)
            .ok_or(FormError::NoBoundary)?;
        if boundary.is_empty()
            || boundary.len() > MAX_BOUNDARY
            || boundary.iter().any(|&b| b == b'\r' || b == b'\n')
        {
            return Err(FormError::BadBoundary);
        }
        Ok(Self::Multipart { boundary })
    }
}

/// What the file sink receives for a part with a (non-empty) filename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEvent<'a> {
    /// The part starts (before any content).
    Open { name: &'a [u8], filename: &'a [u8] },
    /// Content of the part opened last; `last` exactly once, at its end
    /// (`data` may then be empty).
    Content { data: &'a [u8], last: bool },
}

/// The sink for file parts; an `Err` fails the form ([`FormError::Rejected`]).
pub type FileSink<'s> = dyn FnMut(FileEvent<'_>) -> Result<(), ()> + 's;

/// One form body being parsed.
pub struct Form {
    values: Values,
    body: Body,
    state: Run,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Open,
    Finished,
    Failed,
}

enum Body {
    UrlEncoded(UrlEncoded),
    Multipart(Multipart),
}

impl Form {
    /// A parser storing the values of `names` (exact, decoded match) in at
    /// most `max_storage` bytes, NULs included.
    pub fn new(encoding: Encoding, names: Vec<Vec<u8>>, max_storage: usize) -> Self {
        let body = match encoding {
            Encoding::UrlEncoded => Body::UrlEncoded(UrlEncoded::default()),
            Encoding::Multipart { boundary } => Body::Multipart(Multipart::new(&boundary)),
        };
        Self {
            values: Values::new(names, max_storage),
            body,
            state: Run::Open,
        }
    }

    pub fn is_multipart(&self) -> bool {
        matches!(self.body, Body::Multipart(_))
    }

    /// Feeds the next piece of the body.
    pub fn process(&mut self, input: &[u8], sink: &mut FileSink<'_>) -> Result<(), FormError> {
        match self.state {
            Run::Open => {}
            Run::Finished => return Err(FormError::Finished),
            Run::Failed => return Err(FormError::Failed),
        }
        let result = match &mut self.body {
            Body::UrlEncoded(u) => u.process(input, &mut self.values),
            Body::Multipart(m) => m.process(input, &mut self.values, sink),
        };
        if result.is_err() {
            self.state = Run::Failed;
        }
        result
    }

    /// The body is complete: the last urlencoded value ends. Errs if the
    /// body ended inside an escape or (multipart) before the closing
    /// boundary; the values stored so far stay readable either way.
    /// Finalizing again changes nothing.
    pub fn finalize(&mut self) -> Result<(), FormError> {
        match self.state {
            Run::Open => {}
            Run::Finished => return Ok(()),
            Run::Failed => return Err(FormError::Failed),
        }
        let result = match &mut self.body {
            Body::UrlEncoded(u) => u.finish(&mut self.values),
            Body::Multipart(m) => m.finish(),
        };
        self.values.end();
        self.state = if result.is_ok() {
            Run::Finished
        } else {
            Run::Failed
        };
        result
    }

    /// The value of name `n` (without its NUL), if one arrived.
    pub fn value(&self, n: usize) -> Option<&[u8]> {
        self.value_with_nul(n).map(|v| &v[..v.len() - 1])
    }

    /// The value of name `n` with its terminating NUL.
    pub fn value_with_nul(&self, n: usize) -> Option<&[u8]> {
        self.values.get(n)
    }

    /// True once a value was cut off (or dropped) for lack of storage.
    pub fn truncated(&self) -> bool {
        self.values.truncated
    }
}

// ------------------------------------------------------------ value storage

/// The arena: each stored value is a contiguous run of bytes and its NUL.
/// The value being filled is always the last one, so it grows in place; a
/// name that comes again has its earlier value moved to the end and the new
/// bytes appended to it.
struct Values {
    names: Vec<Vec<u8>>,
    /// (start, length without the NUL) in `arena`, per name.
    slots: Vec<Option<(usize, usize)>>,
    arena: Vec<u8>,
    max: usize,
    current: Option<usize>,
    truncated: bool,
}

impl Values {
    fn new(names: Vec<Vec<u8>>, max: usize) -> Self {
        Self {
            slots: vec![None; names.len()],
            names,
            arena: Vec::new(),
            max,
            current: None,
            truncated: false,
        }
    }

    /// A value for `name` starts (unlisted names are ignored).
    fn begin(&mut self, name: &[u8]) {
        self.current = None;
        let Some(n) = self.names.iter().position(|listed| listed == name) else {
            return;
        };
        match self.slots[n] {
            Some((start, len)) if start + len + 1 != self.arena.len() => {
                let size = len + 1;
                self.arena[start..].rotate_left(size);
                for (s, _) in self.slots.iter_mut().flatten() {
                    if *s > start {
                        *s -= size;
                    }
                }
                self.slots[n] = Some((self.arena.len() - size, len));
            }
            Some(_) => {}
            None if self.arena.len() < self.max => {
                self.arena.push(0);
                self.slots[n] = Some((self.arena.len() - 1, 0));
            }
            None => {
                self.truncated = true;
                return;
            }
        }
        self.current = Some(n);
    }

    /// Appends to the current value what still fits.
    fn push(&mut self, data: &[u8]) {
        let Some(n) = self.current else {
            return;
        };
        let take = data.len().min(self.max - self.arena.len());
        if take < data.len() {
            self.truncated = true;
        }
        if take > 0 {
            self.arena.pop();
            self.arena.extend_from_slice(&data[..take]);
            self.arena.push(0);
            if let Some((_, len)) = &mut self.slots[n] {
                *len += take;
            }
        }
    }

    fn end(&mut self) {
        self.current = None;
    }

    fn get(&self, n: usize) -> Option<&[u8]> {
        let (start, len) = (*self.slots.get(n)?)?;
        Some(&self.arena[start..=start + len])
    }
}

// ------------------------------------------------------------ urlencoded

#[derive(Default)]
struct UrlEncoded {
    in_value: bool,
    name: Vec<u8>,
    escape: Escape,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After `%`.
    First,
    /// After `%` and one hex digit (its value).
    Second(u8),
}

fn hex(b: u8) -> Result<u8, FormError> {
    crate::util::escape::hex_value(b).ok_or(FormError::BadEscape)
}

impl UrlEncoded {
    fn process(&mut self, input: &[u8], values: &mut Values) -> Result<(), FormError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            i += 1;
            match self.escape {
                Escape::First => {
                    self.escape = Escape::Second(hex(b)?);
                    continue;
                }
                Escape::Second(high) => {
                    self.escape = Escape::None;
                    self.data(high << 4 | hex(b)?, values)?;
                    continue;
                }
                Escape::None => {}
            }
            match b {
                b'%' => self.escape = Escape::First,
                b'&' => {
                    self.end_pair(values);
                }
                b'=' if !self.in_value => {
                    values.begin(&self.name);
                    self.in_value = true;
                }
                b'+' => self.data(b' ', values)?,
                _ if self.in_value => {
                    // a run of plain bytes goes in at once
                    let run = input[i..]
                        .iter()
                        .position(|c| matches!(c, b'%' | b'&' | b'+'))
                        .unwrap_or(input.len() - i);
                    values.push(&input[i - 1..i + run]);
                    i += run;
                }
                _ => self.data(b, values)?,
            }
        }
        Ok(())
    }

    /// One decoded byte of the current name or value.
    fn data(&mut self, b: u8, values: &mut Values) -> Result<(), FormError> {
        if self.in_value {
            values.push(&[b]);
        } else if self.name.len() == MAX_NAME {
            return Err(FormError::NameTooLong);
        } else {
            self.name.push(b);
        }
        Ok(())
    }

    /// `&` or the end: a name without `=` has an empty value.
    fn end_pair(&mut self, values: &mut Values) {
        if !self.in_value && !self.name.is_empty() {
            values.begin(&self.name);
        }
        values.end();
        self.name.clear();
        self.in_value = false;
    }

    fn finish(&mut self, values: &mut Values) -> Result<(), FormError> {
        if self.escape != Escape::None {
            return Err(FormError::Truncated);
        }
        self.end_pair(values);
        Ok(())
    }
}

// ------------------------------------------------------------- multipart

struct Multipart {
    /// `\r\n--boundary`: the delimiter before every boundary but the first.
    /// The boundary has no CR, so a delimiter can only start at a CR.
    delim: Vec<u8>,
    state: Mp,
    line: Vec<u8>,
    part: Part,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mp {
    /// Matching the leading `--boundary` (bytes of it matched so far).
    Start(usize),
    /// After a boundary: `--` ends the body, padding and CRLF start a part.
    AfterBoundary,
    /// After a boundary and `-`.
    Dash,
    /// After a boundary and CR.
    Cr,
    /// Reading part header lines.
    Headers,
    /// In the content; `held` bytes of the delimiter are matched (and
    /// withheld) at the end of what came so far.
    Content { held: usize },
    /// After the closing boundary: ignored.
    Epilogue,
}

#[derive(Default)]
struct Part {
    name: Option<Vec<u8>>,
    filename: Vec<u8>,
}

impl Part {
    fn is_file(&self) -> bool {
        !self.filename.is_empty()
    }
}

impl Multipart {
    fn new(boundary: &[u8]) -> Self {
        let mut delim = b"\r\n--".to_vec();
        delim.extend_from_slice(boundary);
        Self {
            delim,
            state: Mp::Start(0),
            line: Vec::new(),
            part: Part::default(),
        }
    }

    fn process(
        &mut self,
        mut input: &[u8],
        values: &mut Values,
        sink: &mut FileSink<'_>,
    ) -> Result<(), FormError> {
        while !input.is_empty() {
            let used = match self.state {
                Mp::Content { held } => self.content(held, input, values, sink)?,
                Mp::Headers => self.header_bytes(input, values, sink)?,
                Mp::Epilogue => input.len(),
                _ => {
                    self.framing(input[0])?;
                    1
                }
            };
            input = &input[used..];
        }
        Ok(())
    }

    /// One byte of the boundary lines.
    fn framing(&mut self, b: u8) -> Result<(), FormError> {
        self.state = match self.state {
            Mp::Start(n) => {
                if b != self.delim[2 + n] {
                    return Err(FormError::MissingBoundary);
                }
                if 2 + n + 1 == self.delim.len() {
                    Mp::AfterBoundary
                } else {
                    Mp::Start(n + 1)
                }
            }
            Mp::AfterBoundary => match b {
                b'-' => Mp::Dash,
                b' ' | b'\t' => Mp::AfterBoundary,
                b'\r' => Mp::Cr,
                b'\n' => self.start_part(),
                _ => return Err(FormError::Junk),
            },
            Mp::Dash if b == b'-' => Mp::Epilogue,
            Mp::Cr if b == b'\n' => self.start_part(),
            _ => return Err(FormError::Junk),
        };
        Ok(())
    }

    fn start_part(&mut self) -> Mp {
        self.part = Part::default();
        self.line.clear();
        Mp::Headers
    }

    /// Header lines (LF or CRLF ended) up to the empty one; returns how
    /// many bytes it used.
    fn header_bytes(
        &mut self,
        input: &[u8],
        values: &mut Values,
        sink: &mut FileSink<'_>,
    ) -> Result<usize, FormError> {
        let (chunk, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(nl) => (&input[..nl], true),
            None => (input, false),
        };
        if self.line.len() + chunk.len() > MAX_HEADER_LINE + 1 {
            return Err(FormError::HeaderTooLong);
        }
        self.line.extend_from_slice(chunk);
        if !complete {
            return Ok(input.len());
        }
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > MAX_HEADER_LINE {
            return Err(FormError::HeaderTooLong);
        }
        if line.is_empty() {
            self.begin_content(values, sink)?;
        } else {
            self.header_line(&line)?;
            line.clear();
            self.line = line; // (keeps the allocation)
        }
        Ok(chunk.len() + 1)
    }

    fn header_line(&mut self, line: &[u8]) -> Result<(), FormError> {
        if line.iter().any(|&b| b == b'\r' || b == 0) {
            return Err(FormError::BadHeader);
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(FormError::BadHeader)?;
        if !trim(&line[..colon]).eq_ignore_ascii_case(b"content-disposition") {
            return Ok(()); // Content-Type and others do not matter here
        }
        let value = &line[colon + 1..];
        let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
        if !trim(&value[..end]).eq_ignore_ascii_case(b"form-data") {
            return Err(FormError::BadHeader);
        }
        for (key, v) in header_params(&value[end..])? {
            match key.as_slice() {
                b"name" if v.len() > MAX_NAME => return Err(FormError::NameTooLong),
                b"name" => self.part.name = Some(v),
                b"filename" => self.part.filename = v,
                _ => {}
            }
        }
        Ok(())
    }

    fn begin_content(
        &mut self,
        values: &mut Values,
        sink: &mut FileSink<'_>,
    ) -> Result<(), FormError> {
        let name = self.part.name.as_deref().ok_or(FormError::NoName)?;
        if self.part.is_file() {
            sink(FileEvent::Open {
                name,
                filename: &self.part.filename,
            })
            .map_err(|()| FormError::Rejected)?;
        } else {
            values.begin(name);
        }
        self.state = Mp::Content { held: 0 };
        Ok(())
    }

    /// Content up to the next delimiter; returns how many bytes it used.
    fn content(
        &mut self,
        held: usize,
        input: &[u8],
        values: &mut Values,
        sink: &mut FileSink<'_>,
    ) -> Result<usize, FormError> {
        let d = &self.delim;
        if held > 0 {
            let want = &d[held..];
            let n = want.len().min(input.len());
            if input[..n] == want[..n] {
                if n == want.len() {
                    self.end_content(&[], values, sink)?;
                    return Ok(n);
                }
                self.state = Mp::Content { held: held + n };
                return Ok(input.len());
            }
            // not the delimiter after all: what was held is content
            self.state = Mp::Content { held: 0 };
            emit(&self.part, &d[..held], false, values, sink)?;
            return Ok(0);
        }
        let mut from = 0;
        while let Some(cr) = input[from..].iter().position(|&b| b == b'\r') {
            let at = from + cr;
            let n = d.len().min(input.len() - at);
            if input[at..at + n] == d[..n] {
                if n == d.len() {
                    self.end_content(&input[..at], values, sink)?;
                    return Ok(at + n);
                }
                self.state = Mp::Content { held: n };
                emit(&self.part, &input[..at], false, values, sink)?;
                return Ok(input.len());
            }
            from = at + 1;
        }
        emit(&self.part, input, false, values, sink)?;
        Ok(input.len())
    }

    /// The delimiter came: `data` is the part's last content.
    fn end_content(
        &mut self,
        data: &[u8],
        values: &mut Values,
        sink: &mut FileSink<'_>,
    ) -> Result<(), FormError> {
        emit(&self.part, data, true, values, sink)?;
        values.end();
        self.state = Mp::AfterBoundary;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FormError> {
        match self.state {
            Mp::Epilogue => Ok(()),
            _ => Err(FormError::Truncated),
        }
    }
}

/// Content of `part`: to the sink for a file, else to the current value.
fn emit(
    part: &Part,
    data: &[u8],
    last: bool,
    values: &mut Values,
    sink: &mut FileSink<'_>,
) -> Result<(), FormError> {
    if !part.is_file() {
        values.push(data);
        return Ok(());
    }
    if data.is_empty() && !last {
        return Ok(());
    }
    sink(FileEvent::Content { data, last }).map_err(|()| FormError::Rejected)
}

// ------------------------------------------------------- header parameters

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// A header parameter: lowercase key, unquoted value.
type Param = (Vec<u8>, Vec<u8>);

/// The `; key=value` parameters following a header's first item: keys
/// lowercased, values unquoted (`\` escapes the next byte in quotes); a key
/// without `=` has an empty value.
fn header_params(mut s: &[u8]) -> Result<Vec<Param>, FormError> {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let skip_ws = |s: &mut &[u8]| {
        while s.first().is_some_and(is_ws) {
            *s = &s[1..];
        }
    };
    let mut params = Vec::new();
    loop {
        skip_ws(&mut s);
        match s.first() {
            None => return Ok(params),
            Some(b';') => s = &s[1..],
            Some(_) => return Err(FormError::BadHeader),
        }
        skip_ws(&mut s);
        let key_end = s
            .iter()
            .position(|b| matches!(b, b'=' | b';') || is_ws(b))
            .unwrap_or(s.len());
        let key = s[..key_end].to_ascii_lowercase();
        s = &s[key_end..];
        skip_ws(&mut s);
        let mut value = Vec::new();
        if s.first() == Some(&b'=') {
            s = &s[1..];
            skip_ws(&mut s);
            if s.first() == Some(&b'"') {
                let mut i = 1;
                loop {
                    match s.get(i) {
                        None => return Err(FormError::BadHeader),
                        Some(b'"') => break,
                        Some(b'\\') if i + 1 < s.len() => {
                            value.push(s[i + 1]);
                            i += 2;
                        }
                        Some(&b) => {
                            value.push(b);
                            i += 1;
                        }
                    }
                }
                s = &s[i + 1..];
            } else {
                let end = s
                    .iter()
                    .position(|b| *b == b';' || is_ws(b))
                    .unwrap_or(s.len());
                value.extend_from_slice(&s[..end]);
                s = &s[end..];
            }
        }
        if !key.is_empty() {
            params.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 6] = ["text", "send", "empty", "flag", "absent", "file"];
    const MP: &str = "multipart/form-data; boundary=XyZ";

    /// One uploaded file as the sink saw it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct File {
        name: Vec<u8>,
        filename: Vec<u8>,
        content: Vec<u8>,
        ended: bool,
    }

    /// Everything a parse produced: the first error (of process or
    /// finalize), the values and the files.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Outcome {
        result: Result<(), FormError>,
        values: Vec<Option<Vec<u8>>>,
        files: Vec<File>,
    }

    /// A small deterministic PRNG (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn names() -> Vec<Vec<u8>> {
        NAMES.iter().map(|n| n.as_bytes().to_vec()).collect()
    }

    fn form(ct: Option<&str>, max: usize) -> Form {
        let enc = Encoding::from_content_type(ct.map(str::as_bytes)).unwrap();
        Form::new(enc, names(), max)
    }

    /// Parses `body` fed in the pieces `cuts` (ascending offsets) describe.
    fn parse_cut(ct: Option<&str>, max: usize, body: &[u8], cuts: &[usize]) -> Outcome {
        let mut f = form(ct, max);
        let mut files: Vec<File> = Vec::new();
        let mut result = Ok(());
        let mut last = 0;
        for &cut in cuts.iter().chain([body.len()].iter()) {
            let mut sink = |ev: FileEvent<'_>| {
                match ev {
                    FileEvent::Open { name, filename } => {
                        assert!(files.last().map_or(true, |f| f.ended), "open inside a file");
                        files.push(File {
                            name: name.to_vec(),
                            filename: filename.to_vec(),
                            content: Vec::new(),
                            ended: false,
                        });
                    }
                    FileEvent::Content { data, last } => {
                        let f = files.last_mut().expect("content before open");
                        assert!(!f.ended, "content after the last");
                        assert!(last || !data.is_empty(), "empty non-final content");
                        f.content.extend_from_slice(data);
                        f.ended = last;
                    }
                }
                Ok(())
            };
            result = f.process(&body[last..cut], &mut sink);
            if result.is_err() {
                break;
            }
            last = cut;
        }
        if result.is_ok() {
            result = f.finalize();
        }
        let values = (0..NAMES.len() + 1)
            .map(|n| f.value(n).map(<[u8]>::to_vec))
            .collect();
        for n in 0..NAMES.len() {
            if let Some(v) = f.value_with_nul(n) {
                assert_eq!(v.last(), Some(&0));
            }
        }
        Outcome {
            result,
            values,
            files,
        }
    }

    fn parse(ct: Option<&str>, max: usize, body: &[u8]) -> Outcome {
        parse_cut(ct, max, body, &[])
    }

    /// The same outcome for every single cut, every pair of cuts (short
    /// bodies), 1-byte pieces and random pieces.
    fn check_any_split(ct: Option<&str>, max: usize, body: &[u8]) -> Outcome {
        let whole = parse(ct, max, body);
        for i in 0..=body.len() {
            assert_eq!(parse_cut(ct, max, body, &[i]), whole, "cut at {i}");
        }
        if body.len() <= 160 {
            for i in 0..=body.len() {
                for j in i..=body.len() {
                    assert_eq!(parse_cut(ct, max, body, &[i, j]), whole, "cuts {i} {j}");
                }
            }
        }
        let bytewise: Vec<usize> = (1..body.len()).collect();
        assert_eq!(parse_cut(ct, max, body, &bytewise), whole, "1-byte pieces");
        let mut rng = Rng(0x5eed ^ body.len() as u64);
        for _ in 0..50 {
            let cuts = random_cuts(&mut rng, body.len(), 17);
            assert_eq!(parse_cut(ct, max, body, &cuts), whole, "cuts {cuts:?}");
        }
        whole
    }

    fn random_cuts(rng: &mut Rng, len: usize, max_piece: usize) -> Vec<usize> {
        let mut cuts = Vec::new();
        let mut at = 0;
        loop {
            at += 1 + rng.below(max_piece);
            if at >= len {
                return cuts;
            }
            cuts.push(at);
        }
    }

    fn v(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    // ------------------------------------------------------- content type

    #[test]
    fn content_type_decides_the_encoding() {
        let mp = |b: &str| {
            Ok(Encoding::Multipart {
                boundary: b.as_bytes().to_vec(),
            })
        };
        let enc = |ct: &str| Encoding::from_content_type(Some(ct.as_bytes()));
        assert_eq!(Encoding::from_content_type(None), Ok(Encoding::UrlEncoded));
        assert_eq!(
            enc("application/x-www-form-urlencoded"),
            Ok(Encoding::UrlEncoded)
        );
        assert_eq!(enc("text/plain; boundary=x"), Ok(Encoding::UrlEncoded));
        assert_eq!(enc(""), Ok(Encoding::UrlEncoded));
        assert_eq!(enc("multipart/form-data; boundary=abc"), mp("abc"));
        assert_eq!(
            enc("Multipart/Form-Data;BOUNDARY=abc ; charset=utf-8"),
            mp("abc")
        );
        assert_eq!(
            enc("multipart/form-data; charset=x; boundary=\"a b;c\""),
            mp("a b;c")
        );
        assert_eq!(
            enc("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            mp("----WebKitFormBoundary7MA4YWxkTrZu0gW")
        );
        assert_eq!(
            enc(&format!("multipart/form-data; boundary={}", "b".repeat(70))),
            mp(&"b".repeat(70))
        );
        assert_eq!(enc("multipart/form-data"), Err(FormError::NoBoundary));
        assert_eq!(
            enc("multipart/form-data; charset=utf-8"),
            Err(FormError::NoBoundary)
        );
        assert_eq!(
            enc("multipart/form-data; boundary="),
            Err(FormError::BadBoundary)
        );
        assert_eq!(
            enc("multipart/form-data; boundary=\"\""),
            Err(FormError::BadBoundary)
        );
        assert_eq!(
            enc("multipart/form-data; boundary=\"abc"),
            Err(FormError::BadBoundary)
        );
        assert_eq!(
            enc("multipart/form-data; boundary=\"a\rb\""),
            Err(FormError::BadBoundary)
        );
        assert_eq!(
            enc(&format!("multipart/form-data; boundary={}", "b".repeat(71))),
            Err(FormError::BadBoundary)
        );
    }

    // --------------------------------------------------------- urlencoded

    const URL_BODY: &[u8] =
        b"text=hello+w%6Frld%21%20%2b%26%3d&unlisted=zz&send=Go&empty=&flag&t%65xt2=no&&=x";

    #[test]
    fn urlencoded_values_are_decoded_and_matched_exactly() {
        let out = check_any_split(None, 1024, URL_BODY);
        assert_eq!(out.result, Ok(()));
        assert_eq!(
            out.values,
            vec![
                v("hello world! +&="),
                v("Go"),
                v(""),
                v(""),
                None,
                None,
                None
            ]
        );
        assert!(out.files.is_empty());
    }

    #[test]
    fn urlencoded_names_are_decoded_too() {
        let out = check_any_split(None, 64, b"t%65x%74=1&s+e=2&se+nd=3&%73end=4");
        assert_eq!(out.values[0], v("1"));
        assert_eq!(out.values[1], v("4"));
    }

    #[test]
    fn the_last_value_ends_at_finalize() {
        let mut f = form(None, 64);
        f.process(b"send=abc", &mut |_| Ok(())).unwrap();
        assert_eq!(f.value(1), Some(&b"abc"[..]));
        f.process(b"de", &mut |_| Ok(())).unwrap();
        assert_eq!(f.finalize(), Ok(()));
        assert_eq!(f.value(1), Some(&b"abcde"[..]));
        assert_eq!(f.value_with_nul(1), Some(&b"abcde\0"[..]));
        assert_eq!(f.finalize(), Ok(()), "finalizing twice");
        assert_eq!(f.process(b"x", &mut |_| Ok(())), Err(FormError::Finished));
        assert_eq!(parse(None, 64, b"flag").values[3], v(""));
        assert_eq!(parse(None, 64, b"").values, vec![None; 7]);
    }

    #[test]
    fn values_beyond_the_storage_are_cut_off() {
        // 8 bytes: "hello" + NUL leaves 2 for "Go" -> "G" + NUL
        let out = check_any_split(None, 8, b"text=hello&send=Go&empty=&flag");
        assert_eq!(out.result, Ok(()));
        assert_eq!(out.values[..4], [v("hello"), v("G"), None, None]);
        let mut f = form(None, 8);
        f.process(b"text=0123456789", &mut |_| Ok(())).unwrap();
        f.finalize().unwrap();
        assert_eq!(f.value_with_nul(0), Some(&b"0123456\0"[..]));
        assert!(f.truncated());
        let none = parse(None, 0, b"text=a&send=");
        assert_eq!(none.result, Ok(()));
        assert_eq!(none.values[..2], [None, None]);
    }

    #[test]
    fn a_repeated_name_appends_to_its_first_value() {
        let out = check_any_split(None, 64, b"text=a&text=b&send=s&text=c&send=t&text=");
        assert_eq!(out.values[..2], [v("abc"), v("st")]);
        // the move keeps the others intact, also when storage runs out
        let out = check_any_split(None, 9, b"text=ab&send=cd&text=efgh");
        assert_eq!(out.values[..2], [v("abefg"), v("cd")]);
    }

    #[test]
    fn a_name_longer_than_31_bytes_fails() {
        let ok = format!("{}=1", "n".repeat(31));
        assert_eq!(parse(None, 64, ok.as_bytes()).result, Ok(()));
        let long = format!("{}=1", "n".repeat(32));
        assert_eq!(
            parse(None, 64, long.as_bytes()).result,
            Err(FormError::NameTooLong)
        );
        let encoded = format!("{}=1", "%41".repeat(32));
        assert_eq!(
            parse(None, 64, encoded.as_bytes()).result,
            Err(FormError::NameTooLong)
        );
        // a name that never ends fails early, in whatever pieces it comes
        let mut f = form(None, 64);
        let piece = [b'a'; 4096];
        assert_eq!(f.process(&piece[..20], &mut |_| Ok(())), Ok(()));
        assert_eq!(
            f.process(&piece, &mut |_| Ok(())),
            Err(FormError::NameTooLong)
        );
        assert_eq!(f.process(&piece, &mut |_| Ok(())), Err(FormError::Failed));
        assert_eq!(f.finalize(), Err(FormError::Failed));
        // values may be long
        let big = format!("text={}", "v".repeat(100_000));
        assert_eq!(parse(None, 64, big.as_bytes()).result, Ok(()));
    }

    #[test]
    fn bad_escapes_fail() {
        for body in [
            &b"text=%G1"[..],
            b"text=%1G",
            b"te%zxt=1",
            b"text=%%41",
            b"text=% 1",
        ] {
            assert_eq!(
                parse(None, 64, body).result,
                Err(FormError::BadEscape),
                "{body:?}"
            );
        }
        for body in [&b"text=%"[..], b"text=%4", b"te%"] {
            assert_eq!(
                parse(None, 64, body).result,
                Err(FormError::Truncated),
                "{body:?}"
            );
        }
        assert_eq!(
            check_any_split(None, 64, b"text=%4a%4A%00").values[0],
            Some(b"JJ\0".to_vec())
        );
    }

    #[test]
    fn after_an_error_every_call_fails() {
        let mut f = form(None, 64);
        assert_eq!(
            f.process(b"text=ok&send=%x", &mut |_| Ok(())),
            Err(FormError::BadEscape)
        );
        assert_eq!(
            f.process(b"text=more", &mut |_| Ok(())),
            Err(FormError::Failed)
        );
        assert_eq!(f.finalize(), Err(FormError::Failed));
        assert_eq!(
            f.value(0),
            Some(&b"ok"[..]),
            "what came before stays readable"
        );
        assert_eq!(f.value(9), None);
    }

    // ---------------------------------------------------------- multipart

    /// Text fields, a file whose content is full of near-boundaries, an
    /// unlisted field, an empty-filename part and an empty file.
    fn multipart_sample(content: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(
            b"--XyZ\r\n\
              Content-Disposition: form-data; name=\"text\"\r\n\
              \r\n\
              line one\r\nline two %41+\r\n\
              --XyZ\r\n\
              content-disposition: form-data; name=\"file\"; filename=\"a;b \\\"c\\\".bin\"\r\n\
              Content-Type: application/octet-stream\r\n\
              \r\n",
        );
        b.extend_from_slice(content);
        b.extend_from_slice(
            b"\r\n--XyZ  \r\n\
              Content-Disposition: form-data; name=unlisted\r\n\
              \r\n\
              ignored\r\n\
              --XyZ\r\n\
              Content-Disposition: form-data; name=\"send\"; filename=\"\"\r\n\
              \r\n\
              go\r\n\
              --XyZ\r\n\
              Content-Disposition: form-data; filename=\"empty.txt\"; name=\"upload\"\r\n\
              \r\n\
              \r\n\
              --XyZ--\r\n\
              epilogue --XyZ junk",
        );
        b
    }

    /// Near-delimiters: content never holds the whole `\r\n--XyZ`.
    const TRICKY: &[u8] =
        b"\r\n--XyY-\r\r\n--Xy\r\n-\r\n--\r\r\n--X\x00--XyZ\n--XyZ\r\n\r\n--xyz\r";

    #[test]
    fn multipart_values_and_files_in_any_pieces() {
        let expect_files = |out: &Outcome, content: &[u8]| {
            assert_eq!(out.result, Ok(()));
            assert_eq!(
                out.values[..3],
                [v("line one\r\nline two %41+"), v("go"), None]
            );
            assert_eq!(out.files.len(), 2);
            assert_eq!(out.files[0].name, b"file");
            assert_eq!(out.files[0].filename, b"a;b \"c\".bin");
            assert_eq!(out.files[0].content, content);
            assert!(out.files[0].ended);
            assert_eq!(out.files[1].name, b"upload");
            assert_eq!(out.files[1].filename, b"empty.txt");
            assert_eq!(out.files[1].content, b"");
            assert!(out.files[1].ended);
        };
        let out = check_any_split(Some(MP), 1024, &multipart_sample(TRICKY));
        expect_files(&out, TRICKY);
        let out = check_any_split(Some(MP), 1024, &multipart_sample(b""));
        expect_files(&out, b"");
        // content ending in what looks like the start of the delimiter
        for end in [&b"\r"[..], b"\r\n", b"\r\n-", b"\r\n--", b"\r\n--Xy"] {
            let out = check_any_split(Some(MP), 1024, &multipart_sample(end));
            expect_files(&out, end);
        }
    }

    #[test]
    fn random_file_content_with_delimiter_prefixes() {
        let mut rng = Rng(7);
        let mut content = rng.bytes(20_000);
        // sprinkle prefixes of the delimiter (never the whole of it)
        for _ in 0..400 {
            let at = rng.below(content.len() - 8);
            let n = 1 + rng.below(7);
            content[at..at + n].copy_from_slice(&b"\r\n--XyZ"[..n]);
        }
        // (random bytes may have completed one)
        while let Some(at) = content.windows(7).position(|w| w == b"\r\n--XyZ") {
            content[at + 6] = b'z';
        }
        let body = multipart_sample(&content);
        let whole = parse(Some(MP), 1024, &body);
        assert!(whole.files[0].content == content);
        for seed in 0..30 {
            let mut rng = Rng(seed + 1);
            let piece = 1 + rng.below(3000);
            let cuts = random_cuts(&mut rng, body.len(), piece);
            assert!(
                parse_cut(Some(MP), 1024, &body, &cuts) == whole,
                "seed {seed}"
            );
        }
    }

    #[test]
    fn file_content_is_streamed_not_buffered() {
        let content = Rng(3).bytes(1 << 20);
        let body = multipart_sample(&content);
        let start = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let start = start
            + 4
            + body[start + 4..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap()
            + 4;
        let mut f = form(Some(MP), 1024);
        let mut seen = 0usize;
        for (i, piece) in body.chunks(4096).enumerate() {
            f.process(piece, &mut |ev| {
                if let FileEvent::Content { data, .. } = ev {
                    seen += data.len();
                }
                Ok(())
            })
            .unwrap();
            let fed = ((i + 1) * 4096).min(body.len());
            if fed > start && fed < start + content.len() {
                // at most a delimiter's length is held back
                assert!(
                    seen + b"\r\n--XyZ".len() >= fed - start,
                    "piece {i}: {seen}"
                );
            }
        }
        assert_eq!(f.finalize(), Ok(()));
        assert_eq!(seen, content.len());
    }

    #[test]
    fn multipart_edge_forms() {
        // bare LF header lines, padding after the boundary, no epilogue
        let body = b"--XyZ \t\nContent-Disposition: form-data; name=text\n\nv\r\n--XyZ--";
        let out = check_any_split(Some(MP), 64, body);
        assert_eq!(out.result, Ok(()));
        assert_eq!(out.values[0], v("v"));
        // an empty body part list
        assert_eq!(check_any_split(Some(MP), 64, b"--XyZ--").result, Ok(()));
        // a repeated name appends, storage limits apply, no %-decoding
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n%41+b\r\n\
                     --XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\ncdefgh\r\n--XyZ--";
        assert_eq!(check_any_split(Some(MP), 7, body).values[0], v("%41+bc"));
        // a long name in a part
        let long = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\nx\r\n--XyZ--",
            "n".repeat(32)
        );
        assert_eq!(
            parse(Some(MP), 64, long.as_bytes()).result,
            Err(FormError::NameTooLong)
        );
    }

    #[test]
    fn malformed_multipart_fails() {
        let cases: &[(&[u8], FormError)] = &[
            (b"\r\n--XyZ\r\n", FormError::MissingBoundary),
            (b"preamble\r\n--XyZ\r\n", FormError::MissingBoundary),
            (b"--XyY\r\n", FormError::MissingBoundary),
            (b"--XyZx\r\n", FormError::Junk),
            (b"--XyZ\rx", FormError::Junk),
            (b"--XyZ-x", FormError::Junk),
            (b"--XyZ\r\nno colon here\r\n\r\n", FormError::BadHeader),
            (
                b"--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n",
                FormError::BadHeader,
            ),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\n",
                FormError::BadHeader,
            ),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=a junk\r\n\r\n",
                FormError::BadHeader,
            ),
            (b"--XyZ\r\nX-A: b\rc\r\n\r\n", FormError::BadHeader),
            (b"--XyZ\r\nX-A: b\0c\r\n\r\n", FormError::BadHeader),
            (
                b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
                FormError::NoName,
            ),
            (b"--XyZ\r\n\r\nx\r\n--XyZ--", FormError::NoName),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx",
                FormError::Truncated,
            ),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n--XyZ",
                FormError::Truncated,
            ),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n",
                FormError::Truncated,
            ),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n--XyZ-",
                FormError::Truncated,
            ),
            (b"--Xy", FormError::Truncated),
            (b"", FormError::Truncated),
        ];
        for (body, err) in cases {
            assert_eq!(
                check_any_split(Some(MP), 64, body).result,
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_header_line_is_bounded() {
        let mut ok = b"--XyZ\r\nX-Pad: ".to_vec();
        ok.resize(7 + MAX_HEADER_LINE, b'p');
        ok.extend_from_slice(b"\r\nContent-Disposition: form-data; name=text\r\n\r\nv\r\n--XyZ--");
        assert_eq!(parse(Some(MP), 64, &ok).values[0], v("v"));
        let mut long = b"--XyZ\r\nX-Pad: ".to_vec();
        long.resize(8 + MAX_HEADER_LINE, b'p');
        long.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            parse(Some(MP), 64, &long).result,
            Err(FormError::HeaderTooLong)
        );
        // an endless header line fails as soon as it is too long
        let mut f = form(Some(MP), 64);
        f.process(b"--XyZ\r\nX: ", &mut |_| Ok(())).unwrap();
        let piece = [b'p'; 600];
        assert_eq!(f.process(&piece, &mut |_| Ok(())), Ok(()));
        assert_eq!(
            f.process(&piece, &mut |_| Ok(())),
            Err(FormError::HeaderTooLong)
        );
    }

    #[test]
    fn the_sink_can_refuse() {
        let body = multipart_sample(b"data");
        for refuse_at in 0..3 {
            let mut f = form(Some(MP), 64);
            let mut calls = 0;
            let r = f.process(&body, &mut |_| {
                calls += 1;
                if calls > refuse_at {
                    Err(())
                } else {
                    Ok(())
                }
            });
            assert_eq!(r, Err(FormError::Rejected));
            assert_eq!(f.process(b"x", &mut |_| Ok(())), Err(FormError::Failed));
        }
    }

    #[test]
    fn random_bodies_never_panic_and_ignore_the_split() {
        let mut rng = Rng(0xf022);
        let alphabet: &[u8] = b"\r\n-XyZ=&%+;:\"ae1 \x00";
        for round in 0..400 {
            let len = rng.below(120);
            let body: Vec<u8> = if round % 2 == 0 {
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            } else {
                // a valid body, truncated and mutated
                let n = rng.below(40);
                let mut b = multipart_sample(&rng.bytes(n));
                b.truncate(rng.below(b.len() + 1));
                if !b.is_empty() && rng.below(2) == 0 {
                    let at = rng.below(b.len());
                    b[at] = alphabet[rng.below(alphabet.len())];
                }
                b
            };
            for ct in [None, Some(MP)] {
                let whole = parse(ct, 16, &body);
                let cuts = random_cuts(&mut rng, body.len(), 9);
                assert_eq!(parse_cut(ct, 16, &body, &cuts), whole, "{body:?}");
            }
        }
    }
}
