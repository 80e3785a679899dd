//! Client connections (CONTRACT §7 and sequences G, H, I): connecting,
//! the request with CLIENT_APPEND_HANDSHAKE_HEADER, judging the reply, then
//! either a WebSocket (conn::ws in client mode) or an HTTP client body read
//! through lws_http_client_read.

use std::ffi::CString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::raw::c_void;
use std::sync::Arc;

use super::http::{self, with_http, Finals, Flow, HttpConn, Phase, Step};
use super::transport::Stream;
use super::{reason, Conn, Role};
use crate::client::chunked::{Dechunker, Piece};
use crate::client::{self as wire, Reply};
use crate::ext::negotiate;
use crate::ffi::enums::lws_callback_reasons as R;
use crate::ffi::enums::pending_timeout as T;
use crate::http::headers::HeaderTable;
use crate::http::tokens;
use crate::plat::epoll::{READABLE, WRITABLE};
use crate::plat::sock;
use crate::service::context::Context;
use crate::service::pt::CloseWhy;
use crate::service::vhost::{Proxy, Vhost};

/// Connect and pre-send timeout (the documented 5 s; the original's code
/// used 20).
const CONNECT_TIMEOUT_SECS: i64 = 5;
/// Room CLIENT_APPEND_HANDSHAKE_HEADER gets, as in lws (12 bytes held back).
const APPEND_ROOM: usize = 4096 - 12;
/// Longest reply head we wait for.
const MAX_REPLY_HEAD: usize = 64 * 1024;

/// What lws_client_connect_via_info asked for.
pub struct ConnectRequest {
    pub address: String,
    pub port: u16,
    pub path: Vec<u8>,
    pub host: Vec<u8>,
    pub origin: Option<Vec<u8>>,
    pub protocols: Option<Vec<u8>>,
    pub method: Option<Vec<u8>>,
    /// application-owned per-session data (`userdata`), as an address
    pub userdata: usize,
    /// the connection this one is opened for (`parent_wsi`)
    pub parent: Option<Arc<Conn>>,
    /// `ssl_connection` (LCCSCF_* bits; 0: plain TCP)
    pub tls: u32,
    pub vhost: Arc<Vhost>,
    /// the extensions to offer (`client_exts`, else the vhost's)
    pub extensions: Vec<crate::ext::Declared>,
}

pub struct ClientState {
    req: ConnectRequest,
    /// the vhost's HTTP proxy when the connection started
    proxy: Option<Proxy>,
    key: String,
    /// lws_client_http_body_pending: the application still sends a body
    pub body_pending: bool,
    /// the reply body's framing, once the reply head is in
    body: Option<Body>,
    /// redirects followed so far
    redirects: u8,
    /// our Sec-WebSocket-Extensions offer, if we made one
    ext_offer: Option<Vec<u8>>,
}

struct Body {
    chunked: Option<Dechunker>,
    /// bytes left with a Content-Length
    remaining: Option<u64>,
    keepalive: bool,
    done: bool,
    /// read bytes (or TLS-decrypted ones) wait for the next
    /// RECEIVE_CLIENT_HTTP: no poll event will announce them
    held: bool,
}

fn with_client<T>(conn: &Conn, f: impl FnOnce(&mut ClientState) -> T) -> Option<T> {
    with_http(conn, |h| h.client.as_deref_mut().map(f)).flatten()
}

/// A C string for callbacks' `in`, kept alive by the caller.
fn c_text(text: &str) -> CString {
    CString::new(text).unwrap_or_default()
}

/// CLIENT_CONNECTION_ERROR to protocols[0] with `msg` (or NULL).
pub fn report_error(conn: &Arc<Conn>, msg: Option<&str>) {
    let text = msg.map(c_text);
    let (ptr, len) = text.as_ref().map_or((std::ptr::null_mut(), 0), |t| {
        (t.as_ptr() as *mut c_void, t.as_bytes().len())
    });
    let user = conn.user_ptr();
    conn.callback_protocol(
        0,
        reason(R::LWS_CALLBACK_CLIENT_CONNECTION_ERROR),
        user,
        ptr,
        len,
    );
}

/// A failure while judging the reply: CONNECTION_ERROR, CLOSED_CLIENT_HTTP,
/// then the close.
fn fail_reply(conn: &Arc<Conn>, msg: &str) -> Flow {
    lwsl_notice!("client connection failed: {msg}");
    report_error(conn, Some(msg));
    conn.callback_p0(
        reason(R::LWS_CALLBACK_CLOSED_CLIENT_HTTP),
        std::ptr::null_mut(),
        0,
    );
    Flow::Close(CloseWhy::ClientFailed)
}

/// Starts a connection. `created` learns the new connection before any
/// callback names it (`pwsi`). None when it failed synchronously (the
/// CONNECTION_ERROR has then already been delivered).
pub fn connect(
    ctx: &Arc<Context>,
    req: ConnectRequest,
    created: impl FnOnce(&Arc<Conn>),
) -> Option<Arc<Conn>> {
    ctx.init_protocols();
    let vhost = req.vhost.clone();
    let proxy = vhost
        .proxy
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let (target, port) = match &proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (req.address.as_str(), req.port),
    };
    let stream = resolve(target, port).map(sock::connect_nonblocking);
    let fake = Conn::fake(ctx, &vhost, 0);
    fake.set_external_user(req.userdata);
    let stream = match stream {
        None => {
            created(&fake);
            report_error(&fake, Some("getaddrinfo (ipv4) failed"));
            return None;
        }
        Some(Err(e)) => {
            created(&fake);
            lwsl_notice!("client connect to {}:{}: {e}", req.address, req.port);
            report_error(&fake, None);
            return None;
        }
        Some(Ok(s)) => s,
    };
    let fd = stream.fd();
    let is_http = req.method.is_some();
    let mut http = HttpConn::new(stream, Vec::new());
    http.phase = Phase::ClientConnect;
    http.client = Some(Box::new(ClientState {
        req,
        proxy,
        key: new_key(ctx),
        body_pending: false,
        body: None,
        redirects: 0,
        ext_offer: None,
    }));
    let Some(http) = crate::plat::alloc::AppBox::new(http, "a client connection") else {
        created(&fake);
        report_error(&fake, Some("out of memory"));
        return None;
    };
    let tsi = ctx
        .pts
        .iter()
        .enumerate()
        .min_by_key(|(_, pt)| pt.fd_count())
        .map_or(0, |(i, _)| i);
    let conn = Conn::new(ctx.clone(), vhost.clone(), tsi, fd, Role::Http(http));
    {
        let userdata = with_client(&conn, |c| c.req.userdata).unwrap_or(0);
        conn.set_external_user(userdata);
        if userdata == 0 && is_http {
            let size = vhost
                .protocols
                .first()
                .map_or(0, |p| p.per_session_data_size);
            let Ok(user) = super::session_data(size) else {
                created(&fake);
                report_error(&fake, Some("out of memory"));
                return None;
            };
            conn.state().user = user;
        }
    }
    if let Some(parent) = with_client(&conn, |c| c.req.parent.take()).flatten() {
        parent.adopt_child(&conn);
    }
    created(&conn);
    if let Err(e) = ctx.pts[tsi].insert(&conn, WRITABLE) {
        lwsl_err!("client: adding fd {fd} to the poll set: {e}");
        report_error(&conn, None);
        return None;
    }
    conn.set_events(WRITABLE);
    conn.callback_p0(reason(R::LWS_CALLBACK_WSI_CREATE), std::ptr::null_mut(), 0);
    conn.set_timeout(
        T::PENDING_TIMEOUT_AWAITING_CONNECT_RESPONSE as u32,
        CONNECT_TIMEOUT_SECS,
    );
    Some(conn)
}

/// Blocking DNS, as lws does: the first IPv4 address, else the first.
fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    (host, port).to_socket_addrs().ok().and_then(|a| {
        let all: Vec<SocketAddr> = a.collect();
        all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
    })
}

/// Redirects followed at most; the next one fails the connection.
const MAX_REDIRECTS: u8 = 3;

/// Where a redirect goes: LCCSCF flags, address, port, path.
type Target = (u32, String, u16, Vec<u8>);

/// Where a redirect's Location points from `req`'s target. A path alone
/// keeps the host, port and TLS; a URL's scheme decides TLS.
fn redirect_target(req: &Target, location: &[u8]) -> Option<Target> {
    use crate::ffi::enums::lws_client_connect_ssl_connection_flags as F;
    if location.starts_with(b"/") {
        return Some((req.0, req.1.clone(), req.2, location.to_vec()));
    }
    let mut buf = location.to_vec();
    let parts = crate::util::uri::parse_uri(&mut buf);
    let tls = match &buf[parts.prot.clone()] {
        b"https" | b"wss" => req.0 | F::LCCSCF_USE_SSL as u32,
        b"http" | b"ws" => 0,
        _ => return None,
    };
    let address = std::str::from_utf8(&buf[parts.ads.clone()])
        .ok()?
        .to_string();
    let port = u16::try_from(parts.port?).ok()?;
    let mut path = b"/".to_vec();
    if let Some(rest) = parts.path {
        path.extend_from_slice(&buf[rest]);
    }
    (!address.is_empty()).then_some((tls, address, port, path))
}

/// A 301/302/303/307/308 reply with a Location: the same wsi reconnects
/// there (CONTRACT §12) on a new socket (DEL_POLL_FD, then ADD_POLL_FD) and
/// sends its request again; no callback tells the application. None when
/// the reply is not a redirect to follow.
fn follow_redirect(conn: &Arc<Conn>, reply: &Reply) -> Option<Flow> {
    if !matches!(reply.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = reply.header("location")?;
    let redirects = with_client(conn, |c| {
        c.redirects += 1;
        c.redirects
    })?;
    if redirects > MAX_REDIRECTS {
        return Some(fail_reply(conn, "HS: too many redirects"));
    }
    let Some((target, proxy)) = with_client(conn, |c| {
        let from = (c.req.tls, c.req.address.clone(), c.req.port, Vec::new());
        redirect_target(&from, location).map(|t| (t, c.proxy.clone()))
    })
    .flatten() else {
        return Some(fail_reply(conn, "HS: bad redirect location"));
    };
    let (tls, address, port, path) = target;
    let (via, via_port) = match &proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (address.as_str(), port),
    };
    let Some(Ok(stream)) = resolve(via, via_port).map(sock::connect_nonblocking) else {
        return Some(fail_reply(conn, "HS: redirect target unreachable"));
    };
    let pt = &conn.ctx.pts[conn.tsi];
    pt.remove(conn);
    let fd = stream.fd();
    let key = new_key(&conn.ctx);
    // (the old stream, and with it the old socket, goes when this returns)
    let _old = with_http(conn, |h| {
        h.rx.clear();
        h.tx.clear();
        h.phase = Phase::ClientConnect;
        h.tls_handshake = false;
        if let Some(c) = h.client.as_deref_mut() {
            c.req.host = address.clone().into_bytes();
            c.req.address = address;
            c.req.port = port;
            c.req.path = path;
            c.req.tls = tls;
            c.key = key;
            c.body = None;
        }
        std::mem::replace(&mut h.stream, stream)
    });
    conn.set_fd(fd);
    if let Err(e) = pt.insert(conn, WRITABLE) {
        lwsl_err!("client: adding fd {fd} to the poll set: {e}");
        return Some(fail_reply(conn, "HS: redirect failed"));
    }
    conn.set_events(WRITABLE);
    conn.set_timeout(
        T::PENDING_TIMEOUT_AWAITING_CONNECT_RESPONSE as u32,
        CONNECT_TIMEOUT_SECS,
    );
    Some(Flow::Continue)
}

fn new_key(ctx: &Context) -> String {
    let mut raw = [0u8; 16];
    ctx.random(&mut raw);
    let mut out = vec![0u8; 32];
    let n = crate::util::b64::encode(&raw, &mut out).unwrap_or(0);
    String::from_utf8_lossy(&out[..n]).into_owned()
}

/// POLLOUT: the connect finished (send the request), or the request body
/// may be written (CLIENT_HTTP_WRITEABLE).
pub fn on_writable(conn: &Arc<Conn>, was_buffered: bool) -> Flow {
    match with_http(conn, |h| h.phase) {
        Some(Phase::ClientConnect) => connected(conn),
        _ => {
            let requested = std::mem::replace(&mut conn.state().writable_requested, false);
            conn.remove_events(WRITABLE);
            let pending = with_client(conn, |c| c.body_pending).unwrap_or(false);
            if (requested || was_buffered)
                && pending
                && conn.callback(
                    reason(R::LWS_CALLBACK_CLIENT_HTTP_WRITEABLE),
                    std::ptr::null_mut(),
                    0,
                ) != 0
            {
                return Flow::Close(CloseWhy::App);
            }
            Flow::Continue
        }
    }
}

/// The TCP connect finished: CONNECT through the proxy, or the request.
fn connected(conn: &Arc<Conn>) -> Flow {
    let err = with_http(conn, |h| match &h.stream {
        Stream::Tcp(s) => s.take_error().ok().flatten(),
        Stream::Tls(s) => s.get_ref().take_error().ok().flatten(),
        Stream::Unix(_) => None,
    })
    .flatten();
    if let Some(e) = err {
        lwsl_notice!("client connect failed: {e}");
        return Flow::Close(CloseWhy::Hangup);
    }
    let target = with_client(conn, |c| {
        c.proxy
            .clone()
            .map(|p| (p, c.req.address.clone(), c.req.port))
    })
    .flatten();
    let Some((proxy, host, port)) = target else {
        return request_or_tls(conn);
    };
    let mut head = format!("CONNECT {host}:{port} HTTP/1.0\r\nUser-agent: libwebsockets\r\n");
    if let Some(auth) = &proxy.auth {
        let mut b64 = vec![0u8; auth.len() * 4 / 3 + 8];
        let n = crate::util::b64::encode(auth.as_bytes(), &mut b64).unwrap_or(0);
        head.push_str(&format!(
            "Proxy-authorization: basic {}\r\n",
            String::from_utf8_lossy(&b64[..n])
        ));
    }
    head.push_str("\r\n");
    if http::write(conn, head.as_bytes()) < 0 {
        report_error(conn, None);
        return Flow::Close(CloseWhy::ClientFailed);
    }
    with_http(conn, |h| h.phase = Phase::ClientProxy);
    conn.set_events(READABLE | if http::buffered(conn) { WRITABLE } else { 0 });
    conn.set_timeout(
        T::PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE as u32,
        CONNECT_TIMEOUT_SECS,
    );
    Flow::Continue
}

/// The proxy's answer to CONNECT: "HTTP/1.x 200 " and the tunnel is ours.
pub(crate) fn read_proxy_reply(conn: &Arc<Conn>) -> Step {
    let verdict = with_http(conn, |h| {
        let end = h.rx.windows(4).position(|w| w == b"\r\n\r\n");
        let ok = h.rx.starts_with(b"HTTP/1.0 200 ") || h.rx.starts_with(b"HTTP/1.1 200 ");
        if let Some(end) = end {
            h.rx.drain(..end + 4);
        }
        (end.map(|_| ok), h.rx.len())
    });
    match verdict {
        // TLS, if asked for, runs inside the tunnel
        Some((Some(true), _)) => match request_or_tls(conn) {
            Flow::Continue => Step::Again,
            close => Step::Done(close),
        },
        Some((None, len)) if len <= MAX_REPLY_HEAD => Step::Wait,
        _ => {
            report_error(conn, Some("proxy connection failed"));
            Step::Done(Flow::Close(CloseWhy::ClientFailed))
        }
    }
}

/// Connected (through the proxy's tunnel, if any): the TLS handshake
/// first if asked for, else the request.
fn request_or_tls(conn: &Arc<Conn>) -> Flow {
    if with_client(conn, |c| c.req.tls != 0).unwrap_or(false) {
        start_tls(conn)
    } else {
        send_request(conn)
    }
}

fn send_request(conn: &Arc<Conn>) -> Flow {
    let Some(mut head) = with_client(conn, |c| {
        wire::request_head(
            c.req.method.as_deref(),
            &c.req.path,
            &c.req.host,
            c.req.origin.as_deref(),
            c.req.protocols.as_deref(),
            &c.key,
        )
    }) else {
        return Flow::Close(CloseWhy::Error);
    };
    if let Some(offer) = extension_offer(conn) {
        head.extend_from_slice(b"Sec-WebSocket-Extensions: ");
        head.extend_from_slice(&offer);
        head.extend_from_slice(b"\r\n");
        with_client(conn, |c| c.ext_offer = Some(offer));
    }
    let mut extra = vec![0u8; APPEND_ROOM + 1];
    let start = extra.as_mut_ptr();
    let mut cursor = start.cast::<std::os::raw::c_char>();
    let user = conn.user_ptr();
    conn.callback_protocol(
        0,
        reason(R::LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER),
        user,
        (&mut cursor as *mut *mut std::os::raw::c_char).cast(),
        APPEND_ROOM,
    );
    let appended = (cursor as usize)
        .saturating_sub(start as usize)
        .min(APPEND_ROOM);
    head.extend_from_slice(&extra[..appended]);
    head.extend_from_slice(b"\r\n");
    if http::write(conn, &head) < 0 {
        report_error(conn, None);
        return Flow::Close(CloseWhy::ClientFailed);
    }
    with_http(conn, |h| {
        h.phase = Phase::ClientReply;
        h.ah = Some(Box::new(HeaderTable::new(
            conn.ctx.cfg.max_http_header_data,
            None,
        )));
    });
    let keep_writable =
        http::buffered(conn) || with_client(conn, |c| c.body_pending).unwrap_or(false);
    conn.set_events(READABLE | if keep_writable { WRITABLE } else { 0 });
    conn.set_timeout(
        T::PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE as u32,
        i64::from(conn.ctx.cfg.timeout_secs),
    );
    Flow::Continue
}

/// What a WebSocket request offers: the `client_offer` of each extension
/// protocol 0 does not veto at CLIENT_CONFIRM_EXTENSION_SUPPORTED.
fn extension_offer(conn: &Arc<Conn>) -> Option<Vec<u8>> {
    let exts = with_client(conn, |c| {
        c.req.method.is_none().then(|| c.req.extensions.clone())
    })
    .flatten()?;
    let mut offers = Vec::new();
    for e in exts {
        let mut name = e.name.clone();
        name.push(0);
        let vetoed = conn.callback_protocol(
            0,
            reason(R::LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED),
            conn.user_ptr(),
            name.as_mut_ptr().cast(),
            0,
        ) != 0;
        if !vetoed {
            offers.push(e.client_offer);
        }
    }
    (!offers.is_empty()).then(|| offers.join(&b", "[..]))
}

/// Input while waiting for the reply head.
pub(crate) fn read_reply(conn: &Arc<Conn>) -> Step {
    let parsed = with_http(conn, |h| {
        let r = wire::parse_reply(&h.rx);
        if let Ok(Some(reply)) = &r {
            h.rx.drain(..reply.len);
        }
        (r, h.rx.len())
    });
    let reply = match parsed {
        Some((Ok(Some(reply)), _)) => reply,
        Some((Ok(None), len)) if len <= MAX_REPLY_HEAD => return Step::Wait,
        _ => return Step::Done(fail_reply(conn, "HS: bad reply head")),
    };
    match follow_redirect(conn, &reply) {
        None => {}
        // connecting again: nothing more to read on this socket
        Some(Flow::Continue) => return Step::Wait,
        Some(close) => return Step::Done(close),
    }
    store_headers(conn, &reply);
    let is_http = with_client(conn, |c| c.req.method.is_some()).unwrap_or(false);
    let flow = if is_http {
        http_reply(conn, &reply)
    } else {
        ws_reply(conn, &reply)
    };
    match flow {
        Flow::Continue => Step::Again,
        close => Step::Done(close),
    }
}

/// Makes the reply's headers readable through lws_hdr_* (the status as
/// WSI_TOKEN_HTTP) during CLIENT_FILTER_PRE_ESTABLISH.
fn store_headers(conn: &Arc<Conn>, reply: &Reply) {
    with_http(conn, |h| {
        if let Some(ah) = h.ah.as_mut() {
            let _ = ah.push(tokens::WSI_TOKEN_HTTP, reply.status.to_string().as_bytes());
            for (name, value) in &reply.headers {
                if let Some(t) = tokens::header_token(name) {
                    let _ = ah.push(t, value);
                }
            }
        }
    });
}

fn release_ah(conn: &Arc<Conn>) {
    with_http(conn, |h| h.ah = None);
}

fn ws_reply(conn: &Arc<Conn>, reply: &Reply) -> Flow {
    let Some(checked) = with_client(conn, |c| {
        wire::check_ws_reply(reply, &c.key, c.req.protocols.as_deref())
    }) else {
        return Flow::Close(CloseWhy::Error);
    };
    let chosen = match checked {
        Ok(chosen) => chosen,
        Err(msg) => return fail_reply(conn, msg),
    };
    // The protocol named like the reply, else the one named like the whole
    // request (lws applications name a protocol by the list it asks for:
    // "dumb-increment-protocol,fake-nonexistant-protocol").
    let index = match &chosen {
        None => Some(0),
        Some(name) => {
            let vhost = conn.vhost();
            vhost.protocol_by_name(name).or_else(|| {
                with_client(conn, |c| c.req.protocols.clone())
                    .flatten()
                    .and_then(|asked| vhost.protocol_by_name(&asked))
            })
        }
    };
    let Some(index) = index else {
        return fail_reply(conn, "HS: Cannot match protocol");
    };
    let offer = with_client(conn, |c| c.ext_offer.clone()).flatten();
    let deflate = match negotiate::client_accept(
        offer.as_deref(),
        reply.header("sec-websocket-extensions"),
    ) {
        Ok(agreed) => agreed,
        Err(msg) => return fail_reply(conn, msg),
    };
    let external = conn.has_external_user();
    {
        let size = conn
            .vhost()
            .protocols
            .get(index)
            .map_or(0, |p| p.per_session_data_size);
        let user = if external {
            None
        } else {
            match super::session_data(size) {
                Ok(user) => Some(user),
                Err(_) => return fail_reply(conn, "out of memory"),
            }
        };
        let mut st = conn.state();
        st.protocol = index;
        if let Some(user) = user {
            st.user = user;
        }
    }
    if conn.callback(
        reason(R::LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH),
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        return fail_reply(conn, "HS: Rejected by filter cb");
    }
    release_ah(conn);
    if !super::ws::become_client(conn, deflate) {
        return fail_reply(conn, "HS: out of memory");
    }
    conn.set_timeout(0, 0);
    if conn.callback(
        reason(R::LWS_CALLBACK_CLIENT_ESTABLISHED),
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        report_error(conn, Some("HS: Rejected at CLIENT_ESTABLISHED"));
        return Flow::Close(CloseWhy::App);
    }
    Flow::Continue
}

fn http_reply(conn: &Arc<Conn>, reply: &Reply) -> Flow {
    if reply.status != 200 {
        return fail_reply(conn, "HS: Server did not return 200");
    }
    let chunked = reply.header("transfer-encoding").is_some_and(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    });
    let remaining = if chunked {
        None
    } else {
        reply
            .header("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
    };
    let keepalive = reply.http11 && (chunked || remaining.is_some());
    with_client(conn, |c| {
        c.body = Some(Body {
            chunked: chunked.then(Dechunker::default),
            remaining,
            keepalive,
            done: remaining == Some(0),
            held: false,
        })
    });
    if conn.callback_p0(
        reason(R::LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH),
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        return fail_reply(conn, "HS: Rejected by filter cb");
    }
    with_http(conn, |h| h.phase = Phase::ClientHttp);
    conn.set_timeout(0, 0);
    if conn.callback_p0(
        reason(R::LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP),
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        report_error(conn, Some("HS: Rejected at ESTABLISHED_CLIENT_HTTP"));
        return Flow::Close(CloseWhy::App);
    }
    release_ah(conn);
    let buffered = with_http(conn, |h| !h.rx.is_empty()).unwrap_or(false);
    let done = with_client(conn, |c| c.body.as_ref().is_some_and(|b| b.done)).unwrap_or(false);
    if buffered || done {
        return body_available(conn);
    }
    Flow::Continue
}

/// The body has bytes for the application: RECEIVE_CLIENT_HTTP, with
/// POLLIN off until it calls lws_http_client_read.
fn body_available(conn: &Arc<Conn>) -> Flow {
    conn.remove_events(READABLE);
    if conn.callback_p0(
        reason(R::LWS_CALLBACK_RECEIVE_CLIENT_HTTP),
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        return Flow::Close(CloseWhy::App);
    }
    Flow::Continue
}

/// POLLIN on an HTTP client connection receiving its body.
pub fn body_readable(conn: &Arc<Conn>) -> Flow {
    body_available(conn)
}

/// `lws_http_client_read`: fills `buf` with body bytes (de-chunked),
/// delivering them as RECEIVE_CLIENT_HTTP_READ and the end as
/// COMPLETED_CLIENT_HTTP. Returns -1 on error or when a transfer that cannot
/// be kept alive completed, else 0, with the bytes read (0 at EOF).
pub fn http_client_read(conn: &Arc<Conn>, buf: &mut [u8]) -> (i32, usize) {
    // bytes that arrived with the reply head first, then the socket
    let got = with_http(conn, |h| {
        let n = if !h.rx.is_empty() {
            let n = h.rx.len().min(buf.len());
            buf[..n].copy_from_slice(&h.rx[..n]);
            h.rx.drain(..n);
            n
        } else {
            match h.stream.read(buf) {
                Ok(super::transport::ReadOutcome::Data(n)) => {
                    conn.with_vhost(|v| {
                        crate::service::stats::ConnStats::add(&v.stats.rx, n);
                    });
                    n
                }
                Ok(_) => 0,
                Err(_) => return Err(()),
            }
        };
        Ok((n, !h.rx.is_empty() || h.stream.tls_pending()))
    });
    let Some(Ok((n, held))) = got else {
        return (-1, 0);
    };
    let mut pieces: Vec<std::ops::Range<usize>> = Vec::new();
    let mut completed = false;
    let ok = with_client(conn, |c| {
        let Some(body) = c.body.as_mut() else {
            return false;
        };
        if let Some(d) = body.chunked.as_mut() {
            let mut pos = 0;
            while pos < n {
                match d.step(&buf[pos..n]) {
                    Err(_) => return false,
                    Ok((used, piece)) => {
                        match piece {
                            Some(Piece::Data(r)) => pieces.push(pos + r.start..pos + r.end),
                            Some(Piece::End) => completed = true,
                            None => {}
                        }
                        pos += used;
                        if used == 0 {
                            break;
                        }
                    }
                }
            }
        } else {
            let take = body.remaining.map_or(n, |r| (r as usize).min(n));
            if take > 0 {
                pieces.push(0..take);
            }
            if let Some(r) = body.remaining.as_mut() {
                *r -= take as u64;
                completed = *r == 0;
            }
        }
        if completed {
            body.done = true;
        }
        body.held = held && !completed;
        true
    })
    .unwrap_or(false);
    if !ok {
        return (-1, 0);
    }
    for r in &pieces {
        let len = r.end - r.start;
        if conn.callback_p0(
            reason(R::LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ),
            buf[r.start..].as_mut_ptr().cast(),
            len,
        ) != 0
        {
            return (-1, n);
        }
    }
    if completed {
        let keepalive =
            with_client(conn, |c| c.body.as_ref().is_some_and(|b| b.keepalive)).unwrap_or(false);
        if conn.callback_p0(
            reason(R::LWS_CALLBACK_COMPLETED_CLIENT_HTTP),
            std::ptr::null_mut(),
            0,
        ) != 0
            || !keepalive
        {
            return (-1, n);
        }
        return (0, n);
    }
    if held {
        conn.ctx.pts[conn.tsi].mark_pending(conn);
    } else if n > 0 {
        conn.add_events(READABLE);
    }
    (0, n)
}

/// A pending pass over a client receiving its body: bytes already read wait
/// for the application, so RECEIVE_CLIENT_HTTP again.
pub(crate) fn body_held(conn: &Arc<Conn>) -> Step {
    let held = with_client(conn, |c| {
        c.body.as_mut().is_some_and(|b| std::mem::take(&mut b.held))
    })
    .unwrap_or(false);
    if held {
        Step::Done(body_available(conn))
    } else {
        Step::Wait
    }
}

/// `lws_client_http_body_pending`.
pub fn set_body_pending(conn: &Arc<Conn>, pending: bool) {
    with_client(conn, |c| c.body_pending = pending);
}

/// The final callbacks of a client connection that is not an established
/// WebSocket (those take the WebSocket path). A connection that ends before
/// its reply is judged reports CLIENT_CONNECTION_ERROR here.
pub fn finals(conn: &Arc<Conn>, why: CloseWhy) -> Option<Finals> {
    let (phase, ws) = with_http(conn, |h| {
        h.client.as_ref().map(|_| (h.phase, h.ws.is_some()))
    })
    .flatten()?;
    if ws {
        return None;
    }
    let reported = matches!(why, CloseWhy::ClientFailed | CloseWhy::Destroy);
    let hard = matches!(
        why,
        CloseWhy::Timeout(_) | CloseWhy::Hangup | CloseWhy::Destroy
    );
    Some(match phase {
        // no connection (refused, unreachable, timed out): POLL del, then
        // CONNECTION_ERROR (NULL), then WSI_DESTROY (CONTRACT §3 H)
        Phase::ClientConnect | Phase::ClientProxy if !reported => Finals {
            client_error_after_del: true,
            ..Finals::default()
        },
        // a timeout while waiting for the reply is a hard close too
        Phase::ClientReply if !reported && matches!(why, CloseWhy::Timeout(_)) => Finals {
            client_error_after_del: true,
            ..Finals::default()
        },
        // the server hung up before its reply was complete
        Phase::ClientReply if !reported => {
            report_error(conn, Some("Peer hung up"));
            Finals {
                closed_client_http: true,
                ..Finals::default()
            }
        }
        Phase::ClientConnect | Phase::ClientProxy | Phase::ClientReply => Finals::default(),
        _ => Finals {
            closed_client_http: !hard,
            ..Finals::default()
        },
    })
}

/// Wraps the connected socket in TLS (SNI and certificate checks for
/// `host`, as the LCCSCF flags allow) and starts the handshake.
fn start_tls(conn: &Arc<Conn>) -> Flow {
    use crate::ffi::enums::lws_client_connect_ssl_connection_flags as F;
    use openssl::ssl::{Ssl, SslVerifyMode};
    let ctx = match client_tls_context(&conn.ctx, &conn.vhost()) {
        Ok(c) => Some(c),
        Err(e) => {
            lwsl_err!("TLS client context: {e}");
            report_error(conn, Some("lws_ssl_client_connect1 failed"));
            return Flow::Close(CloseWhy::ClientFailed);
        }
    };
    let Some((flags, host)) = with_client(conn, |c| {
        (c.req.tls, String::from_utf8_lossy(&c.req.host).into_owned())
    }) else {
        return Flow::Close(CloseWhy::Error);
    };
    let host = host.split(':').next().unwrap_or_default().to_string();
    let ssl = ctx.as_ref().and_then(|c| Ssl::new(c).ok()).map(|mut ssl| {
        let _ = ssl.set_hostname(&host);
        if flags & F::LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK as u32 == 0 {
            let _ = ssl.param_mut().set_host(&host);
        }
        // The server's certificate is always verified, whatever the context
        // (an application's provided_client_ssl_ctx may not ask for it);
        // ALLOW_SELFSIGNED forgives only the self-signed verdicts: expiry,
        // another host or an unknown issuer still fail.
        let allow_self_signed = flags & F::LCCSCF_ALLOW_SELFSIGNED as u32 != 0;
        ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, store| {
            let err = store.error().as_raw();
            ok || (allow_self_signed
                && (err == openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                    || err == openssl_sys::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN))
        });
        ssl
    });
    let Some(ssl) = ssl else {
        report_error(conn, Some("lws_ssl_client_connect1 failed"));
        return Flow::Close(CloseWhy::ClientFailed);
    };
    let wrapped = with_http(conn, |h| {
        h.stream.start_tls(ssl, false).map_err(|e| e.to_string())?;
        h.tls_handshake = true;
        Ok::<(), String>(())
    });
    match wrapped {
        Some(Ok(())) => http::tls_handshake(conn),
        Some(Err(e)) => {
            lwsl_err!("TLS setup failed: {e}");
            report_error(conn, Some("lws_ssl_client_connect1 failed"));
            Flow::Close(CloseWhy::ClientFailed)
        }
        None => Flow::Close(CloseWhy::Error),
    }
}

/// The client's TLS handshake completed: the request follows.
pub fn tls_done(conn: &Arc<Conn>) -> Flow {
    send_request(conn)
}

/// The client's TLS handshake failed (a bad certificate, say).
pub fn tls_failed(conn: &Arc<Conn>, why: &str) -> Flow {
    lwsl_notice!("client TLS handshake failed: {why}");
    // the original's texts, which applications may compare
    report_error(conn, Some("lws_ssl_client_connect2 failed"));
    Flow::Close(CloseWhy::ClientFailed)
}

/// The vhost's TLS client context, made on first use (OS CAs unless
/// DISABLE_OS_CA_CERTS, ssl_ca_filepath, client certificate), after which
/// OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS lets the application add to it.
pub fn client_tls_context(
    ctx: &Arc<Context>,
    vhost: &Arc<Vhost>,
) -> Result<openssl::ssl::SslContext, String> {
    let made = {
        let mut client = vhost.tls_client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = client.as_ref() {
            return Ok(c.clone());
        }
        let c = crate::tls::client_context(&vhost.tls_config)?;
        *client = Some(c.clone());
        c
    };
    use foreign_types::ForeignType;
    let fake = Conn::fake(ctx, vhost, 0);
    fake.callback_protocol(
        0,
        reason(R::LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS),
        // the SSL_CTX goes as `user`, as lws passed it
        made.as_ptr().cast(),
        std::ptr::null_mut(),
        0,
    );
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::redirect_target;

    fn target(location: &str) -> Option<(u32, String, u16, String)> {
        let from = (6, "a.example".to_string(), 8080, Vec::new());
        redirect_target(&from, location.as_bytes())
            .map(|(t, a, p, path)| (t, a, p, String::from_utf8(path).unwrap()))
    }

    #[test]
    fn a_path_keeps_host_port_and_tls() {
        assert_eq!(
            target("/x?y=1"),
            Some((6, "a.example".into(), 8080, "/x?y=1".into()))
        );
    }

    #[test]
    fn a_url_decides_host_port_and_tls() {
        let plain = Some((0, "b.example".into(), 81, "/p/q".into()));
        assert_eq!(target("http://b.example:81/p/q"), plain);
        assert_eq!(
            target("https://b.example/"),
            Some((7, "b.example".into(), 443, "/".into()))
        );
        assert_eq!(
            target("wss://b.example"),
            Some((7, "b.example".into(), 443, "/".into()))
        );
        assert_eq!(
            target("ws://b.example/w"),
            Some((0, "b.example".into(), 80, "/w".into()))
        );
    }

    #[test]
    fn other_schemes_and_empty_hosts_are_refused() {
        assert_eq!(target("ftp://b.example/x"), None);
        assert_eq!(target("http:///x"), None);
        assert_eq!(target("relative/path"), None);
    }
}
