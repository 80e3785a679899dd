//! Logging exports. `_lws_log` / `_lws_logv` are variadic and live in
//! `capi/log_shim.c`, which formats the line and calls back in here.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Arc;

use super::guard;
use crate::plat::log;

/// Called by the C shim before formatting: is `filter` enabled?
#[no_mangle]
pub extern "C" fn lws_rs_log_enabled(filter: c_int) -> c_int {
    c_int::from(log::enabled(filter))
}

/// Called by the C shim with a formatted, NUL-terminated line.
///
/// # Safety
/// `line` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lws_rs_log_emit(filter: c_int, line: *const c_char) {
    if line.is_null() {
        return;
    }
    // SAFETY: the shim passes its NUL-terminated buffer.
    let line = unsafe { CStr::from_ptr(line) };
    guard("_lws_log", (), || log::emit(filter, line))
}

/// Sets the mask of enabled levels and, if non-NULL, the function that
/// receives each line (the default writes to stderr).
///
/// # Safety
/// `log_emit_function`, if given, must stay callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn lws_set_log_level(
    level: c_int,
    log_emit_function: Option<unsafe extern "C" fn(c_int, *const c_char)>,
) {
    guard("lws_set_log_level", (), || {
        let sink = log_emit_function.map(|emit| -> log::Sink {
            // SAFETY: the application promises emit takes (level, C string).
            Arc::new(move |level: i32, line: &CStr| unsafe { emit(level, line.as_ptr()) })
        });
        log::set_level(level, sink)
    })
}

/// Writes the log prefix for `level` into `p` (at most `len` bytes including
/// the NUL); returns its length, 0 when `level` is not a single known level.
///
/// # Safety
/// `p` must be NULL or point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lwsl_timestamp(level: c_int, p: *mut c_char, len: c_int) -> c_int {
    guard("lwsl_timestamp", 0, || {
        let Ok(len) = usize::try_from(len) else {
            return 0;
        };
        if p.is_null() || len == 0 {
            return 0;
        }
        // SAFETY: the caller gives len writable bytes at p.
        let out = unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) };
        let stamp = log::timestamp(level);
        let n = stamp.len().min(len - 1);
        out[..n].copy_from_slice(&stamp.as_bytes()[..n]);
        out[n] = 0;
        n as c_int
    })
}

/// The default sink, exported as the original does (not declared in the
/// header).
///
/// # Safety
/// `line` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lwsl_emit_stderr(level: c_int, line: *const c_char) {
    if line.is_null() {
        return;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let line = unsafe { CStr::from_ptr(line) };
    guard("lwsl_emit_stderr", (), || {
        log::emit_stderr(level, line.to_bytes())
    })
}

/// A sink that sends each line to syslog at the matching priority.
///
/// # Safety
/// `line` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lwsl_emit_syslog(level: c_int, line: *const c_char) {
    if line.is_null() {
        return;
    }
    let priority = match level {
        log::ERR => libc::LOG_ERR,
        log::WARN => libc::LOG_WARNING,
        log::NOTICE => libc::LOG_NOTICE,
        log::INFO => libc::LOG_INFO,
        _ => libc::LOG_DEBUG,
    };
    // SAFETY: a constant format consuming exactly the one string argument.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), line) }
}

/// Logs `len` bytes at `buf` as a hex dump at DEBUG level.
///
/// # Safety
/// `buf` must be NULL or point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lwsl_hexdump(buf: *mut c_void, len: usize) {
    if buf.is_null() || len == 0 || !log::enabled(log::DEBUG) {
        return;
    }
    // SAFETY: the caller gives len readable bytes at buf.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    guard("lwsl_hexdump", (), || {
        lws_log!(log::PARSER, "\n");
        for line in log::hexdump_lines(bytes) {
            lws_log!(log::DEBUG, "{line}");
        }
        lws_log!(log::DEBUG, "\n");
    })
}
