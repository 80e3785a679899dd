//! WebSocket extensions: the `struct lws_extension` lists applications
//! register, and the extension API. permessage-deflate is built in (see
//! `crate::ext`): an application lists `lws_extension_callback_pm_deflate`
//! and the library negotiates and runs it without calling back into it.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};

use super::enums::{lws_extension_callback_reasons as X, ExtCallbackReason};
use super::guard;
use super::handle;
use super::types::{lws, lws_context, lws_ext_option_arg, lws_ext_options, lws_extension};
use crate::conn::ws as core_ws;
use crate::ext::options::{self, Arg};
use crate::ext::{Declared, PM_DEFLATE};

/// The extensions of a `struct lws_extension` array of at most `max`
/// entries that ends early at an entry whose callback is NULL. Only
/// permessage-deflate with our `lws_extension_callback_pm_deflate` is
/// implemented; other entries (other names, or an application's own
/// callback, which we would never call) are logged and left out, so they
/// are never offered or accepted.
///
/// # Safety
/// `list` is NULL or such an array, its strings NULL or C strings.
pub(crate) unsafe fn declared(list: *const lws_extension, max: usize) -> Vec<Declared> {
    let mut out = Vec::new();
    let mut p = list;
    // SAFETY: per this function's contract.
    while let Some(e) = unsafe { p.as_ref() } {
        let Some(callback) = e.callback else {
            break;
        };
        if out.len() == max {
            break;
        }
        // SAFETY: names and offers are NULL or C strings.
        let (name, offer) = unsafe { (c_bytes(e.name), c_bytes(e.client_offer)) };
        let name = name.unwrap_or_default().to_vec();
        let d = Declared {
            client_offer: offer.map_or_else(|| name.clone(), <[u8]>::to_vec),
            name,
        };
        if d.is_pm_deflate() && is_our_pm_deflate(callback as usize) {
            out.push(d);
        } else {
            lwsl_notice!(
                "extension {:?} with callback {:#x} is not supported: never negotiated",
                String::from_utf8_lossy(&d.name),
                callback as usize
            );
        }
        // SAFETY: still inside the array.
        p = unsafe { p.add(1) };
    }
    out
}

/// Whether an extension callback is our `lws_extension_callback_pm_deflate`:
/// its address here, or the one the process resolves the name to (a
/// non-PIE program's canonical address of it).
fn is_our_pm_deflate(callback: usize) -> bool {
    callback == lws_extension_callback_pm_deflate as *const () as usize
        || crate::plat::dl::global_symbol("lws_extension_callback_pm_deflate") == Some(callback)
}

/// A C string argument, or None for NULL.
///
/// # Safety
/// `s` is NULL or a C string.
unsafe fn c_bytes<'a>(s: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: per this function's contract.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_bytes())
}

/// Sets an option of an extension active on `wsi` (CONTRACT §10): -1 if
/// the extension is not active there, else 0 (unknown names change nothing).
///
/// # Safety
/// `wsi` is NULL or a connection; the strings NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn lws_set_extension_option(
    wsi: *mut lws,
    ext_name: *const c_char,
    opt_name: *const c_char,
    opt_val: *const c_char,
) -> c_int {
    let Some(conn) = handle::conn("lws_set_extension_option", wsi) else {
        return -1;
    };
    // SAFETY: per this function's contract.
    let (ext, name, value) = unsafe { (c_bytes(ext_name), c_bytes(opt_name), c_bytes(opt_val)) };
    if ext != Some(PM_DEFLATE.as_bytes()) {
        return -1;
    }
    guard("lws_set_extension_option", -1, || {
        let index = name.and_then(options::pm_deflate_index);
        core_ws::set_deflate_option(&conn, index, value.map(options::atoi))
    })
}

/// Parses an extension option string against `opts` and hands each option
/// to the extension's callback as LWS_EXT_CB_OPTION_SET (CONTRACT §10):
/// 0, or -1 for a string that does not fit the table.
///
/// # Safety
/// `ext` is NULL or a valid extension; `opts` NULL or an array ending with
/// a NULL name; `o` NULL or `len` readable bytes.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_ext_parse_options(
    ext: *const lws_extension,
    wsi: *mut lws,
    ext_user: *mut c_void,
    opts: *const lws_ext_options,
    o: *const c_char,
    len: c_int,
) -> c_int {
    // SAFETY: per this function's contract.
    let Some(ext_ref) = (unsafe { ext.as_ref() }) else {
        return -1;
    };
    let Ok(len) = usize::try_from(len) else {
        return -1;
    };
    if opts.is_null() || (o.is_null() && len > 0) {
        return -1;
    }
    let mut table = Vec::new();
    let mut p = opts;
    // SAFETY: the table ends with a NULL name.
    while let Some(entry) = unsafe { p.as_ref() } {
        if entry.name.is_null() {
            break;
        }
        let Some(arg) = Arg::from_c(entry.r#type.0) else {
            return -1;
        };
        // SAFETY: a non-NULL option name is a C string.
        table.push((unsafe { CStr::from_ptr(entry.name) }.to_bytes(), arg));
        // SAFETY: still inside the table.
        p = unsafe { p.add(1) };
    }
    let text: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: per this function's contract.
        unsafe { std::slice::from_raw_parts(o.cast::<u8>(), len) }
    };
    let Ok(found) = options::parse(&table, text) else {
        return -1;
    };
    let Some(callback) = ext_ref.callback else {
        return 0;
    };
    let context = handle::conn("lws_ext_parse_options", wsi)
        .map_or(std::ptr::null_mut(), |c| handle::context_ptr(&c.ctx));
    for f in found {
        let (start, vlen) = f.value.map_or((std::ptr::null(), 0), |r| {
            (text[r.start..].as_ptr().cast::<c_char>(), r.len() as c_int)
        });
        let mut oa = lws_ext_option_arg {
            option_name: std::ptr::null(),
            option_index: f.index as c_int,
            start,
            len: vlen,
        };
        // SAFETY: the extension's callback, called as the original did.
        unsafe {
            callback(
                context,
                ext,
                wsi,
                ExtCallbackReason(X::LWS_EXT_CB_OPTION_SET as u32),
                ext_user,
                std::ptr::addr_of_mut!(oa).cast(),
                0,
            );
        }
    }
    0
}

/// permessage-deflate's extension callback. The library runs the extension
/// itself; called by an application, LWS_EXT_CB_OPTION_SET and
/// LWS_EXT_CB_NAMED_OPTION_SET (`in`: a `struct lws_ext_option_arg`) set
/// the option on `wsi` (0, or -1 when deflate is not active there); every
/// other reason returns 0.
///
/// # Safety
/// `wsi` is NULL or a connection; `in` NULL or what the reason passes.
#[no_mangle]
pub unsafe extern "C" fn lws_extension_callback_pm_deflate(
    context: *mut lws_context,
    ext: *const lws_extension,
    wsi: *mut lws,
    reason: ExtCallbackReason,
    user: *mut c_void,
    r#in: *mut c_void,
    len: usize,
) -> c_int {
    let _ = (context, ext, user, len);
    let named = reason.0 == X::LWS_EXT_CB_NAMED_OPTION_SET as u32;
    if !named && reason.0 != X::LWS_EXT_CB_OPTION_SET as u32 {
        return 0;
    }
    // SAFETY: for these reasons `in` is NULL or an option argument.
    let Some(oa) = (unsafe { r#in.cast::<lws_ext_option_arg>().as_ref() }) else {
        return -1;
    };
    let Some(conn) = handle::conn("lws_extension_callback_pm_deflate", wsi) else {
        return -1;
    };
    let index = if named {
        // SAFETY: option_name is NULL or a C string.
        unsafe { c_bytes(oa.option_name) }.and_then(options::pm_deflate_index)
    } else {
        usize::try_from(oa.option_index).ok()
    };
    let value = (!oa.start.is_null()).then(|| {
        if oa.len > 0 {
            // SAFETY: start has len bytes (OPTION_SET from the parser).
            unsafe { std::slice::from_raw_parts(oa.start.cast::<u8>(), oa.len as usize) }.to_vec()
        } else {
            // SAFETY: a named option's value is a C string.
            unsafe { CStr::from_ptr(oa.start) }.to_bytes().to_vec()
        }
    });
    guard("lws_extension_callback_pm_deflate", -1, || {
        core_ws::set_deflate_option(&conn, index, value.as_deref().map(options::atoi))
    })
}
