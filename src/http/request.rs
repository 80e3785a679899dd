//! Parsing a request head into a header table: httparse tokenizes, then the
//! lws 2.0 storage rules apply (the method's token holds the sanitised path,
//! `WSI_TOKEN_HTTP` the version, known headers their raw values).

use super::headers::{HeaderTable, TableFull};
use super::tokens::*;
use super::uri::{self, BadUri};

/// Header lines one head may have, known or not.
/// The longest method name (OPTIONS, DELETE...): a first word longer than
/// this is no method, whether or not its end has arrived.
const LONGEST_METHOD: usize = 7;

/// How far an unfinished head may outgrow the table's data size (unknown
/// headers are not stored) before we stop buffering it.
const HEAD_SLACK: usize = 64 * 1024;

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Answer 403 and close: unknown method (HEAD too) or a bad path.
    Forbidden,
    /// Close without a response: bad syntax or the table is full.
    Malformed,
    /// Close: the head is still unfinished after more bytes than it may use.
    TooLarge,
}

impl From<TableFull> for HeadError {
    fn from(_: TableFull) -> Self {
        HeadError::Malformed
    }
}

impl From<BadUri> for HeadError {
    fn from(_: BadUri) -> Self {
        HeadError::Forbidden
    }
}

/// The methods lws serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Options,
    Put,
    Patch,
    Delete,
}

impl Method {
    const ALL: [Method; 6] = [
        Method::Get,
        Method::Post,
        Method::Options,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// Matches a request line's method, case-insensitively like lws.
    pub fn from_name(name: &[u8]) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.name().as_bytes().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Options => "OPTIONS",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The token holding the path of a request with this method.
    pub fn uri_token(self) -> usize {
        match self {
            Method::Get => WSI_TOKEN_GET_URI,
            Method::Post => WSI_TOKEN_POST_URI,
            Method::Options => WSI_TOKEN_OPTIONS_URI,
            Method::Put => WSI_TOKEN_PUT_URI,
            Method::Patch => WSI_TOKEN_PATCH_URI,
            Method::Delete => WSI_TOKEN_DELETE_URI,
        }
    }
}

/// Parses the head at the start of `buf` (all bytes received so far) into
/// `table`. Ok(None): not complete yet, call again with more bytes.
/// Ok(Some(n)): the head is the first `n` bytes; what follows (a body or a
/// pipelined request) is untouched.
pub fn parse_head(buf: &[u8], table: &mut HeaderTable) -> Result<Option<usize>, HeadError> {
    // One slot per line the bytes could hold: unknown headers are skipped
    // however many there are; only the head's size bounds them.
    let line_count = buf.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut lines = vec![httparse::EMPTY_HEADER; line_count];
    let mut req = httparse::Request::new(&mut lines);
    let status = req.parse(buf).map_err(|_| HeadError::Malformed)?;
    // Like lws, refuse an unknown method as soon as it is seen.
    let method = match req.method {
        Some(name) => Some(Method::from_name(name.as_bytes()).ok_or(HeadError::Forbidden)?),
        None if buf.len() > LONGEST_METHOD && !buf[..=LONGEST_METHOD].contains(&b' ') => {
            return Err(HeadError::Forbidden)
        }
        None => None,
    };
    let httparse::Status::Complete(len) = status else {
        if buf.len() > table.max_data() + HEAD_SLACK {
            return Err(HeadError::TooLarge);
        }
        return Ok(None);
    };
    let (Some(method), Some(target), Some(version)) = (method, req.path, req.version) else {
        return Err(HeadError::Malformed);
    };

    table.reset();
    // The path, its args and the version all count against the method's
    // token limit, as in lws.
    let limit = table.limit(method.uri_token());
    let (path, query) = uri::split_target(target.as_bytes());
    table.set_query(query);
    table.push_with(method.uri_token(), limit, |out| {
        uri::normalise_path(path, limit, out).map_err(HeadError::from)
    })?;
    for arg in query.into_iter().flat_map(uri::args) {
        table.push_with(WSI_TOKEN_HTTP_URI_ARGS, limit, |out| {
            uri::decode_arg(arg, out).map_err(HeadError::from)
        })?;
    }
    table.push_with(WSI_TOKEN_HTTP, limit, |out| {
        out.extend_from_slice(if version == 1 {
            b"HTTP/1.1"
        } else {
            b"HTTP/1.0"
        });
        Ok::<_, HeadError>(())
    })?;

    for line in req.headers.iter() {
        if let Some(token) = header_token(line.name.as_bytes()) {
            store_header(table, token, raw_value(buf, line.name))?;
        }
    }
    Ok(Some(len))
}

/// The bytes between a header line's ':' and its line end: httparse trims
/// the value, but lws keeps trailing and (on repeats) leading whitespace.
fn raw_value<'b>(buf: &'b [u8], name: &str) -> &'b [u8] {
    // `name` is a slice of `buf`, so this is its offset there.
    let start = name.as_ptr() as usize - buf.as_ptr() as usize + name.len() + 1;
    let rest = &buf[start..];
    let end = rest
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Stores one header line's value the way lws does: leading spaces are
/// skipped while the token's first fragment is still empty, and a repeat
/// becomes a new fragment starting with a ' ' separator.
fn store_header(table: &mut HeaderTable, token: usize, value: &[u8]) -> Result<(), HeadError> {
    let repeat = table.is_present(token);
    let value = if table.fragment_length(token, 0) == 0 {
        let spaces = value.iter().take_while(|&&b| b == b' ').count();
        &value[spaces..]
    } else {
        value
    };
    let limit = table.limit(token);
    table.push_with(token, limit, |out| {
        if repeat {
            out.push(b' ');
        }
        out.extend_from_slice(value);
        Ok::<_, HeadError>(())
    })
}

/// The method of the parsed request.
pub fn method(table: &HeaderTable) -> Option<Method> {
    Method::ALL
        .into_iter()
        .find(|m| table.is_present(m.uri_token()))
}

/// The sanitised path of the parsed request.
pub fn uri(table: &HeaderTable) -> Option<&[u8]> {
    table.fragment(method(table)?.uri_token(), 0)
}

/// Whether the request is HTTP/1.1: lws checks the two digits of `HTTP/1.1`.
pub fn is_http11(table: &HeaderTable) -> bool {
    table
        .fragment(WSI_TOKEN_HTTP, 0)
        .is_some_and(|v| v.get(5) == Some(&b'1') && v.get(7) == Some(&b'1'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";

    fn parse(head: &str) -> Result<HeaderTable, HeadError> {
        parse_with(HeaderTable::new(4096, None), head)
    }

    fn parse_with(mut table: HeaderTable, head: &str) -> Result<HeaderTable, HeadError> {
        let n = parse_head(head.as_bytes(), &mut table)?;
        assert_eq!(n, Some(head.len()), "{head:?}");
        Ok(table)
    }

    fn get(target: &str) -> Result<HeaderTable, HeadError> {
        parse(&format!("GET {target} HTTP/1.1\r\n\r\n"))
    }

    fn path_of(target: &str) -> Result<String, HeadError> {
        let t = get(target)?;
        Ok(String::from_utf8(uri(&t).unwrap().to_vec()).unwrap())
    }

    fn args_of(target: &str) -> Vec<String> {
        let t = get(target).unwrap();
        (0..)
            .map_while(|i| t.fragment(WSI_TOKEN_HTTP_URI_ARGS, i))
            .map(|a| String::from_utf8(a.to_vec()).unwrap())
            .collect()
    }

    fn value(t: &HeaderTable, token: usize) -> Vec<u8> {
        let mut dst = vec![0; t.total_length(token) + 1];
        assert!(t.copy(token, &mut dst) >= 0);
        dst.pop();
        dst
    }

    #[test]
    fn simple_get() {
        let mut t = HeaderTable::new(4096, None);
        assert_eq!(parse_head(SIMPLE, &mut t), Ok(Some(SIMPLE.len())));
        assert_eq!(method(&t), Some(Method::Get));
        assert_eq!(uri(&t), Some(&b"/index.html"[..]));
        assert_eq!(value(&t, WSI_TOKEN_GET_URI), b"/index.html");
        assert_eq!(value(&t, WSI_TOKEN_HTTP), b"HTTP/1.1");
        assert_eq!(value(&t, WSI_TOKEN_HOST), b"example.com");
        assert!(is_http11(&t));
        assert!(!t.is_present(WSI_TOKEN_HTTP_URI_ARGS));
        assert!(!t.is_present(WSI_TOKEN_POST_URI));
    }

    #[test]
    fn http10() {
        let t = parse("GET / HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(value(&t, WSI_TOKEN_HTTP), b"HTTP/1.0");
        assert!(!is_http11(&t));
        assert!(!is_http11(&HeaderTable::new(64, None)));
    }

    #[test]
    fn every_method_has_its_token() {
        for (name, m) in [
            ("GET", Method::Get),
            ("post", Method::Post),
            ("Options", Method::Options),
            ("PUT", Method::Put),
            ("pAtCh", Method::Patch),
            ("DELETE", Method::Delete),
        ] {
            let t = parse(&format!("{name} /x HTTP/1.1\r\n\r\n")).unwrap();
            assert_eq!(method(&t), Some(m));
            assert_eq!(t.fragment(m.uri_token(), 0), Some(&b"/x"[..]));
            assert_eq!(Method::from_name(m.name().as_bytes()), Some(m));
        }
        assert_eq!(Method::Patch.uri_token(), WSI_TOKEN_PATCH_URI);
    }

    #[test]
    fn other_methods_are_forbidden() {
        for name in ["HEAD", "CONNECT", "TRACE", "BREW", "GETX", "G"] {
            assert_eq!(
                parse(&format!("{name} / HTTP/1.1\r\n\r\n")).err(),
                Some(HeadError::Forbidden),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_method_is_refused_before_the_head_ends() {
        let mut t = HeaderTable::new(4096, None);
        assert_eq!(parse_head(b"HEAD", &mut t), Ok(None));
        assert_eq!(parse_head(b"HEAD ", &mut t), Err(HeadError::Forbidden));
    }

    #[test]
    fn junk_is_malformed() {
        for junk in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / FOO\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nGET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: \x01\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\rHost: x\r\n\r\n",
        ] {
            let mut t = HeaderTable::new(4096, None);
            assert_eq!(
                parse_head(junk, &mut t),
                Err(HeadError::Malformed),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn bad_targets_are_forbidden() {
        for target in [
            "/%zz",
            "/a%2",
            "/%00",
            "/a?x=%00",
            "/a?x=%g0",
            "http://host/",
            "*",
            "a/b",
        ] {
            assert_eq!(get(target).err(), Some(HeadError::Forbidden), "{target}");
        }
    }

    #[test]
    fn path_normalisation() {
        for (target, want) in [
            ("/a+b", "/a b"),
            ("/a%20b%2Bc", "/a b+c"),
            ("//a//b", "/a/b"),
            ("/a/./b", "/a/b"),
            ("/a/b/../c", "/a/c"),
            ("/a/b/..", "/a"),
            ("/a/b/..?x", "/a"),
            ("/.x/..y", "/.x/..y"),
            ("/?x=1", "/"),
            ("?x=1", "/"),
            ("/a%3Fb", "/a?b"),
            ("/a;b&c", "/a;b&c"),
        ] {
            assert_eq!(path_of(target).as_deref(), Ok(want), "{target}");
        }
    }

    #[test]
    fn dot_dot_cannot_escape() {
        for target in [
            "/../etc/passwd",
            "/../../../../../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
            "/.%2e/..%2f.%2E/etc/passwd",
            "/a/b/../../../../etc/passwd",
            "/a/./../.././/../etc/passwd",
            "/static/..%2F..%2F..%2Fetc/passwd",
            "/static/%2e%2e/%2e%2e/etc/passwd?x=1",
        ] {
            assert_eq!(path_of(target).as_deref(), Ok("/etc/passwd"), "{target}");
        }
    }

    #[test]
    fn query_args() {
        assert_eq!(args_of("/a?x=1&y=2"), ["x=1", "y=2"]);
        assert_eq!(args_of("/a?x=1;y=2"), ["x=1", "y=2"]);
        assert_eq!(args_of("/a?"), [""]);
        assert_eq!(args_of("/a?x&&y&"), ["x", "", "y", ""]);
        assert_eq!(args_of("/a?q=a+b%2B%26c&d"), ["q=a b+&c", "d"]);
        assert_eq!(args_of("/a?k%3Dx=v%3D"), ["k_x=v="]);
        assert_eq!(args_of("/a?x=1?y=2"), ["x=1?y=2"]);
        assert_eq!(args_of("/a?p=/../x"), ["p=/../x"]);
        let t = get("/a?x=1&y=2").unwrap();
        assert_eq!(value(&t, WSI_TOKEN_HTTP_URI_ARGS), b"x=1y=2");
        let mut buf = [0; 16];
        assert_eq!(t.urlarg_by_name(b"y=", &mut buf), Some(&b"2"[..]));
    }

    #[test]
    fn headers_are_matched_case_insensitively() {
        let t = parse(
            "GET / HTTP/1.1\r\nhOsT: h\r\nUPGRADE: websocket\r\nsec-websocket-KEY: k\r\n\
             Sec-WebSocket-Origin: o\r\nX-Unknown: u\r\nX-Real-IP: 1.2.3.4\r\n\r\n",
        )
        .unwrap();
        assert_eq!(value(&t, WSI_TOKEN_HOST), b"h");
        assert_eq!(value(&t, WSI_TOKEN_UPGRADE), b"websocket");
        assert_eq!(value(&t, WSI_TOKEN_KEY), b"k");
        assert_eq!(value(&t, WSI_TOKEN_ORIGIN), b"o");
        assert!(!t.is_present(WSI_TOKEN_SWORIGIN));
        assert_eq!(value(&t, WSI_TOKEN_HTTP_X_REAL_IP), b"1.2.3.4");
    }

    #[test]
    fn value_whitespace() {
        let t = parse(
            "GET / HTTP/1.1\r\nHost:nospace\r\nAccept:   */*  \r\nOrigin:\t x\r\nDate:\r\n\r\n",
        )
        .unwrap();
        assert_eq!(value(&t, WSI_TOKEN_HOST), b"nospace");
        assert_eq!(value(&t, WSI_TOKEN_HTTP_ACCEPT), b"*/*  ");
        assert_eq!(value(&t, WSI_TOKEN_ORIGIN), b"\t x");
        assert!(t.is_present(WSI_TOKEN_HTTP_DATE));
        assert_eq!(t.total_length(WSI_TOKEN_HTTP_DATE), 0);
    }

    #[test]
    fn repeated_headers_become_fragments() {
        let t =
            parse("GET / HTTP/1.1\r\nCookie: a=1\r\ncookie: b=2\r\nCOOKIE:c=3\r\n\r\n").unwrap();
        assert_eq!(value(&t, WSI_TOKEN_HTTP_COOKIE), b"a=1  b=2 c=3");
        assert_eq!(t.fragment(WSI_TOKEN_HTTP_COOKIE, 0), Some(&b"a=1"[..]));
        assert_eq!(t.fragment(WSI_TOKEN_HTTP_COOKIE, 1), Some(&b"  b=2"[..]));
        assert_eq!(t.fragment(WSI_TOKEN_HTTP_COOKIE, 2), Some(&b" c=3"[..]));
        // Origin and its old name share a token.
        let t = parse("GET / HTTP/1.1\r\nOrigin: a\r\nSec-WebSocket-Origin: b\r\n\r\n").unwrap();
        assert_eq!(value(&t, WSI_TOKEN_ORIGIN), b"a  b");
        // Leading spaces are only kept once the first fragment has bytes.
        let t = parse("GET / HTTP/1.1\r\nCookie:\r\nCookie: b=2\r\n\r\n").unwrap();
        assert_eq!(value(&t, WSI_TOKEN_HTTP_COOKIE), b" b=2");
    }

    #[test]
    fn stored_data_over_the_limit_is_malformed() {
        let head = format!("GET / HTTP/1.1\r\nCookie: {}\r\n\r\n", "x".repeat(5000));
        assert_eq!(parse(&head).err(), Some(HeadError::Malformed));
        // "/\0HTTP/1.1\0" is 11 bytes, so 4096 leaves room for 4084 + NUL.
        let fits = format!("GET / HTTP/1.1\r\nCookie: {}\r\n\r\n", "x".repeat(4084));
        assert!(parse(&fits).is_ok());
        let over = format!("GET / HTTP/1.1\r\nCookie: {}\r\n\r\n", "x".repeat(4085));
        assert_eq!(parse(&over).err(), Some(HeadError::Malformed));
        // Unknown headers cost nothing.
        let unknown = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "x".repeat(8000));
        assert!(parse(&unknown).is_ok());
    }

    #[test]
    fn token_limits_truncate_and_parsing_goes_on() {
        let mut limits = [u16::MAX; WSI_TOKEN_COUNT];
        limits[WSI_TOKEN_HTTP_USER_AGENT] = 4;
        limits[WSI_TOKEN_GET_URI] = 8;
        let t = parse_with(
            HeaderTable::new(4096, Some(&limits[..])),
            "GET /abc/defghij?longarg=1&b=2 HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\nHost: h\r\n\r\n",
        )
        .unwrap();
        assert_eq!(value(&t, WSI_TOKEN_HTTP_USER_AGENT), b"Mozi");
        assert_eq!(value(&t, WSI_TOKEN_HOST), b"h");
        assert_eq!(uri(&t), Some(&b"/abc/def"[..]));
        assert_eq!(
            t.fragment(WSI_TOKEN_HTTP_URI_ARGS, 0),
            Some(&b"longarg="[..])
        );
        assert_eq!(t.fragment(WSI_TOKEN_HTTP_URI_ARGS, 1), Some(&b"b=2"[..]));
        assert!(is_http11(&t));
        // A cut path never ends in a ".." segment.
        let t = parse_with(
            HeaderTable::new(4096, Some(&limits[..])),
            "GET /abcde/..x HTTP/1.1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(uri(&t), Some(&b"/abcde/"[..]));
    }

    #[test]
    fn fragment_table_full_is_malformed() {
        // Path + version + 169 args fill all 171 slots.
        let fits = format!("/?{}", vec!["a"; 169].join("&"));
        assert_eq!(args_of(&fits).len(), 169);
        let over = format!("/?{}", vec!["a"; 170].join("&"));
        assert_eq!(get(&over).err(), Some(HeadError::Malformed));
        let headers = "Cookie: c\r\n".repeat(100);
        let head = format!(
            "GET /?{} HTTP/1.1\r\n{headers}\r\n",
            vec!["a"; 70].join("&")
        );
        assert_eq!(parse(&head).err(), Some(HeadError::Malformed));
    }

    #[test]
    fn unknown_header_lines_are_skipped_however_many() {
        let head = format!("GET / HTTP/1.1\r\n{}\r\n", "X-Unknown: y\r\n".repeat(300));
        assert!(parse(&head).is_ok());
    }

    #[test]
    fn a_first_word_too_long_for_a_method_is_refused_at_once() {
        let mut t = HeaderTable::new(4096, None);
        assert_eq!(
            parse_head(b"abcdeXXXXXXXX", &mut t),
            Err(HeadError::Forbidden)
        );
        assert_eq!(parse_head(b"OPTIONS", &mut t), Ok(None));
    }

    #[test]
    fn unfinished_head_has_a_bound() {
        let mut t = HeaderTable::new(4096, None);
        let mut head = b"GET / HTTP/1.1\r\nX-Filler: ".to_vec();
        head.resize(4096 + HEAD_SLACK, b'x');
        assert_eq!(parse_head(&head, &mut t), Ok(None));
        head.push(b'x');
        assert_eq!(parse_head(&head, &mut t), Err(HeadError::TooLarge));
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let head = b"POST /form?x=1&y=%41 HTTP/1.1\r\nHost: h\r\nCookie: a\r\n\
                     Content-Length: 3\r\nCookie:  b\r\n\r\n";
        let mut t = HeaderTable::new(4096, None);
        for end in 0..head.len() {
            assert_eq!(parse_head(&head[..end], &mut t), Ok(None), "prefix {end}");
        }
        let mut body = head.to_vec();
        body.extend_from_slice(b"abc");
        assert_eq!(parse_head(&body, &mut t), Ok(Some(head.len())));
        assert_eq!(uri(&t), Some(&b"/form"[..]));
        assert_eq!(value(&t, WSI_TOKEN_HTTP_URI_ARGS), b"x=1y=A");
        assert_eq!(value(&t, WSI_TOKEN_HTTP_CONTENT_LENGTH), b"3");
        assert_eq!(value(&t, WSI_TOKEN_HTTP_COOKIE), b"a   b");
    }

    #[test]
    fn pipelined_heads_parse_one_after_another() {
        let mut buf = SIMPLE.to_vec();
        buf.extend_from_slice(
            b"post /second?z=9 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /thi",
        );
        let mut t = HeaderTable::new(4096, None);
        let first = parse_head(&buf, &mut t).unwrap().unwrap();
        assert_eq!(first, SIMPLE.len());
        assert_eq!(uri(&t), Some(&b"/index.html"[..]));

        let rest = &buf[first..];
        let second = parse_head(rest, &mut t).unwrap().unwrap();
        assert_eq!(method(&t), Some(Method::Post));
        assert_eq!(uri(&t), Some(&b"/second"[..]));
        assert!(!t.is_present(WSI_TOKEN_HOST), "the table was reset");
        assert!(!t.is_present(WSI_TOKEN_GET_URI));
        assert_eq!(value(&t, WSI_TOKEN_CONNECTION), b"keep-alive");
        assert!(!is_http11(&t));

        assert_eq!(parse_head(&rest[second..], &mut t), Ok(None));
    }
}
