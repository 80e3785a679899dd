//! The pure parts of CGI/1.1 (RFC 3875): the environment a script gets
//! from a request, the header block a script writes before its body, and
//! chunked framing of the body. No I/O here: `conn::cgi` runs the scripts.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use super::headers::HeaderTable;
use super::tokens::{self, WSI_TOKEN_COUNT};

/// What the environment is made of besides the header table.
pub struct Request<'a> {
    pub method: &'a str,
    /// the sanitised (decoded, normalised) path
    pub path: &'a [u8],
    /// the part of the path naming the script, and the rest
    pub script_name: &'a [u8],
    pub path_info: &'a [u8],
    /// the executable
    pub script_filename: &'a [u8],
    pub http11: bool,
    pub tls: bool,
    /// the canonical host name, for SERVER_NAME when there is no Host
    pub host_name: &'a str,
    pub server_port: u16,
    pub server_addr: Option<String>,
    pub remote_addr: Option<String>,
    pub remote_port: Option<u16>,
    /// the mount's `cgienv` (or lws_cgi's `mp_cgienv`) pairs, last
    pub extra: &'a [(Vec<u8>, Vec<u8>)],
}

/// Headers that do not become HTTP_* variables: the body's length and
/// type have their own, and credentials are not handed to scripts
/// (RFC 3875 4.1.18).
const NOT_PASSED: [&[u8]; 4] = [
    b"content-length",
    b"content-type",
    b"authorization",
    b"proxy-authorization",
];

/// `PATH` for scripts, as the original set it.
pub const PATH: &str = "/bin:/usr/bin:/usr/local/bin:/var/www/cgi-bin";

/// The script's complete environment (nothing of the server's own is
/// inherited). Variable names are fixed or come from the header table's
/// known names (`[A-Z0-9_]` only), so a request cannot add or replace a
/// variable: headers lws does not know (`Proxy`, `Foo_Bar`...) are not
/// even stored. Control characters in values are %-encoded.
pub fn environment(r: &Request, ah: &HeaderTable) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut set = |name: &str, value: &[u8]| env.push((name.as_bytes().to_vec(), clean(value)));
    set("GATEWAY_INTERFACE", b"CGI/1.1");
    set("SERVER_SOFTWARE", b"libwebsockets");
    set(
        "SERVER_PROTOCOL",
        if r.http11 { b"HTTP/1.1" } else { b"HTTP/1.0" },
    );
    let host = header(ah, tokens::WSI_TOKEN_HOST);
    let server_name = match &host {
        Some(h) if h.first() == Some(&b'[') => {
            // [v6]:port
            let end = h.iter().position(|&b| b == b']').map_or(h.len(), |e| e + 1);
            h[..end].to_vec()
        }
        Some(h) => h.split(|&b| b == b':').next().unwrap_or_default().to_vec(),
        None => r.host_name.as_bytes().to_vec(),
    };
    set("SERVER_NAME", &server_name);
    set("SERVER_PORT", r.server_port.to_string().as_bytes());
    if let Some(a) = &r.server_addr {
        set("SERVER_ADDR", a.as_bytes());
    }
    if let Some(a) = &r.remote_addr {
        set("REMOTE_ADDR", a.as_bytes());
    }
    if let Some(p) = r.remote_port {
        set("REMOTE_PORT", p.to_string().as_bytes());
    }
    if r.tls {
        set("HTTPS", b"on");
    }
    set("REQUEST_METHOD", r.method.as_bytes());
    let query = ah.query().unwrap_or_default();
    let mut request_uri = r.path.to_vec();
    if ah.query().is_some() {
        request_uri.push(b'?');
        request_uri.extend_from_slice(query);
    }
    set("REQUEST_URI", &request_uri);
    set("QUERY_STRING", query);
    set("SCRIPT_NAME", r.script_name);
    set("PATH_INFO", r.path_info);
    set("SCRIPT_FILENAME", r.script_filename);
    // (the original's name for it)
    set("SCRIPT_PATH", r.script_filename);
    if let Some(v) = header(ah, tokens::WSI_TOKEN_HTTP_CONTENT_LENGTH) {
        set("CONTENT_LENGTH", v.trim_ascii());
    }
    if let Some(v) = header(ah, tokens::WSI_TOKEN_HTTP_CONTENT_TYPE) {
        set("CONTENT_TYPE", &v);
    }
    for token in 0..WSI_TOKEN_COUNT {
        let Some(name) = http_variable(token) else {
            continue;
        };
        if let Some(v) = header(ah, token) {
            if token == tokens::WSI_TOKEN_HTTP_USER_AGENT {
                // the original's (misspelt) name, kept for its scripts
                set("USER_AGENT", &v);
            }
            set(&name, &v);
        }
    }
    set("PATH", PATH.as_bytes());
    for (name, value) in r.extra {
        if valid_name(name) {
            env.push((name.clone(), clean(value)));
        } else {
            lwsl_err!(
                "cgienv: ignoring the invalid variable name {:?}",
                String::from_utf8_lossy(name)
            );
        }
    }
    env.into_iter()
        .map(|(n, v)| (OsString::from_vec(n), OsString::from_vec(v)))
        .collect()
}

/// `HTTP_<NAME>` for a header token the environment carries, else None.
pub fn http_variable(token: usize) -> Option<String> {
    let text = tokens::token_name(token)?;
    let name = text.strip_suffix(b":")?;
    if name.is_empty() || name.starts_with(b":") || NOT_PASSED.contains(&name) {
        return None;
    }
    let mut var = String::from("HTTP_");
    for &b in name {
        var.push(match b {
            b'-' => '_',
            b => char::from(b.to_ascii_uppercase()),
        });
    }
    Some(var)
}

/// A header's value as scripts see it: repeats joined with ", " (`; ` for
/// cookies), each trimmed.
fn header(ah: &HeaderTable, token: usize) -> Option<Vec<u8>> {
    if !ah.is_present(token) {
        return None;
    }
    let sep: &[u8] = if token == tokens::WSI_TOKEN_HTTP_COOKIE {
        b"; "
    } else {
        b", "
    };
    let mut v = Vec::new();
    let mut i = 0;
    while let Some(f) = ah.fragment(token, i) {
        if i > 0 {
            v.extend_from_slice(sep);
        }
        v.extend_from_slice(f.trim_ascii());
        i += 1;
    }
    Some(v)
}

/// Control characters (but tab) and NUL, which no environment string may
/// hold, %-encoded.
fn clean(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        if (b < 0x20 && b != b'\t') || b == 0x7f {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && !name.contains(&b'=') && !name.contains(&0)
}

// ---------------------------------------------------------------- output

/// The most a script's header block may take.
pub const MAX_HEAD: usize = 32 * 1024;

/// A script's header block, digested.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// the response status (`Status:`, 302 for a bare `Location:`, else 200)
    pub status: u16,
    /// the script's `Content-Length`, if valid
    pub content_length: Option<u64>,
    /// the header lines to pass on, as the script named them (without
    /// `Status`, `Content-Length` and the hop-by-hop headers lws decides)
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// every header line as the script wrote it (without its line end),
    /// `Status:` included: what the original passed on
    pub raw: Vec<Vec<u8>>,
    /// the output did not start with a header block: all of it is body
    pub bare: bool,
}

/// What the parser made of the output so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// the head is not complete yet
    More,
    /// the head, and the body bytes that came after it
    Done(Head, Vec<u8>),
    /// not a usable head (the reason, for the log)
    Bad(String),
}

/// Headers a script may not decide: framing and connection handling are
/// lws's (it adds its own), and lws names itself.
const DROPPED: [&[u8]; 7] = [
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"proxy-connection",
    b"upgrade",
    b"trailer",
    b"server",
];

/// Collects a script's header block from its stdout (CGI response
/// headers, each ending in LF or CRLF, then an empty line).
#[derive(Default)]
pub struct HeadParser {
    buf: Vec<u8>,
    /// bytes of `buf` made of complete lines already taken in
    taken: usize,
    head: Head,
    location: bool,
    status: Option<u16>,
}

impl HeadParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Nothing arrived yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes more output.
    pub fn feed(&mut self, data: &[u8]) -> Parsed {
        self.buf.extend_from_slice(data);
        loop {
            let rest = &self.buf[self.taken..];
            if self.taken == 0 && !starts_like_header(rest) {
                return self.bare();
            }
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                if self.buf.len() > MAX_HEAD {
                    return Parsed::Bad(format!("header block over {MAX_HEAD} bytes"));
                }
                return Parsed::More;
            };
            let line = &rest[..lf];
            let line = line.strip_suffix(b"\r").unwrap_or(line).to_vec();
            let first = self.taken == 0;
            self.taken += lf + 1;
            if line.is_empty() {
                return self.done();
            }
            if first && split_header(&line).is_none() {
                return self.bare();
            }
            if let Err(why) = self.line(&line) {
                return Parsed::Bad(why);
            }
        }
    }

    /// The script's stdout ended: a head without its empty line counts if
    /// its last line is complete; a first line that is no header means
    /// there is no head at all.
    pub fn finish(&mut self) -> Parsed {
        if self.buf.is_empty() {
            return Parsed::Bad("no output".into());
        }
        let rest = self.buf[self.taken..].to_vec();
        if self.taken == 0 && split_header(rest.strip_suffix(b"\r").unwrap_or(&rest)).is_none() {
            return self.bare();
        }
        if !rest.is_empty() {
            let line = rest.strip_suffix(b"\r").unwrap_or(&rest);
            if let Err(why) = self.line(line) {
                return Parsed::Bad(why);
            }
            self.taken = self.buf.len();
        }
        self.done()
    }

    fn bare(&mut self) -> Parsed {
        let body = std::mem::take(&mut self.buf);
        self.taken = 0;
        Parsed::Done(
            Head {
                status: 200,
                bare: true,
                ..Head::default()
            },
            body,
        )
    }

    fn done(&mut self) -> Parsed {
        let mut head = std::mem::take(&mut self.head);
        head.status = match self.status {
            Some(s) => s,
            None if self.location => 302,
            None => 200,
        };
        let body = self.buf.split_off(self.taken.min(self.buf.len()));
        self.buf.clear();
        self.taken = 0;
        Parsed::Done(head, body)
    }

    /// One header line (no line end).
    fn line(&mut self, line: &[u8]) -> Result<(), String> {
        let Some((name, value)) = split_header(line) else {
            lwsl_warn!(
                "CGI: dropping a malformed header line {:?}",
                String::from_utf8_lossy(&line[..line.len().min(80)])
            );
            return Ok(());
        };
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            lwsl_warn!(
                "CGI: dropping header {} with control characters in its value",
                String::from_utf8_lossy(name)
            );
            return Ok(());
        }
        self.head.raw.push(line.to_vec());
        let lower = name.to_ascii_lowercase();
        match lower.as_slice() {
            b"status" => {
                let code = value
                    .get(..3)
                    .filter(|d| d.iter().all(u8::is_ascii_digit))
                    .filter(|_| value.len() == 3 || value[3] == b' ' || value[3] == b'\t')
                    .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u16>().ok())
                    .filter(|c| (200..=599).contains(c));
                match code {
                    Some(c) => self.status = Some(c),
                    None => {
                        return Err(format!(
                            "invalid Status: {:?}",
                            String::from_utf8_lossy(value)
                        ))
                    }
                }
            }
            b"content-length" => {
                match std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    Some(n) if value.iter().all(u8::is_ascii_digit) => {
                        self.head.content_length = Some(n)
                    }
                    _ => lwsl_warn!(
                        "CGI: ignoring Content-Length {:?}",
                        String::from_utf8_lossy(value)
                    ),
                }
            }
            n if DROPPED.contains(&n) => {}
            _ => {
                if lower == b"location" {
                    self.location = true;
                }
                self.head.headers.push((name.to_vec(), value.to_vec()));
            }
        }
        Ok(())
    }
}

/// Whether output may still be a header block: its first bytes are a
/// header name (token characters) not yet followed by anything else.
fn starts_like_header(out: &[u8]) -> bool {
    for &b in out {
        if b == b':' {
            return true;
        }
        if !is_tchar(b) {
            // an empty first line (CRLF / LF) is an empty head
            return (b == b'\r' || b == b'\n') && out.first() == Some(&b);
        }
    }
    true
}

/// `name: value` with a token name; the value without surrounding blanks.
fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    let value = value.trim_ascii();
    Some((name, value))
}

/// RFC 9110 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// One chunk of a chunked body (nothing for no data).
pub fn chunk(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::super::tokens::*;
    use super::*;

    fn parse_all(out: &[u8]) -> Parsed {
        let mut p = HeadParser::new();
        match p.feed(out) {
            Parsed::More => p.finish(),
            other => other,
        }
    }

    fn head_of(out: &[u8]) -> (Head, Vec<u8>) {
        match parse_all(out) {
            Parsed::Done(h, b) => (h, b),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_head_crlf_and_lf() {
        for out in [
            &b"Content-Type: text/plain\r\nX-A:  1 \r\n\r\nbody\r\n"[..],
            b"Content-Type: text/plain\nX-A:  1 \n\nbody\r\n",
        ] {
            let (h, body) = head_of(out);
            assert_eq!(h.status, 200);
            assert!(!h.bare);
            assert_eq!(
                h.headers,
                vec![
                    (b"Content-Type".to_vec(), b"text/plain".to_vec()),
                    (b"X-A".to_vec(), b"1".to_vec())
                ]
            );
            assert_eq!(body, b"body\r\n");
        }
    }

    #[test]
    fn status_location_and_length() {
        let (h, _) = head_of(b"Location: /x\r\n\r\n");
        assert_eq!(h.status, 302);
        assert_eq!(h.headers, vec![(b"Location".to_vec(), b"/x".to_vec())]);
        let (h, _) = head_of(b"Status: 404 Not here\r\nLocation: /x\r\n\r\n");
        assert_eq!(h.status, 404);
        let (h, _) = head_of(b"status: 201\r\ncontent-length: 12\r\nConnection: close\r\n\r\n");
        assert_eq!((h.status, h.content_length), (201, Some(12)));
        assert!(h.headers.is_empty());
        assert_eq!(h.raw.len(), 3);
        assert!(matches!(parse_all(b"Status: abc\r\n\r\n"), Parsed::Bad(_)));
        assert!(matches!(parse_all(b"Status: 99\r\n\r\n"), Parsed::Bad(_)));
        assert!(matches!(parse_all(b"Status: 1000\r\n\r\n"), Parsed::Bad(_)));
        let (h, _) = head_of(b"Content-Length: 1x\r\n\r\n");
        assert_eq!(h.content_length, None);
    }

    #[test]
    fn bare_output_is_all_body() {
        for out in [&b"hello world\n"[..], b"<html>", b"hello", b"plain\n\nmore"] {
            let (h, body) = head_of(out);
            assert!(h.bare, "{out:?}");
            assert_eq!(h.status, 200);
            assert_eq!(body, out);
        }
        // decided as soon as a byte no header name has arrives
        let mut p = HeadParser::new();
        assert!(matches!(p.feed(b"he llo"), Parsed::Done(h, _) if h.bare));
        let mut p = HeadParser::new();
        assert_eq!(p.feed(b"Content-Ty"), Parsed::More);
    }

    #[test]
    fn empty_head_and_split_feeds() {
        let (h, body) = head_of(b"\r\nbody");
        assert!(!h.bare && h.headers.is_empty());
        assert_eq!(body, b"body");
        let out = b"Content-Type: a/b\r\nStatus: 302 Found\r\n\r\nthe body";
        for split in 0..out.len() {
            let mut p = HeadParser::new();
            let r = match p.feed(&out[..split]) {
                Parsed::More => p.feed(&out[split..]),
                Parsed::Done(h, mut body) => {
                    body.extend_from_slice(&out[split..]);
                    Parsed::Done(h, body)
                }
                bad => bad,
            };
            match r {
                Parsed::Done(h, body) => {
                    assert_eq!(h.status, 302, "split {split}");
                    assert_eq!(body, b"the body");
                }
                other => panic!("split {split}: {other:?}"),
            }
        }
    }

    #[test]
    fn unterminated_and_hostile_heads() {
        // EOF after complete lines: the head without its empty line
        let (h, body) = head_of(b"Content-Type: a/b\r\n");
        assert_eq!(h.headers.len(), 1);
        assert!(body.is_empty());
        let (h, _) = head_of(b"Content-Type: a/b");
        assert_eq!(h.headers.len(), 1);
        assert!(matches!(HeadParser::new().finish(), Parsed::Bad(_)));
        // malformed later lines and control characters are dropped
        let (h, _) = head_of(b"A: 1\r\nno colon here\r\nB: x\x01y\r\nC: 3\r\n\r\n");
        assert_eq!(
            h.headers,
            vec![
                (b"A".to_vec(), b"1".to_vec()),
                (b"C".to_vec(), b"3".to_vec())
            ]
        );
        // a bare CR inside a line cannot split it into two headers
        let (h, _) = head_of(b"A: 1\rInjected: yes\r\n\r\n");
        assert!(h.headers.is_empty());
        let mut p = HeadParser::new();
        let huge = vec![b'a'; MAX_HEAD + 10];
        assert_eq!(p.feed(b"X-Big: "), Parsed::More);
        assert!(matches!(p.feed(&huge), Parsed::Bad(_)));
    }

    #[test]
    fn chunks() {
        assert_eq!(chunk(b""), b"");
        assert_eq!(chunk(b"abc"), b"3\r\nabc\r\n");
        assert_eq!(chunk(&[0; 255])[..4], *b"FF\r\n");
    }

    fn request<'a>(extra: &'a [(Vec<u8>, Vec<u8>)]) -> Request<'a> {
        Request {
            method: "POST",
            path: b"/cgi/sub/x",
            script_name: b"/cgi",
            path_info: b"/sub/x",
            script_filename: b"/srv/x.sh",
            http11: true,
            tls: false,
            host_name: "myhost",
            server_port: 7681,
            server_addr: Some("127.0.0.1".into()),
            remote_addr: Some("127.0.0.2".into()),
            remote_port: Some(5000),
            extra,
        }
    }

    fn env_map(env: &[(OsString, OsString)]) -> std::collections::HashMap<String, String> {
        env.iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn environment_from_a_request() {
        let mut ah = HeaderTable::new(4096, None);
        ah.push(WSI_TOKEN_POST_URI, b"/cgi/sub/x").unwrap();
        ah.set_query(Some(b"a=1&b=%20x"));
        ah.push(WSI_TOKEN_HOST, b"example.com:8080").unwrap();
        ah.push(WSI_TOKEN_HTTP_CONTENT_LENGTH, b"5").unwrap();
        ah.push(WSI_TOKEN_HTTP_CONTENT_TYPE, b"text/plain").unwrap();
        ah.push(WSI_TOKEN_HTTP_COOKIE, b"a=1").unwrap();
        ah.push(WSI_TOKEN_HTTP_COOKIE, b"  b=2").unwrap();
        ah.push(WSI_TOKEN_HTTP_AUTHORIZATION, b"Basic xyz").unwrap();
        ah.push(WSI_TOKEN_HTTP_USER_AGENT, b"ua/1").unwrap();
        ah.push(WSI_TOKEN_HTTP_ACCEPT_ENCODING, b"gzip").unwrap();
        let extra = [
            (b"FOO".to_vec(), b"bar".to_vec()),
            (b"BAD=NAME".to_vec(), b"x".to_vec()),
            (b"SERVER_SOFTWARE".to_vec(), b"mine".to_vec()),
        ];
        let env = environment(&request(&extra), &ah);
        let m = env_map(&env);
        assert_eq!(m["REQUEST_METHOD"], "POST");
        assert_eq!(m["QUERY_STRING"], "a=1&b=%20x");
        assert_eq!(m["REQUEST_URI"], "/cgi/sub/x?a=1&b=%20x");
        assert_eq!(m["SCRIPT_NAME"], "/cgi");
        assert_eq!(m["PATH_INFO"], "/sub/x");
        assert_eq!(m["SERVER_NAME"], "example.com");
        assert_eq!(m["SERVER_PORT"], "7681");
        assert_eq!(m["SERVER_PROTOCOL"], "HTTP/1.1");
        assert_eq!(m["REMOTE_ADDR"], "127.0.0.2");
        assert_eq!(m["CONTENT_LENGTH"], "5");
        assert_eq!(m["CONTENT_TYPE"], "text/plain");
        assert_eq!(m["HTTP_HOST"], "example.com:8080");
        assert_eq!(m["HTTP_COOKIE"], "a=1; b=2");
        assert_eq!(m["HTTP_USER_AGENT"], "ua/1");
        assert_eq!(m["USER_AGENT"], "ua/1");
        assert_eq!(m["HTTP_ACCEPT_ENCODING"], "gzip");
        assert_eq!(m["GATEWAY_INTERFACE"], "CGI/1.1");
        assert_eq!(m["PATH"], PATH);
        assert_eq!(m["FOO"], "bar");
        assert!(!m.contains_key("BAD=NAME") && !m.contains_key("BAD"));
        assert!(!m.contains_key("HTTP_AUTHORIZATION"));
        assert!(!m.contains_key("HTTP_CONTENT_LENGTH"));
        assert!(!m.contains_key("HTTPS"));
        // the mount's own variables come last, so they win
        let last = env
            .iter()
            .rev()
            .find(|(k, _)| k == "SERVER_SOFTWARE")
            .unwrap();
        assert_eq!(last.1, "mine");
    }

    #[test]
    fn names_are_fixed_and_values_clean() {
        for t in 0..WSI_TOKEN_COUNT {
            if let Some(name) = http_variable(t) {
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                    "{name}"
                );
            }
        }
        assert_eq!(http_variable(WSI_TOKEN_GET_URI), None);
        assert_eq!(http_variable(WSI_TOKEN_HTTP_URI_ARGS), None);
        assert_eq!(http_variable(WSI_TOKEN_HTTP_COLON_PATH), None);
        assert_eq!(clean(b"a\nb\0c\td\x7f"), b"a%0Ab%00c\td%7F");
        let mut ah = HeaderTable::new(4096, None);
        ah.push(WSI_TOKEN_HOST, b"h").unwrap();
        let m = env_map(&environment(
            &Request {
                path_info: b"/a\nb",
                ..request(&[])
            },
            &ah,
        ));
        assert_eq!(m["PATH_INFO"], "/a%0Ab");
        assert_eq!(m["QUERY_STRING"], "");
        assert_eq!(m["REQUEST_URI"], "/cgi/sub/x");
    }
}
