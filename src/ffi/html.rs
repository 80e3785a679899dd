//! `lws_chunked_html_process`: the C boundary of `http::html_subst`.
//!
//! The C state (`struct lws_process_html_state`) is the application's and
//! carries what one call holds back for the next: the start of a variable
//! name the piece ended inside of, in `swallow[0..pos]`.

use std::cell::Cell;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use super::guard;
use super::types::{lws_process_html_args, lws_process_html_state};
use crate::http::html_subst::{self, Vars, MAX_NAME};

/// What the last successful call on a thread framed, so the library's own
/// PROCESS_HTML caller knows the application's handler did the chunk
/// framing (see `callback::process_html`).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Framed {
    /// the `args` it was given
    args: usize,
    /// what it left in `args->p` / `args->len`
    p: usize,
    len: usize,
    /// the data between the chunk-size line and the trailer
    data: (usize, usize),
}

const NOT_FRAMED: Framed = Framed {
    args: 0,
    p: 0,
    len: 0,
    data: (0, 0),
};

thread_local! {
    static FRAMED: Cell<Framed> = const { Cell::new(NOT_FRAMED) };
}

/// Forgets what was framed (before handing `args` to a PROCESS_HTML
/// handler).
pub(crate) fn clear_framed() {
    FRAMED.with(|f| f.set(NOT_FRAMED));
}

/// When `lws_chunked_html_process` framed `args` since `clear_framed` and
/// the handler left its output as it was: where the data lies within
/// `args->p[0..args->len]`, without the chunk framing.
pub(crate) fn framed_data(args: &lws_process_html_args) -> Option<std::ops::Range<usize>> {
    let f = FRAMED.with(Cell::get);
    let same = f.args == args as *const _ as usize
        && f.p == args.p as usize
        && usize::try_from(args.len).ok() == Some(f.len);
    same.then_some(f.data.0..f.data.0 + f.data.1)
}

/// Substitutes the state's variables in the `args->len` bytes at `args->p`
/// and frames the result as one HTTP/1.1 chunk: the chunk-size line is
/// written in the (at most 10) bytes before `args->p`, which moves back to
/// it, the data follows and then CRLF, or with `args->final` CRLF and the
/// closing `0` chunk; `args->len` becomes the length of it all, to be sent
/// with `lws_write(..., LWS_WRITE_HTTP)`. A piece that is not the last and
/// whose output is all held back gives `args->len` 0 (nothing to send).
///
/// The variables are `s->vars[0..s->count_vars]`, names including their
/// `$` (`"$name"`, or `"${name}"` for that spelling), at most 16 bytes; for
/// each one found `s->replace(s->data, index)` gives its text (NULL is sent
/// as `NULL`, as the original did), which is not scanned again. When names
/// share a prefix the longest that matches wins. A name split between two
/// calls is kept in `s->swallow` / `s->pos`, so zero the state before the
/// first piece of each document.
///
/// The output must fit in `args->max_len` bytes from the original
/// `args->p` (data and trailer, the chunk-size line going before it);
/// returns 0, or -1 (logged) when it does not or on bad arguments.
///
/// # Safety
/// `args` and `s` are NULL or valid; `args->p` has `args->max_len`
/// writable bytes, the first `args->len` of them the input, and 10 writable
/// bytes before it; `s->vars` has `s->count_vars` C strings (or NULLs).
#[no_mangle]
pub unsafe extern "C" fn lws_chunked_html_process(
    args: *mut lws_process_html_args,
    s: *mut lws_process_html_state,
) -> c_int {
    if args.is_null() || s.is_null() {
        lwsl_err!("lws_chunked_html_process: NULL argument");
        return -1;
    }
    guard("lws_chunked_html_process", -1, || {
        // SAFETY: per this function's contract.
        unsafe { process(args, s) }
    })
}

/// # Safety
/// As `lws_chunked_html_process`, with both pointers non-NULL.
unsafe fn process(args: *mut lws_process_html_args, s: *mut lws_process_html_state) -> c_int {
    // SAFETY: non-NULL and valid per the contract; copied out so no
    // reference to C memory is held while the replace callback runs.
    let (p, len, max_len, last) = unsafe {
        let a = &*args;
        (a.p, a.len, a.max_len, a.r#final != 0)
    };
    let (Ok(len), Ok(max_len)) = (usize::try_from(len), usize::try_from(max_len)) else {
        lwsl_err!("lws_chunked_html_process: negative len {len} or max_len {max_len}");
        return -1;
    };
    if p.is_null() || len > max_len {
        lwsl_err!("lws_chunked_html_process: no buffer, or len {len} > max_len {max_len}");
        return -1;
    }
    // SAFETY: the state is valid per the contract; fields are read by value.
    let (data, vars_ptr, count, replace, pos, swallow) = unsafe {
        let st = &*s;
        (
            st.data,
            st.vars,
            st.count_vars,
            st.replace,
            st.pos,
            st.swallow,
        )
    };
    let held: Vec<u8> = swallow[..usize::try_from(pos).unwrap_or(0).min(MAX_NAME)]
        .iter()
        .map(|&c| c as u8)
        .collect();
    let count = usize::try_from(count).unwrap_or(0);
    let mut names = Vec::with_capacity(count);
    if !vars_ptr.is_null() && replace.is_some() {
        for i in 0..count {
            // SAFETY: `vars` has `count_vars` entries, each NULL or a C string
            // that outlives the call.
            let name = unsafe { *vars_ptr.add(i) };
            names.push(if name.is_null() {
                &[][..]
            } else {
                // SAFETY: as above.
                unsafe { CStr::from_ptr(name) }.to_bytes()
            });
        }
    }
    let vars = Vars::new(names);
    // SAFETY: `p` has `len` readable bytes; the slice is not used once the
    // output is written back below.
    let input = unsafe { std::slice::from_raw_parts(p.cast::<u8>().cast_const(), len) };
    let mut out = Vec::new();
    let held = html_subst::substitute(&vars, &held, input, last, &mut out, |i, o| {
        let text = match replace {
            // SAFETY: the application's callback, given its own data and
            // an index below count_vars; it returns NULL or a C string.
            Some(cb) => unsafe { cb(data, i as c_int) },
            None => std::ptr::null(),
        };
        if text.is_null() {
            o.extend_from_slice(b"NULL");
        } else {
            // SAFETY: a C string the callback returned.
            o.extend_from_slice(unsafe { CStr::from_ptr(text) }.to_bytes());
        }
    });
    let (head, trailer) = html_subst::framing(out.len(), last);
    if out.len() + trailer.len() > max_len || c_int::try_from(out.len()).is_err() {
        lwsl_err!(
            "lws_chunked_html_process: {} bytes of output do not fit max_len {max_len}",
            out.len() + trailer.len()
        );
        return -1;
    }
    let total = head.len() + out.len() + trailer.len();
    // SAFETY: the contract gives MAX_HEAD (>= head.len()) writable bytes
    // before `p` and `max_len` from it, which the check above keeps within;
    // the input slice is dead.
    let start = unsafe {
        let start = p.cast::<u8>().sub(head.len());
        let buf = std::slice::from_raw_parts_mut(start, total);
        buf[..head.len()].copy_from_slice(head.as_bytes());
        buf[head.len()..head.len() + out.len()].copy_from_slice(&out);
        buf[head.len() + out.len()..].copy_from_slice(trailer);
        start
    };
    // SAFETY: both structures are valid and writable per the contract.
    unsafe {
        let a = &mut *args;
        a.p = start.cast::<c_char>();
        a.len = total as c_int;
        let st = &mut *s;
        st.start = a.p;
        st.swallow = [0; MAX_NAME];
        for (d, &b) in st.swallow.iter_mut().zip(&held) {
            *d = b as c_char;
        }
        st.pos = held.len() as c_int;
    }
    FRAMED.with(|f| {
        f.set(Framed {
            args: args as usize,
            p: start as usize,
            len: total,
            data: (head.len(), out.len()),
        })
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::raw::c_void;

    unsafe extern "C" fn replace(data: *mut c_void, index: c_int) -> *const c_char {
        // data counts the calls
        unsafe { *data.cast::<c_int>() += 1 };
        match index {
            0 => c"ALICE".as_ptr(),
            1 => c"a much longer replacement than the name".as_ptr(),
            _ => std::ptr::null(),
        }
    }

    /// Runs `text` through the C entry in pieces of `size`, de-chunking the
    /// output; each piece sits in its own buffer with LWS_PRE-like headroom.
    fn through(text: &[u8], size: usize) -> (Vec<u8>, c_int) {
        let vars = [c"$user".as_ptr(), c"${long}".as_ptr(), c"$null".as_ptr()];
        let mut calls: c_int = 0;
        let mut st = lws_process_html_state {
            start: std::ptr::null_mut(),
            swallow: [0; 16],
            pos: 0,
            data: (&mut calls as *mut c_int).cast(),
            vars: vars.as_ptr(),
            count_vars: 3,
            replace: Some(replace),
        };
        let (mut wire, mut plain) = (Vec::new(), Vec::new());
        let pieces: Vec<&[u8]> = if text.is_empty() {
            vec![&[][..]]
        } else {
            text.chunks(size).collect()
        };
        for (k, piece) in pieces.iter().enumerate() {
            let mut buf = vec![0u8; 16 + piece.len() + 256];
            buf[16..16 + piece.len()].copy_from_slice(piece);
            let mut a = lws_process_html_args {
                p: buf[16..].as_mut_ptr().cast(),
                len: piece.len() as c_int,
                max_len: (piece.len() + 256) as c_int,
                r#final: c_int::from(k + 1 == pieces.len()),
            };
            assert_eq!(unsafe { lws_chunked_html_process(&mut a, &mut st) }, 0);
            let data = framed_data(&a).expect("framed");
            let at = a.p as usize - buf.as_ptr() as usize;
            assert!(at <= 16);
            let framed = &buf[at..at + a.len as usize];
            wire.extend_from_slice(framed);
            plain.extend_from_slice(&framed[data]);
        }
        let out = dechunk(&wire);
        assert_eq!(out, plain);
        (out, calls)
    }

    fn dechunk(mut wire: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let eol = wire
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("size line");
            let n = usize::from_str_radix(std::str::from_utf8(&wire[..eol]).unwrap(), 16).unwrap();
            assert!(
                n > 0 || &wire[eol..] == b"\r\n\r\n",
                "0 chunk only at the end"
            );
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&wire[eol + 2..eol + 2 + n]);
            assert_eq!(&wire[eol + 2 + n..eol + 4 + n], b"\r\n");
            wire = &wire[eol + 4 + n..];
        }
    }

    #[test]
    fn substitutes_and_frames_in_every_piece_size() {
        let page = b"<p>$user / ${long} / $null / $us / $</p>";
        let want: &[u8] =
            b"<p>ALICE / a much longer replacement than the name / NULL / $us / $</p>";
        for size in 1..=page.len() {
            let (out, calls) = through(page, size);
            assert_eq!(out, want, "size {size}");
            assert_eq!(calls, 3);
        }
        assert_eq!(through(b"", 1).0, b"");
    }

    #[test]
    fn bad_arguments_and_no_room_fail() {
        assert_eq!(
            unsafe { lws_chunked_html_process(std::ptr::null_mut(), std::ptr::null_mut()) },
            -1
        );
        let vars = [c"$user".as_ptr()];
        let mut st = lws_process_html_state {
            start: std::ptr::null_mut(),
            swallow: [0; 16],
            pos: 0,
            data: std::ptr::null_mut(),
            vars: vars.as_ptr(),
            count_vars: 1,
            replace: None,
        };
        let mut buf = *b"0123456789$user";
        let mut a = lws_process_html_args {
            p: buf[10..].as_mut_ptr().cast(),
            len: 5,
            max_len: 6, // no room for the trailer
            r#final: 0,
        };
        clear_framed();
        assert_eq!(unsafe { lws_chunked_html_process(&mut a, &mut st) }, -1);
        assert!(framed_data(&a).is_none());
        a.max_len = 7;
        a.r#final = 1;
        // final needs 7 more; without a replace callback nothing is substituted
        assert_eq!(unsafe { lws_chunked_html_process(&mut a, &mut st) }, -1);
        a.len = -1;
        assert_eq!(unsafe { lws_chunked_html_process(&mut a, &mut st) }, -1);
    }
}
