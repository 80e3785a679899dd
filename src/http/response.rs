//! HTTP/1.x response heads exactly as lws 2.0 writes them: status line,
//! header lines, redirects, status pages, ETag and cache-control values.
//!
//! The C API builds heads in the caller's buffer through `unsigned char **p,
//! unsigned char *end`; [`HeaderCursor`] is that pair, and every method keeps
//! the original's room checks and its 0 / 1 ("no room") result.

/// Lowercase token texts (as `lws_token_to_string` has them) of the headers
/// lws itself adds.
const SERVER: &[u8] = b"server:";
const CONTENT_TYPE: &[u8] = b"content-type:";
const CONTENT_LENGTH: &[u8] = b"content-length:";
const LOCATION: &[u8] = b"location:";

const STS_NAME: &[u8] = b"Strict-Transport-Security:";
const STS_VALUE: &[u8] = b"max-age=15768000 ; includeSubDomains";

/// lws 2.0's phrases for 400..=417 and 500..=505 (not all the RFC's wording).
const ERR400: [&str; 18] = [
    "Bad Request",
    "Unauthorized",
    "Payment Required",
    "Forbidden",
    "Not Found",
    "Method Not Allowed",
    "Not Acceptable",
    "Proxy Auth Required",
    "Request Timeout",
    "Conflict",
    "Gone",
    "Length Required",
    "Precondition Failed",
    "Request Entity Too Large",
    "Request URI too Long",
    "Unsupported Media Type",
    "Requested Range Not Satisfiable",
    "Expectation Failed",
];
const ERR500: [&str; 6] = [
    "Internal Server Error",
    "Not Implemented",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
    "HTTP Version Not Supported",
];

/// The reason phrase lws puts after `code` in a status line ("" if none).
pub fn status_text(code: u32) -> &'static str {
    match code {
        200 => "OK",
        304 => "Not Modified",
        300..=399 => "Redirect",
        400..=417 => ERR400[(code - 400) as usize],
        500..=505 => ERR500[(code - 500) as usize],
        _ => "",
    }
}

/// The C API's "1": the header did not fit before `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom;

/// What a status block needs besides the code: the request's HTTP version,
/// the vhost's extra `headers` (name, value), the context's server string and
/// whether the vhost has `LWS_SERVER_OPTION_STS`.
#[derive(Debug, Clone, Copy)]
pub struct StatusBlock<'a> {
    pub http11: bool,
    pub headers: &'a [(&'a [u8], &'a [u8])],
    pub server: &'a [u8],
    pub sts: bool,
}

/// The caller's output buffer and how far into it we have written: `buf`
/// runs from the C `*p` to `end`, and `pos` is how far `*p` must advance.
///
/// As in the original, a failed call may already have written (and advanced
/// over) part of its header; callers give up on the head when that happens.
#[derive(Debug)]
pub struct HeaderCursor<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> HeaderCursor<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        HeaderCursor { buf, pos: 0 }
    }

    /// Bytes written so far: how far the C `*p` has moved.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The head written so far.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    fn room(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    /// Appends `bytes` verbatim (`lws_serve_http_file`'s `other_headers`).
    pub fn add_raw(&mut self, bytes: &[u8]) -> Result<(), NoRoom> {
        if self.room() < bytes.len() {
            return Err(NoRoom);
        }
        self.put(bytes);
        Ok(())
    }

    /// `lws_add_http_header_by_name` with a NULL name: `value` CRLF.
    ///
    /// Fails unless more than `value.len() + 3` bytes are left (the
    /// original's `p + len + 3 >= end`), so at least two bytes stay free
    /// after the CRLF.
    pub fn add_line(&mut self, value: &[u8]) -> Result<(), NoRoom> {
        if self.room() <= value.len() + 3 {
            return Err(NoRoom);
        }
        self.put(value);
        self.put(b"\r\n");
        Ok(())
    }

    /// `lws_add_http_header_by_name`: `name`, one space, `value`, CRLF. No
    /// colon is added; callers pass `"x:"`.
    ///
    /// Like the original, the name is copied as far as it fits and the call
    /// fails if that reaches `end`; then the space, then the check of
    /// [`add_line`](Self::add_line).
    pub fn add_by_name(&mut self, name: &[u8], value: &[u8]) -> Result<(), NoRoom> {
        let n = name.len().min(self.room());
        self.put(&name[..n]);
        if self.room() == 0 {
            return Err(NoRoom);
        }
        self.put(b" ");
        self.add_line(value)
    }

    /// `lws_add_http_header_by_token`, given the token's lowercase text
    /// (`None` for a token with no text: the C API's "bad token" 1).
    pub fn add_by_token(&mut self, token_text: Option<&[u8]>, value: &[u8]) -> Result<(), NoRoom> {
        self.add_by_name(token_text.ok_or(NoRoom)?, value)
    }

    /// `lws_add_http_header_content_length`'s header: `content-length: N`.
    pub fn add_content_length(&mut self, n: u64) -> Result<(), NoRoom> {
        self.add_by_name(CONTENT_LENGTH, n.to_string().as_bytes())
    }

    /// `lws_finalize_http_header`: the blank line; fails if fewer than 3
    /// bytes are left.
    pub fn finalize(&mut self) -> Result<(), NoRoom> {
        if self.room() < 3 {
            return Err(NoRoom);
        }
        self.put(b"\r\n");
        Ok(())
    }

    /// `lws_add_http_header_status`: `HTTP/1.x CODE TEXT` (with the space
    /// before TEXT even when TEXT is empty), the vhost headers, `server:`
    /// and, with STS, `Strict-Transport-Security:`.
    pub fn add_status(&mut self, block: &StatusBlock, code: u32) -> Result<(), NoRoom> {
        let version = if block.http11 { "HTTP/1.1" } else { "HTTP/1.0" };
        self.add_line(format!("{version} {code} {}", status_text(code)).as_bytes())?;
        for (name, value) in block.headers {
            self.add_by_name(name, value)?;
        }
        self.add_by_name(SERVER, block.server)?;
        if block.sts {
            self.add_by_name(STS_NAME, STS_VALUE)?;
        }
        Ok(())
    }

    /// The head `lws_return_http_status` sends before [`status_page`]'s body
    /// of `body_len` bytes: status block, `content-type: text/html`,
    /// `content-length:`, blank line.
    pub fn add_status_page_head(
        &mut self,
        block: &StatusBlock,
        code: u32,
        body_len: usize,
    ) -> Result<(), NoRoom> {
        self.add_status(block, code)?;
        self.add_by_name(CONTENT_TYPE, b"text/html")?;
        self.add_by_name(CONTENT_LENGTH, body_len.to_string().as_bytes())?;
        self.finalize()
    }

    /// The head `lws_http_redirect` sends: status block, `location:`, and an
    /// empty `text/html` body declared so a keep-alive client knows the
    /// response is complete.
    pub fn add_redirect(
        &mut self,
        block: &StatusBlock,
        code: u32,
        location: &[u8],
    ) -> Result<(), NoRoom> {
        self.add_status(block, code)?;
        self.add_by_name(LOCATION, location)?;
        self.add_by_name(CONTENT_TYPE, b"text/html")?;
        self.add_by_name(CONTENT_LENGTH, b"0")?;
        self.finalize()
    }
}

/// The body `lws_return_http_status` sends: `html_body` (raw HTML) after a
/// heading with the code.
pub fn status_page(code: u32, html_body: &[u8]) -> Vec<u8> {
    [
        format!("<html><body><h1>{code}</h1>").as_bytes(),
        html_body,
        b"</body></html>",
    ]
    .concat()
}

/// The ETag of a served file, unquoted: size then mtime, each as at least 8
/// uppercase hex digits (the original's `%08lX`, so values past 32 bits grow
/// it beyond 16 characters rather than being cut).
pub fn etag(size: u64, mtime: u64) -> String {
    format!("{size:08X}{mtime:08X}")
}

/// The `cache-control` value for a file from a mount with these cache
/// settings (CONTRACT §9). The original wrote the revalidating form as
/// `private max-age: N`, which RFC 9111 §5.2 cannot parse (directives are
/// comma-separated, `max-age=delta-seconds`), so clients never saw the
/// max-age; we write `private, max-age=N` (README, Behaviour notes). A
/// negative `cache_max_age` is `max-age=0`.
pub fn cache_control(
    max_age: i32,
    reusable: bool,
    revalidate: bool,
    intermediaries: bool,
) -> String {
    if max_age == 0 || !reusable {
        return "no-store".into();
    }
    if !revalidate {
        return "no-cache".into();
    }
    let who = if intermediaries { "public" } else { "private" };
    format!("{who}, max-age={}", max_age.max(0))
}

/// The entity-tag for a file: its 16 hex digits quoted, as RFC 9110 §8.8.3
/// wants (the original sent them bare).
pub fn quoted_etag(size: u64, mtime: u64) -> String {
    format!("\"{}\"", etag(size, mtime))
}

/// Whether an `If-None-Match` value matches `etag` (quoted): `*`, or any
/// listed entity-tag equal under the weak comparison of RFC 9110 §8.8.3.2
/// (a `W/` prefix ignored). A bare token equal to the unquoted tag matches
/// too, for clients that cached the original's unquoted form.
pub fn if_none_match(header: &[u8], etag: &str) -> bool {
    let quoted = etag.as_bytes();
    let bare = quoted
        .strip_prefix(b"\"")
        .and_then(|t| t.strip_suffix(b"\""))
        .unwrap_or(quoted);
    header.split(|&b| b == b',').any(|item| {
        let item = item.trim_ascii();
        let item = item.strip_prefix(b"W/").unwrap_or(item);
        item == b"*" || item == quoted || item == bare
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: StatusBlock = StatusBlock {
        http11: true,
        headers: &[],
        server: b"lws",
        sts: false,
    };

    /// Runs `f` on a cursor over `size` bytes; returns the result and what
    /// was written.
    fn run(
        size: usize,
        f: impl FnOnce(&mut HeaderCursor) -> Result<(), NoRoom>,
    ) -> (Result<(), NoRoom>, Vec<u8>) {
        let mut buf = vec![0u8; size];
        let mut cur = HeaderCursor::new(&mut buf);
        let r = f(&mut cur);
        (r, cur.written().to_vec())
    }

    /// `f` writes exactly `expect` given `need` bytes of room, and fails with
    /// every smaller buffer.
    fn exact_fit(need: usize, expect: &[u8], f: impl Fn(&mut HeaderCursor) -> Result<(), NoRoom>) {
        let (r, out) = run(need, &f);
        assert_eq!(r, Ok(()));
        assert_eq!(out, expect, "{:?}", String::from_utf8_lossy(&out));
        for size in 0..need {
            assert_eq!(run(size, &f).0, Err(NoRoom), "size {size} of {need}");
        }
    }

    #[test]
    fn status_texts() {
        assert_eq!(status_text(200), "OK");
        assert_eq!(status_text(304), "Not Modified");
        for code in [300, 301, 302, 303, 307, 399] {
            assert_eq!(status_text(code), "Redirect");
        }
        assert_eq!(status_text(400), "Bad Request");
        assert_eq!(status_text(403), "Forbidden");
        assert_eq!(status_text(404), "Not Found");
        assert_eq!(status_text(407), "Proxy Auth Required");
        assert_eq!(status_text(414), "Request URI too Long");
        assert_eq!(status_text(416), "Requested Range Not Satisfiable");
        assert_eq!(status_text(417), "Expectation Failed");
        assert_eq!(status_text(500), "Internal Server Error");
        assert_eq!(status_text(505), "HTTP Version Not Supported");
        for code in [
            0,
            100,
            101,
            201,
            204,
            299,
            418,
            451,
            499,
            506,
            599,
            600,
            u32::MAX,
        ] {
            assert_eq!(status_text(code), "", "{code}");
        }
    }

    #[test]
    fn by_name_adds_no_colon_and_needs_one_spare_byte() {
        // 8 bytes written; the value check needs len + 4 after "x: ".
        exact_fit(10, b"x: abc\r\n", |c| c.add_by_name(b"x:", b"abc"));
        exact_fit(7, b"x: \r\n", |c| c.add_by_name(b"x:", b""));
    }

    #[test]
    fn by_name_failures_advance_like_the_original() {
        // Name cut at end: everything that fit is written and counted.
        assert_eq!(
            run(1, |c| c.add_by_name(b"x:", b"v")),
            (Err(NoRoom), b"x".to_vec())
        );
        assert_eq!(
            run(2, |c| c.add_by_name(b"x:", b"v")),
            (Err(NoRoom), b"x:".to_vec())
        );
        // Name and space fit, value does not.
        assert_eq!(
            run(7, |c| c.add_by_name(b"x:", b"v")),
            (Err(NoRoom), b"x: ".to_vec())
        );
        assert_eq!(
            run(8, |c| c.add_by_name(b"x:", b"v")),
            (Ok(()), b"x: v\r\n".to_vec())
        );
    }

    #[test]
    fn line_without_name() {
        exact_fit(7, b"abc\r\n", |c| c.add_line(b"abc"));
        assert_eq!(run(6, |c| c.add_line(b"abc")), (Err(NoRoom), vec![]));
    }

    #[test]
    fn by_token() {
        exact_fit(21, b"content-type: a/b\r\n", |c| {
            c.add_by_token(Some(CONTENT_TYPE), b"a/b")
        });
        assert_eq!(
            run(100, |c| c.add_by_token(None, b"a/b")),
            (Err(NoRoom), vec![])
        );
    }

    #[test]
    fn content_length() {
        exact_fit(24, b"content-length: 1234\r\n", |c| {
            c.add_content_length(1234)
        });
        exact_fit(21, b"content-length: 0\r\n", |c| c.add_content_length(0));
        let max = format!("content-length: {}\r\n", u64::MAX);
        exact_fit(max.len() + 2, max.as_bytes(), |c| {
            c.add_content_length(u64::MAX)
        });
    }

    #[test]
    fn finalize_needs_three_bytes() {
        exact_fit(3, b"\r\n", |c| c.finalize());
        assert_eq!(run(2, |c| c.finalize()), (Err(NoRoom), vec![]));
    }

    #[test]
    fn calls_append() {
        let mut buf = [0u8; 64];
        let mut cur = HeaderCursor::new(&mut buf);
        cur.add_by_name(b"a:", b"1").unwrap();
        cur.add_by_name(b"b:", b"2").unwrap();
        cur.finalize().unwrap();
        assert_eq!(cur.pos(), 14);
        assert_eq!(cur.written(), b"a: 1\r\nb: 2\r\n\r\n");
    }

    #[test]
    fn status_block_minimal() {
        let head = b"HTTP/1.1 200 OK\r\nserver: lws\r\n";
        exact_fit(head.len() + 2, head, |c| c.add_status(&PLAIN, 200));
    }

    #[test]
    fn status_block_http10_empty_text() {
        let block = StatusBlock {
            http11: false,
            ..PLAIN
        };
        let head = b"HTTP/1.0 299 \r\nserver: lws\r\n";
        exact_fit(head.len() + 2, head, |c| c.add_status(&block, 299));
    }

    #[test]
    fn status_block_full() {
        let headers: [(&[u8], &[u8]); 2] = [(b"x-a:", b"1"), (b"x-b:", b"two")];
        let block = StatusBlock {
            http11: true,
            headers: &headers,
            server: b"libwebsockets",
            sts: true,
        };
        let head: &[u8] = b"HTTP/1.1 404 Not Found\r\n\
            x-a: 1\r\n\
            x-b: two\r\n\
            server: libwebsockets\r\n\
            Strict-Transport-Security: max-age=15768000 ; includeSubDomains\r\n";
        exact_fit(head.len() + 2, head, |c| c.add_status(&block, 404));
    }

    #[test]
    fn status_page_head_and_body() {
        let body = status_page(404, b"<p>gone</p>");
        assert_eq!(body, b"<html><body><h1>404</h1><p>gone</p></body></html>");
        assert_eq!(body.len(), 49);
        assert_eq!(
            status_page(500, b""),
            b"<html><body><h1>500</h1></body></html>"
        );
        let head: &[u8] = b"HTTP/1.1 404 Not Found\r\n\
            server: lws\r\n\
            content-type: text/html\r\n\
            content-length: 49\r\n\
            \r\n";
        exact_fit(head.len() + 1, head, |c| {
            c.add_status_page_head(&PLAIN, 404, body.len())
        });
    }

    #[test]
    fn redirect() {
        let head: &[u8] = b"HTTP/1.1 301 Redirect\r\n\
            server: lws\r\n\
            location: https://h/x/\r\n\
            content-type: text/html\r\n\
            content-length: 0\r\n\
            \r\n";
        exact_fit(head.len() + 1, head, |c| {
            c.add_redirect(&PLAIN, 301, b"https://h/x/")
        });
    }

    #[test]
    fn etags() {
        assert_eq!(etag(0, 0), "0000000000000000");
        assert_eq!(etag(0x1234, 0x5F00_ABCD), "000012345F00ABCD");
        assert_eq!(etag(0xFFFF_FFFF, 1), "FFFFFFFF00000001");
        assert_eq!(etag(0x1_0000_0000, 2), "10000000000000002");
    }

    #[test]
    fn cache_control_values() {
        assert_eq!(cache_control(0, true, true, true), "no-store");
        assert_eq!(cache_control(60, false, true, true), "no-store");
        assert_eq!(cache_control(60, true, false, true), "no-cache");
        assert_eq!(cache_control(60, true, false, false), "no-cache");
        assert_eq!(cache_control(60, true, true, false), "private, max-age=60");
        assert_eq!(
            cache_control(86400, true, true, true),
            "public, max-age=86400"
        );
        assert_eq!(cache_control(-1, true, true, false), "private, max-age=0");
    }

    #[test]
    fn if_none_match_lists() {
        let tag = quoted_etag(0x10, 0x20);
        assert_eq!(tag, "\"0000001000000020\"");
        assert!(if_none_match(b"\"0000001000000020\"", &tag));
        assert!(if_none_match(b"0000001000000020", &tag));
        assert!(if_none_match(b"\"x\", W/\"0000001000000020\"", &tag));
        assert!(if_none_match(b" * ", &tag));
        assert!(!if_none_match(b"\"0000001000000021\"", &tag));
        assert!(!if_none_match(b"", &tag));
    }
}
