//! Form parsing (`lws_spa_*`) and CGI.
//!
//! The form parser is the core's `http::forms`; this is its C boundary: the
//! `struct lws_spa *` handle, names converted once at creation, the upload
//! callback. CGI arrives with its milestone (see the README's compatibility
//! table): those exports report themselves as not yet implemented and
//! return the API's failure value. (HTML processing is `ffi::html`.)

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::ptr;

use super::enums::{lws_spa_fileupload_states, SpaFileuploadState};
use super::guard;
use super::types::{lws, lws_spa, lws_spa_fileupload_cb};
use crate::http::forms::{Encoding, FileEvent, Form, FormError};
use crate::http::tokens;

// ------------------------------------------------------------- lws_spa_*

/// File content reaches the callback in pieces of at most this size, copied
/// into a buffer of ours (the callback gets a writable `char *`).
const UPLOAD_PIECE: usize = 4096;

/// What `struct lws_spa *` points at: a `Box` made by `lws_spa_create`.
struct Spa {
    /// Borrowed mutably only while `lws_spa_process` runs (and with it the
    /// upload callback), so calls the callback makes on its own parser see
    /// it busy instead of aliasing it.
    inner: RefCell<SpaInner>,
    /// A destroy from inside the upload callback, carried out when process
    /// returns.
    destroy_requested: Cell<bool>,
}

struct SpaInner {
    form: Form,
    upload: Upload,
    truncation_logged: bool,
}

/// The application's upload callback and what it is given.
struct Upload {
    cb: lws_spa_fileupload_cb,
    data: *mut c_void,
    /// The open file part's name and filename, as the callback gets them.
    part: Option<(CString, CString)>,
    piece: Vec<u8>,
}

const UFS_CONTENT: SpaFileuploadState =
    SpaFileuploadState(lws_spa_fileupload_states::LWS_UFS_CONTENT as c_uint);
const UFS_FINAL_CONTENT: SpaFileuploadState =
    SpaFileuploadState(lws_spa_fileupload_states::LWS_UFS_FINAL_CONTENT as c_uint);
const UFS_OPEN: SpaFileuploadState =
    SpaFileuploadState(lws_spa_fileupload_states::LWS_UFS_OPEN as c_uint);

impl Upload {
    /// Runs the callback for one parser event; a negative return refuses.
    fn event(&mut self, ev: FileEvent<'_>) -> Result<(), ()> {
        let Some(cb) = self.cb else {
            return Ok(()); // no callback: file parts are skipped
        };
        let (mut rest, last) = match ev {
            FileEvent::Open { name, filename } => {
                // (the parser refuses NULs in part headers)
                let c = |s: &[u8]| CString::new(s).unwrap_or_default();
                let (name, filename) = self.part.insert((c(name), c(filename)));
                // SAFETY: the application's callback, given C strings.
                let r = unsafe {
                    cb(
                        self.data,
                        name.as_ptr(),
                        filename.as_ptr(),
                        ptr::null_mut(),
                        0,
                        UFS_OPEN,
                    )
                };
                return if r < 0 { Err(()) } else { Ok(()) };
            }
            FileEvent::Content { data, last } => (data, last),
        };
        let Some((name, filename)) = &self.part else {
            return Err(());
        };
        loop {
            let (piece, tail) = rest.split_at(rest.len().min(UPLOAD_PIECE));
            rest = tail;
            let state = if last && rest.is_empty() {
                UFS_FINAL_CONTENT
            } else {
                UFS_CONTENT
            };
            self.piece.clear();
            self.piece.extend_from_slice(piece);
            self.piece.push(0);
            // SAFETY: as above; the buffer has len + 1 writable bytes.
            let r = unsafe {
                cb(
                    self.data,
                    name.as_ptr(),
                    filename.as_ptr(),
                    self.piece.as_mut_ptr().cast(),
                    piece.len() as c_int,
                    state,
                )
            };
            if r < 0 {
                return Err(());
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
    }
}

/// # Safety
/// `spa` is NULL or a live handle from `lws_spa_create`.
unsafe fn spa_ref<'a>(spa: *mut lws_spa) -> Option<&'a Spa> {
    // SAFETY: such a pointer is a leaked Box<Spa>.
    unsafe { spa.cast::<Spa>().as_ref() }
}

/// A form parser for the body of `wsi`'s request, by its Content-Type:
/// `multipart/form-data; boundary=...`, else urlencoded. The values of the
/// `count_params` names (matched exactly) share `max_storage` bytes; file
/// parts go to `opt_cb` (skipped without one). NULL on bad arguments or a
/// multipart Content-Type without a usable boundary.
///
/// # Safety
/// `wsi` is NULL or a live connection; `param_names` NULL or
/// `count_params` pointers, each NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lws_spa_create(
    wsi: *mut lws,
    param_names: *const *const c_char,
    count_params: c_int,
    max_storage: c_int,
    opt_cb: lws_spa_fileupload_cb,
    opt_data: *mut c_void,
) -> *mut lws_spa {
    guard("lws_spa_create", ptr::null_mut(), || {
        let (Ok(count), Ok(max)) = (usize::try_from(count_params), usize::try_from(max_storage))
        else {
            lwsl_err!("lws_spa_create: negative count_params or max_storage");
            return ptr::null_mut();
        };
        let Some(conn) = super::handle::conn("lws_spa_create", wsi) else {
            return ptr::null_mut();
        };
        if param_names.is_null() && count > 0 {
            lwsl_err!("lws_spa_create: NULL param_names");
            return ptr::null_mut();
        }
        let mut names = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: `param_names` has `count` entries (our contract).
            let name = unsafe { *param_names.add(i) };
            if name.is_null() {
                lwsl_err!("lws_spa_create: param_names[{i}] is NULL");
                return ptr::null_mut();
            }
            // SAFETY: a C string (our contract).
            names.push(unsafe { CStr::from_ptr(name) }.to_bytes().to_vec());
        }
        let ct = crate::conn::http::header_text(&conn, tokens::WSI_TOKEN_HTTP_CONTENT_TYPE);
        let encoding = match Encoding::from_content_type(ct.as_deref()) {
            Ok(e) => e,
            Err(e) => {
                lwsl_err!("lws_spa_create: {e}");
                return ptr::null_mut();
            }
        };
        new_spa(Form::new(encoding, names, max), opt_cb, opt_data)
    })
}

fn new_spa(form: Form, cb: lws_spa_fileupload_cb, data: *mut c_void) -> *mut lws_spa {
    let spa = Spa {
        inner: RefCell::new(SpaInner {
            form,
            upload: Upload {
                cb,
                data,
                part: None,
                piece: Vec::new(),
            },
            truncation_logged: false,
        }),
        destroy_requested: Cell::new(false),
    };
    Box::into_raw(Box::new(spa)).cast()
}

/// Parses the next `len` bytes of the body (split anywhere): 0, or -1 on a
/// malformed body, a refusing upload callback or bad arguments - and -1 from
/// then on.
///
/// # Safety
/// `spa` is NULL or live; `in` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_spa_process(
    spa: *mut lws_spa,
    r#in: *const c_char,
    len: c_int,
) -> c_int {
    guard("lws_spa_process", -1, || {
        // SAFETY: per this function's contract.
        let Some(s) = (unsafe { spa_ref(spa) }) else {
            lwsl_err!("lws_spa_process: NULL spa");
            return -1;
        };
        let Ok(len) = usize::try_from(len) else {
            lwsl_err!("lws_spa_process: negative len");
            return -1;
        };
        if r#in.is_null() && len > 0 {
            lwsl_err!("lws_spa_process: NULL in");
            return -1;
        }
        let input: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: `in` has `len` readable bytes (our contract).
            unsafe { std::slice::from_raw_parts(r#in.cast(), len) }
        };
        let Ok(mut inner) = s.inner.try_borrow_mut() else {
            lwsl_err!("lws_spa_process: called from its own upload callback");
            return -1;
        };
        let SpaInner {
            form,
            upload,
            truncation_logged,
        } = &mut *inner;
        let result = form.process(input, &mut |ev| upload.event(ev));
        if form.truncated() && !*truncation_logged {
            *truncation_logged = true;
            lwsl_notice!("lws_spa_process: a value exceeded max_storage and was cut off");
        }
        drop(inner);
        if s.destroy_requested.get() {
            // SAFETY: destroyed from the callback: nothing refers to it now.
            drop(unsafe { Box::from_raw(spa.cast::<Spa>()) });
        }
        match result {
            Ok(()) => 0,
            Err(FormError::Failed) => -1,
            Err(e) => {
                lwsl_notice!("lws_spa_process: {e}");
                -1
            }
        }
    })
}

/// The body is complete: the last urlencoded value ends. 0; -1 if the body
/// ended inside a `%XX` escape or before a multipart body's closing
/// boundary, after an earlier failure, or for NULL (the values that arrived
/// stay readable).
///
/// # Safety
/// `spa` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lws_spa_finalize(spa: *mut lws_spa) -> c_int {
    guard("lws_spa_finalize", -1, || {
        // SAFETY: per this function's contract.
        let Some(s) = (unsafe { spa_ref(spa) }) else {
            lwsl_err!("lws_spa_finalize: NULL spa");
            return -1;
        };
        let Ok(mut inner) = s.inner.try_borrow_mut() else {
            lwsl_err!("lws_spa_finalize: called from an upload callback");
            return -1;
        };
        match inner.form.finalize() {
            Ok(()) => 0,
            Err(FormError::Failed) => -1,
            Err(e) => {
                lwsl_notice!("lws_spa_finalize: {e}");
                -1
            }
        }
    })
}

/// Runs `f` on the value of param `n` (with its NUL); `none` without one.
///
/// # Safety
/// `spa` is NULL or live.
unsafe fn with_value<T>(spa: *mut lws_spa, n: c_int, none: T, f: impl FnOnce(&[u8]) -> T) -> T {
    // SAFETY: per this function's contract.
    let Some(s) = (unsafe { spa_ref(spa) }) else {
        return none;
    };
    let Ok(inner) = s.inner.try_borrow() else {
        lwsl_err!("lws_spa_get_*: called from an upload callback");
        return none;
    };
    let value = usize::try_from(n)
        .ok()
        .and_then(|n| inner.form.value_with_nul(n));
    value.map_or(none, f)
}

/// The length of param `n`'s value; 0 if it has none (or `n` is not one).
///
/// # Safety
/// `spa` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lws_spa_get_length(spa: *mut lws_spa, n: c_int) -> c_int {
    // SAFETY: per this function's contract.
    guard("lws_spa_get_length", 0, || unsafe {
        with_value(spa, n, 0, |v| {
            c_int::try_from(v.len() - 1).unwrap_or(c_int::MAX)
        })
    })
}

/// Param `n`'s value, NUL-terminated, or NULL if it has none (or `n` is not
/// one). Valid until the next process / finalize / destroy call.
///
/// # Safety
/// `spa` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lws_spa_get_string(spa: *mut lws_spa, n: c_int) -> *const c_char {
    // SAFETY: per this function's contract.
    guard("lws_spa_get_string", ptr::null(), || unsafe {
        with_value(spa, n, ptr::null(), |v| v.as_ptr().cast())
    })
}

/// Frees the parser: 0 (also for NULL). From inside its own upload callback
/// the free waits until `lws_spa_process` returns.
///
/// # Safety
/// `spa` is NULL or live, and not used after this.
#[no_mangle]
pub unsafe extern "C" fn lws_spa_destroy(spa: *mut lws_spa) -> c_int {
    guard("lws_spa_destroy", -1, || {
        // SAFETY: per this function's contract.
        let Some(s) = (unsafe { spa_ref(spa) }) else {
            return 0;
        };
        if s.inner.try_borrow_mut().is_err() {
            // inside its own upload callback
            s.destroy_requested.set(true);
            return 0;
        }
        // SAFETY: a Box from lws_spa_create, freed once (our contract).
        drop(unsafe { Box::from_raw(spa.cast::<Spa>()) });
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the test upload callback saw: (state, name, filename, data).
    #[derive(Default)]
    struct Seen {
        calls: Vec<(c_uint, String, String, Vec<u8>)>,
        refuse_after: Option<usize>,
        spa: Option<*mut lws_spa>,
        destroy_in_callback: bool,
        get_in_callback: Option<*const c_char>,
    }

    unsafe extern "C" fn record(
        data: *mut c_void,
        name: *const c_char,
        filename: *const c_char,
        buf: *mut c_char,
        len: c_int,
        state: SpaFileuploadState,
    ) -> c_int {
        // SAFETY: the tests pass a &mut Seen and we give valid strings.
        unsafe {
            let seen = &mut *data.cast::<Seen>();
            let s = |p: *const c_char| CStr::from_ptr(p).to_string_lossy().into_owned();
            let bytes = if len > 0 {
                std::slice::from_raw_parts(buf.cast::<u8>(), len as usize).to_vec()
            } else {
                Vec::new()
            };
            seen.calls.push((state.0, s(name), s(filename), bytes));
            if let Some(spa) = seen.spa {
                seen.get_in_callback = Some(lws_spa_get_string(spa, 0));
                if seen.destroy_in_callback {
                    assert_eq!(lws_spa_destroy(spa), 0);
                }
            }
            if seen.refuse_after.is_some_and(|n| seen.calls.len() > n) {
                -1
            } else {
                0
            }
        }
    }

    fn spa(ct: &str, seen: Option<&mut Seen>) -> *mut lws_spa {
        let enc = Encoding::from_content_type(Some(ct.as_bytes())).unwrap();
        let names = vec![b"text".to_vec(), b"file".to_vec()];
        let (cb, data): (lws_spa_fileupload_cb, *mut c_void) = match seen {
            Some(seen) => (Some(record), (seen as *mut Seen).cast()),
            None => (None, ptr::null_mut()),
        };
        new_spa(Form::new(enc, names, 64), cb, data)
    }

    fn process(spa: *mut lws_spa, body: &[u8]) -> c_int {
        // SAFETY: a live spa, a valid buffer.
        unsafe { lws_spa_process(spa, body.as_ptr().cast(), body.len() as c_int) }
    }

    fn string(spa: *mut lws_spa, n: c_int) -> Option<Vec<u8>> {
        // SAFETY: a live spa; the result is NULL or a C string.
        unsafe {
            let p = lws_spa_get_string(spa, n);
            (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes().to_vec())
        }
    }

    const MP: &str = "multipart/form-data; boundary=B";

    fn upload_body(content: &[u8]) -> Vec<u8> {
        let mut b = b"--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--B\r\n\
                      Content-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\n"
            .to_vec();
        b.extend_from_slice(content);
        b.extend_from_slice(b"\r\n--B--\r\n");
        b
    }

    #[test]
    fn null_and_bad_arguments_get_the_failure_value() {
        let names = [c"text".as_ptr(), ptr::null()];
        // SAFETY: NULL and bad arguments are what is tested.
        unsafe {
            assert!(lws_spa_create(
                ptr::null_mut(),
                names.as_ptr(),
                1,
                64,
                None,
                ptr::null_mut()
            )
            .is_null());
            assert!(lws_spa_process(ptr::null_mut(), c"a".as_ptr(), 1) == -1);
            assert_eq!(lws_spa_finalize(ptr::null_mut()), -1);
            assert_eq!(lws_spa_get_length(ptr::null_mut(), 0), 0);
            assert!(lws_spa_get_string(ptr::null_mut(), 0).is_null());
            assert_eq!(lws_spa_destroy(ptr::null_mut()), 0);
        }
        let spa = spa("application/x-www-form-urlencoded", None);
        // SAFETY: a live spa and bad arguments.
        unsafe {
            assert_eq!(lws_spa_process(spa, ptr::null(), 3), -1);
            assert_eq!(lws_spa_process(spa, c"a".as_ptr(), -1), -1);
            assert_eq!(lws_spa_process(spa, ptr::null(), 0), 0);
        }
        assert_eq!(process(spa, b"text=a%20b&file=x"), 0);
        // SAFETY: a live spa.
        unsafe {
            assert_eq!(lws_spa_finalize(spa), 0);
            assert_eq!(lws_spa_get_length(spa, 0), 3);
            assert_eq!(lws_spa_get_length(spa, -1), 0);
            assert_eq!(lws_spa_get_length(spa, 2), 0);
            assert!(lws_spa_get_string(spa, 7).is_null());
        }
        assert_eq!(string(spa, 0).as_deref(), Some(&b"a b"[..]));
        assert_eq!(string(spa, 1).as_deref(), Some(&b"x"[..]));
        // SAFETY: a live spa, freed once.
        assert_eq!(unsafe { lws_spa_destroy(spa) }, 0);
    }

    #[test]
    fn files_reach_the_callback_in_bounded_pieces() {
        let content: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let mut seen = Seen::default();
        let spa = spa(MP, Some(&mut seen));
        assert_eq!(process(spa, &upload_body(&content)), 0);
        // SAFETY: a live spa.
        assert_eq!(unsafe { lws_spa_finalize(spa) }, 0);
        assert_eq!(string(spa, 0).as_deref(), Some(&b"hi"[..]));
        assert_eq!(string(spa, 1), None, "a file is no value");
        // SAFETY: a live spa, freed once.
        assert_eq!(unsafe { lws_spa_destroy(spa) }, 0);
        let states: Vec<c_uint> = seen.calls.iter().map(|c| c.0).collect();
        assert_eq!(states, [2, 0, 0, 1]);
        assert!(seen.calls.iter().all(|c| c.1 == "file" && c.2 == "f.bin"));
        assert!(seen.calls.iter().all(|c| c.3.len() <= UPLOAD_PIECE));
        let got: Vec<u8> = seen.calls.iter().flat_map(|c| c.3.clone()).collect();
        assert_eq!(got, content);
    }

    #[test]
    fn an_empty_file_gets_open_and_an_empty_final() {
        let mut seen = Seen::default();
        let spa = spa(MP, Some(&mut seen));
        assert_eq!(process(spa, &upload_body(b"")), 0);
        // SAFETY: a live spa, freed once.
        unsafe {
            assert_eq!(lws_spa_finalize(spa), 0);
            lws_spa_destroy(spa);
        }
        let states: Vec<(c_uint, usize)> = seen.calls.iter().map(|c| (c.0, c.3.len())).collect();
        assert_eq!(states, [(2, 0), (1, 0)]);
    }

    #[test]
    fn a_refusing_callback_fails_the_form() {
        for refuse_after in 0..3 {
            let mut seen = Seen {
                refuse_after: Some(refuse_after),
                ..Seen::default()
            };
            let spa = spa(MP, Some(&mut seen));
            assert_eq!(process(spa, &upload_body(&[7; 5000])), -1);
            assert_eq!(process(spa, b"more"), -1);
            // SAFETY: a live spa, freed once.
            unsafe {
                assert_eq!(lws_spa_finalize(spa), -1);
                assert_eq!(lws_spa_destroy(spa), 0);
            }
            assert_eq!(seen.calls.len(), refuse_after + 1);
        }
    }

    #[test]
    fn calls_from_inside_the_callback_are_safe() {
        let mut seen = Seen {
            destroy_in_callback: true,
            ..Seen::default()
        };
        let spa = spa(MP, Some(&mut seen));
        seen.spa = Some(spa);
        // the callback's destroy takes effect when process returns
        assert_eq!(process(spa, &upload_body(b"abc")), 0);
        assert_eq!(seen.get_in_callback, Some(ptr::null()));
        assert_eq!(seen.calls.len(), 2);
    }

    #[test]
    fn without_a_callback_files_are_skipped() {
        let spa = spa(MP, None);
        assert_eq!(process(spa, &upload_body(&[1; 9000])), 0);
        // SAFETY: a live spa, freed once.
        unsafe {
            assert_eq!(lws_spa_finalize(spa), 0);
            assert_eq!(string(spa, 0).as_deref(), Some(&b"hi"[..]));
            lws_spa_destroy(spa);
        }
    }

    #[test]
    fn a_truncated_body_fails_at_finalize() {
        let spa = spa(MP, None);
        let body = upload_body(b"abc");
        assert_eq!(process(spa, &body[..body.len() - 6]), 0);
        // SAFETY: a live spa, freed once.
        unsafe {
            assert_eq!(lws_spa_finalize(spa), -1);
            assert_eq!(string(spa, 0).as_deref(), Some(&b"hi"[..]));
            lws_spa_destroy(spa);
        }
    }
}
