//! Request-target sanitising as lws 2.0 does it: the path is decoded and
//! resolved so it can be joined to a served directory without escaping it,
//! and the query is split into decoded arguments.

/// A target lws answers with 403: bad `%XX`, a decoded NUL, or a path not
/// starting with `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadUri;

/// Splits at the first `?`; an encoded one (`%3F`) belongs to the path.
pub fn split_target(target: &[u8]) -> (&[u8], Option<&[u8]>) {
    match target.iter().position(|&b| b == b'?') {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    }
}

/// The query's arguments, split on unencoded `&` and `;`, empty ones kept.
pub fn args(query: &[u8]) -> impl Iterator<Item = &[u8]> {
    query.split(|&b| b == b'&' || b == b';')
}

/// Appends the decoded, resolved `path` to `out`, at most `limit` bytes:
/// runs of `/` collapse, `.` segments vanish, `..` drops the segment before
/// it but never climbs above `/` (a trailing `/..` also drops the slash),
/// and an empty path becomes `/`. The result has no `.` or `..` segment.
pub fn normalise_path(path: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), BadUri> {
    let base = out.len();
    decode(path, |c, _| out.push(c))?;
    let end = out.len();
    if end == base {
        out.push(b'/');
    } else if out[base] != b'/' {
        return Err(BadUri);
    }

    // Compact in place: `w` (always just past a '/') never overtakes `r`.
    let (mut r, mut w) = (base + 1, base + 1);
    while r <= end {
        let seg_end = out[r..end]
            .iter()
            .position(|&b| b == b'/')
            .map_or(end, |i| r + i);
        let last = seg_end == end;
        match &out[r..seg_end] {
            b"" | b"." => {}
            b".." => {
                w = out[base..w - 1]
                    .iter()
                    .rposition(|&b| b == b'/')
                    .map_or(base + 1, |i| base + i + 1);
                if last && w > base + 1 {
                    w -= 1;
                }
            }
            _ => {
                out.copy_within(r..seg_end, w);
                w += seg_end - r;
                if !last {
                    out[w] = b'/';
                    w += 1;
                }
            }
        }
        r = seg_end + 1;
    }
    out.truncate(w);

    if out.len() - base > limit {
        out.truncate(base + limit);
        // Cutting "/..x" short must not leave a ".." segment behind.
        if let Some(slash) = out[base..].iter().rposition(|&b| b == b'/') {
            if matches!(&out[base + slash + 1..], b"." | b"..") {
                out.truncate(base + slash + 1);
            }
        }
    }
    Ok(())
}

/// Appends the decoded query argument `arg` to `out`. An encoded `=` before
/// the first literal one becomes `_`, so it cannot fake the name's end.
pub fn decode_arg(arg: &[u8], out: &mut Vec<u8>) -> Result<(), BadUri> {
    let mut named = false;
    decode(arg, |c, encoded| {
        out.push(match c {
            b'=' if !encoded => {
                named = true;
                c
            }
            b'=' if !named => b'_',
            _ => c,
        })
    })
}

/// Percent-decodes `raw`, unencoded `+` as space, handing each byte to
/// `emit` with whether it was `%XX`-encoded.
fn decode(raw: &[u8], mut emit: impl FnMut(u8, bool)) -> Result<(), BadUri> {
    let hex = |i: usize| {
        raw.get(i)
            .and_then(|&b| crate::util::escape::hex_value(b))
            .ok_or(BadUri)
    };
    let mut i = 0;
    while i < raw.len() {
        let (c, encoded) = match raw[i] {
            b'%' => {
                let c = hex(i + 1)? << 4 | hex(i + 2)?;
                i += 3;
                (c, true)
            }
            b'+' => {
                i += 1;
                (b' ', false)
            }
            c => {
                i += 1;
                (c, false)
            }
        };
        // C callers would see the path end early.
        if c == 0 {
            return Err(BadUri);
        }
        emit(c, encoded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(raw: &str) -> Result<String, BadUri> {
        path_limited(raw, usize::MAX)
    }

    fn path_limited(raw: &str, limit: usize) -> Result<String, BadUri> {
        let mut out = b"prefix".to_vec();
        normalise_path(raw.as_bytes(), limit, &mut out)?;
        assert!(out.starts_with(b"prefix"));
        Ok(String::from_utf8(out[6..].to_vec()).unwrap())
    }

    fn arg(raw: &str) -> Result<String, BadUri> {
        let mut out = Vec::new();
        decode_arg(raw.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn has_dot_segment(p: &str) -> bool {
        p.split('/').any(|s| s == "." || s == "..")
    }

    #[test]
    fn plain_paths_are_kept() {
        for p in [
            "/",
            "/a",
            "/a/b.html",
            "/a/",
            "/.x",
            "/a/.hidden/b",
            "/..x",
            "/a/...",
            "/a..b/c",
        ] {
            assert_eq!(path(p).as_deref(), Ok(p), "{p}");
        }
    }

    #[test]
    fn empty_path_is_root() {
        assert_eq!(path("").as_deref(), Ok("/"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(path("/a%20b").as_deref(), Ok("/a b"));
        assert_eq!(path("/%41%6a%6A").as_deref(), Ok("/Ajj"));
        assert_eq!(path("/%2Bplus").as_deref(), Ok("/+plus"));
        assert_eq!(path("/a%3Fb").as_deref(), Ok("/a?b"));
        assert_eq!(path("%2Fa").as_deref(), Ok("/a"));
    }

    #[test]
    fn bad_escapes_are_refused() {
        for p in ["/%", "/%4", "/%zz", "/%4g", "/a%2", "/%%41"] {
            assert_eq!(path(p), Err(BadUri), "{p}");
        }
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(path("/a%00b"), Err(BadUri));
        assert_eq!(arg("x=%00"), Err(BadUri));
    }

    #[test]
    fn plus_is_space_in_the_path() {
        assert_eq!(path("/a+b").as_deref(), Ok("/a b"));
    }

    #[test]
    fn must_start_with_slash() {
        for p in ["a", "http://host/a", "*", ".", "%41/"] {
            assert_eq!(path(p), Err(BadUri), "{p}");
        }
    }

    #[test]
    fn slashes_collapse() {
        assert_eq!(path("//").as_deref(), Ok("/"));
        assert_eq!(path("/a//b").as_deref(), Ok("/a/b"));
        assert_eq!(path("///a///b///").as_deref(), Ok("/a/b/"));
        assert_eq!(path("/a/%2f/b").as_deref(), Ok("/a/b"));
    }

    #[test]
    fn dot_segments_vanish() {
        assert_eq!(path("/./").as_deref(), Ok("/"));
        assert_eq!(path("/.").as_deref(), Ok("/"));
        assert_eq!(path("/a/./b").as_deref(), Ok("/a/b"));
        assert_eq!(path("/a/././b").as_deref(), Ok("/a/b"));
        assert_eq!(path("/a/.").as_deref(), Ok("/a/"));
    }

    #[test]
    fn dot_dot_drops_one_segment() {
        assert_eq!(path("/a/b/../c").as_deref(), Ok("/a/c"));
        assert_eq!(path("/a/b/c/../../d").as_deref(), Ok("/a/d"));
        assert_eq!(path("/a/b/../").as_deref(), Ok("/a/"));
        assert_eq!(path("/a/b/..").as_deref(), Ok("/a"));
        assert_eq!(path("/a/..").as_deref(), Ok("/"));
        assert_eq!(path("/a/b/..//c").as_deref(), Ok("/a/c"));
    }

    #[test]
    fn dot_dot_never_climbs_above_root() {
        for p in [
            "/..",
            "/../",
            "/../..",
            "/../../../../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc/passwd",
            "/.%2e/.%2E/etc/passwd",
            "/%2e./etc/passwd",
            "/a/b/../../../../../../etc/passwd",
            "//..//..//etc/passwd",
            "/./.././../etc/passwd",
            "/..%2f..%2f..%2fetc/passwd",
            "/a/..%2F..%2F..%2Fetc%2Fpasswd",
        ] {
            let p2 = path(p).unwrap();
            assert!(p2 == "/etc/passwd" || p2 == "/", "{p} -> {p2}");
        }
    }

    #[test]
    fn results_never_hold_dot_segments() {
        let pieces = ["/", ".", "..", "%2e", "%2f", "a", "+", "//"];
        let mut stack = vec![(String::new(), 0)];
        while let Some((p, depth)) = stack.pop() {
            if depth < 5 {
                for piece in pieces {
                    stack.push((format!("{p}{piece}"), depth + 1));
                }
            }
            let raw = format!("/{p}");
            let out = path(&raw).unwrap();
            assert!(
                out.starts_with('/') && !out.contains("//"),
                "{raw} -> {out}"
            );
            assert!(!has_dot_segment(&out), "{raw} -> {out}");
            for limit in 0..out.len() {
                let cut = path_limited(&raw, limit).unwrap();
                assert!(
                    cut.len() <= limit && !has_dot_segment(&cut),
                    "{raw} -> {cut}"
                );
            }
        }
    }

    #[test]
    fn limit_truncates_without_leaving_dot_dot() {
        assert_eq!(path_limited("/abcdef", 4).as_deref(), Ok("/abc"));
        assert_eq!(path_limited("/a/..x/b", 5).as_deref(), Ok("/a/"));
        assert_eq!(path_limited("/a/..x/b", 4).as_deref(), Ok("/a/"));
        assert_eq!(path_limited("/.x", 2).as_deref(), Ok("/"));
        assert_eq!(path_limited("/a", 0).as_deref(), Ok(""));
    }

    #[test]
    fn target_splits_at_first_question_mark() {
        assert_eq!(split_target(b"/a"), (&b"/a"[..], None));
        assert_eq!(split_target(b"/a?"), (&b"/a"[..], Some(&b""[..])));
        assert_eq!(split_target(b"/a?x=1?y"), (&b"/a"[..], Some(&b"x=1?y"[..])));
        assert_eq!(split_target(b"/a%3Fb?c"), (&b"/a%3Fb"[..], Some(&b"c"[..])));
        assert_eq!(split_target(b"?x"), (&b""[..], Some(&b"x"[..])));
    }

    #[test]
    fn args_split_on_unencoded_separators() {
        let split = |q: &'static str| args(q.as_bytes()).collect::<Vec<_>>();
        assert_eq!(split("x=1&y=2"), [&b"x=1"[..], b"y=2"]);
        assert_eq!(split("x=1;y=2"), [&b"x=1"[..], b"y=2"]);
        assert_eq!(split("a&&b&"), [&b"a"[..], b"", b"b", b""]);
        assert_eq!(split(""), [&b""[..]]);
        assert_eq!(split("x=%26&y"), [&b"x=%26"[..], b"y"]);
    }

    #[test]
    fn args_are_decoded() {
        assert_eq!(arg("q=a+b%2Bc").as_deref(), Ok("q=a b+c"));
        assert_eq!(arg("x=%26%3B").as_deref(), Ok("x=&;"));
        assert_eq!(arg("p=/../x").as_deref(), Ok("p=/../x"));
        assert_eq!(arg("x=%zz"), Err(BadUri));
        assert_eq!(arg("x=%2"), Err(BadUri));
    }

    #[test]
    fn encoded_equals_in_the_name_becomes_underscore() {
        assert_eq!(arg("a%3Db=c").as_deref(), Ok("a_b=c"));
        assert_eq!(arg("a%3db").as_deref(), Ok("a_b"));
        assert_eq!(arg("a=b%3Dc").as_deref(), Ok("a=b=c"));
        assert_eq!(arg("a=b=c").as_deref(), Ok("a=b=c"));
    }
}
