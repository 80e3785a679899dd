//! `lws_get_mimetype`: a file's MIME type from its name's suffix.

/// The original's built-in table, in its order. Types are stored with a
/// trailing NUL so the C API can return them as C strings; the list is kept
/// exactly as lws 2.0 has it, because a name it does not know must still
/// reach the application's HTTP callback.
const BUILTIN: &[(&[u8], &[u8])] = &[
    (b".ico", b"image/x-icon\0"),
    (b".gif", b"image/gif\0"),
    (b".js", b"text/javascript\0"),
    (b".png", b"image/png\0"),
    (b".jpg", b"image/jpeg\0"),
    (b".gz", b"application/gzip\0"),
    (b".JPG", b"image/jpeg\0"),
    (b".html", b"text/html\0"),
    (b".css", b"text/css\0"),
    (b".txt", b"text/plain\0"),
    (b".ttf", b"application/x-font-ttf\0"),
    (b".woff", b"application/font-woff\0"),
    (b".xml", b"application/xml\0"),
];

/// The MIME type lws 2.0 gives `file`, or `None`.
///
/// Names shorter than 5 bytes have none. Otherwise the built-ins are tried
/// (case-sensitive suffixes), then `extra` in order (a mount's
/// `extra_mimetypes` as `(name, value)`): a name starting with `*` matches any
/// file, as the original only looks at the first byte; any other name is a
/// suffix (so an empty name matches everything too).
///
/// The result is either one of the `extra` values or a built-in whose next
/// byte in memory is a NUL, so a caller that passes C strings as `extra` can
/// hand the slice's pointer to C unchanged.
pub fn mimetype<'a, 'n>(
    file: &[u8],
    extra: impl IntoIterator<Item = (&'n [u8], &'a [u8])>,
) -> Option<&'a [u8]> {
    if file.len() < 5 {
        return None;
    }
    if let Some((_, ty)) = BUILTIN.iter().find(|(suffix, _)| file.ends_with(suffix)) {
        return Some(&ty[..ty.len() - 1]);
    }
    extra
        .into_iter()
        .find(|(name, _)| name.first() == Some(&b'*') || file.ends_with(name))
        .map(|(_, ty)| ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [(&[u8], &[u8]); 0] = [];

    fn builtin(file: &str) -> Option<&'static str> {
        mimetype(file.as_bytes(), NONE).map(|t| std::str::from_utf8(t).unwrap())
    }

    #[test]
    fn every_builtin() {
        let cases = [
            ("a.ico", "image/x-icon"),
            ("a.gif", "image/gif"),
            ("ab.js", "text/javascript"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.JPG", "image/jpeg"),
            ("ab.gz", "application/gzip"),
            ("a.html", "text/html"),
            ("a.css", "text/css"),
            ("a.txt", "text/plain"),
            ("a.ttf", "application/x-font-ttf"),
            ("a.woff", "application/font-woff"),
            ("a.xml", "application/xml"),
            ("/dir/index.html", "text/html"),
        ];
        for (file, ty) in cases {
            assert_eq!(builtin(file), Some(ty), "{file}");
        }
    }

    #[test]
    fn builtins_are_nul_terminated_statics() {
        for (suffix, full) in BUILTIN {
            let file = [b"name", *suffix].concat();
            let ty = mimetype(&file, NONE).unwrap();
            assert_eq!(ty.as_ptr(), full.as_ptr());
            assert_eq!(ty.len(), full.len() - 1);
            assert_eq!(full.last(), Some(&0));
        }
    }

    #[test]
    fn matching_is_case_sensitive_and_suffix_only() {
        assert_eq!(builtin("a.PNG"), None);
        assert_eq!(builtin("a.Html"), None);
        assert_eq!(builtin("a.jpeg"), None);
        assert_eq!(builtin("a.png.bak"), None);
        assert_eq!(builtin("apng"), None);
    }

    #[test]
    fn names_under_five_bytes_have_no_type() {
        assert_eq!(builtin(".css"), None);
        assert_eq!(builtin("a.js"), None);
        assert_eq!(builtin(""), None);
        assert_eq!(builtin("a.css"), Some("text/css"));
        assert_eq!(builtin("ab.js"), Some("text/javascript"));
        // Even a catch-all extra entry does not apply to short names.
        assert_eq!(mimetype(b"a.js", [(&b"*"[..], &b"x/y"[..])]), None);
    }

    #[test]
    fn unknown_suffixes_have_no_builtin_type() {
        for file in ["a.svg", "a.json", "a.wasm", "a.mjs", "a.htm", "README"] {
            assert_eq!(builtin(file), None, "{file}");
        }
    }

    #[test]
    fn extra_types_in_order_after_builtins() {
        let extra: [(&[u8], &[u8]); 3] = [
            (b".zip", b"application/zip"),
            (b".html", b"never/used"),
            (b"p", b"x/p"),
        ];
        let ty = |f: &str| mimetype(f.as_bytes(), extra.iter().copied());
        assert_eq!(ty("a.zip"), Some(&b"application/zip"[..]));
        // Built-ins win over the mount's list.
        assert_eq!(ty("a.html"), Some(&b"text/html"[..]));
        // A bare suffix, not necessarily after a dot.
        assert_eq!(ty("dump"), None);
        assert_eq!(ty("a.dump"), Some(&b"x/p"[..]));
        assert_eq!(ty("a.rar"), None);
        // Longer than the file name: no match.
        assert_eq!(mimetype(b"a.zip", [(&b"xx.zip"[..], &b"x/y"[..])]), None);
    }

    #[test]
    fn star_and_empty_names_match_anything() {
        let extra: [(&[u8], &[u8]); 2] = [(b".zip", b"application/zip"), (b"*", b"x/any")];
        let ty = |f: &str| mimetype(f.as_bytes(), extra.iter().copied());
        assert_eq!(ty("a.zip"), Some(&b"application/zip"[..]));
        assert_eq!(ty("a.rar"), Some(&b"x/any"[..]));
        assert_eq!(ty("a.css"), Some(&b"text/css"[..]));
        // Only the first byte is looked at, as in the original.
        assert_eq!(
            mimetype(b"a.rar", [(&b"*.zip"[..], &b"z"[..])]),
            Some(&b"z"[..])
        );
        assert_eq!(mimetype(b"a.rar", [(&b""[..], &b"e"[..])]), Some(&b"e"[..]));
    }
}
