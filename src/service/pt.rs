//! One service thread's state ("pt"): its poll set and waker, the fd-indexed
//! connection table, the header-table pool, and the service loop.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use super::confined::Confined;
use super::context::{Context, ContextConfig};
use super::source::Source;
use super::vhost::CBytes;
use crate::conn::http::{self, Flow};
use crate::conn::{reason, Conn, Role};
use crate::ffi::callback::{self, PollOp};
use crate::ffi::enums::lws_callback_reasons as R;
use crate::plat::epoll::{Events, Ready, HANGUP, READABLE, WRITABLE};
use crate::plat::evloop::{self, Kind, Setup};

/// Why a connection is being closed; decides which final callbacks it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseWhy {
    /// the peer closed (EOF)
    PeerEof,
    /// socket error or hang-up
    Hangup,
    /// a `lws_set_timeout` deadline passed
    Timeout(u32),
    /// the application asked (non-zero callback return)
    App,
    /// a protocol error
    Error,
    /// a refused WebSocket upgrade: no reply, no final callbacks
    Rejected,
    /// a client connection that failed (CONNECTION_ERROR already sent)
    ClientFailed,
    /// lws_context_destroy
    Destroy,
}

/// The least a read asks the socket for: one recv takes a 16 KiB message
/// (or a TLS record) whole. One buffer per service thread, so it costs no
/// memory per connection; RECEIVE stays chunked at rx_buffer_size.
const READ_BUF: usize = 64 * 1024;

pub struct PtState {
    conns: Vec<Option<Arc<Conn>>>,
    count: usize,
    /// closed connections, freed at the next safe point
    graveyard: Vec<Arc<Conn>>,
    /// replaced per-session data, freed at the next safe point
    retired: Vec<CBytes>,
    /// connections with buffered input to process without waiting for POLLIN
    pending: Vec<Arc<Conn>>,
    /// connections whose WRITABLE is served without asking epoll
    writable: Vec<Arc<Conn>>,
    ah_free: usize,
    ah_waiters: VecDeque<Arc<Conn>>,
    /// listeners not accepting until an fd slot frees
    paused_listeners: Vec<Arc<Conn>>,
    last_scan: u64,
    serv_buf: Vec<u8>,
    events: Option<Events>,
}

pub struct Pt {
    pub tsi: usize,
    /// ws_ping_pong_interval (0: off)
    ping_interval: u16,
    source: Source,
    /// another thread asked this one's loop to stop (HALT_*)
    halt: AtomicU8,
    /// GET_THREAD_ID was asked (checked on every foreign-loop event)
    asked_thread_id: AtomicBool,
    pub state: Confined<PtState>,
}

impl Pt {
    pub fn new(tsi: usize, cfg: &ContextConfig) -> io::Result<Pt> {
        Ok(Pt {
            tsi,
            ping_interval: cfg.ws_ping_pong_interval,
            source: Source::new()?,
            halt: AtomicU8::new(0),
            asked_thread_id: AtomicBool::new(false),
            state: Confined::new(PtState {
                conns: Vec::new(),
                count: 0,
                graveyard: Vec::new(),
                retired: Vec::new(),
                pending: Vec::new(),
                writable: Vec::new(),
                ah_free: cfg.max_http_header_pool,
                ah_waiters: VecDeque::new(),
                paused_listeners: Vec::new(),
                last_scan: 0,
                serv_buf: vec![0; cfg.pt_serv_buf_size.max(READ_BUF)],
                events: Some(Events::with_capacity(256)),
            }),
        })
    }

    pub fn wake(&self) {
        self.source.wake();
    }

    pub fn lookup(&self, fd: RawFd) -> Option<Arc<Conn>> {
        let st = self.state.borrow();
        usize::try_from(fd)
            .ok()
            .and_then(|i| st.conns.get(i))
            .and_then(|c| c.clone())
    }

    /// Every connection in the table (a snapshot).
    pub fn connections(&self) -> Vec<Arc<Conn>> {
        self.state
            .borrow()
            .conns
            .iter()
            .flatten()
            .cloned()
            .collect()
    }

    pub fn fd_count(&self) -> usize {
        self.state.borrow().count
    }

    /// Header tables in use (of a pool of `pool`) and connections waiting
    /// for one, for the server-status JSON.
    pub fn ah_status(&self, pool: usize) -> (usize, usize) {
        let st = self.state.borrow();
        (pool.saturating_sub(st.ah_free), st.ah_waiters.len())
    }

    /// Adds a connection to the table and the poll set.
    pub fn insert(&self, conn: &Arc<Conn>, events: u32) -> io::Result<()> {
        let idx =
            usize::try_from(conn.fd()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        {
            let mut st = self.state.borrow();
            if st.conns.len() <= idx {
                st.conns.resize(idx + 1, None);
            }
            st.conns[idx] = Some(conn.clone());
            st.count += 1;
        }
        {
            let mut cs = conn.state();
            cs.in_table = true;
            cs.events = events;
            cs.armed = events;
        }
        if let Err(e) = self.source.add(conn.fd(), events) {
            self.forget(conn);
            return Err(e);
        }
        callback::poll_event(conn, PollOp::Add, conn.fd(), events, 0);
        Ok(())
    }

    pub fn modify(&self, fd: RawFd, events: u32) {
        if let Err(e) = self.source.modify(fd, events) {
            lwsl_err!("poll interest of fd {fd}: {e}");
        }
    }

    /// Takes a connection out of the poll set and the table.
    pub fn remove(&self, conn: &Arc<Conn>) {
        let events = {
            let mut cs = conn.state();
            if !cs.in_table {
                return;
            }
            cs.in_table = false;
            // (forget takes it off the assumed-writable list)
            cs.writable_queued = false;
            cs.events
        };
        self.source.delete(conn.fd());
        self.forget(conn);
        callback::poll_event(conn, PollOp::Delete, conn.fd(), 0, events);
    }

    fn forget(&self, conn: &Arc<Conn>) {
        let mut st = self.state.borrow();
        if let Some(slot) = usize::try_from(conn.fd())
            .ok()
            .and_then(|i| st.conns.get_mut(i))
        {
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
                *slot = None;
                st.count -= 1;
            }
        }
        st.pending.retain(|c| !Arc::ptr_eq(c, conn));
        st.writable.retain(|c| !Arc::ptr_eq(c, conn));
        st.ah_waiters.retain(|c| !Arc::ptr_eq(c, conn));
    }

    pub fn bury(&self, conn: Arc<Conn>) {
        self.state.borrow().graveyard.push(conn);
        if self.source.is_foreign() {
            self.source.kick();
        }
    }

    pub fn retire(&self, user: CBytes) {
        self.state.borrow().retired.push(user);
    }

    /// Frees closed connections and replaced user data: no C code can still
    /// be using them.
    pub fn reap(&self) {
        let (dead, retired) = {
            let mut st = self.state.borrow();
            (
                std::mem::take(&mut st.graveyard),
                std::mem::take(&mut st.retired),
            )
        };
        drop(dead);
        drop(retired);
    }

    /// Queues a connection whose buffered input can be processed now. An
    /// application polling for us is asked for POLLOUT on it, so its loop
    /// cannot sleep while the input waits (as lws does).
    pub fn mark_pending(&self, conn: &Arc<Conn>) {
        let mut st = self.state.borrow();
        if !st.pending.iter().any(|c| Arc::ptr_eq(c, conn)) {
            st.pending.push(conn.clone());
        }
        drop(st);
        if self.source.app_polls() {
            conn.announce_held(true);
        }
        self.source.kick();
    }

    fn is_pending(&self, conn: &Arc<Conn>) -> bool {
        self.state
            .borrow()
            .pending
            .iter()
            .any(|c| Arc::ptr_eq(c, conn))
    }

    fn has_queued(&self) -> bool {
        let st = self.state.borrow();
        !st.pending.is_empty() || !st.writable.is_empty() || !st.graveyard.is_empty()
    }

    /// Serves `conn`'s WRITABLE in this pass as if epoll had reported
    /// POLLOUT, which a socket that took all output so far would do: saves
    /// the epoll_ctl pair per lws_callback_on_writable.
    pub fn queue_writable(&self, conn: &Arc<Conn>) {
        self.state.borrow().writable.push(conn.clone());
        self.source.kick();
    }

    /// Takes a header table from the pool, or queues the connection for the
    /// next one freed (false).
    pub fn acquire_ah(&self, conn: &Arc<Conn>) -> bool {
        let mut st = self.state.borrow();
        if st.ah_free > 0 {
            st.ah_free -= 1;
            true
        } else {
            if !st.ah_waiters.iter().any(|c| Arc::ptr_eq(c, conn)) {
                st.ah_waiters.push_back(conn.clone());
            }
            false
        }
    }

    /// Returns a header table to the pool; the oldest waiter gets it.
    pub fn release_ah(&self) {
        let waiter = {
            let mut st = self.state.borrow();
            match st.ah_waiters.pop_front() {
                Some(w) => Some(w),
                None => {
                    st.ah_free += 1;
                    None
                }
            }
        };
        if let Some(w) = waiter {
            http::ah_granted(&w);
        }
    }

    /// Stops a listener accepting (at the fd limit, or out of fds) until a
    /// connection closes or a second passes.
    fn pause_listener(&self, listener: &Arc<Conn>) {
        {
            let mut st = self.state.borrow();
            if st.paused_listeners.iter().any(|l| Arc::ptr_eq(l, listener)) {
                return;
            }
            st.paused_listeners.push(listener.clone());
        }
        listener.remove_events(READABLE);
    }

    fn resume_listeners(&self) {
        let paused = std::mem::take(&mut self.state.borrow().paused_listeners);
        for l in paused {
            l.add_events(READABLE);
        }
    }

    /// Closes every connection, for lws_context_destroy.
    pub fn close_all(&self) {
        let conns: Vec<Arc<Conn>> = self
            .state
            .borrow()
            .conns
            .iter()
            .flatten()
            .cloned()
            .collect();
        for c in conns {
            close(&c, CloseWhy::Destroy);
        }
    }

    pub(crate) fn take_serv_buf(&self) -> Vec<u8> {
        std::mem::take(&mut self.state.borrow().serv_buf)
    }

    pub(crate) fn put_serv_buf(&self, buf: Vec<u8>) {
        self.state.borrow().serv_buf = buf;
    }
}

/// `lws_service_tsi`: one pass of the loop for service thread `tsi`; with
/// a libuv / libev loop attached, runs that loop (as lws does).
pub fn service(ctx: &Arc<Context>, tsi: usize, timeout_ms: i32) -> i32 {
    let Some(pt) = ctx.pts.get(tsi) else {
        return -1;
    };
    if ctx.first_vhost().is_none() {
        return 1;
    }
    ask_thread_id(ctx, pt);
    ctx.init_protocols();
    if let Some(lp) = pt.source.runnable() {
        pt.source.on_loop_thread();
        evloop::run(&lp);
        return 0;
    }
    pt.reap();
    let Some(mut events) = pt.state.borrow().events.take() else {
        return -1;
    };
    let mut ready = Vec::new();
    let waited = pt.source.wait(
        &mut events,
        timeout_ms,
        || {
            let st = pt.state.borrow();
            !st.pending.is_empty() || !st.writable.is_empty()
        },
        &mut ready,
    );
    pt.state.borrow().events = Some(events);
    if let Err(e) = waited {
        lwsl_err!("epoll_wait: {e}");
        return -1;
    }
    for r in ready {
        if let Some(conn) = pt.lookup(r.fd) {
            service_conn(&conn, r);
        }
    }
    after_events(pt);
    0
}

/// The work after a batch of events, the same for every backend: input
/// held back earlier, connections assumed writable, timeouts.
fn after_events(pt: &Pt) {
    let pending = std::mem::take(&mut pt.state.borrow().pending);
    for conn in pending {
        if !conn.is_dead() {
            finish(&conn, http::process(&conn));
        }
        if conn.state().held_out && !pt.is_pending(&conn) {
            conn.announce_held(false);
        }
    }
    let writable = std::mem::take(&mut pt.state.borrow().writable);
    for conn in writable {
        if conn.take_assumed_writable() {
            service_conn(
                &conn,
                Ready {
                    fd: conn.fd(),
                    events: WRITABLE,
                },
            );
            // level-triggered, like epoll: still wanted, served next pass
            if conn.requeue_assumed_writable() {
                pt.queue_writable(&conn);
            }
        }
    }
    scan_timeouts(pt);
}

/// `lws_service_fd_tsi`: services one fd an external poll loop found ready
/// (or only the periodic work for None), then the queued work; the result
/// is 1 if that connection got closed, and whether the fd was ours.
pub fn service_fd(ctx: &Arc<Context>, tsi: usize, ready: Option<(RawFd, u32)>) -> (i32, bool) {
    let Some(pt) = ctx.pts.get(tsi) else {
        return (-1, false);
    };
    ctx.init_protocols();
    pt.reap();
    let conn = ready.and_then(|(fd, events)| Some((pt.lookup(fd)?, Ready { fd, events })));
    if let Some((conn, r)) = &conn {
        service_conn(conn, *r);
    }
    after_events(pt);
    match conn {
        Some((conn, _)) => (i32::from(conn.is_dead()), true),
        None => (0, false),
    }
}

/// Attaches a libuv / libev loop to service thread `tsi`: its sockets move
/// onto the loop, which from then on drives the service.
pub fn attach_loop(ctx: &Arc<Context>, tsi: usize, setup: Setup) -> std::io::Result<()> {
    let pt = &ctx.pts[tsi];
    let fds: Vec<(RawFd, u32)> = pt
        .connections()
        .iter()
        .map(|c| (c.fd(), c.state().armed))
        .collect();
    pt.source.attach(&setup, &fds)
}

/// The loop attached to `tsi` (its address), if it is of `kind`.
pub fn native_loop(ctx: &Context, tsi: usize, kind: Kind) -> usize {
    let source = &ctx.pts[tsi].source;
    if source.foreign_kind() == Some(kind) {
        source.native_loop()
    } else {
        0
    }
}

/// Runs the libuv / libev loop of `tsi` until it stops; false if none.
pub fn run_loop(ctx: &Context, tsi: usize) -> bool {
    match ctx.pts[tsi].source.runnable() {
        Some(lp) => {
            ctx.pts[tsi].source.on_loop_thread();
            evloop::run(&lp);
            true
        }
        None => false,
    }
}

/// Stop the loop (libev's SIGINT handler, for the other threads' loops).
const HALT_BREAK: u8 = 1;
/// Close every connection, then stop the loop (lws_libuv_stop).
const HALT_CLOSE: u8 = 2;

/// `lws_libuv_stop`: every thread with a loop closes all its connections
/// and stops its loop, on that loop's thread.
pub fn stop_loops(ctx: &Context) {
    halt_loops(ctx, HALT_CLOSE);
}

/// libev's SIGINT handler broke one loop: the context's other libev loops
/// stop too, each on its own thread.
pub fn break_loops(ctx: &Context) {
    halt_loops(ctx, HALT_BREAK);
}

fn halt_loops(ctx: &Context, how: u8) {
    for pt in ctx.pts.iter().filter(|pt| pt.source.is_foreign()) {
        pt.halt.fetch_max(how, Ordering::AcqRel);
        pt.source.wake();
    }
}

/// Whether some service thread of the context runs on a libuv / libev loop.
pub fn has_foreign_loop(ctx: &Context) -> bool {
    ctx.pts.iter().any(|pt| pt.source.is_foreign())
}

/// Whether some service thread of the context already runs on a loop of
/// `kind` (libev lets only one loop watch a signal).
pub fn has_loop(ctx: &Context, kind: Kind) -> bool {
    ctx.pts
        .iter()
        .any(|pt| pt.source.foreign_kind() == Some(kind))
}

/// Releases the loop handles of every thread (context destruction, after
/// every connection is closed).
pub fn detach_loops(ctx: &Context) {
    for pt in &ctx.pts {
        pt.source.detach();
    }
}

impl Pt {
    /// A foreign loop reports events on `fd`.
    pub fn loop_io(&self, fd: RawFd, events: u32) {
        self.source.on_loop_thread();
        let Some(conn) = self.lookup(fd) else {
            return;
        };
        ask_thread_id(&conn.ctx, self);
        conn.ctx.init_protocols();
        service_conn(&conn, Ready { fd, events });
        // what the event queued (a WRITEABLE, input held back) is served
        // now, as lws_service does after its batch, rather than after one
        // more trip round the loop
        if self.has_queued() {
            after_events(self);
            if !self.has_queued() {
                self.source.rest();
            }
        }
    }

    /// A foreign loop's once-a-second timer.
    pub fn loop_tick(&self) {
        self.source.on_loop_thread();
        self.reap();
        scan_timeouts(self);
    }

    /// A foreign loop gives queued work (or a wake-up) its turn.
    pub fn loop_work(&self) {
        self.source.on_loop_thread();
        for fd in self.source.take_deferred() {
            if let Some(conn) = self.lookup(fd) {
                let armed = conn.state().armed;
                self.modify(fd, armed);
            }
        }
        match self.halt.swap(0, Ordering::AcqRel) {
            HALT_CLOSE => {
                self.close_all();
                self.source.stop();
            }
            HALT_BREAK => self.source.stop(),
            _ => {}
        }
        self.reap();
        after_events(self);
        if !self.has_queued() {
            self.source.rest();
        }
    }
}

fn ask_thread_id(ctx: &Arc<Context>, pt: &Pt) {
    if pt.asked_thread_id.load(Ordering::Acquire) || pt.asked_thread_id.swap(true, Ordering::AcqRel)
    {
        return;
    }
    if let Some(vh) = ctx.first_vhost() {
        let fake = Conn::fake(ctx, &vh, 0);
        fake.callback_protocol(
            0,
            reason(R::LWS_CALLBACK_GET_THREAD_ID),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// Once a second: close connections whose timeout passed.
fn scan_timeouts(pt: &Pt) {
    let now = super::now_secs();
    let expired: Vec<(Arc<Conn>, u32)> = {
        let mut st = pt.state.borrow();
        if st.last_scan == now {
            return;
        }
        st.last_scan = now;
        drop(st);
        pt.resume_listeners();
        let st = pt.state.borrow();
        st.conns
            .iter()
            .flatten()
            .filter_map(|c| {
                let cs = c.state();
                cs.timeout
                    .filter(|t| now > t.deadline)
                    .map(|t| (c.clone(), t.reason))
            })
            .collect()
    };
    for (conn, why) in expired {
        if why == http::reason_t(crate::ffi::enums::pending_timeout::PENDING_TIMEOUT_CGI) {
            // a CGI script is stopped; a mount still answers the client
            crate::conn::cgi::timed_out(&conn);
        } else {
            close(&conn, CloseWhy::Timeout(why));
        }
    }
    crate::conn::cgi::reap_scan(now);
    let interval = u64::from(pt.ping_interval);
    if interval > 0 {
        for conn in pt.connections() {
            crate::conn::ws::idle_check(&conn, interval, now);
        }
    }
}

fn service_conn(conn: &Arc<Conn>, r: Ready) {
    let (is_listener, is_pipe) = {
        let st = conn.state();
        (
            matches!(st.role, Role::Listener(_)),
            matches!(st.role, Role::CgiPipe(_)),
        )
    };
    if is_listener {
        accept(conn);
        return;
    }
    if is_pipe {
        crate::conn::cgi::on_pipe_event(conn, r.events);
        return;
    }
    if r.events & HANGUP != 0 && r.events & READABLE == 0 {
        close(conn, CloseWhy::Hangup);
        return;
    }
    if r.events & WRITABLE != 0 {
        let flow = http::on_writable(conn);
        if !finish(conn, flow) {
            return;
        }
    }
    if r.events & READABLE != 0 {
        let pt = &conn.ctx.pts[conn.tsi];
        let mut buf = pt.take_serv_buf();
        let flow = http::on_readable(conn, &mut buf);
        pt.put_serv_buf(buf);
        finish(conn, flow);
    }
}

/// Acts on a flow result; false if the connection is gone.
fn finish(conn: &Arc<Conn>, flow: Flow) -> bool {
    match flow {
        Flow::Continue => !conn.is_dead(),
        Flow::Close(why) => {
            close(conn, why);
            false
        }
    }
}

/// Accepts what the listener has, up to the thread's fd limit.
fn accept(listener: &Arc<Conn>) {
    let ctx = &listener.ctx;
    let pt = &ctx.pts[listener.tsi];
    loop {
        if pt.fd_count() + 1 >= ctx.cfg.fd_limit_per_thread {
            pt.pause_listener(listener);
            return;
        }
        let stream = {
            let st = listener.state();
            let Role::Listener(l) = &st.role else { return };
            match crate::conn::transport::accept(l) {
                Ok(Some(s)) => s,
                Ok(None) => return,
                Err(e) => {
                    drop(st);
                    lwsl_err!("accept: {e}; not accepting for a moment");
                    pt.pause_listener(listener);
                    return;
                }
            }
        };
        http::adopt(listener, stream, &[]);
    }
}

/// HTTP_DROP_PROTOCOL, only for a connection that has per-session data to
/// drop (one closed before its first request has none, and an application
/// freeing things through `user` must never see NULL there).
fn drop_protocol(conn: &Arc<Conn>) {
    if conn.state().user_addr() != 0 {
        conn.callback(
            reason(R::LWS_CALLBACK_HTTP_DROP_PROTOCOL),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// Closes a connection: linger first for an orderly application close, then
/// the final callbacks for its state, then out of the poll set and table.
pub fn close(conn: &Arc<Conn>, why: CloseWhy) {
    if conn.is_dead() {
        return;
    }
    // a CGI script running for it is stopped
    crate::conn::cgi::on_close(conn);
    // a closing parent first hard-closes its children (CONTRACT §1)
    let children = std::mem::take(&mut conn.state().children);
    for child in children.iter().filter_map(std::sync::Weak::upgrade) {
        close(&child, CloseWhy::Hangup);
    }
    let is_listener = matches!(conn.state().role, Role::Listener(_) | Role::Fake);
    if !is_listener && http::linger(conn, why) {
        return;
    }
    let pt = &conn.ctx.pts[conn.tsi];
    let finals = if is_listener {
        http::Finals::default()
    } else {
        http::finals(conn, why)
    };
    if finals.drop_and_closed_first {
        drop_protocol(conn);
        conn.callback_p0(reason(R::LWS_CALLBACK_CLOSED_HTTP), std::ptr::null_mut(), 0);
    }
    if finals.closed_client_http {
        conn.callback_p0(
            reason(R::LWS_CALLBACK_CLOSED_CLIENT_HTTP),
            std::ptr::null_mut(),
            0,
        );
    }
    pt.remove(conn);
    if finals.client_error_after_del {
        crate::conn::client::report_error(conn, None);
    }
    if !is_listener {
        pt.resume_listeners();
    }
    if finals.closed_after_del {
        conn.callback_p0(reason(R::LWS_CALLBACK_CLOSED_HTTP), std::ptr::null_mut(), 0);
    }
    if finals.ws_closed {
        drop_protocol(conn);
        conn.callback(reason(R::LWS_CALLBACK_CLOSED), std::ptr::null_mut(), 0);
    }
    conn.callback_p0(reason(R::LWS_CALLBACK_WSI_DESTROY), std::ptr::null_mut(), 0);
    let had_ah = http::teardown(conn);
    {
        let mut cs = conn.state();
        cs.dead = true;
        cs.timeout = None;
        cs.user = None;
        // dropping the role closes the socket
        cs.role = Role::Fake;
    }
    if had_ah {
        pt.release_ah();
    }
    pt.bury(conn.clone());
}
