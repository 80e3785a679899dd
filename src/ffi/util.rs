//! Library-wide utilities: version, daemonizing, string and encoding helpers.

// The helpers not implemented yet keep their C parameter names.
#![allow(unused_variables)]

use std::borrow::Cow;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uchar, c_ulong, c_void};
use std::ptr;
use std::slice;
use std::time::{SystemTime, UNIX_EPOCH};

use super::guard;
use crate::plat::daemon;
use crate::util::{b64, digest, escape, uri};

/// LWS_LIBRARY_VERSION, a space and LWS_BUILD_HASH, as lws_config.h has them.
const LIBRARY_VERSION: &CStr = c"2.0.0 rust";

/// The `in_len` bytes at `input`, to read while the `len` bytes at `out` are
/// written; None if `out` is NULL, `len` negative or `input` NULL with bytes.
/// C callers may pass overlapping buffers (`lws_urldecode` in place is
/// documented), and Rust may not hold `&` and `&mut` to the same bytes, so an
/// overlapping input is copied first.
///
/// # Safety
/// Non-NULL pointers give `in_len` readable and `len` writable bytes.
unsafe fn in_out<'a>(
    input: *const u8,
    in_len: usize,
    out: *mut c_char,
    len: c_int,
) -> Option<(Cow<'a, [u8]>, &'a mut [u8])> {
    let len = usize::try_from(len).ok()?;
    if out.is_null() || (input.is_null() && in_len > 0) {
        return None;
    }
    let out = out.cast::<u8>();
    if in_len == 0 {
        // SAFETY: per this function's contract.
        return Some((Cow::Borrowed(&[]), unsafe {
            slice::from_raw_parts_mut(out, len)
        }));
    }
    let overlap =
        input < out.wrapping_add(len).cast_const() && out.cast_const() < input.wrapping_add(in_len);
    // SAFETY: per this function's contract.
    let read = unsafe { slice::from_raw_parts(input, in_len) };
    let input = if overlap {
        Cow::Owned(read.to_vec())
    } else {
        Cow::Borrowed(read)
    };
    // SAFETY: per this function's contract; a borrowed input shares no bytes with it.
    let out = unsafe { slice::from_raw_parts_mut(out, len) };
    Some((input, out))
}

/// [`in_out`] for the NUL-terminated string at `string` (without its NUL).
///
/// # Safety
/// `string` is NULL or a C string; a non-NULL `out` gives `len` writable bytes.
unsafe fn string_out<'a>(
    string: *const c_char,
    out: *mut c_char,
    len: c_int,
) -> Option<(Cow<'a, [u8]>, &'a mut [u8])> {
    if string.is_null() {
        return None;
    }
    // SAFETY: a non-NULL string is NUL-terminated.
    let in_len = unsafe { CStr::from_ptr(string) }.to_bytes().len();
    // SAFETY: the string's bytes are readable; the caller vouches for out.
    unsafe { in_out(string.cast(), in_len, out, len) }
}

/// The body of the escaping exports: they return `out`, or NULL for NULL
/// pointers or a negative `len`.
///
/// # Safety
/// As for [`string_out`].
unsafe fn escape_export(
    name: &str,
    out: *mut c_char,
    string: *const c_char,
    len: c_int,
    escape: fn(&[u8], &mut [u8]) -> usize,
) -> *const c_char {
    // SAFETY: per this function's contract.
    let Some((input, buf)) = (unsafe { string_out(string, out, len) }) else {
        return ptr::null();
    };
    guard(name, ptr::null(), || {
        escape(&input, buf);
        out.cast_const()
    })
}

/// URL-encodes `string` into `escaped` (at most `len` bytes with the NUL).
///
/// # Safety
/// `string` is a C string, `escaped` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_urlencode(
    escaped: *mut c_char,
    string: *const c_char,
    len: c_int,
) -> *const c_char {
    // SAFETY: per this function's contract.
    unsafe { escape_export("lws_urlencode", escaped, string, len, escape::urlencode) }
}

/// URL-decodes `escaped` into `string` (at most `len` bytes with the NUL;
/// the two may be the same buffer); 0, or -1 for a bad `%XX` escape.
///
/// # Safety
/// `escaped` is a C string, `string` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_urldecode(
    string: *mut c_char,
    escaped: *const c_char,
    len: c_int,
) -> c_int {
    // SAFETY: per this function's contract.
    let Some((input, out)) = (unsafe { string_out(escaped, string, len) }) else {
        return -1;
    };
    guard("lws_urldecode", -1, || {
        escape::urldecode(&input, out).map_or(-1, |_| 0)
    })
}

/// Copies `string` into `escaped` with each `'` doubled (at most `len` bytes
/// with the NUL).
///
/// # Safety
/// `string` is a C string, `escaped` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_sql_purify(
    escaped: *mut c_char,
    string: *const c_char,
    len: c_int,
) -> *const c_char {
    // SAFETY: per this function's contract.
    unsafe { escape_export("lws_sql_purify", escaped, string, len, escape::sql_purify) }
}

/// Copies `string` into `escaped` with `"`, `\`, control and non-ASCII bytes
/// as `\u00XX` (at most `len` bytes with the NUL); a NULL `string` gives "".
///
/// # Safety
/// `string` is NULL or a C string, `escaped` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_json_purify(
    escaped: *mut c_char,
    string: *const c_char,
    len: c_int,
) -> *const c_char {
    let string = if string.is_null() {
        c"".as_ptr()
    } else {
        string
    };
    // SAFETY: per this function's contract.
    unsafe { escape_export("lws_json_purify", escaped, string, len, escape::json_purify) }
}

/// Forks into the background guarded by the pid lock file `_lock_path`;
/// returns 0 in the daemon (see `plat::daemon`).
///
/// # Safety
/// `_lock_path` is NULL or a NUL-terminated path.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_daemonize(_lock_path: *const c_char) -> c_int {
    if _lock_path.is_null() {
        lwsl_err!("lws_daemonize: NULL lock path");
        return 1;
    }
    // SAFETY: a non-NULL lock path is a NUL-terminated string.
    let lock_path = unsafe { CStr::from_ptr(_lock_path) };
    guard("lws_daemonize", 1, || daemon::daemonize(lock_path))
}

/// lws_get_library_version's text.
pub(crate) fn library_version() -> &'static str {
    LIBRARY_VERSION.to_str().unwrap_or("2.0.0")
}

#[must_use]
#[no_mangle]
pub extern "C" fn lws_get_library_version() -> *const c_char {
    LIBRARY_VERSION.as_ptr()
}

/// Splits the URI at `p` in place into protocol, address, port and path (the
/// path without its leading `/`; "/" if there is none); 0, or -1 for NULL
/// arguments. `*port` is left alone unless the scheme or URI gives one.
///
/// # Safety
/// `p` is a writable C string; the other pointers are writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_parse_uri(
    p: *mut c_char,
    prot: *mut *const c_char,
    ads: *mut *const c_char,
    port: *mut c_int,
    path: *mut *const c_char,
) -> c_int {
    if p.is_null() || prot.is_null() || ads.is_null() || port.is_null() || path.is_null() {
        return -1;
    }
    // SAFETY: p is a C string the caller lets us modify.
    let len = unsafe { CStr::from_ptr(p) }.to_bytes().len();
    // SAFETY: as above; the slice stops before the NUL.
    let buf = unsafe { slice::from_raw_parts_mut(p.cast::<u8>(), len) };
    guard("lws_parse_uri", -1, || {
        let parts = uri::parse_uri(buf);
        // SAFETY: the out-pointers are writable, and every offset is at most
        // len, so each part points into the string (at worst at its NUL).
        unsafe {
            *prot = p.add(parts.prot.start);
            *ads = p.add(parts.ads.start);
            if let Some(n) = parts.port {
                *port = n;
            }
            *path = parts.path.map_or(c"/".as_ptr(), |r| p.add(r.start));
        }
        0
    })
}

#[no_mangle]
pub extern "C" fn lws_now_secs() -> c_ulong {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs() as c_ulong
}

/// Installs `realloc` for the memory the library allocates on the
/// application's behalf: per-session data, `lws_protocol_vh_priv_zalloc`
/// blocks, the connection state behind each `struct lws *` and the file
/// buffers PROCESS_HTML rewrites. It gets realloc's arguments: (NULL, size)
/// allocates, (ptr, 0) frees. NULL goes back to malloc. Each block is
/// freed by the function that allocated it, so blocks made before a change
/// stay valid. When it returns NULL the connection needing the memory is
/// refused or closed (logged at ERR), and `lws_protocol_vh_priv_zalloc`
/// returns NULL. The library calls it from its service threads.
#[no_mangle]
pub extern "C" fn lws_set_allocator(
    realloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
) {
    guard("lws_set_allocator", (), || crate::plat::alloc::set(realloc))
}

/// Writes the SHA-1 digest of the `n` bytes at `d` to the 20 bytes at `md`;
/// returns `md`, or NULL for NULL arguments.
///
/// # Safety
/// `d` has `n` readable bytes (or `n` is 0), `md` has 20 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_SHA1(d: *const c_uchar, n: usize, md: *mut c_uchar) -> *mut c_uchar {
    if md.is_null() || (d.is_null() && n > 0) {
        return ptr::null_mut();
    }
    // SAFETY: per this function's contract.
    let data = if n == 0 {
        &[][..]
    } else {
        unsafe { slice::from_raw_parts(d, n) }
    };
    guard("lws_SHA1", ptr::null_mut(), || {
        let sum = digest::sha1(data);
        // SAFETY: md has room for the digest, a local copy, so md may even
        // overlap d.
        unsafe { ptr::copy_nonoverlapping(sum.as_ptr(), md, sum.len()) };
        md
    })
}

/// Base64-encodes the `in_len` bytes at `in` into `out` with a NUL; returns
/// the length, or -1 if `out_size` is too small or an argument is bad.
///
/// # Safety
/// `in` has `in_len` readable bytes, `out` has `out_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_b64_encode_string(
    r#in: *const c_char,
    in_len: c_int,
    out: *mut c_char,
    out_size: c_int,
) -> c_int {
    let Ok(in_len) = usize::try_from(in_len) else {
        return -1;
    };
    // SAFETY: per this function's contract.
    let Some((input, buf)) = (unsafe { in_out(r#in.cast(), in_len, out, out_size) }) else {
        return -1;
    };
    // The length is below out_size, so it fits.
    guard("lws_b64_encode_string", -1, || {
        b64::encode(&input, buf).map_or(-1, |n| n as c_int)
    })
}

/// Base64-decodes the C string `in` into `out` with a NUL, skipping bytes
/// outside the alphabet; returns the length, or -1 if `out_size` is too small
/// or an argument is bad.
///
/// # Safety
/// `in` is a C string, `out` has `out_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_b64_decode_string(
    r#in: *const c_char,
    out: *mut c_char,
    out_size: c_int,
) -> c_int {
    // SAFETY: per this function's contract.
    let Some((input, buf)) = (unsafe { string_out(r#in, out, out_size) }) else {
        return -1;
    };
    // The length is below out_size, so it fits.
    guard("lws_b64_decode_string", -1, || {
        b64::decode(&input, buf).map_or(-1, |n| n as c_int)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: *const c_char) -> &'static str {
        // SAFETY: the tests only pass C strings that outlive them.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap()
    }

    #[test]
    fn urldecode_in_place() {
        let mut buf = *b"a%20b+c%41\0";
        let p = buf.as_mut_ptr().cast::<c_char>();
        // SAFETY: p is a C string in a buffer of buf.len() bytes.
        assert_eq!(unsafe { lws_urldecode(p, p, buf.len() as c_int) }, 0);
        assert_eq!(text(p), "a b cA");
        // Output starting before the input, within the same buffer.
        let mut buf = *b"xx%41%42\0";
        let p = buf.as_mut_ptr().cast::<c_char>();
        // SAFETY: as above; the input starts 2 bytes in.
        assert_eq!(unsafe { lws_urldecode(p, p.add(2), 8) }, 0);
        assert_eq!(text(p), "AB");
    }

    #[test]
    fn bad_arguments_get_the_failure_value() {
        let mut out = [0 as c_char; 8];
        let o = out.as_mut_ptr();
        // SAFETY: NULL pointers and negative lengths are rejected before use.
        unsafe {
            assert!(lws_urlencode(o, ptr::null(), 8).is_null());
            assert!(lws_urlencode(ptr::null_mut(), c"a".as_ptr(), 8).is_null());
            assert!(lws_sql_purify(o, c"a".as_ptr(), -1).is_null());
            assert_eq!(lws_urldecode(o, c"%zz".as_ptr(), 8), -1);
            assert_eq!(lws_urldecode(o, ptr::null(), 8), -1);
            assert_eq!(lws_b64_encode_string(c"a".as_ptr(), -1, o, 8), -1);
            assert_eq!(lws_b64_decode_string(ptr::null(), o, 8), -1);
            assert!(lws_SHA1(ptr::null(), 1, o.cast()).is_null());
            let mut s: *const c_char = ptr::null();
            assert_eq!(
                lws_parse_uri(ptr::null_mut(), &mut s, &mut s, &mut 0, &mut s),
                -1
            );
        }
    }

    #[test]
    fn escapers_return_out_and_json_takes_null() {
        let mut out = [0x55 as c_char; 16];
        let o = out.as_mut_ptr();
        // SAFETY: out has 16 writable bytes.
        unsafe {
            assert_eq!(lws_json_purify(o, ptr::null(), 16), o.cast_const());
            assert_eq!(text(o), "");
            assert_eq!(lws_sql_purify(o, c"a'b".as_ptr(), 16), o.cast_const());
            assert_eq!(text(o), "a''b");
            assert_eq!(lws_urlencode(o, c"a b/".as_ptr(), 16), o.cast_const());
            assert_eq!(text(o), "a+b%2F");
            // len 0 writes nothing at all.
            assert_eq!(lws_urlencode(o, c"zz".as_ptr(), 0), o.cast_const());
            assert_eq!(text(o), "a+b%2F");
        }
    }

    #[test]
    fn parse_uri_points_into_the_string() {
        let mut uri = *b"wss://host:9000/path/x\0";
        let p = uri.as_mut_ptr().cast::<c_char>();
        let (mut prot, mut ads, mut path) = (ptr::null(), ptr::null(), ptr::null());
        let mut port = -5;
        // SAFETY: p is a writable C string, the rest are locals.
        assert_eq!(
            unsafe { lws_parse_uri(p, &mut prot, &mut ads, &mut port, &mut path) },
            0
        );
        assert_eq!(
            (text(prot), text(ads), port, text(path)),
            ("wss", "host", 9000, "path/x")
        );

        let mut uri = *b"host\0";
        let p = uri.as_mut_ptr().cast::<c_char>();
        // SAFETY: as above.
        assert_eq!(
            unsafe { lws_parse_uri(p, &mut prot, &mut ads, &mut port, &mut path) },
            0
        );
        assert_eq!(
            (text(prot), text(ads), port, text(path)),
            ("", "host", 9000, "/")
        );
    }

    #[test]
    fn sha1_and_base64() {
        let mut md = [0u8; 20];
        // SAFETY: "abc" has 3 bytes, md 20.
        assert_eq!(
            unsafe { lws_SHA1(b"abc".as_ptr(), 3, md.as_mut_ptr()) },
            md.as_mut_ptr()
        );
        assert_eq!(md[..4], [0xa9, 0x99, 0x3e, 0x36]);

        let mut out = [0 as c_char; 16];
        let o = out.as_mut_ptr();
        // SAFETY: out has 16 writable bytes.
        unsafe {
            assert_eq!(lws_b64_encode_string(c"fo".as_ptr(), 2, o, 16), 4);
            assert_eq!(text(o), "Zm8=");
            assert_eq!(lws_b64_encode_string(ptr::null(), 0, o, 16), 0);
            assert_eq!(lws_b64_decode_string(c"Zm9v\nYmE=".as_ptr(), o, 16), 5);
            assert_eq!(text(o), "fooba");
            assert_eq!(lws_b64_decode_string(c"Zm9vYmE=".as_ptr(), o, 5), -1);
        }
    }
}
