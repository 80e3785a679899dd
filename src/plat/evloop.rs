//! libuv and libev loops, through the C shim (`capi/evloop_shim.c`): their
//! watcher structs and initialiser macros live in the system headers. A
//! [`Loop`] holds one service thread's handles on an application's (or our
//! own) loop; a [`Watch`] is one socket on it. Events are epoll bits, as
//! from [`super::epoll`].

use std::os::fd::RawFd;
use std::os::raw::{c_int, c_uint, c_void};
use std::ptr::NonNull;

extern "C" {
    fn lws_rs_floop_new(
        kind: c_int,
        native: *mut c_void,
        owner: *const c_void,
        sigcb: *const c_void,
        sigdata: *const c_void,
    ) -> *mut c_void;
    fn lws_rs_floop_native(fl: *mut c_void) -> *mut c_void;
    fn lws_rs_floop_kick(fl: *mut c_void);
    fn lws_rs_floop_rest(fl: *mut c_void);
    fn lws_rs_floop_wake(fl: *mut c_void);
    fn lws_rs_floop_run(fl: *mut c_void) -> c_int;
    fn lws_rs_floop_stop(fl: *mut c_void);
    fn lws_rs_floop_close(fl: *mut c_void) -> c_int;
    fn lws_rs_watch_new(fl: *mut c_void, fd: c_int, owner: *const c_void) -> *mut c_void;
    fn lws_rs_watch_set(w: *mut c_void, events: c_uint) -> c_int;
    fn lws_rs_watch_close(w: *mut c_void);
    fn ev_break(lp: *mut c_void, how: c_int);
    fn lws_rs_watcher_data(kind: c_int, w: *mut c_void) -> *mut c_void;
}

/// The `data` member of a libuv handle / libev watcher.
///
/// # Safety
/// `w` is a live handle / watcher of that kind.
pub unsafe fn watcher_data(kind: Kind, w: *mut c_void) -> *mut c_void {
    // SAFETY: per this function's contract.
    unsafe { lws_rs_watcher_data(kind as c_int, w) }
}

/// `ev_break(loop, EVBREAK_ALL)`.
///
/// # Safety
/// `lp` is a live libev loop.
pub unsafe fn break_ev_loop(lp: *mut c_void) {
    const EVBREAK_ALL: c_int = 2;
    // SAFETY: per this function's contract.
    unsafe { ev_break(lp, EVBREAK_ALL) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Uv = 1,
    Ev = 2,
}

/// What the loop calls back with: `owner` is handed to the core's
/// `lws_rs_loop_*` entry points unchanged.
pub struct Setup {
    pub kind: Kind,
    /// the application's `uv_loop_t *` / `struct ev_loop *`, or null for
    /// one of ours (libuv: created and owned; libev: the default loop)
    pub native: usize,
    pub owner: usize,
    /// the signal handler for SIGINT (and SIGTERM on libuv), if any, and
    /// the `data` its watcher carries
    pub sigint: Option<(usize, usize)>,
}

/// One service thread's handles on a loop; closed with [`Loop::close`].
pub struct Loop {
    kind: Kind,
    fl: NonNull<c_void>,
}

// SAFETY: the handles are used on the loop's thread; only `wake` (an async
// send, thread-safe in both libraries) is called from others.
unsafe impl Send for Loop {}
// SAFETY: as for Send.
unsafe impl Sync for Loop {}

impl Loop {
    pub fn new(s: &Setup) -> Option<Loop> {
        let (sigcb, sigdata) = s.sigint.unwrap_or((0, 0));
        // SAFETY: native is null or the application's live loop of this
        // kind (the API's contract); the other pointers are passed through.
        let fl = unsafe {
            lws_rs_floop_new(
                s.kind as c_int,
                s.native as *mut c_void,
                s.owner as *const c_void,
                sigcb as *const c_void,
                sigdata as *const c_void,
            )
        };
        NonNull::new(fl).map(|fl| Loop { kind: s.kind, fl })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The `uv_loop_t *` / `struct ev_loop *` it runs on.
    pub fn native(&self) -> usize {
        // SAFETY: fl is live until close.
        unsafe { lws_rs_floop_native(self.fl.as_ptr()) as usize }
    }

    /// Queued work: the loop must not block before its turn.
    pub fn kick(&self) {
        // SAFETY: fl is live until close; called on the loop's thread.
        unsafe { lws_rs_floop_kick(self.fl.as_ptr()) }
    }

    /// The queued work is done: the loop may block again.
    pub fn rest(&self) {
        // SAFETY: as kick.
        unsafe { lws_rs_floop_rest(self.fl.as_ptr()) }
    }

    /// From any thread.
    pub fn wake(&self) {
        // SAFETY: fl is live until close; async sends are thread-safe.
        unsafe { lws_rs_floop_wake(self.fl.as_ptr()) }
    }

    pub fn stop(&self) {
        // SAFETY: fl is live until close.
        unsafe { lws_rs_floop_stop(self.fl.as_ptr()) }
    }

    pub fn watch(&self, fd: RawFd, owner: usize) -> Option<Watch> {
        // SAFETY: fl is live until close; fd is an open socket.
        let w = unsafe { lws_rs_watch_new(self.fl.as_ptr(), fd, owner as *const c_void) };
        NonNull::new(w).map(|w| Watch { w })
    }

    /// Stops and releases every handle (a libuv loop of ours is closed
    /// too): 0, or libuv's error from closing our loop.
    pub fn close(self) -> i32 {
        // SAFETY: fl is live and never used after this.
        unsafe { lws_rs_floop_close(self.fl.as_ptr()) }
    }
}

/// Runs a loop until it is stopped or has nothing left to watch. Takes the
/// handle by address, so the caller need not hold the lock that guards the
/// [`Loop`] while callbacks re-enter the library.
pub fn run(lp: &LoopRef) -> i32 {
    // SAFETY: the loop stays open while it runs (closing it is part of
    // context destruction, which the application does after the run).
    unsafe { lws_rs_floop_run(lp.0.as_ptr()) }
}

/// A copyable reference to a [`Loop`] for [`run`].
#[derive(Clone, Copy)]
pub struct LoopRef(NonNull<c_void>);

// SAFETY: see Loop.
unsafe impl Send for LoopRef {}

impl Loop {
    pub fn by_ref(&self) -> LoopRef {
        LoopRef(self.fl)
    }
}

/// One socket's watcher; closed on drop (before its socket is).
pub struct Watch {
    w: NonNull<c_void>,
}

// SAFETY: used on the loop's thread only (kept in a Send container).
unsafe impl Send for Watch {}

impl Watch {
    /// Watches for READABLE / WRITABLE as `events` says.
    pub fn set(&self, events: u32) -> bool {
        // SAFETY: w is live until dropped.
        unsafe { lws_rs_watch_set(self.w.as_ptr(), events) == 0 }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: w is live and never used after this.
        unsafe { lws_rs_watch_close(self.w.as_ptr()) }
    }
}
