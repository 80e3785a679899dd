//! Splitting a URI in place into protocol, address, port and path, the way
//! `lws_parse_uri` does: separators are overwritten with NULs so each part is
//! a C string inside the caller's buffer.

use std::ops::Range;

/// Where the parts of a URI split by [`parse_uri`] are. An empty range at the
/// end of the buffer stands for the empty string at its terminating NUL.
#[derive(Debug, PartialEq, Eq)]
pub struct UriParts {
    pub prot: Range<usize>,
    pub ads: Range<usize>,
    /// From the scheme (80 for http/ws, 443 for https/wss) or an explicit
    /// `:port`; None leaves the caller's port as it was.
    pub port: Option<i32>,
    /// After the first `/` of the path, which is not part of it; None when
    /// nothing follows the host and port (the API then reports `"/"`).
    pub path: Option<Range<usize>>,
}

/// Splits `uri` (without its NUL) in place: the `:` of `://`, the `:` before
/// the port and the `/` starting the path become NULs. An IPv6 literal in
/// brackets is reported without them (`[::1]:80` has address `::1`).
pub fn parse_uri(uri: &mut [u8]) -> UriParts {
    let end = uri.len();
    let (prot, host_start) = match uri.windows(3).position(|w| w == b"://") {
        Some(colon) => {
            uri[colon] = 0;
            (0..colon, colon + 3)
        }
        None => (end..end, 0),
    };
    let mut port = match &uri[prot.clone()] {
        b"http" | b"ws" => Some(80),
        b"https" | b"wss" => Some(443),
        _ => None,
    };

    let find = |uri: &[u8], from: usize, stops: &[u8]| {
        uri[from..]
            .iter()
            .position(|b| stops.contains(b))
            .map_or(end, |i| from + i)
    };
    let (ads, mut p) = if uri.get(host_start) == Some(&b'[') {
        let close = find(uri, host_start + 1, b"]");
        if close < end {
            uri[close] = 0;
        }
        (
            host_start + 1..close,
            find(uri, (close + 1).min(end), b":/"),
        )
    } else {
        let stop = find(uri, host_start, b":/");
        (host_start..stop, stop)
    };

    if uri.get(p) == Some(&b':') {
        uri[p] = 0;
        port = Some(atoi(&uri[p + 1..]));
        p = find(uri, p + 1, b"/");
    }

    let mut path = None;
    if p < end {
        uri[p] = 0;
        if p + 1 < end {
            path = Some(p + 1..end);
        }
    }
    UriParts {
        prot,
        ads,
        port,
        path,
    }
}

/// C's `atoi`: optional blanks and sign, then decimal digits up to the first
/// other byte (0 if none). Overflow wraps, as glibc's truncation does.
fn atoi(s: &[u8]) -> i32 {
    let s = &s[s
        .iter()
        .take_while(|b| b" \t\n\x0b\x0c\r".contains(b))
        .count()..];
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let value = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i32, |v, &d| {
            v.wrapping_mul(10).wrapping_add(i32::from(d - b'0'))
        });
    if negative {
        value.wrapping_neg()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `uri` and returns (prot, ads, port, path) as the C caller sees
    /// them: each part up to its NUL, path `"/"` when absent.
    fn parse(uri: &str) -> (String, String, Option<i32>, String) {
        let mut buf = uri.as_bytes().to_vec();
        let parts = parse_uri(&mut buf);
        let text = |r: Range<usize>| {
            let s = &buf[r];
            assert!(!s.contains(&0), "a part spans a NUL");
            String::from_utf8(s.to_vec()).unwrap()
        };
        // Each part must end at a NUL (or the end of the buffer) for C.
        for r in [
            Some(parts.prot.clone()),
            Some(parts.ads.clone()),
            parts.path.clone(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(r.end == buf.len() || buf[r.end] == 0);
        }
        let path = parts.path.clone().map_or_else(|| "/".to_owned(), &text);
        (text(parts.prot), text(parts.ads), parts.port, path)
    }

    fn owned(
        prot: &str,
        ads: &str,
        port: Option<i32>,
        path: &str,
    ) -> (String, String, Option<i32>, String) {
        (prot.to_owned(), ads.to_owned(), port, path.to_owned())
    }

    #[test]
    fn scheme_default_ports() {
        assert_eq!(
            parse("http://example.com/index.html"),
            owned("http", "example.com", Some(80), "index.html")
        );
        assert_eq!(parse("ws://h/x"), owned("ws", "h", Some(80), "x"));
        assert_eq!(
            parse("https://h/a/b?c=d"),
            owned("https", "h", Some(443), "a/b?c=d")
        );
        assert_eq!(parse("wss://h"), owned("wss", "h", Some(443), "/"));
        assert_eq!(parse("ftp://h/f"), owned("ftp", "h", None, "f"));
    }

    #[test]
    fn explicit_port_overrides() {
        assert_eq!(
            parse("http://h:8080/p"),
            owned("http", "h", Some(8080), "p")
        );
        assert_eq!(parse("foo://h:7681"), owned("foo", "h", Some(7681), "/"));
        assert_eq!(parse("wss://h:x/p"), owned("wss", "h", Some(0), "p"));
        assert_eq!(parse("ws://h:12ab/p"), owned("ws", "h", Some(12), "p"));
    }

    #[test]
    fn no_scheme_gives_empty_protocol() {
        assert_eq!(
            parse("localhost:7681/chat"),
            owned("", "localhost", Some(7681), "chat")
        );
        assert_eq!(parse("localhost"), owned("", "localhost", None, "/"));
        assert_eq!(parse(""), owned("", "", None, "/"));
        // A lone ':' without "//" is a port separator, not a scheme.
        assert_eq!(parse("http:/h"), owned("", "http", Some(0), "h"));
    }

    #[test]
    fn path_loses_its_leading_slash() {
        assert_eq!(parse("http://h/"), owned("http", "h", Some(80), "/"));
        assert_eq!(parse("http://h//x"), owned("http", "h", Some(80), "/x"));
        assert_eq!(parse("http://h:81/"), owned("http", "h", Some(81), "/"));
    }

    #[test]
    fn separators_become_nuls() {
        let mut buf = b"http://h:81/p".to_vec();
        parse_uri(&mut buf);
        assert_eq!(buf, b"http\0//h\081\0p");
    }

    #[test]
    fn ipv6_literals() {
        assert_eq!(
            parse("ws://[::1]:7681/x"),
            owned("ws", "::1", Some(7681), "x")
        );
        assert_eq!(
            parse("http://[fe80::1%eth0]/"),
            owned("http", "fe80::1%eth0", Some(80), "/")
        );
        assert_eq!(
            parse("https://[::1]"),
            owned("https", "::1", Some(443), "/")
        );
        assert_eq!(parse("[::1]:9"), owned("", "::1", Some(9), "/"));
        // Unterminated: the rest is the address.
        assert_eq!(parse("ws://[::1"), owned("ws", "::1", Some(80), "/"));
        assert_eq!(parse("ws://["), owned("ws", "", Some(80), "/"));
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi(b" +42x"), 42);
        assert_eq!(atoi(b"-7"), -7);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"99999999999"), 99_999_999_999_i64 as i32);
    }
}
