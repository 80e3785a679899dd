//! libuv and libev event loop integration: attaching a service thread to
//! an application's loop (or one of ours), running and stopping it, the
//! SIGINT handlers, and the entry points the loops call back through the C
//! shim (`capi/evloop_shim.c`).

use std::os::raw::{c_int, c_uint, c_void};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::enums::lws_context_options as O;
use super::guard;
use super::handle;
use super::service::valid_tsi;
use super::types::{ev_loop, ev_signal, lws_context, uv_loop_t, uv_signal_cb, uv_signal_t};
use crate::plat::evloop::{self, Kind, Setup};
use crate::service::context::has_option;
use crate::service::pt::{self, Pt};

pub(crate) fn default_uv_sigint() -> AtomicUsize {
    AtomicUsize::new(lws_uv_sigint_cb as *const () as usize)
}

pub(crate) fn default_ev_sigint() -> AtomicUsize {
    AtomicUsize::new(lws_ev_sigint_cb as *const () as usize)
}

/// Attaches service thread `tsi` to `native` (null: a loop of ours).
fn init_loop(
    func: &str,
    context: *mut lws_context,
    native: usize,
    tsi: c_int,
    kind: Kind,
) -> c_int {
    let Some(h) = handle::context(func, context) else {
        return -1;
    };
    let Some(tsi) = valid_tsi(func, h, tsi) else {
        return -1;
    };
    let (option, sigint) = match kind {
        Kind::Uv => (O::LWS_SERVER_OPTION_LIBUV, &h.uv_sigint),
        Kind::Ev => (O::LWS_SERVER_OPTION_LIBEV, &h.ev_sigint),
    };
    if !has_option(h.ctx.cfg.options, option) {
        lwsl_notice!("{func}: the context was created without {option:?}");
    }
    let sigint = match sigint.load(Ordering::Acquire) {
        0 => None,
        // libev lets one loop watch a signal: the first thread's
        _ if kind == Kind::Ev && pt::has_loop(&h.ctx, Kind::Ev) => None,
        cb => Some((cb, context as usize)),
    };
    let setup = Setup {
        kind,
        native,
        owner: &h.ctx.pts[tsi] as *const Pt as usize,
        sigint,
    };
    guard(func, -1, || match pt::attach_loop(&h.ctx, tsi, setup) {
        Ok(()) => 0,
        Err(e) => {
            lwsl_err!("{func}: {e}");
            -1
        }
    })
}

/// Sets whether lws_ev_initloop watches SIGINT, and with which handler
/// (NULL: lws_ev_sigint_cb, which breaks the loop). Returns 0.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_ev_sigint_cfg(
    context: *mut lws_context,
    use_ev_sigint: c_int,
    cb: Option<unsafe extern "C" fn(*mut ev_loop, *mut ev_signal, c_int)>,
) -> c_int {
    let Some(h) = handle::context("lws_ev_sigint_cfg", context) else {
        return -1;
    };
    let cb = cb.map_or(lws_ev_sigint_cb as *const () as usize, |f| f as usize);
    h.ev_sigint
        .store(if use_ev_sigint != 0 { cb } else { 0 }, Ordering::Release);
    0
}

/// Runs service thread `tsi` on the libev loop `loop` (NULL: libev's
/// default loop): every socket gets an `ev_io`, timeouts a 1 s timer, and
/// SIGINT breaks the loop unless lws_ev_sigint_cfg said otherwise.
/// 0, or -1 on failure.
///
/// # Safety
/// `context` is NULL or a live context; `loop` NULL or a live libev loop
/// that outlives the context.
#[no_mangle]
pub unsafe extern "C" fn lws_ev_initloop(
    context: *mut lws_context,
    r#loop: *mut ev_loop,
    tsi: c_int,
) -> c_int {
    init_loop("lws_ev_initloop", context, r#loop as usize, tsi, Kind::Ev)
}

/// The default SIGINT handler for libev: breaks the loop (and the
/// context's other service threads' loops).
///
/// # Safety
/// `loop` is the live libev loop the watcher belongs to; `watcher` NULL or
/// a live `ev_signal` whose `data` is a context, as lws_ev_initloop sets
/// it up.
#[no_mangle]
pub unsafe extern "C" fn lws_ev_sigint_cb(
    r#loop: *mut ev_loop,
    watcher: *mut ev_signal,
    revents: c_int,
) {
    let _ = revents;
    if !r#loop.is_null() {
        // SAFETY: libev calls this with its live loop.
        unsafe { evloop::break_ev_loop(r#loop.cast()) };
    }
    if watcher.is_null() {
        return;
    }
    // SAFETY: libev calls this with its live watcher.
    let context = unsafe { evloop::watcher_data(Kind::Ev, watcher.cast()) };
    if let Some(h) = handle::context("lws_ev_sigint_cb", context.cast()) {
        guard("lws_ev_sigint_cb", (), || pt::break_loops(&h.ctx));
    }
}

/// Sets whether lws_uv_initloop watches SIGINT and SIGTERM, and with which
/// handler (NULL: lws_uv_sigint_cb, which runs lws_libuv_stop). Returns 0.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_uv_sigint_cfg(
    context: *mut lws_context,
    use_uv_sigint: c_int,
    cb: uv_signal_cb,
) -> c_int {
    let Some(h) = handle::context("lws_uv_sigint_cfg", context) else {
        return -1;
    };
    let cb = cb.map_or(lws_uv_sigint_cb as *const () as usize, |f| f as usize);
    h.uv_sigint
        .store(if use_uv_sigint != 0 { cb } else { 0 }, Ordering::Release);
    0
}

/// Runs service thread `tsi`'s libuv loop until it is stopped.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_libuv_run(context: *const lws_context, tsi: c_int) {
    let Some(h) = handle::context("lws_libuv_run", context.cast_mut()) else {
        return;
    };
    let Some(tsi) = valid_tsi("lws_libuv_run", h, tsi) else {
        return;
    };
    if !guard("lws_libuv_run", true, || pt::run_loop(&h.ctx, tsi)) {
        lwsl_err!("lws_libuv_run: no loop (lws_uv_initloop first)");
    }
}

/// Closes every connection and stops every service thread's loop (each on
/// its own thread); the loops' runs then return.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_libuv_stop(context: *mut lws_context) {
    if let Some(h) = handle::context("lws_libuv_stop", context) {
        guard("lws_libuv_stop", (), || pt::stop_loops(&h.ctx));
    }
}

/// Runs service thread `tsi` on the libuv loop `loop` (NULL: one the
/// library creates, owns and closes at context destruction): every socket
/// gets a `uv_poll_t`, timeouts a 1 s timer, and SIGINT / SIGTERM run
/// lws_libuv_stop unless lws_uv_sigint_cfg said otherwise. 0, or -1 on
/// failure.
///
/// # Safety
/// `context` is NULL or a live context; `loop` NULL or an initialised
/// libuv loop that outlives the context.
#[no_mangle]
pub unsafe extern "C" fn lws_uv_initloop(
    context: *mut lws_context,
    r#loop: *mut uv_loop_t,
    tsi: c_int,
) -> c_int {
    init_loop("lws_uv_initloop", context, r#loop as usize, tsi, Kind::Uv)
}

/// The libuv loop service thread `tsi` runs on, or NULL.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_uv_getloop(context: *mut lws_context, tsi: c_int) -> *mut uv_loop_t {
    let Some(h) = handle::context("lws_uv_getloop", context) else {
        return ptr::null_mut();
    };
    let Some(tsi) = valid_tsi("lws_uv_getloop", h, tsi) else {
        return ptr::null_mut();
    };
    pt::native_loop(&h.ctx, tsi, Kind::Uv) as *mut uv_loop_t
}

/// The default SIGINT / SIGTERM handler for libuv: lws_libuv_stop on the
/// context the watcher carries.
///
/// # Safety
/// `watcher` is a live `uv_signal_t` whose `data` is a context, as
/// lws_uv_initloop sets it up.
#[no_mangle]
pub unsafe extern "C" fn lws_uv_sigint_cb(watcher: *mut uv_signal_t, signum: c_int) {
    lwsl_err!("internal signal handler caught signal {signum}");
    if watcher.is_null() {
        return;
    }
    // SAFETY: libuv calls this with its live handle.
    let context = unsafe { evloop::watcher_data(Kind::Uv, watcher.cast()) }.cast();
    // SAFETY: lws_libuv_stop checks the pointer against the live contexts.
    unsafe { lws_libuv_stop(context) };
}

/// The service thread a loop callback is for.
///
/// # Safety
/// `owner` is the `Pt` address lws_uv_initloop / lws_ev_initloop gave the
/// loop; its context is alive while the loop's handles are open.
unsafe fn pt_of<'a>(owner: *mut c_void) -> &'a Pt {
    // SAFETY: per this function's contract.
    unsafe { &*owner.cast::<Pt>() }
}

/// A socket watcher reports `events` (epoll bits).
///
/// # Safety
/// As pt_of.
#[no_mangle]
pub unsafe extern "C" fn lws_rs_loop_io(owner: *mut c_void, fd: c_int, events: c_uint) {
    // SAFETY: per this function's contract.
    let pt = unsafe { pt_of(owner) };
    guard("loop io", (), || pt.loop_io(fd, events));
}

/// The once-a-second timer.
///
/// # Safety
/// As pt_of.
#[no_mangle]
pub unsafe extern "C" fn lws_rs_loop_tick(owner: *mut c_void) {
    // SAFETY: per this function's contract.
    let pt = unsafe { pt_of(owner) };
    guard("loop timer", (), || pt.loop_tick());
}

/// Queued work's turn (idle pass or wake-up).
///
/// # Safety
/// As pt_of.
#[no_mangle]
pub unsafe extern "C" fn lws_rs_loop_work(owner: *mut c_void) {
    // SAFETY: per this function's contract.
    let pt = unsafe { pt_of(owner) };
    guard("loop work", (), || pt.loop_work());
}
