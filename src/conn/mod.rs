//! One connection, the `struct lws` C sees ("wsi"): listeners, fake
//! connections for context-level callbacks, server HTTP connections and
//! the pipes of their CGI scripts.
//!
//! A `Conn` lives in an `Arc` whose address is the `struct lws *` handed to C.
//! Its table slot and, after closing, its pt's graveyard keep it alive until
//! the service loop's next safe point, so C never sees a dangling pointer.

pub mod cgi;
pub mod client;
pub mod http;
pub mod mount;
pub mod transport;
pub mod ws;

use std::os::fd::RawFd;
use std::os::raw::c_void;
use std::sync::Arc;

use crate::ffi::callback;
use crate::ffi::enums::lws_callback_reasons as R;
use crate::plat::epoll::WRITABLE;
use crate::plat::sock::Listener;
use crate::service::confined::{Borrow, Confined};
use crate::service::context::Context;
use crate::service::vhost::{c_addr, zeroed, CBytes, Vhost};

use http::HttpConn;

pub const fn reason(r: R) -> u32 {
    r as u32
}

/// Fresh zeroed per-session data of `size` bytes (none for 0), from the
/// application's allocator when it installed one; Err when that refused
/// (logged): the connection cannot go on without it.
pub fn session_data(size: usize) -> Result<Option<CBytes>, crate::plat::alloc::OutOfMemory> {
    if size == 0 {
        return Ok(None);
    }
    zeroed(size, "per-session data")
        .map(Some)
        .ok_or(crate::plat::alloc::OutOfMemory)
}

pub enum Role {
    /// stands in for a connection in context-level callbacks (PROTOCOL_INIT...)
    Fake,
    Listener(Listener),
    /// (the connection state, from the application's allocator if set)
    Http(crate::plat::alloc::AppBox<HttpConn>),
    /// one of a CGI script's pipes (or its exit watch), a child of the
    /// connection the script runs for
    CgiPipe(cgi::Pipe),
}

/// A pending `lws_set_timeout`.
#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    pub reason: u32,
    /// fires when the clock (whole seconds) passes this
    pub deadline: u64,
}

pub struct ConnState {
    pub role: Role,
    /// index of the bound protocol in the vhost's list
    pub protocol: usize,
    /// per-session data for the bound protocol
    pub user: Option<CBytes>,
    /// per-session data the application owns (a client's `userdata`)
    pub user_ext: usize,
    /// the connection this one was opened for (`parent_wsi`)
    pub parent: Option<std::sync::Weak<Conn>>,
    /// connections opened with this one as their parent
    pub children: Vec<std::sync::Weak<Conn>>,
    /// the poll interest the application sees (CHANGE_MODE_POLL_FD)
    pub events: u32,
    /// the interest registered with epoll: `events`, less WRITABLE while
    /// the pt assumes the socket writable (see `Pt::queue_writable`)
    pub armed: u32,
    /// on the pt's assumed-writable list
    pub writable_queued: bool,
    /// held input announced to the application's poll loop as POLLOUT
    pub held_out: bool,
    pub in_table: bool,
    pub writable_requested: bool,
    pub timeout: Option<Timeout>,
    /// closed: callbacks done, waiting to be freed
    pub dead: bool,
}

impl ConnState {
    /// WRITABLE is wanted and served by the pt rather than epoll.
    fn assumed_writable_wanted(&self) -> bool {
        !self.dead && self.in_table && self.events & WRITABLE != 0 && self.armed & WRITABLE == 0
    }

    /// The interest the application's poll loop is told.
    fn announced(&self) -> u32 {
        if self.held_out {
            self.events | WRITABLE
        } else {
            self.events
        }
    }

    /// The address of the per-session data C sees (0 for none).
    pub fn user_addr(&self) -> usize {
        if self.user_ext != 0 {
            self.user_ext
        } else {
            self.user.as_ref().map_or(0, c_addr)
        }
    }
}

pub struct Conn {
    pub ctx: Arc<Context>,
    /// the accepting vhost, until a request's Host picks another sharing
    /// its port (CONTRACT §9)
    vhost: std::sync::RwLock<Arc<Vhost>>,
    /// service thread index
    pub tsi: usize,
    /// the socket, -1 for fake connections; a client following a redirect
    /// gets a new one
    fd: std::sync::atomic::AtomicI32,
    state: Confined<ConnState>,
}

impl Conn {
    pub fn new(
        ctx: Arc<Context>,
        vhost: Arc<Vhost>,
        tsi: usize,
        fd: RawFd,
        role: Role,
    ) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            ctx,
            vhost: std::sync::RwLock::new(vhost),
            tsi,
            fd: std::sync::atomic::AtomicI32::new(fd),
            state: Confined::new(ConnState {
                role,
                protocol: 0,
                user: None,
                user_ext: 0,
                parent: None,
                children: Vec::new(),
                events: 0,
                armed: 0,
                writable_queued: false,
                held_out: false,
                in_table: false,
                writable_requested: false,
                timeout: None,
                dead: false,
            }),
        });
        crate::service::registry::CONNS.insert(&conn);
        conn
    }

    /// A fake connection bound to `protocol` of `vhost`.
    pub fn fake(ctx: &Arc<Context>, vhost: &Arc<Vhost>, protocol: usize) -> Arc<Conn> {
        let c = Conn::new(ctx.clone(), vhost.clone(), 0, -1, Role::Fake);
        c.state().protocol = protocol;
        c
    }

    pub fn fd(&self) -> RawFd {
        self.fd.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The socket after a client's reconnect (out of the poll set then).
    pub fn set_fd(&self, fd: RawFd) {
        self.fd.store(fd, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn vhost(&self) -> Arc<Vhost> {
        self.vhost
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Runs a short, callback-free `f` on the vhost without cloning it.
    pub fn with_vhost<T>(&self, f: impl FnOnce(&Vhost) -> T) -> T {
        f(&self
            .vhost
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    pub fn set_vhost(&self, vhost: Arc<Vhost>) {
        *self
            .vhost
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = vhost;
    }

    pub fn state(&self) -> Borrow<'_, ConnState> {
        self.state.borrow()
    }

    /// The `struct lws *` C knows this connection by.
    pub fn wsi(self: &Arc<Self>) -> *const c_void {
        Arc::as_ptr(self).cast()
    }

    /// Index of the protocol the connection is bound to.
    pub fn bound_protocol(&self) -> usize {
        self.state().protocol
    }

    pub fn user_ptr(&self) -> *mut c_void {
        self.state().user_addr() as *mut c_void
    }

    /// Calls the bound protocol's callback with this connection's user data.
    pub fn callback(self: &Arc<Self>, r: u32, input: *mut c_void, len: usize) -> i32 {
        let (proto, user) = {
            let st = self.state();
            (st.protocol, st.user_addr())
        };
        self.callback_protocol(proto, r, user as *mut c_void, input, len)
    }

    /// Calls protocol `index` of the vhost on this connection's behalf.
    pub fn callback_protocol(
        self: &Arc<Self>,
        index: usize,
        r: u32,
        user: *mut c_void,
        input: *mut c_void,
        len: usize,
    ) -> i32 {
        // (the vhost lock is not held while the application runs)
        let cb = self.with_vhost(|v| v.protocols.get(index).map(|p| p.callback));
        match cb {
            Some(cb) => callback::invoke(cb, self.wsi(), r, user, input, len),
            None => 0,
        }
    }

    /// Calls `protocols[0]` with this connection's user data, as lws does for
    /// connection-level events (WSI_DESTROY, CLOSED_HTTP, poll changes).
    pub fn callback_p0(self: &Arc<Self>, r: u32, input: *mut c_void, len: usize) -> i32 {
        let user = self.user_ptr();
        self.callback_protocol(0, r, user, input, len)
    }

    /// Replaces the user data with a zeroed block for `protocol`, bracketed
    /// by HTTP_DROP_PROTOCOL / HTTP_BIND_PROTOCOL as the contract orders:
    /// BIND's return, -1 when the block could not be allocated.
    pub fn rebind(self: &Arc<Self>, protocol: usize) -> i32 {
        self.try_rebind(protocol).unwrap_or(-1)
    }

    /// As `rebind`, telling a refused allocation (nothing changed then but
    /// the DROP delivered) from BIND's return.
    pub fn try_rebind(
        self: &Arc<Self>,
        protocol: usize,
    ) -> Result<i32, crate::plat::alloc::OutOfMemory> {
        if self.state().user.is_some() {
            self.callback(
                reason(R::LWS_CALLBACK_HTTP_DROP_PROTOCOL),
                std::ptr::null_mut(),
                0,
            );
        }
        let size = self
            .vhost()
            .protocols
            .get(protocol)
            .map_or(0, |p| p.per_session_data_size);
        let user = session_data(size)?;
        {
            let mut st = self.state();
            st.protocol = protocol;
            st.user = user;
        }
        Ok(self.callback(
            reason(R::LWS_CALLBACK_HTTP_BIND_PROTOCOL),
            std::ptr::null_mut(),
            0,
        ))
    }

    /// Sets the poll interest, telling an external poll loop through the
    /// CHANGE_MODE_POLL_FD trio (sent even when unchanged, as lws does).
    /// WRITABLE on a socket that took all output so far is served from the
    /// pt's assumed-writable list instead of epoll: no epoll_ctl per
    /// lws_callback_on_writable.
    pub fn set_events(self: &Arc<Self>, events: u32) {
        let (prev, now, arm, queue) = {
            let mut st = self.state();
            if !st.in_table || st.dead {
                return;
            }
            let prev = st.announced();
            st.events = events;
            let assumed = events & WRITABLE != 0 && writable_assumed(&st);
            let want = if assumed { events & !WRITABLE } else { events };
            let arm = (want != st.armed).then(|| {
                st.armed = want;
                want
            });
            let queue = assumed && !std::mem::replace(&mut st.writable_queued, true);
            (prev, st.announced(), arm, queue)
        };
        let pt = &self.ctx.pts[self.tsi];
        if let Some(events) = arm {
            pt.modify(self.fd(), events);
        }
        if queue {
            pt.queue_writable(self);
        }
        callback::poll_change(self, self.fd(), now, prev);
    }

    /// Tells the application's poll loop about held input (POLLOUT, so its
    /// poll returns and lws_service_fd drains it) or that it is gone.
    pub fn announce_held(self: &Arc<Self>, held: bool) {
        let (now, prev) = {
            let mut st = self.state();
            if !st.in_table || st.dead || st.held_out == held {
                return;
            }
            let prev = st.announced();
            st.held_out = held;
            (st.announced(), prev)
        };
        if now != prev {
            callback::poll_change(self, self.fd(), now, prev);
        }
    }

    pub fn add_events(self: &Arc<Self>, bits: u32) {
        let (cur, settled) = {
            let st = self.state();
            // an assumed WRITABLE must be re-judged: output may be buffered now
            let settled =
                st.events & bits == bits && (st.armed & bits == bits || writable_assumed(&st));
            (st.events, settled)
        };
        if !settled {
            self.set_events(cur | bits);
        }
    }

    pub fn remove_events(self: &Arc<Self>, bits: u32) {
        let cur = self.state().events;
        if cur & bits != 0 {
            self.set_events(cur & !bits);
        }
    }

    /// The pt's turn to serve an assumed WRITABLE: true if it is still
    /// wanted and not left to epoll meanwhile.
    pub fn take_assumed_writable(&self) -> bool {
        let mut st = self.state();
        st.writable_queued = false;
        st.assumed_writable_wanted()
    }

    /// After its turn: true (and marked queued) if the assumed WRITABLE is
    /// still wanted and nobody queued it again meanwhile.
    pub fn requeue_assumed_writable(&self) -> bool {
        let mut st = self.state();
        let again = !st.writable_queued && st.assumed_writable_wanted();
        st.writable_queued |= again;
        again
    }

    pub fn set_timeout(&self, r: u32, secs: i64) {
        let mut st = self.state();
        st.timeout = (r != 0).then(|| Timeout {
            reason: r,
            deadline: crate::service::now_secs().saturating_add(secs.max(0) as u64),
        });
    }

    /// Uses application-owned per-session data (never freed by us).
    pub fn set_external_user(&self, addr: usize) {
        self.state().user_ext = addr;
    }

    pub fn has_external_user(&self) -> bool {
        self.state().user_ext != 0
    }

    /// Links a child connection (a client opened with `parent_wsi`).
    pub fn adopt_child(self: &Arc<Self>, child: &Arc<Conn>) {
        child.state().parent = Some(Arc::downgrade(self));
        self.state().children.push(Arc::downgrade(child));
    }

    pub fn parent(&self) -> Option<Arc<Conn>> {
        self.state()
            .parent
            .as_ref()
            .and_then(std::sync::Weak::upgrade)
    }

    /// The first child still open.
    pub fn first_child(&self) -> Option<Arc<Conn>> {
        self.state()
            .children
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .find(|c| !c.is_dead())
    }

    pub fn protocol_index(&self) -> usize {
        self.state().protocol
    }

    pub fn is_dead(&self) -> bool {
        self.state().dead
    }
}

impl Drop for Conn {
    /// Freed: C's `struct lws *` for it is no longer accepted.
    fn drop(&mut self) {
        crate::service::registry::CONNS.remove(std::ptr::from_ref(self) as usize);
    }
}

fn writable_assumed(st: &ConnState) -> bool {
    match &st.role {
        Role::Http(h) => h.writable_assumed(),
        _ => false,
    }
}
