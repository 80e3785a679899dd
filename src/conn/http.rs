//! Server-side HTTP/1.x connections: accepting, reading request heads into a
//! header table, the callback sequence of CONTRACT §3 (B, C, D), request
//! bodies, writes and partial sends, files, keep-alive and pipelining, and
//! the orderly close.

use std::os::raw::c_void;
use std::sync::Arc;

use super::transport::{ReadOutcome, Stream};
use super::{reason, Conn, Role};
use crate::ffi::enums::lws_callback_reasons as R;
use crate::ffi::enums::pending_timeout as T;
use crate::http::headers::HeaderTable;
use crate::http::request::{self, HeadError, Method};
use crate::http::response::{self, HeaderCursor, NoRoom, StatusBlock};
use crate::http::tokens;
use crate::plat::alloc::AppBytes;
use crate::plat::epoll::{READABLE, WRITABLE};
use crate::plat::mem;
use crate::plat::sock;
use crate::service::pt::CloseWhy;
use crate::service::stats::ConnStats;
use crate::service::vhost::find_mount;

use super::{client, mount, ws};

/// Body bytes expected from a POST/PUT/PATCH without Content-Length.
const UNDECLARED_BODY: u64 = 100 * 1024 * 1024;
/// Input buffered beyond a response in progress (pipelined requests): past
/// this much, further input stays in the kernel until the transaction ends.
const RX_PAUSE: usize = 4096;
/// WebSocket input read but not yet decoded: past this much, further input
/// stays in the kernel until it is consumed (inflating a compressed message
/// can be far slower than a peer sends it).
pub(crate) const WS_RX_BACKLOG: usize = 1 << 20;
/// Bytes after which a request line's first word is judged (a method).
const LONGEST_FIRST_WORD: usize = 8;
/// How long buffered output may take to drain before a close.
const FLUSH_BEFORE_CLOSE_SECS: i64 = 5;

/// What the service loop should do with a connection after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close(CloseWhy),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// reading a request head
    Head,
    /// reading the declared body
    Body,
    /// the application is answering; further input waits (pipelining)
    Responding,
    /// write side shut after an orderly close: waiting for the peer's EOF
    Linger,
    /// an established WebSocket
    Ws,
    /// a client connection: TCP connect in progress
    ClientConnect,
    /// a client connection: CONNECT sent to the HTTP proxy, reading its reply
    ClientProxy,
    /// a client connection: request sent, reading the reply head
    ClientReply,
    /// an HTTP client connection: receiving the reply body
    ClientHttp,
}

/// A file being sent by lws_serve_http_file.
pub struct FileSend {
    pub fd: i32,
    pub remaining: u64,
    buf: AppBytes,
    /// a mount's `interpret` protocol filters the content (PROCESS_HTML)
    interpret: Option<Interpret>,
}

/// How an interpreted file leaves: each piece through PROCESS_HTML of
/// `protocol`, then as one chunk (`chunked`, HTTP/1.1) or as it is (1.0,
/// the end of the body being the close).
#[derive(Clone, Copy)]
pub struct Interpret {
    pub protocol: usize,
    pub chunked: bool,
}

/// Room PROCESS_HTML may grow a piece by (the original's `max_len` is the
/// piece's length + 128), plus the headroom before it for the chunk-size
/// line `lws_chunked_html_process` writes there.
const INTERPRET_ROOM: usize = 128 + crate::ffi::callback::PROCESS_HTML_HEADROOM;

pub struct HttpConn {
    pub stream: Stream,
    /// input received but not consumed yet
    pub rx: Vec<u8>,
    /// output the socket has not taken yet
    pub tx: Vec<u8>,
    pub ah: Option<Box<HeaderTable>>,
    pub phase: Phase,
    pub keepalive: bool,
    pub http11: bool,
    pub body_remaining: u64,
    pub file: Option<FileSend>,
    /// a request was seen since the last completed transaction
    pub in_transaction: bool,
    /// the application closed while output was still buffered
    pub close_after_flush: bool,
    /// how much of `rx` the head parser has already looked at
    pub head_scanned: usize,
    /// how much of `rx` the WebSocket decoder has consumed
    pub rx_off: usize,
    pub ws: Option<crate::plat::alloc::AppBox<super::ws::WsState>>,
    /// a refused WebSocket upgrade: closed without final callbacks
    pub rejected: bool,
    pub client: Option<Box<super::client::ClientState>>,
    /// the TLS handshake is still in progress
    pub tls_handshake: bool,
    /// a TLS port that also takes plain HTTP: undecided until the first byte
    pub tls_undecided: bool,
    /// plain HTTP on a TLS port (ALLOW_NON_SSL_ON_SSL_PORT)
    pub plain_on_tls_port: bool,
    /// an lws_write failed on the application's arguments: closed at the
    /// next writable moment, every write until then fails
    pub write_failed: bool,
    /// the CGI script answering the current request
    pub cgi: Option<Box<super::cgi::Cgi>>,
}

impl HttpConn {
    pub fn new(stream: Stream, rx: Vec<u8>) -> HttpConn {
        HttpConn {
            stream,
            rx,
            tx: Vec::new(),
            ah: None,
            phase: Phase::Head,
            keepalive: false,
            http11: false,
            body_remaining: 0,
            file: None,
            in_transaction: false,
            close_after_flush: false,
            head_scanned: 0,
            rx_off: 0,
            ws: None,
            rejected: false,
            client: None,
            tls_handshake: false,
            tls_undecided: false,
            plain_on_tls_port: false,
            write_failed: false,
            cgi: None,
        }
    }

    /// POLLOUT can be taken for granted: nothing waits for the socket to
    /// drain or a connect / handshake to finish, and whatever a write
    /// cannot hand the socket is buffered (and then waits for real POLLOUT).
    pub fn writable_assumed(&self) -> bool {
        self.tx.is_empty()
            && self.file.is_none()
            && !self.tls_handshake
            && !self.close_after_flush
            && matches!(
                self.phase,
                Phase::Head
                    | Phase::Body
                    | Phase::Responding
                    | Phase::Ws
                    | Phase::ClientReply
                    | Phase::ClientHttp
            )
    }
}

pub(crate) fn with_http<T>(conn: &Conn, f: impl FnOnce(&mut HttpConn) -> T) -> Option<T> {
    let mut st = conn.state();
    match &mut st.role {
        Role::Http(h) => Some(f(h)),
        _ => None,
    }
}

fn ah_table(conn: &Arc<Conn>) -> Box<HeaderTable> {
    let cfg = &conn.ctx.cfg;
    Box::new(HeaderTable::new(
        cfg.max_http_header_data,
        cfg.token_limits.as_deref(),
    ))
}

/// Makes an accepted (or adopted) socket a connection of the listener's
/// vhost: FILTER_NETWORK_CONNECTION, WSI_CREATE, SERVER_NEW_CLIENT_INSTANTIATED,
/// poll-set insert, header table (or the wait for one). `readbuf` holds bytes
/// already read from the socket.
pub fn adopt(via: &Arc<Conn>, stream: Stream, readbuf: &[u8]) -> Option<Arc<Conn>> {
    let ctx = &via.ctx;
    let fd = stream.fd();
    if usize::try_from(fd).map_or(true, |f| f >= ctx.max_fds) {
        lwsl_err!("fd {fd} beyond the process limit, refused");
        return None;
    }
    let is_listener = matches!(via.state().role, Role::Listener(_));
    if is_listener {
        let r = via.callback_protocol(
            0,
            reason(R::LWS_CALLBACK_FILTER_NETWORK_CONNECTION),
            std::ptr::null_mut(),
            fd as isize as *mut c_void,
            0,
        );
        if r != 0 {
            via.with_vhost(|v| ConnStats::bump(&v.stats.rejected));
            return None;
        }
    }
    if let (Some((idle, probes, interval)), Stream::Tcp(_)) = (via.vhost().tcp_keepalive, &stream) {
        if let Err(e) = sock::set_keepalive(fd, idle, probes, interval) {
            lwsl_err!("TCP keepalive on fd {fd}: {e}");
        }
    }
    let allow_plain = crate::service::context::has_option(
        via.vhost().options,
        crate::ffi::enums::lws_context_options::LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT,
    );
    let (stream, tls, undecided) = match (&via.vhost().tls_server, stream) {
        (Some(_), stream) if allow_plain => (stream, false, true),
        (Some(ctx), Stream::Tcp(tcp)) => {
            let Ok(ssl) = openssl::ssl::Ssl::new(ctx) else {
                return None;
            };
            match Stream::tls(tcp, ssl, true) {
                Ok(s) => (s, true, false),
                Err(e) => {
                    lwsl_err!("TLS for fd {fd}: {e}");
                    return None;
                }
            }
        }
        (_, stream) => (stream, false, false),
    };
    let mut http = HttpConn::new(stream, readbuf.to_vec());
    http.tls_handshake = tls;
    http.tls_undecided = undecided;
    let http = crate::plat::alloc::AppBox::new(http, "a connection")?;
    let conn = Conn::new(ctx.clone(), via.vhost(), via.tsi, fd, Role::Http(http));
    conn.callback_p0(reason(R::LWS_CALLBACK_WSI_CREATE), std::ptr::null_mut(), 0);
    let first = ctx.first_vhost()?;
    let first_fake = Conn::fake(ctx, &first, 0);
    let r = callback_as(
        &conn,
        &first_fake,
        reason(R::LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED),
    );
    if r != 0 {
        conn.with_vhost(|v| ConnStats::bump(&v.stats.rejected));
        return None;
    }
    conn.with_vhost(|v| ConnStats::bump(&v.stats.conn));
    let pt = &ctx.pts[conn.tsi];
    let got_ah = pt.acquire_ah(&conn);
    if got_ah {
        with_http(&conn, |h| h.ah = Some(ah_table(&conn)));
    }
    if let Err(e) = pt.insert(&conn, if got_ah { READABLE } else { 0 }) {
        lwsl_err!("adding fd {fd} to the poll set: {e}");
        if got_ah {
            pt.release_ah();
        }
        return None;
    }
    if got_ah {
        // attaching the header table (re)states POLLIN, as lws announces
        conn.set_events(READABLE);
    }
    conn.set_timeout(
        reason_t(T::PENDING_TIMEOUT_ESTABLISH_WITH_SERVER),
        i64::from(ctx.cfg.timeout_secs),
    );
    if !readbuf.is_empty() && got_ah {
        pt.mark_pending(&conn);
    }
    Some(conn)
}

/// SERVER_NEW_CLIENT_INSTANTIATED goes to the first vhost's protocols[0] but
/// names the new connection.
fn callback_as(conn: &Arc<Conn>, first: &Arc<Conn>, r: u32) -> i32 {
    match first.vhost().protocols.first() {
        Some(p) => crate::ffi::callback::invoke(
            p.callback,
            conn.wsi(),
            r,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        ),
        None => 0,
    }
}

pub(crate) const fn reason_t(t: T) -> u32 {
    t as u32
}

/// The pool had no header table for `conn` when it needed one; now it has.
pub fn ah_granted(conn: &Arc<Conn>) {
    if conn.is_dead() {
        conn.ctx.pts[conn.tsi].release_ah();
        return;
    }
    with_http(conn, |h| h.ah = Some(ah_table(conn)));
    conn.add_events(READABLE);
    conn.ctx.pts[conn.tsi].mark_pending(conn);
}

/// POLLIN: read what the socket has, then process it.
pub fn on_readable(conn: &Arc<Conn>, buf: &mut [u8]) -> Flow {
    if with_http(conn, |h| h.tls_undecided).unwrap_or(false) {
        if let Some(flow) = decide_tls(conn) {
            return flow;
        }
    }
    if with_http(conn, |h| h.tls_handshake).unwrap_or(false) {
        return tls_handshake(conn);
    }
    let outcome = {
        let mut st = conn.state();
        let Role::Http(h) = &mut st.role else {
            return Flow::Continue;
        };
        if h.phase == Phase::ClientHttp {
            drop(st);
            return client::body_readable(conn);
        }
        let flow_off = h.ws.as_ref().is_some_and(|w| w.flow_disabled)
            || (h.phase == Phase::Ws && h.rx.len() - h.rx_off >= WS_RX_BACKLOG);
        let waiting =
            matches!(h.phase, Phase::Responding) || (h.phase == Phase::Head && h.ah.is_none());
        if (waiting && h.rx.len() >= RX_PAUSE) || flow_off {
            drop(st);
            conn.remove_events(READABLE);
            return Flow::Continue;
        }
        match h.stream.read(buf) {
            Ok(ReadOutcome::Data(n)) => {
                if h.phase == Phase::Linger {
                    ReadOutcome::WouldBlock
                } else {
                    if h.phase == Phase::Ws {
                        ws::compact_input(h);
                    }
                    h.rx.extend_from_slice(&buf[..n]);
                    let mut got = n;
                    // what OpenSSL decrypted beyond buf: no poll announces it
                    while h.stream.tls_pending() {
                        match h.stream.read(buf) {
                            Ok(ReadOutcome::Data(m)) => {
                                h.rx.extend_from_slice(&buf[..m]);
                                got += m;
                            }
                            _ => break,
                        }
                    }
                    conn.with_vhost(|v| ConnStats::add(&v.stats.rx, got));
                    ReadOutcome::Data(n)
                }
            }
            Ok(other) => other,
            Err(_) => return Flow::Close(CloseWhy::Hangup),
        }
    };
    match outcome {
        ReadOutcome::Eof => Flow::Close(CloseWhy::PeerEof),
        ReadOutcome::WouldBlock => Flow::Continue,
        ReadOutcome::Data(_) => process(conn),
    }
}

/// Consumes buffered input as far as the connection's phase allows.
pub fn process(conn: &Arc<Conn>) -> Flow {
    loop {
        let Some(phase) = with_http(conn, |h| h.phase) else {
            return Flow::Continue;
        };
        let step = match phase {
            Phase::Head => read_head(conn),
            Phase::Body => deliver_body(conn),
            Phase::Ws => ws::deliver(conn),
            Phase::ClientReply => client::read_reply(conn),
            Phase::ClientProxy => client::read_proxy_reply(conn),
            Phase::ClientHttp => client::body_held(conn),
            Phase::ClientConnect => return Flow::Continue,
            Phase::Responding | Phase::Linger => return Flow::Continue,
        };
        match step {
            Step::Again => continue,
            Step::Wait => return Flow::Continue,
            Step::Done(flow) => return flow,
        }
    }
}

pub(crate) enum Step {
    Again,
    Wait,
    Done(Flow),
}

fn read_head(conn: &Arc<Conn>) -> Step {
    let parsed = {
        let mut st = conn.state();
        let Role::Http(h) = &mut st.role else {
            return Step::Wait;
        };
        // (one deref of the AppBox, so the fields below borrow disjointly)
        let h: &mut HttpConn = h;
        // Nothing of the next request runs while output of the last one is
        // still buffered (CONTRACT §4); the flush resumes it.
        if h.rx.is_empty() || !h.tx.is_empty() {
            return Step::Wait;
        }
        let Some(ah) = h.ah.as_mut() else {
            let rx_full = h.rx.len() >= RX_PAUSE;
            drop(st);
            // a keep-alive connection's next request: wait for a table,
            // reading on (no epoll_ctl pair per request) up to RX_PAUSE
            if conn.ctx.pts[conn.tsi].acquire_ah(conn) {
                with_http(conn, |h| h.ah = Some(ah_table(conn)));
                return Step::Again;
            }
            if rx_full {
                conn.remove_events(READABLE);
            }
            return Step::Wait;
        };
        // A head can only complete, or its method be judged, with a new
        // line or a first word: parse again only then, so a head dribbled
        // in byte by byte costs one parse per line.
        let fresh = &h.rx[h.head_scanned.min(h.rx.len())..];
        let worth_parsing = fresh.contains(&b'\n') || h.head_scanned <= LONGEST_FIRST_WORD;
        h.head_scanned = h.rx.len();
        if !worth_parsing {
            return Step::Wait;
        }
        match request::parse_head(&h.rx, ah) {
            Ok(Some(n)) => {
                h.rx.drain(..n);
                h.head_scanned = 0;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        }
    };
    match parsed {
        Ok(false) => Step::Wait,
        Ok(true) => match start_request(conn) {
            Flow::Continue => Step::Again,
            close => Step::Done(close),
        },
        Err(HeadError::Forbidden) => {
            with_http(conn, |h| h.http11 = true);
            return_status(conn, 403, b"");
            Step::Done(Flow::Close(CloseWhy::App))
        }
        Err(e) => {
            lwsl_err!("closing on a bad request head: {e:?}");
            Step::Done(Flow::Close(CloseWhy::Error))
        }
    }
}

/// The request's Host picks the vhost among those sharing the listener
/// (CONTRACT §9); protocols[0]'s per-session data is then the new vhost's.
fn select_vhost(conn: &Arc<Conn>) {
    if !conn.ctx.has_vhost_choice() {
        return;
    }
    let Some(host) = header_text(conn, tokens::WSI_TOKEN_HOST) else {
        return;
    };
    let current = conn.vhost();
    let chosen = conn.ctx.vhost_for_host(&current, &host);
    if Arc::ptr_eq(&chosen, &current) {
        return;
    }
    conn.set_vhost(chosen);
    let old = {
        let mut st = conn.state();
        st.protocol = 0;
        st.user.take()
    };
    if let Some(user) = old {
        conn.ctx.pts[conn.tsi].retire(user);
    }
}

/// A complete request head: the HTTP sequence of CONTRACT §3 B/D, with the
/// vhost's mounts (§9) deciding who answers.
fn start_request(conn: &Arc<Conn>) -> Flow {
    let ctx = &conn.ctx;
    let Some((uri, body, method)) = with_http(conn, |h| {
        h.in_transaction = true;
        let ah = h.ah.as_ref()?;
        h.http11 = request::is_http11(ah);
        let connection = header_value(ah, tokens::WSI_TOKEN_CONNECTION);
        h.keepalive = if h.http11 {
            !connection.eq_ignore_ascii_case(b"close")
        } else {
            connection.eq_ignore_ascii_case(b"keep-alive")
        };
        let method = request::method(ah)?;
        let declared =
            std::str::from_utf8(&header_value(ah, tokens::WSI_TOKEN_HTTP_CONTENT_LENGTH))
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
        let has_length = ah.is_present(tokens::WSI_TOKEN_HTTP_CONTENT_LENGTH);
        let body = match (declared, method) {
            (Some(n), _) => n,
            (None, Method::Post | Method::Put | Method::Patch) if !has_length => UNDECLARED_BODY,
            (None, _) => 0,
        };
        let uri = request::uri(ah)
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| b"/".to_vec());
        Some((uri, body, method))
    })
    .flatten() else {
        return Flow::Close(CloseWhy::Error);
    };
    conn.set_timeout(0, 0);
    let redirect_to_tls = with_http(conn, |h| h.plain_on_tls_port).unwrap_or(false)
        && crate::service::context::has_option(
            conn.ctx.cfg.options,
            crate::ffi::enums::lws_context_options::LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS,
        );
    if redirect_to_tls {
        let Some(host) = header_text(conn, tokens::WSI_TOKEN_HOST) else {
            return Flow::Close(CloseWhy::Error);
        };
        let location = [b"https://".as_slice(), &host, b"/"].concat();
        if redirect(conn, 301, &location) < 0 || transaction_completed(conn) != 0 {
            return Flow::Close(CloseWhy::App);
        }
        return Flow::Continue;
    }
    select_vhost(conn);
    if ws::wants_upgrade(conn) {
        return ws::upgrade(conn);
    }
    if conn.state().user.is_none() {
        let size = conn
            .vhost()
            .protocols
            .first()
            .map_or(0, |p| p.per_session_data_size);
        let Ok(user) = super::session_data(size) else {
            return Flow::Close(CloseWhy::Error);
        };
        let mut st = conn.state();
        st.protocol = 0;
        st.user = user;
    }
    let mut uri_c = uri.clone();
    uri_c.push(0);
    let user = conn.user_ptr();
    let r = conn.callback_protocol(
        0,
        reason(R::LWS_CALLBACK_FILTER_HTTP_CONNECTION),
        user,
        uri_c.as_mut_ptr().cast(),
        uri.len(),
    );
    if r != 0 {
        return Flow::Close(CloseWhy::App);
    }
    conn.set_timeout(
        reason_t(T::PENDING_TIMEOUT_HTTP_CONTENT),
        i64::from(ctx.cfg.timeout_secs),
    );
    with_http(conn, |h| {
        h.body_remaining = body;
        h.phase = if body > 0 {
            Phase::Body
        } else {
            Phase::Responding
        };
    });
    let (protocol, target, pmo) =
        match find_mount(&conn.vhost().mounts, &uri, method == Method::Get) {
            None => (0, uri, 0),
            Some(mount) => match mount::handle(conn, mount, &uri, method) {
                mount::Outcome::Done(flow) => return flow,
                mount::Outcome::Http { protocol, uri, pmo } => (protocol, uri, pmo),
            },
        };
    if conn.rebind(protocol) != 0 {
        return Flow::Close(CloseWhy::App);
    }
    // a mount's `cgienv` list goes to the bound protocol before HTTP
    if pmo != 0
        && conn.callback(
            reason(R::LWS_CALLBACK_HTTP_PMO),
            pmo as *mut std::ffi::c_void,
            0,
        ) != 0
    {
        return Flow::Close(CloseWhy::App);
    }
    let mut target_c = target.clone();
    target_c.push(0);
    if conn.callback(
        reason(R::LWS_CALLBACK_HTTP),
        target_c.as_mut_ptr().cast(),
        target.len(),
    ) != 0
    {
        return Flow::Close(CloseWhy::App);
    }
    Flow::Continue
}

pub(crate) fn header_text(conn: &Arc<Conn>, token: usize) -> Option<Vec<u8>> {
    with_http(conn, |h| {
        h.ah.as_ref()
            .filter(|ah| ah.is_present(token))
            .map(|ah| header_value(ah, token))
    })
    .flatten()
}

fn header_value(ah: &HeaderTable, token: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let mut i = 0;
    while let Some(f) = ah.fragment(token, i) {
        v.extend_from_slice(f);
        i += 1;
    }
    v
}

/// Up to `max` bytes of the request body that have arrived, and whether
/// that was the last of it (the connection then goes on to respond).
pub(crate) fn take_body(conn: &Conn, max: usize) -> Option<(Vec<u8>, bool)> {
    with_http(conn, |h| {
        let n =
            h.rx.len()
                .min(max)
                .min(usize::try_from(h.body_remaining).unwrap_or(usize::MAX));
        let chunk: Vec<u8> = h.rx.drain(..n).collect();
        h.body_remaining -= n as u64;
        let done = h.body_remaining == 0;
        if done {
            h.phase = Phase::Responding;
        }
        (chunk, done)
    })
}

/// HTTP_BODY for what has arrived of the declared body, then
/// HTTP_BODY_COMPLETION when all of it has.
fn deliver_body(conn: &Arc<Conn>) -> Step {
    // a CGI script's stdin takes the body instead of HTTP_BODY
    if with_http(conn, |h| h.cgi.is_some()).unwrap_or(false) {
        return super::cgi::deliver_body(conn);
    }
    let chunk_max = conn.ctx.cfg.pt_serv_buf_size.max(1);
    let Some((mut chunk, done)) = take_body(conn, chunk_max) else {
        return Step::Wait;
    };
    if !chunk.is_empty() {
        let len = chunk.len();
        chunk.push(0);
        if conn.callback(
            reason(R::LWS_CALLBACK_HTTP_BODY),
            chunk.as_mut_ptr().cast(),
            len,
        ) != 0
        {
            return Step::Done(Flow::Close(CloseWhy::App));
        }
        if !done {
            conn.set_timeout(
                reason_t(T::PENDING_TIMEOUT_HTTP_CONTENT),
                i64::from(conn.ctx.cfg.timeout_secs),
            );
        }
    }
    if done {
        conn.set_timeout(0, 0);
        if conn.callback(
            reason(R::LWS_CALLBACK_HTTP_BODY_COMPLETION),
            std::ptr::null_mut(),
            0,
        ) != 0
        {
            return Step::Done(Flow::Close(CloseWhy::App));
        }
        return Step::Again;
    }
    if chunk.is_empty() {
        Step::Wait
    } else {
        Step::Again
    }
}

/// `lws_write` in an HTTP mode: what the socket refuses is kept and sent
/// before anything else; a write while output is still buffered fails.
pub fn write(conn: &Arc<Conn>, data: &[u8]) -> i32 {
    write_with(conn, data, false)
}

/// `write`; with `more`, data follows at once (see Stream::send).
///
/// `data` may be the application's buffer with a length it got wrong: it
/// goes to the kernel, which refuses unmapped pages with EFAULT, and only
/// what the socket did not take is copied, by the kernel as well
/// (plat::mem), so a bad length fails this connection instead of faulting.
fn write_with(conn: &Arc<Conn>, data: &[u8], more: bool) -> i32 {
    let outcome = with_http(conn, |h| {
        if h.write_failed {
            return Err(Some("the connection failed an earlier write"));
        }
        if !h.tx.is_empty() {
            return Err(Some("write while a previous write is still buffered"));
        }
        let n = match h.stream.send(data, more) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => {
                return Err(Some("the buffer is not readable memory (length too long?)"));
            }
            // (the peer went away: routine, not the application's error)
            Err(_) => return Err(None),
        };
        conn.with_vhost(|v| ConnStats::add(&v.stats.tx, n));
        if n < data.len() {
            let rest = &data[n..];
            if mem::append_checked(&mut h.tx, rest.as_ptr(), rest.len()).is_err() {
                return Err(Some("the buffer is not readable memory (length too long?)"));
            }
            return Ok(true);
        }
        Ok(false)
    });
    match outcome {
        Some(Ok(buffered)) => {
            if buffered {
                conn.add_events(WRITABLE);
            } else if data.len() > send_cap(conn) {
                // The original sent at most the cap and buffered the rest, so
                // applications got a WRITEABLE once it drained; they may
                // rely on it to continue (CONTRACT §13.2). We send it all but
                // keep that callback.
                conn.state().writable_requested = true;
                conn.add_events(WRITABLE);
            }
            i32::try_from(data.len()).unwrap_or(i32::MAX)
        }
        Some(Err(Some(why))) => {
            lwsl_err!("lws_write: {why}: closing the connection");
            fail(conn);
            -1
        }
        Some(Err(None)) => {
            lwsl_info!("lws_write: the socket refused the write (peer gone)");
            -1
        }
        None => -1,
    }
}

/// An lws_write the application got wrong: drops buffered output and
/// closes the connection at its next writable moment (soon: it is made
/// writable now), without waiting for the application to return -1.
pub fn fail(conn: &Arc<Conn>) {
    let failed = with_http(conn, |h| {
        h.write_failed = true;
        h.tx = Vec::new();
    });
    if failed.is_some() {
        conn.add_events(WRITABLE);
    }
}

/// Like `write`, but behind output still buffered instead of failing: for
/// a CLOSE the library sends while the socket is full (the buffer ends on a
/// frame boundary, so the CLOSE follows whole frames).
pub fn write_after_buffered(conn: &Arc<Conn>, data: &[u8]) -> i32 {
    let queued = with_http(conn, |h| {
        let queued = !h.tx.is_empty();
        if queued {
            h.tx.extend_from_slice(data);
        }
        queued
    });
    match queued {
        Some(true) => i32::try_from(data.len()).unwrap_or(i32::MAX),
        Some(false) => write(conn, data),
        None => -1,
    }
}

/// The most the original gave the socket per lws_write: the protocol's
/// rx_buffer_size (or pt_serv_buf_size) + LWS_PRE + 4.
fn send_cap(conn: &Arc<Conn>) -> usize {
    let index = conn.protocol_index();
    let rx = conn.with_vhost(|v| v.protocols.get(index).map_or(0, |p| p.rx_buffer_size));
    let base = if rx == 0 {
        conn.ctx.cfg.pt_serv_buf_size
    } else {
        rx
    };
    base + 16 + 4
}

/// Sends buffered output; true once nothing is left.
fn flush(conn: &Arc<Conn>) -> Result<bool, ()> {
    with_http(conn, |h| {
        while !h.tx.is_empty() {
            match h.stream.write(&h.tx) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    h.tx.drain(..n);
                    conn.with_vhost(|v| ConnStats::add(&v.stats.tx, n));
                }
                Err(_) => return Err(()),
            }
        }
        Ok(true)
    })
    .unwrap_or(Err(()))
}

/// POLLOUT: buffered output first, then the file being served, then the
/// application's HTTP_WRITEABLE.
pub fn on_writable(conn: &Arc<Conn>) -> Flow {
    let (handshaking, write_failed) =
        with_http(conn, |h| (h.tls_handshake, h.write_failed)).unwrap_or_default();
    if handshaking {
        return tls_handshake(conn);
    }
    if write_failed {
        return Flow::Close(CloseWhy::Error);
    }
    let was_buffered = with_http(conn, |h| !h.tx.is_empty()).unwrap_or(false);
    if was_buffered {
        // the client takes what a CGI script wrote: that is progress too
        super::cgi::client_progress(conn);
    }
    match flush(conn) {
        Err(()) => return Flow::Close(CloseWhy::Hangup),
        Ok(false) => return Flow::Continue,
        Ok(true) => {}
    }
    let (closing, serving) =
        with_http(conn, |h| (h.close_after_flush, h.file.is_some())).unwrap_or((false, false));
    if closing {
        return Flow::Close(CloseWhy::App);
    }
    match with_http(conn, |h| h.phase) {
        Some(Phase::Ws) => return ws::on_writable(conn, was_buffered),
        Some(
            Phase::ClientConnect | Phase::ClientProxy | Phase::ClientReply | Phase::ClientHttp,
        ) => return client::on_writable(conn, was_buffered),
        _ => {}
    }
    // a CGI mount's script moves on (an lws_cgi application's stdout is
    // listened to again before its HTTP_WRITEABLE)
    if let Some(flow) = super::cgi::master_writable(conn) {
        return flow;
    }
    if serving {
        return send_file_chunk(conn);
    }
    if was_buffered
        && with_http(conn, |h| h.phase == Phase::Head && !h.rx.is_empty()).unwrap_or(false)
    {
        conn.ctx.pts[conn.tsi].mark_pending(conn);
    }
    let requested = std::mem::replace(&mut conn.state().writable_requested, false);
    conn.remove_events(WRITABLE);
    if (requested || was_buffered)
        && conn.callback(
            reason(R::LWS_CALLBACK_HTTP_WRITEABLE),
            std::ptr::null_mut(),
            0,
        ) < 0
    {
        return Flow::Close(CloseWhy::App);
    }
    Flow::Continue
}

/// `lws_callback_on_writable`: 1, or 0 for a connection that is closing.
pub fn request_writable(conn: &Arc<Conn>) -> i32 {
    if conn.is_dead() || with_http(conn, |h| h.phase == Phase::Linger).unwrap_or(true) {
        return 0;
    }
    conn.state().writable_requested = true;
    conn.add_events(WRITABLE);
    1
}

/// `lws_http_transaction_completed`: 1 if the connection must close, else
/// ready for the next request (fresh user data, keep-alive idle timeout).
pub fn transaction_completed(conn: &Arc<Conn>) -> i32 {
    conn.with_vhost(|v| ConnStats::bump(&v.stats.trans));
    let Some((keepalive, pipelined)) = with_http(conn, |h| (h.keepalive, !h.rx.is_empty())) else {
        return 1;
    };
    if !keepalive {
        return 1;
    }
    if conn.try_rebind(0).is_err() {
        return 1; // (logged) no per-session data for the next request
    }
    let release = with_http(conn, |h| {
        h.phase = Phase::Head;
        h.body_remaining = 0;
        h.in_transaction = false;
        if pipelined {
            if let Some(ah) = h.ah.as_mut() {
                ah.reset();
            }
            false
        } else {
            h.ah.take().is_some()
        }
    })
    .unwrap_or(false);
    let pt = &conn.ctx.pts[conn.tsi];
    if release {
        pt.release_ah();
    }
    conn.set_timeout(
        reason_t(T::PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE),
        i64::from(conn.vhost().keepalive_timeout),
    );
    conn.add_events(READABLE);
    if pipelined {
        pt.mark_pending(conn);
    }
    0
}

/// `lws_serve_http_file`: 1 when the whole file went out inside the call
/// (HTTP_FILE_COMPLETION already issued; the caller completes the
/// transaction), 0 while it continues on POLLOUT, -1 if it cannot be opened
/// or the head does not fit.
pub fn serve_file(
    conn: &Arc<Conn>,
    path: &std::ffi::CStr,
    content_type: &[u8],
    other: &[u8],
) -> i32 {
    serve_file_with(conn, path, content_type, b"no-store", other, None)
}

/// [`serve_file`] with the `cache-control` value a mount chose.
pub fn serve_file_with(
    conn: &Arc<Conn>,
    path: &std::ffi::CStr,
    content_type: &[u8],
    cache_control: &[u8],
    other: &[u8],
    interpret: Option<usize>,
) -> i32 {
    let Some(file) = conn.ctx.files.open(Arc::as_ptr(conn) as usize, path) else {
        return -1;
    };
    let interpret = interpret.map(|protocol| Interpret {
        protocol,
        chunked: with_http(conn, |h| h.http11).unwrap_or(true),
    });
    if interpret.is_some_and(|i| !i.chunked) {
        // an HTTP/1.0 body of unknown length ends with the connection
        with_http(conn, |h| h.keepalive = false);
    }
    let keepalive = with_http(conn, |h| h.keepalive).unwrap_or(false);
    let head = build_head(conn, |c, block| {
        c.add_status(block, 200)?;
        if !content_type.is_empty() {
            c.add_by_name(b"content-type:", content_type)?;
        }
        match interpret {
            None => c.add_content_length(file.len)?,
            Some(i) if i.chunked => c.add_by_name(b"transfer-encoding:", b"chunked")?,
            Some(_) => {}
        }
        c.add_by_name(b"cache-control:", cache_control)?;
        if keepalive {
            c.add_by_name(b"connection:", b"keep-alive")?;
        }
        c.add_raw(other)?;
        c.finalize()
    });
    // the head and a sendfile body leave in one segment
    let head = match head {
        // an empty interpreted file: the last chunk goes with the head
        Some(mut head) if file.len == 0 && interpret.is_some_and(|i| i.chunked) => {
            head.extend_from_slice(b"0\r\n\r\n");
            Some(head)
        }
        other => other,
    };
    let body_by_sendfile =
        file.len > 0 && conn.ctx.files.plain_fds() && !is_tls(conn) && interpret.is_none();
    // the pieces' buffer (PROCESS_HTML's), none for sendfile
    let room = if interpret.is_some() {
        INTERPRET_ROOM
    } else {
        0
    };
    let size = if body_by_sendfile || file.len == 0 {
        0
    } else {
        conn.ctx.cfg.pt_serv_buf_size.max(4096) + room
    };
    let Some(buf) = AppBytes::zeroed(size, "a file buffer") else {
        conn.ctx.files.close(Arc::as_ptr(conn) as usize, file.fd);
        return -1;
    };
    let sent = head.map(|head| write_with(conn, &head, body_by_sendfile));
    if !matches!(sent, Some(n) if n >= 0) {
        conn.ctx.files.close(Arc::as_ptr(conn) as usize, file.fd);
        return -1;
    }
    with_http(conn, |h| {
        h.file = Some(FileSend {
            fd: file.fd,
            remaining: file.len,
            buf,
            interpret,
        })
    });
    conn.set_timeout(
        reason_t(T::PENDING_TIMEOUT_HTTP_CONTENT),
        i64::from(conn.ctx.cfg.timeout_secs),
    );
    if with_http(conn, |h| !h.tx.is_empty()).unwrap_or(true) {
        conn.add_events(WRITABLE);
        return 0;
    }
    match send_file_chunk_inner(conn) {
        FileStep::More => {
            conn.add_events(WRITABLE);
            0
        }
        FileStep::Done => {
            if conn.callback(
                reason(R::LWS_CALLBACK_HTTP_FILE_COMPLETION),
                std::ptr::null_mut(),
                0,
            ) < 0
            {
                return -1;
            }
            1
        }
        FileStep::Failed => -1,
    }
}

enum FileStep {
    More,
    Done,
    Failed,
}

/// Reads and sends file chunks while the socket takes them.
fn send_file_chunk_inner(conn: &Arc<Conn>) -> FileStep {
    let interpreted = with_http(conn, |h| {
        h.file.as_ref().is_some_and(|f| f.interpret.is_some())
    })
    .unwrap_or(false);
    if conn.ctx.files.plain_fds() && !is_tls(conn) && !interpreted {
        return sendfile_chunks(conn);
    }
    let ctx = &conn.ctx;
    let wsi = Arc::as_ptr(conn) as usize;
    loop {
        let Some(mut file) = with_http(conn, |h| h.file.take()).flatten() else {
            return FileStep::Done;
        };
        if file.remaining == 0 {
            ctx.files.close(wsi, file.fd);
            return FileStep::Done;
        }
        let room = if file.interpret.is_some() {
            INTERPRET_ROOM
        } else {
            0
        };
        let want =
            (file.buf.len() - room).min(usize::try_from(file.remaining).unwrap_or(usize::MAX));
        let got = match ctx.files.read(wsi, file.fd, &mut file.buf[..want]) {
            Some(n) if n > 0 => n,
            _ => {
                ctx.files.close(wsi, file.fd);
                return FileStep::Failed;
            }
        };
        file.remaining -= got as u64;
        let out: std::borrow::Cow<[u8]> = match file.interpret {
            None => (&file.buf[..got]).into(),
            Some(i) => {
                let Some((piece, app_framed)) = crate::ffi::callback::process_html(
                    conn,
                    i.protocol,
                    &mut file.buf,
                    got,
                    file.remaining == 0,
                ) else {
                    ctx.files.close(wsi, file.fd);
                    return FileStep::Failed;
                };
                // a handler calling lws_chunked_html_process framed it as
                // a chunk: sent as it is, or (HTTP/1.0) only its data
                let mut framed = Vec::with_capacity(piece.len() + 16);
                if let (false, Some(data)) = (i.chunked, &app_framed) {
                    framed.extend_from_slice(&piece[data.clone()]);
                } else if !i.chunked || app_framed.is_some() {
                    framed = piece;
                } else if !piece.is_empty() {
                    framed.extend_from_slice(format!("{:X}\r\n", piece.len()).as_bytes());
                    framed.extend_from_slice(&piece);
                    framed.extend_from_slice(b"\r\n");
                }
                if i.chunked && app_framed.is_none() && file.remaining == 0 {
                    framed.extend_from_slice(b"0\r\n\r\n");
                }
                framed.into()
            }
        };
        let sent = with_http(conn, |h| {
            let n = h.stream.write(&out)?;
            conn.with_vhost(|v| ConnStats::add(&v.stats.tx, n));
            h.tx.extend_from_slice(&out[n..]);
            Ok::<bool, std::io::Error>(h.tx.is_empty())
        });
        let finished = file.remaining == 0;
        if finished {
            ctx.files.close(wsi, file.fd);
        } else {
            with_http(conn, |h| h.file = Some(file));
        }
        match sent {
            Some(Ok(true)) if finished => return FileStep::Done,
            Some(Ok(true)) => {}
            Some(Ok(false)) if finished => {
                // the tail is buffered; completion comes when it drains
                with_http(conn, |h| {
                    h.file = Some(FileSend {
                        fd: -1,
                        remaining: 0,
                        buf: AppBytes::empty(),
                        interpret: None,
                    })
                });
                return FileStep::More;
            }
            Some(Ok(false)) => return FileStep::More,
            _ => return FileStep::Failed,
        }
    }
}

/// The kernel copies the file to the socket while it takes it.
fn sendfile_chunks(conn: &Arc<Conn>) -> FileStep {
    let wsi = Arc::as_ptr(conn) as usize;
    loop {
        let Some((fd, remaining)) =
            with_http(conn, |h| h.file.as_ref().map(|f| (f.fd, f.remaining))).flatten()
        else {
            return FileStep::Done;
        };
        if remaining == 0 {
            with_http(conn, |h| h.file = None);
            conn.ctx.files.close(wsi, fd);
            return FileStep::Done;
        }
        let chunk = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        match sock::sendfile(conn.fd(), fd, chunk) {
            Ok(0) => {
                // the file is shorter than it was when opened
                with_http(conn, |h| h.file = None);
                conn.ctx.files.close(wsi, fd);
                return FileStep::Failed;
            }
            Ok(n) => {
                conn.with_vhost(|v| ConnStats::add(&v.stats.tx, n));
                with_http(conn, |h| {
                    if let Some(f) = h.file.as_mut() {
                        f.remaining -= n as u64;
                    }
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return FileStep::More,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                with_http(conn, |h| h.file = None);
                conn.ctx.files.close(wsi, fd);
                return FileStep::Failed;
            }
        }
    }
}

/// POLLOUT while serving a file: more of it, or completion, after which lws
/// completes the transaction itself.
fn send_file_chunk(conn: &Arc<Conn>) -> Flow {
    let done_already = with_http(conn, |h| {
        h.file
            .as_ref()
            .is_some_and(|f| f.remaining == 0 && f.fd < 0)
    })
    .unwrap_or(false);
    let step = if done_already {
        with_http(conn, |h| h.file = None);
        FileStep::Done
    } else {
        send_file_chunk_inner(conn)
    };
    match step {
        FileStep::More => {
            conn.set_timeout(
                reason_t(T::PENDING_TIMEOUT_HTTP_CONTENT),
                i64::from(conn.ctx.cfg.timeout_secs),
            );
            Flow::Continue
        }
        FileStep::Failed => Flow::Close(CloseWhy::Error),
        FileStep::Done => {
            conn.remove_events(WRITABLE);
            if conn.callback(
                reason(R::LWS_CALLBACK_HTTP_FILE_COMPLETION),
                std::ptr::null_mut(),
                0,
            ) < 0
            {
                return Flow::Close(CloseWhy::App);
            }
            if transaction_completed(conn) != 0 {
                return Flow::Close(CloseWhy::App);
            }
            Flow::Continue
        }
    }
}

/// Runs `f` with the connection's status-block settings (HTTP version,
/// vhost headers, server string, STS), as `lws_add_http_header_status` and
/// every head lws builds itself need them.
pub fn with_status_block<T>(conn: &Arc<Conn>, f: impl FnOnce(&StatusBlock) -> T) -> T {
    let http11 = with_http(conn, |h| h.http11).unwrap_or(true);
    let vhost = conn.vhost();
    let headers: Vec<(&[u8], &[u8])> = vhost
        .headers
        .iter()
        .map(|(n, v)| (n.as_slice(), v.as_slice()))
        .collect();
    let block = StatusBlock {
        http11,
        headers: &headers,
        server: &conn.ctx.cfg.server_string,
        sts: crate::service::context::has_option(
            vhost.options,
            crate::ffi::enums::lws_context_options::LWS_SERVER_OPTION_STS,
        ),
    };
    f(&block)
}

/// A response head of at most `pt_serv_buf_size` bytes written by `f`
/// (None if it does not fit, as lws builds heads in that buffer).
pub(crate) fn build_head(
    conn: &Arc<Conn>,
    f: impl FnOnce(&mut HeaderCursor, &StatusBlock) -> Result<(), NoRoom>,
) -> Option<Vec<u8>> {
    let mut buf = vec![0; conn.ctx.cfg.pt_serv_buf_size.max(512)];
    let n = with_status_block(conn, |block| {
        let mut c = HeaderCursor::new(&mut buf);
        f(&mut c, block).ok().map(|()| c.pos())
    })?;
    buf.truncate(n);
    Some(buf)
}

/// `lws_return_http_status`: a small HTML page with the code; returns the
/// original's non-zero "success".
pub fn return_status(conn: &Arc<Conn>, code: u32, html: &[u8]) -> i32 {
    let body = response::status_page(code, html);
    let Some(mut head) = build_head(conn, |c, block| {
        c.add_status_page_head(block, code, body.len())
    }) else {
        return -1;
    };
    head.extend_from_slice(&body);
    if write(conn, &head) < 0 {
        return -1;
    }
    1
}

/// `lws_http_redirect`: writes the redirect head; bytes written or -1.
pub fn redirect(conn: &Arc<Conn>, code: u32, location: &[u8]) -> i32 {
    match build_head(conn, |c, block| c.add_redirect(block, code, location)) {
        Some(head) => write(conn, &head),
        None => -1,
    }
}

/// The orderly close of an application-closed connection: buffered output
/// drains first (up to 5 s), then the write side is shut and the peer's EOF
/// awaited (up to `timeout_secs`). True while that is in progress.
pub fn linger(conn: &Arc<Conn>, why: CloseWhy) -> bool {
    if why == CloseWhy::Rejected {
        with_http(conn, |h| h.rejected = true);
    } else if why != CloseWhy::App {
        return false;
    }
    if ws::begin_close(conn) {
        return true;
    }
    let Some((phase, buffered)) = with_http(conn, |h| (h.phase, !h.tx.is_empty())) else {
        return false;
    };
    if phase == Phase::Linger {
        return false;
    }
    if buffered {
        let first = with_http(conn, |h| !std::mem::replace(&mut h.close_after_flush, true))
            .unwrap_or(false);
        if first {
            conn.set_timeout(
                reason_t(T::PENDING_FLUSH_STORED_SEND_BEFORE_CLOSE),
                FLUSH_BEFORE_CLOSE_SECS,
            );
            conn.add_events(WRITABLE);
            return true;
        }
    }
    with_http(conn, |h| {
        h.phase = Phase::Linger;
        h.rx.clear();
    });
    sock::shutdown_write(conn.fd());
    conn.state().writable_requested = false;
    conn.set_events(READABLE);
    conn.set_timeout(
        reason_t(T::PENDING_TIMEOUT_SHUTDOWN_FLUSH),
        i64::from(conn.ctx.cfg.timeout_secs),
    );
    true
}

/// Which final callbacks a closing HTTP connection gets (CONTRACT §3 B).
#[derive(Default)]
pub struct Finals {
    /// HTTP_DROP_PROTOCOL and CLOSED_HTTP before leaving the poll set
    pub drop_and_closed_first: bool,
    /// CLOSED_HTTP after leaving the poll set
    pub closed_after_del: bool,
    /// an established WebSocket: HTTP_DROP_PROTOCOL and CLOSED after leaving
    pub ws_closed: bool,
    /// a client connection that was not a WebSocket: CLOSED_CLIENT_HTTP,
    /// before leaving the poll set
    pub closed_client_http: bool,
    /// a client that never got its reply: CLIENT_CONNECTION_ERROR (NULL)
    /// after leaving the poll set
    pub client_error_after_del: bool,
}

pub fn finals(conn: &Arc<Conn>, why: CloseWhy) -> Finals {
    let Some((in_transaction, lingering, ws, rejected)) = with_http(conn, |h| {
        (
            h.in_transaction,
            h.phase == Phase::Linger,
            h.ws.is_some(),
            h.rejected,
        )
    }) else {
        return Finals::default();
    };
    if rejected {
        return Finals::default();
    }
    if let Some(f) = client::finals(conn, why) {
        return f;
    }
    if ws {
        return Finals {
            ws_closed: true,
            ..Finals::default()
        };
    }
    let idle_timeout = why == CloseWhy::Timeout(reason_t(T::PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE));
    if idle_timeout {
        return Finals::default();
    }
    if !in_transaction && !lingering && why != CloseWhy::Destroy {
        return Finals {
            drop_and_closed_first: true,
            ..Finals::default()
        };
    }
    Finals {
        closed_after_del: true,
        ..Finals::default()
    }
}

/// Releases what a closed connection holds; true if it held a header table.
pub fn teardown(conn: &Arc<Conn>) -> bool {
    let wsi = Arc::as_ptr(conn) as usize;
    let (had_ah, file) =
        with_http(conn, |h| (h.ah.take().is_some(), h.file.take())).unwrap_or((false, None));
    if let Some(f) = file.filter(|f| f.fd >= 0) {
        conn.ctx.files.close(wsi, f.fd);
    }
    had_ah
}

/// Output is waiting for the socket.
pub fn buffered(conn: &Arc<Conn>) -> bool {
    with_http(conn, |h| !h.tx.is_empty()).unwrap_or(false)
}

/// `lws_send_pipe_choked`: output is buffered. A write the socket does not
/// take whole leaves the rest buffered, so this turns true exactly when the
/// socket is full, without a poll() per call.
pub fn choked(conn: &Arc<Conn>) -> bool {
    buffered(conn)
}

/// `lws_serve_http_file_fragment`: one step of the file being served; 1
/// when it is complete, 0 to continue, -1 on error.
pub fn file_fragment(conn: &Arc<Conn>) -> i32 {
    if !with_http(conn, |h| h.file.is_some()).unwrap_or(false) {
        return 1;
    }
    match send_file_chunk_inner(conn) {
        FileStep::More => 0,
        FileStep::Done => 1,
        FileStep::Failed => -1,
    }
}

/// `lws_read`: bytes handed over by the application as if read from the
/// socket; false if the connection closed.
pub fn feed(conn: &Arc<Conn>, data: &[u8]) -> bool {
    if with_http(conn, |h| h.rx.extend_from_slice(data)).is_none() {
        return false;
    }
    match process(conn) {
        Flow::Continue => !conn.is_dead(),
        Flow::Close(why) => {
            crate::service::pt::close(conn, why);
            false
        }
    }
}

/// Advances a TLS handshake on readable/writable; when it completes the
/// connection carries on (a client sends its request).
pub fn tls_handshake(conn: &Arc<Conn>) -> Flow {
    use super::transport::Handshake;
    let Some(step) = with_http(conn, |h| h.stream.handshake()) else {
        return Flow::Close(CloseWhy::Error);
    };
    match step {
        Handshake::Again { want_write } => {
            conn.set_events(if want_write { WRITABLE } else { READABLE });
            Flow::Continue
        }
        Handshake::Failed(why) => {
            lwsl_notice!("TLS handshake failed: {why}");
            if with_http(conn, |h| h.client.is_some()).unwrap_or(false) {
                return client::tls_failed(conn, &why);
            }
            Flow::Close(CloseWhy::Hangup)
        }
        Handshake::Done => {
            with_http(conn, |h| h.tls_handshake = false);
            if with_http(conn, |h| h.client.is_some()).unwrap_or(false) {
                return client::tls_done(conn);
            }
            conn.set_events(READABLE);
            conn.set_timeout(
                reason_t(T::PENDING_TIMEOUT_ESTABLISH_WITH_SERVER),
                i64::from(conn.ctx.cfg.timeout_secs),
            );
            Flow::Continue
        }
    }
}

/// The connection's stream is TLS.
pub fn is_tls(conn: &Conn) -> bool {
    with_http(conn, |h| h.stream.is_tls()).unwrap_or(false)
}

/// On a TLS port that also takes plain HTTP: a first byte below 0x20 (a
/// TLS record) starts TLS, anything else is plain HTTP (CONTRACT §8). None
/// to go on reading.
fn decide_tls(conn: &Arc<Conn>) -> Option<Flow> {
    let first = match with_http(conn, |h| h.stream.peek_byte()) {
        Some(Ok(Some(b))) => b,
        Some(Ok(None)) => return Some(Flow::Continue),
        _ => return Some(Flow::Close(CloseWhy::Hangup)),
    };
    let tls = conn.vhost().tls_server.clone();
    with_http(conn, |h| {
        h.tls_undecided = false;
        if first >= 0x20 {
            h.plain_on_tls_port = true;
            return None;
        }
        let ssl = tls.as_ref().and_then(|c| openssl::ssl::Ssl::new(c).ok())?;
        if h.stream.start_tls(ssl, true).is_err() {
            return Some(Flow::Close(CloseWhy::Error));
        }
        h.tls_handshake = true;
        None
    })
    .flatten()
}
