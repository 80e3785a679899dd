//! CGI scripts (CONTRACT §9): run for a `LWSMPRO_CGI` mount, or for the
//! application through `lws_cgi` as the original's test server did.
//!
//! A script runs in its own process group on three non-blocking pipes.
//! Each pipe, and a pidfd telling the script's exit, is a connection of
//! its own (`Role::CgiPipe`, a child of the HTTP connection the script
//! runs for), in the service thread's table and poll set like any socket,
//! so every backend (our epoll, the application's poll loop, libuv,
//! libev) serves them with no code of its own.
//!
//! Two ways to drive a script:
//! - **Mount** (the library's own): the request body goes to stdin as the
//!   pipe takes it (reading from the client stops while the pipe is full,
//!   so no byte is dropped and nothing piles up); stdout's header block is
//!   parsed (`Status:` and `Location:` honoured), the response head built
//!   from it and the rest streamed as the body - with the script's
//!   Content-Length, else chunked (HTTP/1.1) or up to the close (1.0) -
//!   reading stdout only while the client's socket takes what we send;
//!   stderr goes to the log. The response ends when stdout has ended and
//!   the script has exited: exit 0 completes it (keep-alive goes on), any
//!   other end aborts it (the client sees a truncated body, or a 500 if no
//!   head went out yet).
//! - **App** (`lws_cgi`): the original's callbacks - LWS_CALLBACK_CGI per
//!   pipe event, CGI_STDIN_DATA for body bytes (what the application does
//!   not take is offered again when the pipe drains), CGI_STDIN_COMPLETED
//!   once the body is through, CGI_TERMINATED when the script has exited
//!   and its stdout is drained (or it was killed) - and
//!   `lws_cgi_write_split_stdout_headers` moves stdout to the client.
//!
//! A script that produces no output or activity for its timeout is
//! killed; a client that goes away kills its script; every script is
//! reaped (a SIGTERM'd script that lingers gets SIGKILL).

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::http::{self, with_http, Flow, Phase, Step};
use super::{reason, Conn, Role};
use crate::ffi::callback;
use crate::ffi::enums::lws_callback_reasons as R;
use crate::ffi::enums::pending_timeout as T;
use crate::http::cgi::{self as pure, HeadParser, Parsed};
use crate::http::request;
use crate::plat::epoll::{HANGUP, READABLE, WRITABLE};
use crate::plat::proc::{self, Exit};
use crate::service::pt::{self, CloseWhy};

pub const STDIN: usize = 0;
pub const STDOUT: usize = 1;
pub const STDERR: usize = 2;
/// the exit watch (a pidfd): not one of `lws_cgi_args.stdwsi`
const EXIT: usize = 3;

/// Bytes read from stdout at once, and reads per event (then the other
/// connections get their turn).
const READ_CHUNK: usize = 64 * 1024;
const READS_PER_EVENT: usize = 4;
/// What `lws_cgi_write_split_stdout_headers` moves per call.
const SPLIT_CHUNK: usize = 16 * 1024;
/// Request body bytes offered to stdin at once.
const STDIN_CHUNK: usize = 64 * 1024;
/// The original's default `cgi_timeout`.
pub const DEFAULT_TIMEOUT_SECS: u32 = 5;
/// How long a SIGTERM'd script may linger before SIGKILL.
const KILL_GRACE_SECS: u64 = 3;
/// Longest stderr line logged whole.
const STDERR_LINE_MAX: usize = 1024;

/// lws_cgi_args.hdr_state values
const LCHS_HEADER: u32 = 0;
const LHCS_PAYLOAD: u32 = 5;

/// A pipe connection's end of things.
pub struct Pipe {
    pub channel: usize,
    /// closed with the connection
    _fd: OwnedFd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// a CGI mount: the library answers
    Mount,
    /// `lws_cgi`: the application answers through the callbacks
    App,
}

/// How the body after the script's head is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// the script's Content-Length: this much is still to come
    Length(u64),
    Chunked,
    /// the body ends with the connection
    Close,
    /// a 204 / 304: no body
    NoBody,
    /// after the application's own head (the original's way): as it comes
    Raw,
}

/// A script running for a connection (`HttpConn::cgi`).
pub struct Cgi {
    pid: i32,
    mode: Mode,
    script: String,
    /// the `struct lws *` of the stdin, stdout and stderr pipes (0 once
    /// closed): `lws_cgi_args.stdwsi` points here
    stdwsi: Box<[AtomicUsize; 3]>,
    pipes: [Option<Arc<Conn>>; 4],
    exit: Option<Exit>,
    timeout_secs: u32,
    /// body bytes the script's stdin has not taken yet
    stdin_pending: Vec<u8>,
    stdout_eof: bool,
    stdout_paused: bool,
    parser: HeadParser,
    /// set once the response head went out
    framing: Option<Framing>,
    /// App: the application wrote (its own head) before the script's head
    app_wrote: bool,
    /// App: the body's end has been written (last chunk)
    body_ended: bool,
    /// the script ended (CGI_TERMINATED issued / response finished)
    finished: bool,
    /// Mount: the response is written; the transaction completes (true:
    /// cleanly) once the output buffered for it has gone out
    complete_after_flush: Option<bool>,
    stderr_line: Vec<u8>,
    excess_logged: bool,
}

impl Cgi {
    fn stdwsi_addr(&self) -> usize {
        self.stdwsi.as_ptr() as usize
    }

    fn hdr_state(&self) -> u32 {
        if self.framing.is_some() {
            LHCS_PAYLOAD
        } else {
            LCHS_HEADER
        }
    }

    fn pipe_fd(&self, ch: usize) -> Option<i32> {
        self.pipes[ch].as_ref().map(|p| p.fd())
    }
}

fn with_cgi<T>(conn: &Conn, f: impl FnOnce(&mut Cgi) -> T) -> Option<T> {
    with_http(conn, |h| h.cgi.as_deref_mut().map(f)).flatten()
}

/// A CGI runs for this connection (`lws_is_cgi`).
pub fn is_cgi(conn: &Conn) -> bool {
    with_http(conn, |h| h.cgi.is_some()).unwrap_or(false)
}

/// The mode of the CGI running for `conn`, if any.
pub fn mode(conn: &Conn) -> Option<Mode> {
    with_cgi(conn, |c| c.mode)
}

fn channel(conn: &Conn) -> Option<usize> {
    match &conn.state().role {
        Role::CgiPipe(p) => Some(p.channel),
        _ => None,
    }
}

/// What to run and how.
pub struct Spec {
    /// the program (`argv[0]`, looked up in the script PATH without a `/`)
    /// and its arguments
    pub argv: Vec<OsString>,
    /// how much of the request path names the script (SCRIPT_NAME; the
    /// rest is PATH_INFO)
    pub script_len: usize,
    pub timeout_secs: u32,
    /// the mount's `cgienv` / lws_cgi's `mp_cgienv`
    pub extra: Vec<(Vec<u8>, Vec<u8>)>,
    pub mode: Mode,
}

/// Starts a script for the request `conn` is answering; false (logged)
/// if it cannot run.
pub fn start(conn: &Arc<Conn>, spec: Spec) -> bool {
    if conn.is_dead() {
        return false;
    }
    let script = spec
        .argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let host_name = conn.ctx.hostname.clone();
    let bound_port = u16::try_from(conn.vhost().bound_port.get()).unwrap_or(0);
    let prepared = with_http(conn, |h| {
        if h.cgi.is_some() {
            return Err("a CGI already runs for this connection");
        }
        let ah = h.ah.as_ref().ok_or("no request headers")?;
        let method = request::method(ah).ok_or("no request")?;
        let path = request::uri(ah).ok_or("no request")?.to_vec();
        let split = spec.script_len.min(path.len());
        let peer = h.stream.peer_addr();
        let local = crate::plat::sock::local_addr(h.stream.fd());
        let argv0 = spec.argv.first().map(|a| a.as_encoded_bytes().to_vec());
        let env = pure::environment(
            &pure::Request {
                method: method.name(),
                path: &path,
                script_name: &path[..split],
                path_info: &path[split..],
                script_filename: argv0.as_deref().unwrap_or_default(),
                http11: h.http11,
                tls: h.stream.is_tls(),
                host_name: &host_name,
                server_port: local.map_or(bound_port, |a| a.port()),
                server_addr: local.map(|a| a.ip().to_canonical().to_string()),
                remote_addr: peer.map(|a| a.ip().to_canonical().to_string()),
                remote_port: peer.map(|a| a.port()),
                extra: &spec.extra,
            },
            ah,
        );
        Ok((env, h.body_remaining > 0))
    });
    let (env, has_body) = match prepared {
        Some(Ok(p)) => p,
        Some(Err(why)) => {
            lwsl_err!("CGI {script}: {why}");
            return false;
        }
        None => {
            lwsl_err!("CGI {script}: not an HTTP connection");
            return false;
        }
    };
    // the script's own directory (RFC 3875 leaves it to the server; the
    // original used /tmp, which is still where a bare name runs)
    let dir = match script.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => script[..i].to_string(),
        None => "/tmp".to_string(),
    };
    let spawned = match proc::spawn(&spec.argv, &env, &dir) {
        Ok(s) => s,
        Err(e) => {
            lwsl_err!("CGI {script}: cannot run it: {e}");
            return false;
        }
    };
    let pid = spawned.pid;
    let pt = &conn.ctx.pts[conn.tsi];
    let vhost = conn.vhost();
    // without a body the script's stdin ends at once
    let ends: [(usize, Option<OwnedFd>, u32); 4] = [
        (STDIN, has_body.then_some(spawned.stdin), 0),
        (STDOUT, Some(spawned.stdout), READABLE),
        (STDERR, Some(spawned.stderr), READABLE),
        (EXIT, spawned.exit, READABLE),
    ];
    let mut pipes: [Option<Arc<Conn>>; 4] = [None, None, None, None];
    for (ch, fd, events) in ends {
        let Some(fd) = fd else { continue };
        let raw = fd.as_raw_fd();
        let p = Conn::new(
            conn.ctx.clone(),
            vhost.clone(),
            conn.tsi,
            raw,
            Role::CgiPipe(Pipe {
                channel: ch,
                _fd: fd,
            }),
        );
        conn.adopt_child(&p);
        if let Err(e) = pt.insert(&p, events) {
            lwsl_err!("CGI {script}: watching its pipe: {e}");
            proc::kill_group(pid, proc::SIGTERM);
            reaper_add(pid, &conn.ctx);
            for p in pipes.iter().flatten() {
                pt::close(p, CloseWhy::Hangup);
            }
            return false;
        }
        pipes[ch] = Some(p);
    }
    let addr = |ch: usize| AtomicUsize::new(pipes[ch].as_ref().map_or(0, |p| p.wsi() as usize));
    let stdwsi = Box::new([addr(STDIN), addr(STDOUT), addr(STDERR)]);
    let timeout_secs = if spec.timeout_secs == 0 {
        DEFAULT_TIMEOUT_SECS
    } else {
        spec.timeout_secs
    };
    lwsl_info!("CGI {script}: started, pid {pid}");
    with_http(conn, |h| {
        h.cgi = Some(Box::new(Cgi {
            pid,
            mode: spec.mode,
            script,
            stdwsi,
            pipes,
            exit: None,
            timeout_secs,
            stdin_pending: Vec::new(),
            stdout_eof: false,
            stdout_paused: false,
            parser: HeadParser::new(),
            framing: None,
            app_wrote: false,
            body_ended: false,
            finished: false,
            complete_after_flush: None,
            stderr_line: Vec::new(),
            excess_logged: false,
        }))
    });
    conn.ctx.cgi_spawned.fetch_add(1, Ordering::Relaxed);
    conn.ctx.cgi_alive.fetch_add(1, Ordering::Relaxed);
    refresh_timeout(conn);
    true
}

/// Re-arms the CGI timeout: the script showed some life.
fn refresh_timeout(master: &Arc<Conn>) {
    if let Some(secs) = with_cgi(master, |c| c.timeout_secs) {
        master.set_timeout(http::reason_t(T::PENDING_TIMEOUT_CGI), i64::from(secs));
    }
}

/// The client's socket took more of the script's output: the exchange is
/// alive even while the script waits for it.
pub(crate) fn client_progress(master: &Arc<Conn>) {
    if with_cgi(master, |c| {
        c.exit.is_none() || c.complete_after_flush.is_some()
    }) == Some(true)
    {
        refresh_timeout(master);
    }
}

/// One script fewer running (server-status `cgi_alive`).
fn alive_dec(ctx: &crate::service::context::Context) {
    let _ = ctx
        .cgi_alive
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
}

/// Records how the script ended (the first word counts); the exit kept.
fn set_exit(master: &Arc<Conn>, exit: Exit) -> Exit {
    let (first, kept) = with_cgi(master, |c| {
        let first = c.exit.is_none();
        (first, *c.exit.get_or_insert(exit))
    })
    .unwrap_or((false, exit));
    if first {
        alive_dec(&master.ctx);
    }
    kept
}

/// Stops the script if it still runs: SIGTERM to its process group, reaped
/// later (SIGKILL if it lingers). How it ended.
fn stop(master: &Arc<Conn>) -> Exit {
    let Some((pid, exit)) = with_cgi(master, |c| (c.pid, c.exit)) else {
        return Exit::Unknown;
    };
    if let Some(e) = exit {
        return e;
    }
    proc::kill_group(pid, proc::SIGTERM);
    reaper_add(pid, &master.ctx);
    set_exit(master, Exit::Signal(proc::SIGTERM))
}

/// Calls the master's protocol with `struct lws_cgi_args`.
fn app_callback(master: &Arc<Conn>, r: R, ch: usize, data: Option<&mut Vec<u8>>) -> i32 {
    let Some((stdwsi, hdr_state)) = with_cgi(master, |c| (c.stdwsi_addr(), c.hdr_state())) else {
        return 0;
    };
    callback::cgi(master, reason(r), stdwsi, ch, data, hdr_state)
}

// ------------------------------------------------------------ pipe events

/// An event on one of a script's pipes (from the service loop).
pub fn on_pipe_event(pipe: &Arc<Conn>, events: u32) {
    let Some(ch) = channel(pipe) else {
        return;
    };
    let master = pipe.parent().filter(|m| !m.is_dead());
    let Some((master, mode)) = master.and_then(|m| mode(&m).map(|mode| (m, mode))) else {
        pt::close(pipe, CloseWhy::Hangup);
        return;
    };
    match ch {
        STDIN => stdin_event(&master, pipe, events, mode),
        STDOUT => stdout_event(&master, pipe, mode),
        STDERR => stderr_event(&master, pipe, mode),
        _ => exit_event(&master),
    }
}

fn close_pipe(master: &Arc<Conn>, ch: usize) {
    let pipe = with_cgi(master, |c| {
        if ch < 3 {
            c.stdwsi[ch].store(0, Ordering::Relaxed);
        }
        c.pipes[ch].take()
    })
    .flatten();
    if let Some(p) = pipe {
        pt::close(&p, CloseWhy::Hangup);
    }
}

fn pipe_conn(master: &Arc<Conn>, ch: usize) -> Option<Arc<Conn>> {
    with_cgi(master, |c| c.pipes[ch].clone()).flatten()
}

// ------------------------------------------------------------------ stdin

enum Offer {
    /// the script no longer reads its stdin
    Broken,
    /// the application asked to close
    Close,
}

/// Hands body bytes to the script: how many it took.
fn offer(master: &Arc<Conn>, data: &[u8]) -> Result<usize, Offer> {
    let Some((mode, fd)) = with_cgi(master, |c| (c.mode, c.pipe_fd(STDIN))) else {
        return Err(Offer::Broken);
    };
    let Some(fd) = fd else {
        return Err(Offer::Broken);
    };
    match mode {
        Mode::Mount => match proc::write(fd, data) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
            Err(_) => Err(Offer::Broken),
        },
        Mode::App => {
            // (room for the NUL the original's handlers write after it)
            let mut buf = Vec::with_capacity(data.len() + 1);
            buf.extend_from_slice(data);
            let r = app_callback(
                master,
                R::LWS_CALLBACK_CGI_STDIN_DATA,
                STDIN,
                Some(&mut buf),
            );
            if r < 0 {
                Err(Offer::Close)
            } else {
                Ok(usize::try_from(r).unwrap_or(0).min(data.len()))
            }
        }
    }
}

/// The request body for the script (from `http::deliver_body`): offered
/// as it arrives; while stdin holds some back, the client is not read.
pub(crate) fn deliver_body(conn: &Arc<Conn>) -> Step {
    loop {
        let Some((waiting, broken)) = with_cgi(conn, |c| {
            (!c.stdin_pending.is_empty(), c.pipes[STDIN].is_none())
        }) else {
            return Step::Wait;
        };
        if waiting {
            return Step::Wait;
        }
        let Some((chunk, done)) = http::take_body(conn, STDIN_CHUNK) else {
            return Step::Wait;
        };
        if !chunk.is_empty() && !broken {
            match offer(conn, &chunk) {
                Ok(n) => {
                    if n > 0 {
                        refresh_timeout(conn);
                    }
                    if n < chunk.len() {
                        with_cgi(conn, |c| c.stdin_pending = chunk[n..].to_vec());
                        conn.remove_events(READABLE);
                        if let Some(p) = pipe_conn(conn, STDIN) {
                            p.add_events(WRITABLE);
                        }
                        return Step::Wait;
                    }
                }
                Err(Offer::Broken) => stdin_broken(conn),
                Err(Offer::Close) => return Step::Done(Flow::Close(CloseWhy::App)),
            }
        }
        if done {
            stdin_complete(conn);
            return Step::Again;
        }
        if chunk.is_empty() {
            return Step::Wait;
        }
    }
}

fn stdin_event(master: &Arc<Conn>, pipe: &Arc<Conn>, events: u32, mode: Mode) {
    if events & WRITABLE == 0 && events & HANGUP != 0 {
        stdin_broken(master);
        return;
    }
    pipe.remove_events(WRITABLE);
    if mode == Mode::App && app_callback(master, R::LWS_CALLBACK_CGI, STDIN, None) != 0 {
        pt::close(master, CloseWhy::App);
        return;
    }
    flush_stdin(master);
}

/// Offers what stdin held back; once all is taken the client is read again.
fn flush_stdin(master: &Arc<Conn>) {
    let pending = with_cgi(master, |c| std::mem::take(&mut c.stdin_pending)).unwrap_or_default();
    if !pending.is_empty() {
        match offer(master, &pending) {
            Ok(n) => {
                if n > 0 {
                    refresh_timeout(master);
                }
                if n < pending.len() {
                    with_cgi(master, |c| c.stdin_pending = pending[n..].to_vec());
                    if let Some(p) = pipe_conn(master, STDIN) {
                        p.add_events(WRITABLE);
                    }
                    return;
                }
            }
            Err(Offer::Broken) => {
                stdin_broken(master);
                return;
            }
            Err(Offer::Close) => {
                pt::close(master, CloseWhy::App);
                return;
            }
        }
    }
    resume_body(master);
}

fn resume_body(master: &Arc<Conn>) {
    if master.is_dead() {
        return;
    }
    if with_http(master, |h| h.phase == Phase::Body).unwrap_or(false) {
        master.add_events(READABLE);
        master.ctx.pts[master.tsi].mark_pending(master);
    } else {
        stdin_complete(master);
    }
}

/// The script closed its stdin (or exited): the rest of the body is read
/// and dropped, so the connection stays usable.
fn stdin_broken(master: &Arc<Conn>) {
    lwsl_info!("CGI: the script no longer reads its stdin; dropping the rest of the body");
    with_cgi(master, |c| c.stdin_pending.clear());
    close_pipe(master, STDIN);
    resume_body(master);
}

/// The whole body went to the script: CGI_STDIN_COMPLETED (App), then its
/// stdin is closed so it sees the end.
fn stdin_complete(master: &Arc<Conn>) {
    let Some((mode, open)) = with_cgi(master, |c| (c.mode, c.pipes[STDIN].is_some())) else {
        return;
    };
    if !open {
        return;
    }
    if mode == Mode::App
        && app_callback(master, R::LWS_CALLBACK_CGI_STDIN_COMPLETED, STDIN, None) < 0
    {
        pt::close(master, CloseWhy::App);
        return;
    }
    close_pipe(master, STDIN);
}

// ----------------------------------------------------------------- stdout

fn stdout_event(master: &Arc<Conn>, pipe: &Arc<Conn>, mode: Mode) {
    if mode == Mode::Mount {
        pump(master);
        return;
    }
    let fd = pipe.fd();
    let before = proc::pending_bytes(fd);
    let eof = with_cgi(master, |c| c.stdout_eof).unwrap_or(true);
    if eof || (before == 0 && proc::at_eof(fd)) {
        stdout_ended(master);
        return;
    }
    if before == 0 {
        return;
    }
    if app_callback(master, R::LWS_CALLBACK_CGI, STDOUT, None) != 0 {
        pt::close(master, CloseWhy::App);
        return;
    }
    if !pipe.is_dead() && proc::pending_bytes(fd) == before {
        // nothing taken: the application waits for its writable turn (the
        // original's policy); no more of these until then, not a busy loop
        pause_stdout(master);
    }
}

fn pause_stdout(master: &Arc<Conn>) {
    let pipe = with_cgi(master, |c| {
        c.stdout_paused = true;
        c.pipes[STDOUT].clone()
    })
    .flatten();
    if let Some(p) = pipe {
        p.remove_events(READABLE);
    }
}

fn resume_stdout(master: &Arc<Conn>) {
    let pipe = with_cgi(master, |c| {
        std::mem::replace(&mut c.stdout_paused, false)
            .then(|| c.pipes[STDOUT].clone())
            .flatten()
    })
    .flatten();
    if let Some(p) = pipe {
        p.add_events(READABLE);
    }
}

/// Mount: moves stdout to the client while its socket takes it.
fn pump(master: &Arc<Conn>) {
    let pt = &master.ctx.pts[master.tsi];
    let mut buf = pt.take_serv_buf();
    if buf.len() < READ_CHUNK {
        buf = vec![0; READ_CHUNK];
    }
    for _ in 0..READS_PER_EVENT {
        if http::buffered(master) {
            pause_stdout(master);
            break;
        }
        let Some(fd) = with_cgi(master, |c| c.pipe_fd(STDOUT)).flatten() else {
            break;
        };
        match proc::read(fd, &mut buf[..READ_CHUNK]) {
            Ok(0) => {
                stdout_ended(master);
                break;
            }
            Ok(n) => {
                refresh_timeout(master);
                if !forward(master, &buf[..n]) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => {
                lwsl_err!("CGI: reading its stdout: {e}");
                stdout_ended(master);
                break;
            }
        }
    }
    pt.put_serv_buf(buf);
}

/// Stdout output for the client: the head first, then the body; false if
/// the connection is gone or finished.
fn forward(master: &Arc<Conn>, data: &[u8]) -> bool {
    let parsed = with_cgi(master, |c| c.framing.is_none().then(|| c.parser.feed(data))).flatten();
    match parsed {
        None => send_body(master, data),
        Some(Parsed::More) => true,
        Some(Parsed::Done(head, body)) => send_head(master, head) && send_body(master, &body),
        Some(Parsed::Bad(why)) => {
            script_failed(master, &why);
            false
        }
    }
}

/// The script's head could not be used: 500 (or, in App mode, -1 to the
/// application), and the script is killed.
fn script_failed(master: &Arc<Conn>, why: &str) {
    let Some((script, mode)) = with_cgi(master, |c| (c.script.clone(), c.mode)) else {
        return;
    };
    lwsl_err!("CGI {script}: {why}");
    let exit = stop(master);
    with_cgi(master, |c| c.stdout_eof = true);
    close_pipe(master, STDOUT);
    match mode {
        Mode::Mount => finish_mount(master, exit, Some(500)),
        Mode::App => finish_app(master, exit),
    }
}

/// Writes the response head the script's head asks for (Mount, or App
/// when the application wrote none).
fn send_head(master: &Arc<Conn>, head: pure::Head) -> bool {
    let Some((http11, keepalive_asked)) = with_http(master, |h| (h.http11, h.keepalive)) else {
        return false;
    };
    let framing = if matches!(head.status, 204 | 304) {
        Framing::NoBody
    } else if let Some(n) = head.content_length {
        Framing::Length(n)
    } else if http11 {
        Framing::Chunked
    } else {
        Framing::Close
    };
    let keepalive = keepalive_asked && framing != Framing::Close;
    if !keepalive {
        with_http(master, |h| h.keepalive = false);
    }
    let room: usize = head
        .headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 8)
        .sum::<usize>()
        + 4096;
    let mut buf = vec![0; room];
    let built = http::with_status_block(master, |block| {
        let mut c = crate::http::response::HeaderCursor::new(&mut buf);
        let r = (|| {
            c.add_status(block, u32::from(head.status))?;
            for (name, value) in &head.headers {
                let mut n = name.clone();
                n.push(b':');
                c.add_by_name(&n, value)?;
            }
            match framing {
                Framing::Length(n) => c.add_content_length(n)?,
                Framing::Chunked => c.add_by_name(b"transfer-encoding:", b"chunked")?,
                _ => {}
            }
            if !keepalive {
                c.add_by_name(b"connection:", b"close")?;
            } else if !http11 {
                c.add_by_name(b"connection:", b"keep-alive")?;
            }
            c.finalize()
        })();
        r.ok().map(|()| c.pos())
    });
    let Some(n) = built else {
        lwsl_err!("CGI: the response head does not fit");
        pt::close(master, CloseWhy::App);
        return false;
    };
    with_cgi(master, |c| c.framing = Some(framing));
    if http::write_after_buffered(master, &buf[..n]) < 0 {
        pt::close(master, CloseWhy::Hangup);
        return false;
    }
    true
}

/// App, after the application's own head: the script's header lines as
/// it wrote them, then the empty line (the original's way).
fn send_raw_head(master: &Arc<Conn>, head: &pure::Head) -> bool {
    let mut out = Vec::new();
    for line in &head.raw {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    with_http(master, |h| h.keepalive = false);
    with_cgi(master, |c| c.framing = Some(Framing::Raw));
    if http::write_after_buffered(master, &out) < 0 {
        pt::close(master, CloseWhy::Hangup);
        return false;
    }
    true
}

/// Body bytes, framed; false if the connection is gone.
fn send_body(master: &Arc<Conn>, data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    let Some((framing, script, logged)) =
        with_cgi(master, |c| (c.framing, c.script.clone(), c.excess_logged))
    else {
        return false;
    };
    let out: std::borrow::Cow<[u8]> = match framing {
        Some(Framing::Chunked) => pure::chunk(data).into(),
        Some(Framing::Length(left)) => {
            let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
            if take < data.len() && !logged {
                lwsl_warn!("CGI {script}: output beyond its Content-Length dropped");
                with_cgi(master, |c| c.excess_logged = true);
            }
            with_cgi(master, |c| {
                c.framing = Some(Framing::Length(left - take as u64))
            });
            data[..take].into()
        }
        Some(Framing::NoBody) | None => return true,
        Some(Framing::Close | Framing::Raw) => data.into(),
    };
    if out.is_empty() {
        return true;
    }
    if http::write_after_buffered(master, &out) < 0 {
        pt::close(master, CloseWhy::Hangup);
        return false;
    }
    true
}

/// Stdout ended: its pipe goes; the response ends once the script has
/// exited too.
fn stdout_ended(master: &Arc<Conn>) {
    with_cgi(master, |c| c.stdout_eof = true);
    close_pipe(master, STDOUT);
    check_finished(master);
}

/// The master can take more: stdout moves on (Mount), or is listened to
/// again (App, before its HTTP_WRITEABLE). None unless Mount handled it.
pub(crate) fn master_writable(conn: &Arc<Conn>) -> Option<Flow> {
    match mode(conn)? {
        Mode::Mount => {
            conn.remove_events(WRITABLE);
            if let Some(clean) = with_cgi(conn, |c| c.complete_after_flush.take()).flatten() {
                with_http(conn, |h| h.cgi = None);
                complete(conn, clean);
                return Some(Flow::Continue);
            }
            resume_stdout(conn);
            pump(conn);
            Some(Flow::Continue)
        }
        Mode::App => {
            resume_stdout(conn);
            None
        }
    }
}

// ----------------------------------------------------------------- stderr

fn stderr_event(master: &Arc<Conn>, pipe: &Arc<Conn>, mode: Mode) {
    if mode == Mode::App {
        let fd = pipe.fd();
        let before = proc::pending_bytes(fd);
        if before > 0 {
            if app_callback(master, R::LWS_CALLBACK_CGI, STDERR, None) != 0 {
                pt::close(master, CloseWhy::App);
                return;
            }
            if pipe.is_dead() || proc::pending_bytes(fd) != before {
                return;
            }
        }
    }
    // (ours to log, or what the application left there)
    drain_stderr(master);
}

/// Logs what the script wrote to stderr, a line at a time.
fn drain_stderr(master: &Arc<Conn>) {
    let Some((fd, pid)) = with_cgi(master, |c| (c.pipe_fd(STDERR), c.pid)) else {
        return;
    };
    let Some(fd) = fd else { return };
    let mut buf = [0u8; 4096];
    for _ in 0..16 {
        match proc::read(fd, &mut buf) {
            Ok(0) => {
                log_stderr(master, pid, &[], true);
                close_pipe(master, STDERR);
                return;
            }
            Ok(n) => log_stderr(master, pid, &buf[..n], false),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(_) => {
                close_pipe(master, STDERR);
                return;
            }
        }
    }
}

fn log_stderr(master: &Arc<Conn>, pid: i32, data: &[u8], end: bool) {
    let lines = with_cgi(master, |c| {
        c.stderr_line.extend_from_slice(data);
        let mut lines = Vec::new();
        while let Some(lf) = c.stderr_line.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = c.stderr_line.drain(..=lf).collect();
            lines.push(line);
        }
        if end || c.stderr_line.len() > STDERR_LINE_MAX {
            lines.push(std::mem::take(&mut c.stderr_line));
        }
        (c.script.clone(), lines)
    });
    let Some((script, lines)) = lines else { return };
    for line in lines {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if !text.is_empty() {
            lwsl_notice!("CGI {script} [{pid}] stderr: {text}");
        }
    }
}

// ------------------------------------------------------------ exit / end

fn exit_event(master: &Arc<Conn>) {
    let Some((pid, stopped)) = with_cgi(master, |c| (c.pid, c.exit.is_some())) else {
        return;
    };
    if stopped {
        // stopped by us: the reaper waits for it (reaping it here too
        // could let it reap a later process given the same pid)
        close_pipe(master, EXIT);
        return;
    }
    let Some(exit) = proc::try_wait(pid) else {
        return;
    };
    let exit = set_exit(master, exit);
    let script = with_cgi(master, |c| c.script.clone()).unwrap_or_default();
    if exit.success() {
        lwsl_info!("CGI {script} [{pid}]: {exit}");
    } else {
        lwsl_notice!("CGI {script} [{pid}]: {exit}");
    }
    close_pipe(master, EXIT);
    check_finished(master);
}

/// Once stdout has ended and the script has exited, the response ends.
fn check_finished(master: &Arc<Conn>) {
    let Some((mode, stdout_eof, exit, pid, watched, finished)) = with_cgi(master, |c| {
        (
            c.mode,
            c.stdout_eof,
            c.exit,
            c.pid,
            c.pipes[EXIT].is_some(),
            c.finished,
        )
    }) else {
        return;
    };
    if finished || !stdout_eof {
        return;
    }
    let exit = match exit {
        Some(e) => e,
        // the exit event will tell
        None if watched => return,
        None => {
            // no pidfd: the script closed its stdout, so it is ending; one
            // still running is left to the reaper
            let e = proc::try_wait(pid).unwrap_or_else(|| {
                reaper_add(pid, &master.ctx);
                Exit::Unknown
            });
            set_exit(master, e)
        }
    };
    match mode {
        Mode::Mount => finish_mount(master, exit, None),
        Mode::App => finish_app(master, exit),
    }
}

/// Mount: the script is done (or was stopped): the response is completed
/// or aborted, the script's pipes closed, and the connection goes on to
/// its next request or closes. `error` answers a script that never sent
/// a head with that status.
fn finish_mount(master: &Arc<Conn>, exit: Exit, error: Option<u32>) {
    if with_cgi(master, |c| std::mem::replace(&mut c.finished, true)) != Some(false) {
        return;
    }
    drain_stderr(master);
    let Some((framing, script)) = with_cgi(master, |c| (c.framing, c.script.clone())) else {
        return;
    };
    let mut ok = exit.success() && error.is_none();
    let mut framing = framing;
    if framing.is_none() {
        // no head went out yet
        let parsed = if ok {
            with_cgi(master, |c| c.parser.finish()).unwrap_or(Parsed::Bad("gone".into()))
        } else {
            Parsed::Bad(format!("{exit}"))
        };
        match parsed {
            Parsed::Done(head, body) => {
                if !(send_head(master, head) && send_body(master, &body)) {
                    return;
                }
                framing = with_cgi(master, |c| c.framing).flatten();
            }
            Parsed::More | Parsed::Bad(_) => {
                let (code, why) = match (error, parsed) {
                    (Some(504), _) => (504, "no response in time".to_string()),
                    (_, Parsed::Bad(why)) => (error.unwrap_or(500), why),
                    _ => (500, "no response".to_string()),
                };
                lwsl_err!("CGI {script}: {why}: answering {code}");
                cleanup(master);
                if master.is_dead() {
                    return;
                }
                if http::return_status(master, code, b"") < 0 {
                    pt::close(master, CloseWhy::App);
                    return;
                }
                end(master, true);
                return;
            }
        }
    }
    let body_complete = match framing {
        Some(Framing::Length(left)) => left == 0,
        Some(Framing::Chunked) => {
            if ok && http::write_after_buffered(master, pure::LAST_CHUNK) < 0 {
                ok = false;
            }
            true
        }
        Some(Framing::NoBody) => true,
        _ => false,
    };
    if !ok && framing.is_some() {
        lwsl_notice!("CGI {script}: {exit} after its response began: aborting it");
    }
    cleanup(master);
    end(master, ok && body_complete);
}

/// The script's pipes close; it is stopped if it still runs.
fn cleanup(master: &Arc<Conn>) {
    for ch in [STDIN, STDOUT, STDERR, EXIT] {
        close_pipe(master, ch);
    }
    stop(master);
}

/// The response is written: once what is buffered has gone out (so the
/// application gets no HTTP_WRITEABLE for our output), the script's state
/// goes and the transaction completes.
fn end(master: &Arc<Conn>, clean: bool) {
    if !master.is_dead() && http::buffered(master) {
        with_cgi(master, |c| c.complete_after_flush = Some(clean));
        return;
    }
    with_http(master, |h| h.cgi = None);
    complete(master, clean);
}

/// The response is over: the next request if it ended cleanly and the
/// whole request body was read, else the connection closes (after what is
/// buffered drains).
fn complete(master: &Arc<Conn>, clean: bool) {
    if master.is_dead() {
        return;
    }
    master.set_timeout(0, 0);
    let reusable = clean
        && with_http(master, |h| h.phase == Phase::Responding && h.keepalive).unwrap_or(false);
    if reusable && http::transaction_completed(master) == 0 {
        return;
    }
    pt::close(master, CloseWhy::App);
}

/// App: CGI_TERMINATED; a non-zero return closes the connection (the
/// original's test server returns -1: its response ends with the close).
fn finish_app(master: &Arc<Conn>, exit: Exit) {
    if with_cgi(master, |c| std::mem::replace(&mut c.finished, true)) != Some(false) {
        return;
    }
    drain_stderr(master);
    // a head we built ends its chunked body (unless the script failed)
    let end_chunk = with_cgi(master, |c| {
        let end = c.framing == Some(Framing::Chunked) && !c.body_ended && exit.success();
        c.body_ended = true;
        end
    })
    .unwrap_or(false);
    if end_chunk {
        http::write_after_buffered(master, pure::LAST_CHUNK);
    }
    if !exit.success() {
        with_http(master, |h| h.keepalive = false);
    }
    for ch in [STDIN, STDOUT, STDERR, EXIT] {
        close_pipe(master, ch);
    }
    let r = app_callback(master, R::LWS_CALLBACK_CGI_TERMINATED, STDOUT, None);
    with_http(master, |h| h.cgi = None);
    if r != 0 {
        pt::close(master, CloseWhy::App);
    }
}

// ------------------------------------------------------- kills and ends

/// The connection is closing: a script still running is killed (its
/// process group), and in App mode the application hears CGI_TERMINATED.
pub fn on_close(conn: &Arc<Conn>) {
    let Some(cgi) = with_http(conn, |h| h.cgi.take()).flatten() else {
        return;
    };
    if cgi.exit.is_none() {
        lwsl_info!(
            "CGI {} [{}]: connection closed: killing it",
            cgi.script,
            cgi.pid
        );
        proc::kill_group(cgi.pid, proc::SIGTERM);
        reaper_add(cgi.pid, &conn.ctx);
        alive_dec(&conn.ctx);
    }
    if cgi.mode == Mode::App && !cgi.finished {
        // (the pipes close with the connection: no handles to them)
        for s in cgi.stdwsi.iter() {
            s.store(0, Ordering::Relaxed);
        }
        callback::cgi(
            conn,
            reason(R::LWS_CALLBACK_CGI_TERMINATED),
            cgi.stdwsi_addr(),
            STDOUT,
            None,
            cgi.hdr_state(),
        );
    }
}

/// PENDING_TIMEOUT_CGI: the script showed no life for its timeout. It is
/// killed; a Mount answers 504 if no head went out (else the response is
/// aborted, or completed if the script itself had already exited well);
/// App closes the connection, as the original.
pub fn timed_out(conn: &Arc<Conn>) {
    let Some((mode, exit, pid, script, secs, head_sent, finished)) = with_cgi(conn, |c| {
        (
            c.mode,
            c.exit,
            c.pid,
            c.script.clone(),
            c.timeout_secs,
            c.framing.is_some(),
            c.finished,
        )
    }) else {
        pt::close(
            conn,
            CloseWhy::Timeout(http::reason_t(T::PENDING_TIMEOUT_CGI)),
        );
        return;
    };
    if finished {
        // the script is done; the client has not taken the response
        pt::close(
            conn,
            CloseWhy::Timeout(http::reason_t(T::PENDING_TIMEOUT_CGI)),
        );
        return;
    }
    lwsl_notice!("CGI {script} [{pid}]: nothing for {secs} s: stopping it");
    // a script that exited well, its stdout held open by something it
    // left running, has answered in full
    let answered = head_sent && exit.is_some_and(Exit::success);
    let exit = stop(conn);
    // (the group, whatever the script itself did)
    proc::kill_group(pid, proc::SIGTERM);
    with_cgi(conn, |c| c.stdout_eof = true);
    match mode {
        Mode::App => pt::close(
            conn,
            CloseWhy::Timeout(http::reason_t(T::PENDING_TIMEOUT_CGI)),
        ),
        Mode::Mount => {
            close_pipe(conn, STDOUT);
            finish_mount(conn, exit, (!answered).then_some(504));
        }
    }
}

/// `lws_cgi_kill`: SIGTERM to the script's group; the response (or the
/// application, CGI_TERMINATED) ends now. 0, also when none runs.
pub fn kill(conn: &Arc<Conn>) -> i32 {
    let Some((pid, running, mode)) = with_cgi(conn, |c| (c.pid, c.exit.is_none(), c.mode)) else {
        return 0;
    };
    let exit = if running {
        proc::kill_group(pid, proc::SIGTERM);
        let e = proc::try_wait(pid).unwrap_or_else(|| {
            reaper_add(pid, &conn.ctx);
            Exit::Signal(proc::SIGTERM)
        });
        set_exit(conn, e)
    } else {
        stop(conn)
    };
    with_cgi(conn, |c| c.stdout_eof = true);
    close_pipe(conn, STDOUT);
    match mode {
        Mode::Mount => finish_mount(conn, exit, None),
        Mode::App => finish_app(conn, exit),
    }
    0
}

// ------------------------------------------------------------- App API

/// `lws_write` by the application on a connection with a script whose
/// head has not gone out: the application writes its own head (the
/// original's test server wrote the status line before the script ran).
pub fn note_app_write(conn: &Conn) {
    with_cgi(conn, |c| {
        if c.mode == Mode::App && c.framing.is_none() {
            c.app_wrote = true;
        }
    });
}

/// `lws_cgi_write_split_stdout_headers`: moves one piece of the script's
/// stdout to the client. While the script's header block comes, its
/// lines are collected; then either the whole head is built from them
/// (`Status:` honoured), or - if the application already wrote a head of
/// its own - the lines follow that head, as in the original. 0, or -1 on
/// an error (the application closes).
pub fn write_split_stdout_headers(conn: &Arc<Conn>) -> i32 {
    let Some(fd) = with_cgi(conn, |c| c.pipe_fd(STDOUT)) else {
        return -1;
    };
    resume_stdout(conn);
    let Some(fd) = fd else {
        return 0;
    };
    if http::buffered(conn) {
        return 0;
    }
    let mut buf = vec![0u8; SPLIT_CHUNK];
    let data = match proc::read(fd, &mut buf) {
        Ok(0) => {
            with_cgi(conn, |c| c.stdout_eof = true);
            return split_eof(conn);
        }
        Ok(n) => &buf[..n],
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return 0,
        Err(_) => return -1,
    };
    refresh_timeout(conn);
    let Some((parsed, app_wrote)) = with_cgi(conn, |c| {
        (
            c.framing.is_none().then(|| c.parser.feed(data)),
            c.app_wrote,
        )
    }) else {
        return -1;
    };
    let ok = match parsed {
        None => send_body(conn, data),
        Some(Parsed::More) => true,
        Some(Parsed::Done(head, body)) => {
            let sent = if app_wrote {
                send_raw_head(conn, &head)
            } else {
                send_head(conn, head)
            };
            sent && send_body(conn, &body)
        }
        Some(Parsed::Bad(why)) => {
            let script = with_cgi(conn, |c| c.script.clone()).unwrap_or_default();
            lwsl_err!("CGI {script}: {why}");
            false
        }
    };
    if ok {
        0
    } else {
        -1
    }
}

/// Stdout ended inside `lws_cgi_write_split_stdout_headers`: a head still
/// collecting goes out, a chunked body gets its end. The pipe's own event
/// then ends the script's turn (CGI_TERMINATED once it has exited).
fn split_eof(conn: &Arc<Conn>) -> i32 {
    let Some((framing, app_wrote)) = with_cgi(conn, |c| (c.framing, c.app_wrote)) else {
        return -1;
    };
    if framing.is_none() {
        match with_cgi(conn, |c| c.parser.finish()) {
            Some(Parsed::Done(head, body)) => {
                let sent = if app_wrote {
                    send_raw_head(conn, &head)
                } else {
                    send_head(conn, head)
                };
                if !(sent && send_body(conn, &body)) {
                    return -1;
                }
            }
            _ => return -1,
        }
    }
    let end = with_cgi(conn, |c| {
        let end = c.framing == Some(Framing::Chunked) && !c.body_ended;
        c.body_ended = true;
        end
    })
    .unwrap_or(false);
    if end && http::write_after_buffered(conn, pure::LAST_CHUNK) < 0 {
        return -1;
    }
    // the pipe's next event (EOF) ends it
    resume_stdout(conn);
    0
}

/// `lws_rx_flow_control` on a pipe: stops / resumes its events.
pub fn pipe_flow(conn: &Arc<Conn>, enable: bool) -> Option<i32> {
    let ch = channel(conn)?;
    let bits = if ch == STDIN { WRITABLE } else { READABLE };
    if let (Some(master), STDOUT) = (conn.parent(), ch) {
        with_cgi(&master, |c| c.stdout_paused = !enable);
    }
    if enable {
        conn.add_events(bits);
    } else {
        conn.remove_events(bits);
    }
    Some(0)
}

// ----------------------------------------------------------------- reaper

/// Scripts signalled (or left running after closing their stdout) that
/// have not been reaped yet.
struct Reap {
    pid: i32,
    /// the context's address, for its destruction
    ctx: usize,
    since: u64,
    killed: bool,
}

static REAPER: Mutex<Vec<Reap>> = Mutex::new(Vec::new());

fn reaper() -> std::sync::MutexGuard<'static, Vec<Reap>> {
    REAPER.lock().unwrap_or_else(|p| p.into_inner())
}

fn reaper_add(pid: i32, ctx: &Arc<crate::service::context::Context>) {
    reaper().push(Reap {
        pid,
        ctx: Arc::as_ptr(ctx) as usize,
        since: crate::service::now_secs(),
        killed: false,
    });
}

/// Once a second: reaps what exited; SIGKILL for what outlived its grace.
pub fn reap_scan(now: u64) {
    let mut list = reaper();
    list.retain_mut(|r| {
        if proc::try_wait(r.pid).is_some() {
            return false;
        }
        if !r.killed && now >= r.since + KILL_GRACE_SECS {
            proc::kill_group(r.pid, proc::SIGKILL);
            r.killed = true;
        }
        true
    });
}

/// Context destruction: the context's remaining scripts are killed and
/// reaped before it returns.
pub fn reap_all(ctx: &crate::service::context::Context) {
    let id = std::ptr::from_ref(ctx) as usize;
    let mine: Vec<Reap> = {
        let mut list = reaper();
        let (mine, rest) = std::mem::take(&mut *list)
            .into_iter()
            .partition(|r| r.ctx == id);
        *list = rest;
        mine
    };
    for r in mine {
        if proc::try_wait(r.pid).is_none() {
            proc::kill_group(r.pid, proc::SIGKILL);
            proc::wait_blocking(r.pid);
        }
    }
}
