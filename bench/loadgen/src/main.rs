//! lws-loadgen: the benchmark's WebSocket load generator. It does not use the
//! library under test: raw non-blocking sockets, one epoll set (edge
//! triggered), the opening handshake and the framing written here.
//!
//!   lws-loadgen echo --port P --conns N --size S --seconds T
//!                    [--warmup W] [--rate R] [--pings K] [--server-pid PID]
//!       N connections, each in a closed loop with exactly one message in
//!       flight: a masked binary frame of S bytes, then wait for the whole
//!       echo, check it byte for byte, send the next. With --rate, no more
//!       than R messages per second leave in all (a connection whose echo
//!       is back waits its turn), so the server's CPU per message can be
//!       measured below its limit. With --pings, K PINGs (8 bytes each)
//!       leave in the same write before each message; PONGs are not waited
//!       for (the original answers only the last one pending). Prints one JSON line
//!       (round trips/s, p50/p99 latency in µs, errors; with --server-pid
//!       also the server's CPU seconds in the measured window from /proc).
//!       A mismatched echo ends the run at once with exit status 2; any
//!       other failure (refused connection, bad handshake, the server
//!       closing, no echo within 10 s) with exit status 1.
//!       With --deflate (both modes), permessage-deflate is offered and must
//!       be accepted (RFC 7692: raw deflate, sync flush, the 00 00 ff ff
//!       tail taken off and put back, context takeover unless the server's
//!       answer rules it out); the messages are then text: consecutive
//!       S-byte slices of about 1 MiB of JSON-like records, round and round
//!       (every connection sends the same sequence, so no message repeats
//!       one in the compressor's window), compressed at zlib level 1 once,
//!       in advance, as a connection's compressor produces them (see
//!       pmd::Messages); the echo is decompressed and checked byte for
//!       byte. The JSON then also has the
//!       server's answer ("deflate") and the compressed size over the plain
//!       one each way ("ratio_out": ours, "ratio_in": the server's).
//!       With --tolerate-mismatch a bad echo is counted, not fatal: a
//!       mismatched one ("mismatches"), one that cannot be decompressed
//!       ("inflate_errors"), both out of "checked" echoes, and one lost
//!       ("lost": not back within 1 s, or the server dropped the open
//!       connection); that connection is closed and opened anew (a broken
//!       compression context cannot go on) and the run goes on. (For a
//!       server known to garble compressed messages; a refused connection
//!       still ends the run.)
//!   lws-loadgen idle --port P --conns N [--deflate] [--first S]
//!       opens N WebSocket connections, prints "ready N" and holds them
//!       (answering pings) until killed. With --first S each connection
//!       first sends one S-byte message and waits for its echo (so with
//!       --deflate both sides have compressed and decompressed once); the
//!       load generator then drops its own compression state.
//!       With --protocol NAME (default "echo") the connections ask for
//!       that subprotocol: "flow-echo" is bench/echo-server.c's lws
//!       test-echo pattern, which echoes each RECEIVE chunk as a fragment
//!       (the fragments are put together and the message checked whole;
//!       "frames_per_msg" says how many came per message). With --chop K
//!       every send() carries at most K bytes (TCP_NODELAY is on, so on
//!       loopback about one TCP segment each): a big message arrives at
//!       the server in tiny pieces.
//!   lws-loadgen connrate --port P --seconds T [--conns C]
//!       C parallel loops of connect + upgrade + close handshake; prints
//!       connections/s as JSON. Failures are counted (exit status 1).
//!   lws-loadgen broadcast --port P --conns N --size S --seconds T
//!                         [--window K] [--rate R] [--warmup W] [--server-pid PID]
//!       lws' mirror pattern (protocol "lws-mirror-protocol"): one sender
//!       and N receivers. The sender sends S-byte text messages ("<seq> "
//!       and padding) with at most K (default 64, well inside the mirror's
//!       ring of 512) not yet delivered to every connection (the sender
//!       gets its own messages back too), and with --rate no more than R
//!       per second. Every receiver must get every message in order (a gap
//!       exits with status 2). Prints deliveries per second (receiver
//!       side), messages sent per second, delivery latency (send to
//!       receipt) p50/p99, the server's CPU per 100k deliveries.
//!   lws-loadgen push --port P --conns N --seconds T [--interval-ms I]
//!                    [--warmup W] [--server-pid PID]
//!       lws' dumb-increment (protocol "dumb-increment-protocol"): N
//!       connections that only receive; the server pushes "<counter>
//!       <tick µs>" to each every I ms (default 50). Every connection's
//!       counters must go up by one (a gap exits with status 2) and every
//!       connection must get some in the measured window (else status 1).
//!       Prints messages per second, the fewest and most one connection
//!       got against the I-ms ticks of the window, the lag from the
//!       server's tick (CLOCK_MONOTONIC) to receipt p50/p99, the server's
//!       CPU use and CPU per 100k messages.
//!   Every measured mode (echo, broadcast, push) with --server-pid also
//!   reports the server's RSS at the end of the window ("server_rss_kb"),
//!   and with --strace FILE also counts the server's system calls in the
//!   window with `strace -c -f -p PID -o FILE` (see strace.rs): echo and
//!   broadcast stop sending and wait for every message in flight both
//!   before strace attaches and before it detaches, so that the window
//!   holds whole messages only; push cannot be stopped and counts the
//!   messages received between attach and detach. The JSON then has
//!   "syscalls": total, messages, per message, and per message for each
//!   system call.
//!
//! Only loopback: the target is always 127.0.0.1.

mod frame;
mod handshake;
mod pmd;
mod strace;

use std::io::Write;
use std::process::exit;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use frame::{OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT};

/// Connections opened (connect + handshake) at the same time at most.
const OPENING_AT_ONCE: usize = 100;
/// A handshake or an echo taking longer than this is a failure.
const STALL: Duration = Duration::from_secs(10);
/// The same while strace slows the server down (--strace runs).
const STALL_TRACED: Duration = Duration::from_secs(120);
/// --tolerate-mismatch: an echo not back after this long is counted as
/// lost (and its connection replaced) instead.
const LOST_AFTER: Duration = Duration::from_secs(1);
/// Bad echoes described on stderr at most (the rest are only counted).
const REPORT_AT_MOST: u64 = 20;
static REPORTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// True while bad echoes may still be described on stderr.
fn report_bad() -> bool {
    REPORTED.fetch_add(1, Ordering::Relaxed) < REPORT_AT_MOST
}

// ------------------------------------------------------------------ options

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Echo,
    Idle,
    ConnRate,
    Broadcast,
    Push,
}

struct Options {
    mode: Mode,
    port: u16,
    conns: usize,
    size: usize,
    seconds: f64,
    warmup: f64,
    /// echo: messages per second in all (None: as fast as echoes return)
    rate: Option<f64>,
    /// echo: PINGs sent before each message
    pings: usize,
    server_pid: Option<i32>,
    /// offer (and require) permessage-deflate; compressed text messages
    deflate: bool,
    /// echo: count a mismatched echo and reconnect instead of exiting
    tolerate_mismatch: bool,
    /// idle: the size of one message each connection sends first (0: none)
    first: usize,
    /// the subprotocol asked for
    protocol: String,
    /// echo: bytes per send() at most (0: no limit)
    chop: usize,
    /// echo, broadcast, push: count the server's system calls (strace -c)
    /// into this file
    strace: Option<String>,
    /// broadcast: messages not yet delivered to everyone at most
    window: usize,
    /// push: the server's tick
    interval_ms: f64,
}

fn usage() -> ! {
    eprintln!(
        "usage: lws-loadgen echo --port P --conns N --size S --seconds T [--warmup W] [--rate R] [--pings K] [--server-pid PID]\n\
         \x20                       [--deflate [--tolerate-mismatch]] [--protocol NAME] [--chop K] [--strace FILE]\n\
         \x20      lws-loadgen idle --port P --conns N [--deflate] [--first S]\n\
         \x20      lws-loadgen connrate --port P --seconds T [--conns C] [--server-pid PID]\n\
         \x20      lws-loadgen broadcast --port P --conns N --size S --seconds T [--window K] [--rate R]\n\
         \x20                            [--warmup W] [--server-pid PID] [--strace FILE]\n\
         \x20      lws-loadgen push --port P --conns N --seconds T [--interval-ms I] [--warmup W]\n\
         \x20                       [--server-pid PID] [--strace FILE]"
    );
    exit(64)
}

fn parse_options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        Some("echo") => Mode::Echo,
        Some("idle") => Mode::Idle,
        Some("connrate") => Mode::ConnRate,
        Some("broadcast") => Mode::Broadcast,
        Some("push") => Mode::Push,
        _ => usage(),
    };
    let mut o = Options {
        mode,
        port: 0,
        conns: if mode == Mode::ConnRate { 8 } else { 1 },
        size: if mode == Mode::Broadcast { 64 } else { 20 },
        seconds: 5.0,
        warmup: 0.5,
        rate: None,
        pings: 0,
        server_pid: None,
        deflate: false,
        tolerate_mismatch: false,
        first: 0,
        protocol: match mode {
            Mode::Broadcast => "lws-mirror-protocol",
            Mode::Push => "dumb-increment-protocol",
            _ => "echo",
        }
        .to_string(),
        chop: 0,
        strace: None,
        window: 64,
        interval_ms: 50.0,
    };
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--deflate" => {
                o.deflate = true;
                continue;
            }
            "--tolerate-mismatch" => {
                o.tolerate_mismatch = true;
                continue;
            }
            _ => {}
        }
        let value = it.next().unwrap_or_else(|| usage());
        let bad = || -> ! {
            eprintln!("lws-loadgen: bad value {value:?} for {flag}");
            exit(64)
        };
        match flag.as_str() {
            "--port" => o.port = value.parse().unwrap_or_else(|_| bad()),
            "--conns" => o.conns = value.parse().unwrap_or_else(|_| bad()),
            "--size" => o.size = value.parse().unwrap_or_else(|_| bad()),
            "--seconds" => o.seconds = value.parse().unwrap_or_else(|_| bad()),
            "--warmup" => o.warmup = value.parse().unwrap_or_else(|_| bad()),
            "--rate" => o.rate = Some(value.parse().unwrap_or_else(|_| bad())),
            "--pings" => o.pings = value.parse().unwrap_or_else(|_| bad()),
            "--server-pid" => o.server_pid = Some(value.parse().unwrap_or_else(|_| bad())),
            "--first" => o.first = value.parse().unwrap_or_else(|_| bad()),
            "--protocol" => o.protocol = value.clone(),
            "--chop" => o.chop = value.parse().unwrap_or_else(|_| bad()),
            "--strace" => o.strace = Some(value.clone()),
            "--window" => o.window = value.parse().unwrap_or_else(|_| bad()),
            "--interval-ms" => o.interval_ms = value.parse().unwrap_or_else(|_| bad()),
            _ => usage(),
        }
    }
    if o.port == 0
        || o.conns == 0
        || o.seconds <= 0.0
        || o.warmup < 0.0
        || o.rate
            .is_some_and(|r| r <= 0.0 || !matches!(o.mode, Mode::Echo | Mode::Broadcast))
        || (o.pings > 0 && o.mode != Mode::Echo)
        || (o.deflate && !matches!(o.mode, Mode::Echo | Mode::Idle))
        || (o.chop > 0 && o.mode != Mode::Echo)
        || (o.strace.is_some()
            && (o.server_pid.is_none()
                || !matches!(o.mode, Mode::Echo | Mode::Broadcast | Mode::Push)))
        || o.window == 0
        || o.interval_ms <= 0.0
        || (o.mode == Mode::Broadcast && o.size < 24)
        || (o.tolerate_mismatch && o.mode != Mode::Echo)
        || (o.first > 0 && o.mode != Mode::Idle)
    {
        usage();
    }
    o
}

// ------------------------------------------------------------------ helpers

struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng(t ^ (u64::from(std::process::id()) << 32) | 1)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    fn key(&mut self) -> [u8; 4] {
        let v = self.next().to_le_bytes();
        [v[0], v[1], v[2], v[3]]
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn strerror(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

/// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
fn process_cpu(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // after the command: field 3 (state) is f[0], so field 14 is f[11]
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks as f64 / hz)
}

/// CPU seconds all CPUs spent busy (/proc/stat's "cpu" line: user, nice,
/// system, irq and softirq; a process's utime + stime include the softirq
/// work done in its context), to tell how much other processes ran during
/// a measurement.
fn machine_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .filter_map(|&i| f.get(i))
        .sum::<u64>();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(busy as f64 / hz)
}

/// CPU seconds that neither the server nor we used over a window.
fn foreign(m0: Option<f64>, m1: Option<f64>, server: f64, own: f64) -> String {
    match (m0, m1) {
        (Some(a), Some(b)) => format!("{:.3}", (b - a - server - own).max(0.0)),
        _ => "null".into(),
    }
}

/// The resident set of a process in kB (/proc/PID/status VmRSS).
fn rss_kb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CLOCK_MONOTONIC in µs (the clock of the push server's tick stamps).
fn monotonic_us() -> u64 {
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Data frames (text, binary, continuation) received, over the whole run.
static FRAMES_IN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The leading decimal number of a message and the one after the first
/// space (0 if none): "<seq> ..." (broadcast), "<counter> <tick µs>" (push).
fn two_numbers(data: &[u8]) -> Option<(u64, u64)> {
    let digits = |d: &[u8]| -> Option<(u64, usize)> {
        let n = d.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 19 {
            return None;
        }
        let v = d[..n]
            .iter()
            .fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
        Some((v, n))
    };
    let (a, n) = digits(data)?;
    let b = match data.get(n) {
        Some(b' ') => digits(&data[n + 1..]).map_or(0, |(b, _)| b),
        _ => 0,
    };
    Some((a, b))
}

fn own_cpu() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ------------------------------------------------------------------ connection

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Connecting,
    Handshake,
    Open,
    /// our close frame is sent; waiting for the server's
    Closing,
}

struct Conn {
    fd: i32,
    gen: u32,
    phase: Phase,
    since: Instant,
    out: Vec<u8>,
    out_pos: usize,
    inp: Vec<u8>,
    accept: String,
    /// a fragmented message being put together (opcode, compressed,
    /// payload)
    frag: Option<(u8, bool, Vec<u8>)>,
    /// echo: the payload in flight and when it was sent
    payload: Vec<u8>,
    /// the opcode of our messages (text with --deflate, else binary)
    opcode: u8,
    /// --deflate: offered; the compression state once negotiated
    want_deflate: bool,
    pmd: Option<pmd::Codec>,
    /// --deflate: the messages (plain and compressed), and the number of
    /// the next one
    msgs: Option<Rc<pmd::Messages>>,
    msg_k: u64,
    /// --deflate: a compressed message going out / a decompressed echo
    scratch: Vec<u8>,
    /// count a mismatched echo (Got::Mismatch) instead of exiting
    tolerate: bool,
    /// PINGs sent before each message
    pings: usize,
    /// bytes per send() at most (0: no limit)
    chop: usize,
    /// broadcast, push: messages are "<n> <m>..." (Got::Numbers)
    numbers: bool,
    /// push: the counter expected next; in the measured window, the
    /// messages received
    expect: Option<u64>,
    got: u64,
    /// echo: the number of the message in flight; broadcast: the number of
    /// the message expected next
    seq: u64,
    in_flight: bool,
    sent_at: Instant,
}

/// What one service pass found, for the runner to act on.
enum Got {
    Opened,
    Message(u8, Vec<u8>),
    /// an echo that matched what was sent (compared in place)
    EchoOk,
    /// broadcast, push: a message's two numbers
    Numbers(u64, u64),
    /// with `tolerate`: an echo that did not match (false) or could not be
    /// decompressed (true); nothing more is read from the connection
    Mismatch(bool),
    CloseFrame,
}

impl Conn {
    fn connect(port: u16, gen: u32) -> Result<Conn, String> {
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(format!("socket: {}", strerror(errno())));
        }
        let one: libc::c_int = 1;
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                &one as *const _ as *const libc::c_void,
                std::mem::size_of_val(&one) as libc::socklen_t,
            )
        };
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_port = port.to_be();
        sa.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        let r = unsafe {
            libc::connect(
                fd,
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of_val(&sa) as libc::socklen_t,
            )
        };
        if r < 0 && errno() != libc::EINPROGRESS {
            let e = errno();
            unsafe { libc::close(fd) };
            return Err(format!("connect to 127.0.0.1:{port}: {}", strerror(e)));
        }
        let now = Instant::now();
        Ok(Conn {
            fd,
            gen,
            phase: Phase::Connecting,
            since: now,
            out: Vec::new(),
            out_pos: 0,
            inp: Vec::new(),
            accept: String::new(),
            frag: None,
            payload: Vec::new(),
            opcode: OP_BINARY,
            want_deflate: false,
            pmd: None,
            msgs: None,
            msg_k: 0,
            scratch: Vec::new(),
            tolerate: false,
            pings: 0,
            chop: 0,
            numbers: false,
            expect: None,
            got: 0,
            seq: 0,
            in_flight: false,
            sent_at: now,
        })
    }

    /// Closes with an RST (SO_LINGER 0), so that neither side keeps the
    /// connection in TIME_WAIT during a connection-rate run.
    fn abort(self) {
        let lg = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        unsafe {
            libc::setsockopt(
                self.fd,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &lg as *const _ as *const libc::c_void,
                std::mem::size_of_val(&lg) as libc::socklen_t,
            );
            libc::close(self.fd);
        }
    }

    /// Writes what is queued until done or EAGAIN.
    fn flush(&mut self) -> Result<(), String> {
        while self.out_pos < self.out.len() {
            let mut rest = &self.out[self.out_pos..];
            if self.chop > 0 && rest.len() > self.chop {
                rest = &rest[..self.chop];
            }
            let n = unsafe {
                libc::send(
                    self.fd,
                    rest.as_ptr() as *const libc::c_void,
                    rest.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                match errno() {
                    libc::EAGAIN => return Ok(()),
                    libc::EINTR => continue,
                    e => return Err(format!("send: {}", strerror(e))),
                }
            }
            self.out_pos += n as usize;
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(())
    }

    /// Reads everything available; true at end of stream.
    fn fill(&mut self) -> Result<bool, String> {
        loop {
            if self.inp.capacity() - self.inp.len() < 16 * 1024 {
                self.inp.reserve(64 * 1024.max(self.inp.len()));
            }
            let spare = self.inp.capacity() - self.inp.len();
            let n = unsafe {
                libc::recv(
                    self.fd,
                    self.inp.as_mut_ptr().add(self.inp.len()) as *mut libc::c_void,
                    spare,
                    0,
                )
            };
            if n < 0 {
                match errno() {
                    libc::EAGAIN => return Ok(false),
                    libc::EINTR => continue,
                    e => return Err(format!("recv: {}", strerror(e))),
                }
            }
            if n == 0 {
                return Ok(true);
            }
            unsafe { self.inp.set_len(self.inp.len() + n as usize) };
            if (n as usize) < spare {
                // drained: with EPOLLET new data raises a new event, so the
                // read that would only say EAGAIN is saved
                return Ok(false);
            }
        }
    }

    /// Puts the next echo message (a new masking key, the sequence number
    /// stamped into the payload; with --deflate the next message of the
    /// sequence, compressed) on the wire queue.
    fn send_message(&mut self, rng: &mut Rng) -> Result<(), String> {
        self.seq += 1;
        let stamp = self.seq.to_le_bytes();
        let len = self.payload.len();
        let mut wire = None;
        if let Some(msgs) = &self.msgs {
            // the next message of the sequence, compressed in advance if
            // it can be
            let k = self.msg_k;
            self.msg_k += 1;
            self.payload.copy_from_slice(msgs.plain(k));
            if let Some(codec) = self.pmd.as_mut() {
                wire = msgs.compressed(codec.params(), k);
                if wire.is_none() {
                    self.scratch.clear();
                    codec.compress(&self.payload, &mut self.scratch)?;
                    wire = Some(&self.scratch);
                }
                pmd::count_out(len, wire.map_or(0, <[u8]>::len));
            }
        } else {
            let mut at = 0;
            while at < len {
                let n = (len - at).min(8);
                self.payload[at..at + n].copy_from_slice(&stamp[..n]);
                at += 4096;
            }
            if len > 8 {
                self.payload[len - 8..].copy_from_slice(&stamp);
            }
        }
        for _ in 0..self.pings {
            frame::push_masked(&mut self.out, OP_PING, &stamp, rng.key());
        }
        if let Some(wire) = wire {
            // FIN, RSV1: a compressed message in one frame
            frame::push_masked_b0(&mut self.out, 0xC0 | self.opcode, wire, rng.key());
        } else {
            frame::push_masked(&mut self.out, self.opcode, &self.payload, rng.key());
        }
        self.in_flight = true;
        self.sent_at = Instant::now();
        Ok(())
    }

    fn send_control(&mut self, opcode: u8, payload: &[u8], rng: &mut Rng) {
        frame::push_masked(&mut self.out, opcode, payload, rng.key());
    }

    /// Parses what has arrived. Echo payloads are compared in place.
    fn take_input(&mut self, echo: bool, rng: &mut Rng, got: &mut Vec<Got>) -> Result<(), String> {
        let mut used = 0;
        if self.phase == Phase::Handshake {
            let Some(end) = find(&self.inp, b"\r\n\r\n") else {
                if self.inp.len() > 16 * 1024 {
                    return Err("handshake response head over 16 KiB".into());
                }
                return Ok(());
            };
            let ext = handshake::check_response(&self.inp[..end], &self.accept)?;
            match (self.want_deflate, ext) {
                (true, Some(ext)) => self.pmd = Some(pmd::Codec::new(pmd::parse_answer(&ext)?)?),
                (true, None) => return Err("the server did not accept permessage-deflate (no Sec-WebSocket-Extensions in its 101)".into()),
                (false, Some(ext)) => return Err(format!("the server answered extensions not offered: {ext:?}")),
                (false, None) => {}
            }
            used = end + 4;
            self.phase = Phase::Open;
            got.push(Got::Opened);
        }
        // (taken out while its frames are looked at, so that they can be
        // handed to methods of the connection)
        let inp = std::mem::take(&mut self.inp);
        let mut need = 0;
        let r = self.take_frames(&inp, &mut used, &mut need, echo, rng, got);
        self.inp = inp;
        self.inp.drain(..used);
        // room for all of a frame that has begun to arrive
        self.inp.reserve(need.saturating_sub(self.inp.len()));
        r
    }

    fn take_frames(
        &mut self,
        inp: &[u8],
        used: &mut usize,
        need: &mut usize,
        echo: bool,
        rng: &mut Rng,
        got: &mut Vec<Got>,
    ) -> Result<(), String> {
        while let Some(h) = frame::parse_head(&inp[*used..], self.pmd.is_some())? {
            let total = h.header_len + h.payload_len;
            if inp.len() - *used < total {
                *need = total;
                break;
            }
            let data = &inp[*used + h.header_len..*used + total];
            *used += total;
            if h.opcode < 0x8 {
                FRAMES_IN.fetch_add(1, Ordering::Relaxed);
            }
            match h.opcode {
                OP_PING => self.send_control(OP_PONG, data, rng),
                OP_PONG => {}
                OP_CLOSE => {
                    got.push(Got::CloseFrame);
                    break;
                }
                OP_TEXT | OP_BINARY if self.frag.is_none() => {
                    if !h.fin {
                        self.frag = Some((h.opcode, h.rsv1, data.to_vec()));
                    } else if !self.message(h.opcode, h.rsv1, data, echo, got)? {
                        break;
                    }
                }
                OP_CONTINUATION if self.frag.is_some() && !h.rsv1 => {
                    let (op, compressed, mut buf) = self.frag.take().unwrap_or_default();
                    buf.extend_from_slice(data);
                    if !h.fin {
                        self.frag = Some((op, compressed, buf));
                    } else if !self.message(op, compressed, &buf, echo, got)? {
                        break;
                    }
                }
                op => {
                    return Err(format!(
                        "unexpected frame, opcode {op}{}",
                        if h.rsv1 { " with RSV1" } else { "" }
                    ))
                }
            }
        }
        Ok(())
    }

    /// A whole message arrived (`compressed`: its first frame had RSV1).
    /// False when the connection is not to be read any further (a
    /// tolerated mismatch).
    fn message(
        &mut self,
        op: u8,
        compressed: bool,
        data: &[u8],
        echo: bool,
        got: &mut Vec<Got>,
    ) -> Result<bool, String> {
        let data = if compressed {
            let Some(codec) = self.pmd.as_mut() else {
                return Err("a compressed message without permessage-deflate".into());
            };
            self.scratch.clear();
            if let Err(e) = codec.decompress(data, self.payload.len(), &mut self.scratch) {
                if !(echo && self.in_flight) {
                    return Err(e);
                }
                if !self.tolerate || report_bad() {
                    eprintln!(
                        "lws-loadgen: UNDECOMPRESSABLE ECHO on fd {} message #{}: {e}",
                        self.fd, self.seq
                    );
                }
                if !self.tolerate {
                    exit(2)
                }
                got.push(Got::Mismatch(true));
                return Ok(false);
            }
            &self.scratch[..]
        } else {
            data
        };
        if self.numbers {
            match two_numbers(data) {
                Some((a, b)) => got.push(Got::Numbers(a, b)),
                None => {
                    return Err(format!(
                        "a message that does not start with a number: {:?}",
                        String::from_utf8_lossy(&data[..data.len().min(40)])
                    ))
                }
            }
            return Ok(true);
        }
        if !(echo && self.in_flight) {
            got.push(Got::Message(op, data.to_vec()));
            return Ok(true);
        }
        if op == self.opcode && data == self.payload.as_slice() {
            got.push(Got::EchoOk);
            return Ok(true);
        }
        if !self.tolerate || report_bad() {
            mismatch(self, op, data);
        }
        if !self.tolerate {
            exit(2)
        }
        got.push(Got::Mismatch(false));
        Ok(false)
    }
}

fn mismatch(c: &Conn, op: u8, got: &[u8]) {
    let first = got
        .iter()
        .zip(&c.payload)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(c.payload.len()));
    eprintln!(
        "lws-loadgen: MISMATCHED ECHO on fd {} message #{}: got {} bytes{}, sent {}; first difference at byte {}",
        c.fd,
        c.seq,
        got.len(),
        if op == c.opcode { String::new() } else { format!(" (opcode {op}, sent {})", c.opcode) },
        c.payload.len(),
        first
    );
}

// ------------------------------------------------------------------ runner

struct Runner {
    o: Options,
    ep: i32,
    slots: Vec<Option<Conn>>,
    gen: u32,
    rng: Rng,
    /// connections started (connect called) and opened so far
    started: usize,
    opened: usize,
    /// echo: send new messages; connrate: start new connections
    running: bool,
    window: Option<Instant>,
    round_trips: u64,
    latencies: Vec<u64>,
    completed: u64,
    errors: u64,
    last_error: String,
    /// --rate: connections whose next message waits for its turn, and
    /// the messages released since `paced_from`
    waiting: std::collections::VecDeque<usize>,
    paced_from: Instant,
    released: u64,
    /// echo: the first messages are out; a connection opened from now on
    /// (after a tolerated mismatch) starts sending when it opens
    echoing: bool,
    /// echoes checked over the whole run (warm-up included), and those of
    /// them that did not match / could not be decompressed
    checked: u64,
    mismatches: u64,
    inflate_errors: u64,
    /// --tolerate-mismatch: echoes lost (not back within LOST_AFTER, or the
    /// server dropped the connection while it was open)
    lost: u64,
    /// --deflate: the messages
    msgs: Option<Rc<pmd::Messages>>,
    /// echo, broadcast (--strace): no new message leaves (the closed loop's
    /// connections wait in `waiting`)
    paused: bool,
    /// broadcast: the next message's number, the messages every connection
    /// has got (all below bc_done), how many connections got each message
    /// in flight and when it left (rings of `window`), the connections
    /// (the sender among them), receiver-side deliveries in the window, and
    /// the last time bc_done moved
    bc_next: u64,
    bc_done: u64,
    bc_count: Vec<u32>,
    bc_sent_at: Vec<Instant>,
    deliveries: u64,
    bc_progress: Instant,
    /// seconds open_all took (broadcast, push: the server pushes meanwhile)
    open_s: f64,
    /// push: messages in the window, counters skipped (the first one
    /// described), and each connection's messages in the window
    push_msgs: u64,
    gaps: u64,
    first_gap: String,
    push_counts: Vec<u64>,
}

impl Runner {
    fn new(o: Options) -> Runner {
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            eprintln!("lws-loadgen: epoll_create1: {}", strerror(errno()));
            exit(1);
        }
        // (broadcast: the sender in slot 0, then the receivers)
        let total = o.conns + usize::from(o.mode == Mode::Broadcast);
        let slots = (0..total).map(|_| None).collect();
        let window = o.window;
        let mut rng = Rng::new();
        let size = if o.mode == Mode::Idle {
            o.first
        } else {
            o.size
        };
        let msgs =
            (o.deflate && size > 0).then(|| Rc::new(pmd::Messages::new(size, || rng.next())));
        Runner {
            o,
            ep,
            slots,
            gen: 0,
            rng,
            started: 0,
            opened: 0,
            running: true,
            window: None,
            round_trips: 0,
            latencies: Vec::new(),
            completed: 0,
            errors: 0,
            last_error: String::new(),
            waiting: std::collections::VecDeque::new(),
            paced_from: Instant::now(),
            released: 0,
            echoing: false,
            checked: 0,
            mismatches: 0,
            inflate_errors: 0,
            lost: 0,
            msgs,
            paused: false,
            bc_next: 0,
            bc_done: 0,
            bc_count: vec![0; window],
            bc_sent_at: vec![Instant::now(); window],
            deliveries: 0,
            bc_progress: Instant::now(),
            open_s: 0.0,
            push_msgs: 0,
            gaps: 0,
            first_gap: String::new(),
            push_counts: Vec::new(),
        }
    }

    fn fail(&self, what: &str) -> ! {
        eprintln!("lws-loadgen: {what}");
        exit(1)
    }

    /// Starts a connection in slot `i`.
    fn open(&mut self, i: usize) -> Result<(), String> {
        self.gen = self.gen.wrapping_add(1);
        let mut c = Conn::connect(self.o.port, self.gen)?;
        let mut nonce = [0u8; 16];
        self.rng.fill(&mut nonce);
        let (req, accept) = handshake::request(
            self.o.port,
            nonce,
            &self.o.protocol,
            self.o.deflate.then_some(pmd::OFFER),
        );
        c.out = req;
        c.accept = accept;
        c.want_deflate = self.o.deflate;
        c.tolerate = self.o.tolerate_mismatch;
        c.chop = self.o.chop;
        c.numbers = matches!(self.o.mode, Mode::Broadcast | Mode::Push);
        let size = match self.o.mode {
            Mode::Echo => Some(self.o.size),
            Mode::Idle if self.o.first > 0 => Some(self.o.first),
            _ => None,
        };
        if let Some(size) = size {
            c.payload = vec![0; size];
            self.rng.fill(&mut c.payload);
            c.pings = self.o.pings;
            if let Some(msgs) = &self.msgs {
                c.opcode = OP_TEXT;
                c.msgs = Some(msgs.clone());
            }
        }
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: (u64::from(c.gen) << 32) | i as u64,
        };
        if unsafe { libc::epoll_ctl(self.ep, libc::EPOLL_CTL_ADD, c.fd, &mut ev) } < 0 {
            let e = errno();
            c.abort();
            return Err(format!("epoll_ctl: {}", strerror(e)));
        }
        self.slots[i] = Some(c);
        self.started += 1;
        Ok(())
    }

    /// Opens more connections while fewer than OPENING_AT_ONCE are opening.
    fn open_more(&mut self) {
        while self.started < self.slots.len() && self.started - self.opened < OPENING_AT_ONCE {
            let i = self.started;
            if let Err(e) = self.open(i) {
                self.fail(&e);
            }
        }
    }

    fn service(&mut self, i: usize, events: u32) -> Result<(), String> {
        // (idle --first: one echo per connection)
        let echo = self.o.mode == Mode::Echo || self.o.first > 0;
        let mut got = Vec::new();
        let Some(c) = self.slots[i].as_mut() else {
            return Ok(());
        };
        if c.phase == Phase::Connecting {
            let mut err: libc::c_int = 0;
            let mut len = std::mem::size_of_val(&err) as libc::socklen_t;
            unsafe {
                libc::getsockopt(
                    c.fd,
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    &mut err as *mut _ as *mut libc::c_void,
                    &mut len,
                )
            };
            if err != 0 {
                return Err(format!(
                    "connect to 127.0.0.1:{}: {}",
                    self.o.port,
                    strerror(err)
                ));
            }
            if events & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32 == 0 {
                return Ok(());
            }
            c.phase = Phase::Handshake;
        }
        // Edge-triggered: one read until drained and one flush of what
        // that input queued; new input or room raises a new event. (Not
        // looping saves the recv that would only say EAGAIN.)
        {
            c.flush()?;
            let eof = c.fill()?;
            c.take_input(echo, &mut self.rng, &mut got)?;
            let (mut close_conn, mut reopen) = (false, false);
            let mut numbers = Vec::new();
            for g in got.drain(..) {
                match g {
                    Got::Numbers(a, b) => numbers.push((a, b)),
                    Got::Opened => {
                        c.since = Instant::now();
                        match self.o.mode {
                            Mode::Echo => {
                                self.opened += 1;
                                if self.echoing && self.running {
                                    if self.o.rate.is_some() || self.paused {
                                        self.waiting.push_back(i);
                                    } else {
                                        c.send_message(&mut self.rng)?;
                                    }
                                }
                            }
                            // with --first, open once its first echo is back
                            Mode::Idle if self.o.first > 0 => c.send_message(&mut self.rng)?,
                            Mode::Idle => {
                                self.opened += 1;
                                // (no message will be compressed: the
                                // memory is the server's to measure)
                                c.pmd = None;
                            }
                            Mode::Broadcast | Mode::Push => self.opened += 1,
                            Mode::ConnRate => {
                                self.opened += 1;
                                c.send_control(OP_CLOSE, &1000u16.to_be_bytes(), &mut self.rng);
                                c.phase = Phase::Closing;
                            }
                        }
                    }
                    Got::EchoOk if self.o.mode == Mode::Idle => {
                        c.in_flight = false;
                        self.opened += 1;
                        // not needed any more: the memory is the server's
                        // to measure
                        c.pmd = None;
                        c.payload = Vec::new();
                        c.scratch = Vec::new();
                        c.msgs = None;
                    }
                    Got::EchoOk => {
                        let now = Instant::now();
                        c.in_flight = false;
                        self.checked += 1;
                        if let Some(w) = self.window {
                            self.round_trips += 1;
                            if c.sent_at >= w {
                                self.latencies.push((now - c.sent_at).as_nanos() as u64);
                            }
                        }
                        if self.running {
                            if self.o.rate.is_some() || self.paused {
                                self.waiting.push_back(i);
                            } else {
                                c.send_message(&mut self.rng)?;
                            }
                        }
                    }
                    Got::Mismatch(inflate) => {
                        self.checked += 1;
                        if inflate {
                            self.inflate_errors += 1;
                        } else {
                            self.mismatches += 1;
                        }
                        reopen = true;
                    }
                    Got::Message(op, data) => {
                        return Err(format!(
                            "unexpected message from the server: opcode {op}, {} bytes",
                            data.len()
                        ));
                    }
                    Got::CloseFrame => {
                        if c.phase != Phase::Closing {
                            return Err("the server closed the WebSocket".into());
                        }
                        close_conn = true;
                    }
                }
            }
            if reopen {
                // a compression context out of step cannot go on: a new
                // connection takes this one's place
                if let Some(c) = self.slots[i].take() {
                    c.abort();
                }
                if self.running {
                    self.open(i)?;
                }
                return Ok(());
            }
            if close_conn {
                if self.window.is_some() {
                    self.completed += 1;
                }
                if let Some(c) = self.slots[i].take() {
                    c.abort();
                }
                if self.running {
                    self.open(i)?;
                }
                return Ok(());
            }
            if eof {
                return Err(format!("the server closed the connection ({:?})", c.phase));
            }
            c.flush()?;
            if !numbers.is_empty() {
                match self.o.mode {
                    Mode::Broadcast => self.broadcast_got(i, &numbers)?,
                    _ => self.push_got(i, &numbers),
                }
            }
            Ok(())
        }
    }

    /// broadcast: messages `seqs` arrived at connection `i` (the sender is
    /// 0); a gap or a message never sent ends the run (status 2).
    fn broadcast_got(&mut self, i: usize, seqs: &[(u64, u64)]) -> Result<(), String> {
        let now = Instant::now();
        let w = self.o.window as u64;
        let members = self.slots.len() as u32;
        let Some(c) = self.slots[i].as_mut() else {
            return Ok(());
        };
        for &(seq, _) in seqs {
            if seq != c.seq || seq < self.bc_done || seq >= self.bc_next {
                eprintln!(
                    "lws-loadgen: BROADCAST GAP on connection {i}{}: got message #{seq}, expected #{} \
                     (sent up to #{}, all connections have up to #{})",
                    if i == 0 { " (the sender)" } else { "" },
                    c.seq,
                    self.bc_next as i64 - 1,
                    self.bc_done as i64 - 1
                );
                exit(2);
            }
            c.seq += 1;
            let k = (seq % w) as usize;
            self.bc_count[k] += 1;
            if i != 0 {
                if let Some(win) = self.window {
                    self.deliveries += 1;
                    if self.bc_sent_at[k] >= win {
                        self.latencies
                            .push((now - self.bc_sent_at[k]).as_nanos() as u64);
                    }
                }
            }
        }
        while self.bc_done < self.bc_next {
            let k = (self.bc_done % w) as usize;
            if self.bc_count[k] != members {
                break;
            }
            self.bc_count[k] = 0;
            self.bc_done += 1;
            self.bc_progress = now;
        }
        self.broadcast_send()
    }

    /// broadcast: the sender sends what the window (and --rate) allow.
    fn broadcast_send(&mut self) -> Result<(), String> {
        if !self.running || self.paused || self.opened < self.slots.len() {
            return Ok(());
        }
        let w = self.o.window as u64;
        let limit = self.bc_done + w;
        let due = self
            .o
            .rate
            .map(|r| (self.paced_from.elapsed().as_secs_f64() * r) as u64);
        let size = self.o.size;
        let Some(c) = self.slots[0].as_mut() else {
            return Ok(());
        };
        let now = Instant::now();
        let mut text = Vec::with_capacity(size);
        while self.bc_next < limit && due.is_none_or(|d| self.released < d) {
            text.clear();
            let _ = write!(text, "{} ", self.bc_next);
            text.resize(size, b'x');
            frame::push_masked(&mut c.out, OP_TEXT, &text, self.rng.key());
            self.bc_sent_at[(self.bc_next % w) as usize] = now;
            self.bc_next += 1;
            self.released += 1;
        }
        // credit does not pile up while the window is full
        if let Some(d) = due {
            if self.bc_next >= limit {
                self.released = self.released.max(d);
            }
        }
        if self.bc_next == self.bc_done {
            self.bc_progress = now;
        }
        c.flush()
    }

    /// push: counters (and tick stamps) arrived at connection `i`.
    fn push_got(&mut self, i: usize, got: &[(u64, u64)]) {
        let now_us = monotonic_us();
        let Some(c) = self.slots[i].as_mut() else {
            return;
        };
        for &(n, tick_us) in got {
            if let Some(e) = c.expect {
                if n != e {
                    if self.gaps == 0 {
                        self.first_gap =
                            format!("connection {i} got counter {n} after {}", e as i64 - 1);
                    }
                    self.gaps += 1;
                }
            }
            c.expect = Some(n + 1);
            if self.window.is_some() {
                c.got += 1;
                self.push_msgs += 1;
                if tick_us > 0 && now_us >= tick_us {
                    self.latencies.push((now_us - tick_us) * 1000);
                }
            }
        }
    }

    /// Waits up to `ms` for events and services them; returns how many.
    fn poll(&mut self, ms: i32) -> usize {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 512];
        let n = unsafe { libc::epoll_wait(self.ep, events.as_mut_ptr(), events.len() as i32, ms) };
        if n < 0 {
            if errno() == libc::EINTR {
                return 0;
            }
            self.fail(&format!("epoll_wait: {}", strerror(errno())));
        }
        for ev in &events[..n as usize] {
            let (gen, i) = ((ev.u64 >> 32) as u32, (ev.u64 & 0xFFFF_FFFF) as usize);
            let was_open = match self.slots.get(i).and_then(|s| s.as_ref()) {
                Some(c) if c.gen == gen => c.phase == Phase::Open,
                _ => continue, // an event for a connection closed meanwhile
            };
            if let Err(e) = self.service(i, ev.events) {
                if self.o.tolerate_mismatch && was_open {
                    if report_bad() {
                        eprintln!("lws-loadgen: LOST ECHO (slot {i}): {e}");
                    }
                    self.lose(i);
                    continue;
                }
                if self.o.mode != Mode::ConnRate {
                    self.fail(&e);
                }
                self.errors += 1;
                self.last_error = e;
                if let Some(c) = self.slots[i].take() {
                    c.abort();
                }
                if self.running {
                    if let Err(e) = self.open(i) {
                        self.fail(&e);
                    }
                }
            }
        }
        n as usize
    }

    /// --tolerate-mismatch: counts the echo of slot `i` as lost and
    /// replaces the connection.
    fn lose(&mut self, i: usize) {
        self.lost += 1;
        if let Some(c) = self.slots[i].take() {
            c.abort();
        }
        if self.running {
            if let Err(e) = self.open(i) {
                self.fail(&e);
            }
        }
    }

    /// --tolerate-mismatch: the echoes waited for longer than LOST_AFTER
    /// are lost.
    fn drop_lost(&mut self) {
        if !self.o.tolerate_mismatch {
            return;
        }
        let now = Instant::now();
        for i in 0..self.slots.len() {
            let late = match &self.slots[i] {
                Some(c) => c.phase == Phase::Open && c.in_flight && now - c.sent_at > LOST_AFTER,
                None => false,
            };
            if late {
                if report_bad() {
                    eprintln!("lws-loadgen: LOST ECHO (slot {i}): none within {LOST_AFTER:?}");
                }
                self.lose(i);
            }
        }
    }

    /// Fails when a connection has been opening, or waiting for its echo,
    /// for longer than STALL.
    fn check_stalls(&self) {
        let now = Instant::now();
        for c in self.slots.iter().flatten() {
            let since = match c.phase {
                Phase::Connecting | Phase::Handshake | Phase::Closing => c.since,
                Phase::Open if c.in_flight => c.sent_at,
                Phase::Open => continue,
            };
            if now - since > self.stall() {
                self.fail(&format!(
                    "fd {} stuck for {:?} ({:?}{})",
                    c.fd,
                    now - since,
                    c.phase,
                    if c.in_flight {
                        ", waiting for an echo"
                    } else {
                        ""
                    }
                ));
            }
        }
    }

    /// Resets every connection (no TIME_WAIT left behind on either side).
    fn abort_all(&mut self) {
        for slot in &mut self.slots {
            if let Some(c) = slot.take() {
                c.abort();
            }
        }
    }

    fn open_all(&mut self) {
        let t0 = Instant::now();
        self.open_all_();
        self.open_s = t0.elapsed().as_secs_f64();
    }

    fn open_all_(&mut self) {
        let mut last_check = Instant::now();
        self.open_more();
        while self.opened < self.slots.len() {
            self.poll(100);
            self.open_more();
            if last_check.elapsed() > Duration::from_secs(1) {
                self.check_stalls();
                last_check = Instant::now();
            }
        }
    }

    /// --rate: sends the messages due by now from the waiting connections.
    /// Credit does not pile up while none waits (no bursts after a stall).
    fn release_paced(&mut self) {
        if self.o.mode != Mode::Echo || self.paused {
            return;
        }
        let Some(rate) = self.o.rate else { return };
        let due = (self.paced_from.elapsed().as_secs_f64() * rate) as u64;
        while self.released < due {
            let Some(i) = self.waiting.pop_front() else {
                self.released = due;
                return;
            };
            self.released += 1;
            let rng = &mut self.rng;
            if let Some(c) = self.slots[i].as_mut() {
                if let Err(e) = c.send_message(rng).and_then(|()| c.flush()) {
                    self.fail(&e);
                }
            }
        }
    }

    /// How long a connection, or the broadcast, may make no progress.
    fn stall(&self) -> Duration {
        if self.o.strace.is_some() {
            STALL_TRACED
        } else {
            STALL
        }
    }

    /// --strace: stops sending new messages and waits until none is in
    /// flight (echo: every echo back; broadcast: every message delivered
    /// to every connection).
    fn quiesce(&mut self) {
        self.paused = true;
        let start = Instant::now();
        loop {
            let busy = match self.o.mode {
                Mode::Broadcast => self.bc_done < self.bc_next,
                _ => self
                    .slots
                    .iter()
                    .flatten()
                    .any(|c| c.phase == Phase::Open && c.in_flight),
            };
            if !busy {
                return;
            }
            if start.elapsed() > self.stall() {
                self.fail(&format!(
                    "messages still in flight {:?} after sending stopped (for strace)",
                    self.stall()
                ));
            }
            self.poll(10);
        }
    }

    /// Sends again after quiesce().
    fn resume(&mut self) {
        self.paused = false;
        self.paced_from = Instant::now();
        self.released = 0;
        match self.o.mode {
            Mode::Echo if self.o.rate.is_none() => {
                while let Some(i) = self.waiting.pop_front() {
                    let rng = &mut self.rng;
                    if let Some(c) = self.slots[i].as_mut() {
                        if let Err(e) = c.send_message(rng).and_then(|()| c.flush()) {
                            self.fail(&e);
                        }
                    }
                }
            }
            Mode::Broadcast => {
                if let Err(e) = self.broadcast_send() {
                    self.fail(&e);
                }
            }
            _ => {}
        }
    }

    /// The messages counted in the window: round trips, deliveries to the
    /// receivers, pushed messages.
    fn counted(&self) -> u64 {
        match self.o.mode {
            Mode::Broadcast => self.deliveries,
            Mode::Push => self.push_msgs,
            _ => self.round_trips,
        }
    }

    /// Runs `warmup` seconds, then a measured window of `seconds`, then
    /// stops sending and resets every connection. With --strace the
    /// server's system calls are counted over the window (see the header).
    fn measure(&mut self, warmup: f64, seconds: f64, pid: Option<i32>) -> Window {
        self.run_for(Duration::from_secs_f64(warmup));
        let quiet = self.o.mode != Mode::Push;
        let strace = match (self.o.strace.clone(), pid) {
            (Some(file), Some(pid)) => {
                if quiet {
                    self.quiesce();
                }
                let st = strace::Strace::attach(pid, &file).unwrap_or_else(|e| self.fail(&e));
                if !quiet {
                    // push: what the server sent before strace was there
                    // (while this waited for it) is not counted: read until
                    // only the traced server's trickle comes
                    let t = Instant::now();
                    while self.poll(0) >= 32 && t.elapsed() < Duration::from_secs(1) {}
                }
                Some(st)
            }
            _ => None,
        };
        let (cpu0, own0, m0) = (pid.and_then(process_cpu), own_cpu(), machine_cpu());
        let start = Instant::now();
        self.window = Some(start);
        if strace.is_some() && quiet {
            self.resume();
        }
        self.run_for(Duration::from_secs_f64(seconds));
        if strace.is_some() && quiet {
            self.quiesce();
        }
        let elapsed = start.elapsed().as_secs_f64();
        let (cpu1, own1, m1) = (pid.and_then(process_cpu), own_cpu(), machine_cpu());
        let rss = pid.and_then(rss_kb);
        self.window = None;
        let counted = self.counted();
        let syscalls = strace.map(|st| st.finish().unwrap_or_else(|e| self.fail(&e)).json(counted));
        self.running = false;
        self.push_counts = self.slots.iter().flatten().map(|c| c.got).collect();
        self.abort_all();
        let server_cpu = cpu0.zip(cpu1).map(|(a, b)| b - a);
        Window {
            elapsed,
            server_cpu,
            own_cpu: own1 - own0,
            foreign: foreign(m0, m1, server_cpu.unwrap_or(0.0), own1 - own0),
            rss_kb: rss,
            syscalls,
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        let mut last_check = Instant::now();
        // paced: wake every millisecond to release what is due
        let max_wait = if self.o.rate.is_some() { 1 } else { 100 };
        loop {
            self.release_paced();
            if self.o.mode == Mode::Broadcast {
                if let Err(e) = self.broadcast_send() {
                    self.fail(&e);
                }
            }
            let now = Instant::now();
            if now >= end {
                return;
            }
            self.poll(((end - now).as_millis() as i32).clamp(1, max_wait));
            if last_check.elapsed() > Duration::from_secs(1) {
                self.drop_lost();
                self.check_stalls();
                if self.o.mode == Mode::Broadcast
                    && self.bc_done < self.bc_next
                    && self.bc_progress.elapsed() > self.stall()
                {
                    self.fail(&format!(
                        "broadcast stuck for {:?}: message #{} not delivered to every connection",
                        self.bc_progress.elapsed(),
                        self.bc_done
                    ));
                }
                last_check = Instant::now();
            }
        }
    }
}

/// CPU seen over a measured window: the server's (None without
/// --server-pid or /proc), the load generator's, and other processes' (as
/// JSON: a number or null).
struct Window {
    elapsed: f64,
    server_cpu: Option<f64>,
    own_cpu: f64,
    foreign: String,
    /// the server's RSS at the end of the window
    rss_kb: Option<u64>,
    /// --strace: the counts as JSON (strace::Counts::json)
    syscalls: Option<String>,
}

impl Window {
    fn server_cpu_json(&self) -> String {
        self.server_cpu.map_or("null".into(), |c| format!("{c:.3}"))
    }

    /// ,"server_rss_kb":N[,"syscalls":{...}] (nothing without a server pid)
    fn extra_json(&self) -> String {
        let mut s = String::new();
        if let Some(r) = self.rss_kb {
            s += &format!(",\"server_rss_kb\":{r}");
        }
        if let Some(j) = &self.syscalls {
            s += &format!(",\"syscalls\":{j}");
        }
        s
    }

    /// Server CPU seconds per 100k of `n` (JSON)
    fn per_100k(&self, n: u64) -> String {
        match self.server_cpu {
            Some(c) if n > 0 => format!("{:.4}", c / n as f64 * 100_000.0),
            _ => "null".into(),
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p / 100.0) as usize).min(sorted.len() - 1);
    sorted[i] as f64 / 1000.0
}

/// --deflate: the negotiated parameters (the server's answer), the echoes
/// checked and the bad ones over the whole run, and the compressed size
/// over the plain one each way (ours out, the server's in).
fn deflate_json(r: &Runner) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let ratio = |wire: &std::sync::atomic::AtomicU64, plain: &std::sync::atomic::AtomicU64| {
        let p = plain.load(Relaxed);
        if p == 0 {
            "null".to_string()
        } else {
            format!("{:.4}", wire.load(Relaxed) as f64 / p as f64)
        }
    };
    format!(
        ",\"deflate\":\"{}\",\"checked\":{},\"mismatches\":{},\"inflate_errors\":{},\"lost\":{},\
         \"ratio_out\":{},\"ratio_in\":{}",
        pmd::ANSWER
            .get()
            .map_or("", |a| a.as_str())
            .replace(['"', '\\'], ""),
        r.checked,
        r.mismatches,
        r.inflate_errors,
        r.lost,
        ratio(&pmd::WIRE_OUT, &pmd::PLAIN_OUT),
        ratio(&pmd::WIRE_IN, &pmd::PLAIN_IN)
    )
}

fn echo(o: Options) {
    let (seconds, warmup, pid) = (o.seconds, o.warmup, o.server_pid);
    let mut r = Runner::new(o);
    r.open_all();
    if r.o.rate.is_some() {
        r.waiting.extend(0..r.slots.len());
        r.paced_from = Instant::now();
    } else {
        for i in 0..r.slots.len() {
            let rng = &mut r.rng;
            if let Some(c) = r.slots[i].as_mut() {
                if let Err(e) = c.send_message(rng).and_then(|()| c.flush()) {
                    r.fail(&e);
                }
            }
        }
    }
    r.echoing = true;
    let w = r.measure(warmup, seconds, pid);
    r.latencies.sort_unstable();
    let per_100k = w.per_100k(r.round_trips);
    let frames = FRAMES_IN.load(Ordering::Relaxed);
    println!(
        "{{\"mode\":\"echo\",\"protocol\":\"{}\",\"chop\":{},\"conns\":{},\"size\":{},\"rate\":{},\"pings\":{},\"seconds\":{:.3},\"round_trips\":{},\
         \"rtps\":{:.1},\"p50_us\":{:.1},\"p99_us\":{:.1},\"errors\":0,\"server_cpu_s\":{},\
         \"server_cpu_s_per_100k\":{},\"loadgen_cpu_s\":{:.3},\"foreign_cpu_s\":{},\"frames_per_msg\":{}{}{}}}",
        r.o.protocol.replace(['"', '\\'], ""),
        r.o.chop,
        r.o.conns,
        r.o.size,
        r.o.rate.map_or("null".into(), |v| format!("{v}")),
        r.o.pings,
        w.elapsed,
        r.round_trips,
        r.round_trips as f64 / w.elapsed,
        percentile(&r.latencies, 50.0),
        percentile(&r.latencies, 99.0),
        w.server_cpu_json(),
        per_100k,
        w.own_cpu,
        w.foreign,
        if r.checked > 0 { format!("{:.3}", frames as f64 / r.checked as f64) } else { "null".into() },
        w.extra_json(),
        if r.o.deflate || r.o.tolerate_mismatch { deflate_json(&r) } else { String::new() }
    );
    if r.round_trips == 0 {
        r.fail("no round trip completed");
    }
}

fn broadcast(o: Options) {
    let (seconds, warmup, pid) = (o.seconds, o.warmup, o.server_pid);
    let mut r = Runner::new(o);
    r.open_all();
    r.paced_from = Instant::now();
    r.bc_progress = Instant::now();
    if let Err(e) = r.broadcast_send() {
        r.fail(&e);
    }
    let w = r.measure(warmup, seconds, pid);
    r.latencies.sort_unstable();
    println!(
        "{{\"mode\":\"broadcast\",\"receivers\":{},\"size\":{},\"window\":{},\"rate\":{},\"seconds\":{:.3},\
         \"sent\":{},\"deliveries\":{},\"dps\":{:.1},\"sent_per_s\":{:.1},\"p50_us\":{:.1},\"p99_us\":{:.1},\
         \"server_cpu_s\":{},\"server_cpu_s_per_100k\":{},\"loadgen_cpu_s\":{:.3},\"foreign_cpu_s\":{},\"open_s\":{:.2}{}}}",
        r.o.conns,
        r.o.size,
        r.o.window,
        r.o.rate.map_or("null".into(), |v| format!("{v}")),
        w.elapsed,
        r.bc_next,
        r.deliveries,
        r.deliveries as f64 / w.elapsed,
        r.deliveries as f64 / r.o.conns as f64 / w.elapsed,
        percentile(&r.latencies, 50.0),
        percentile(&r.latencies, 99.0),
        w.server_cpu_json(),
        w.per_100k(r.deliveries),
        w.own_cpu,
        w.foreign,
        r.open_s,
        w.extra_json()
    );
    if r.deliveries == 0 {
        r.fail("no message delivered");
    }
}

fn push(o: Options) {
    let (seconds, warmup, pid) = (o.seconds, o.warmup, o.server_pid);
    let mut r = Runner::new(o);
    r.open_all();
    let w = r.measure(warmup, seconds, pid);
    r.latencies.sort_unstable();
    let mut counts = r.push_counts.clone();
    counts.sort_unstable();
    let (min, max) = (
        counts.first().copied().unwrap_or(0),
        counts.last().copied().unwrap_or(0),
    );
    let silent = counts.iter().filter(|&&n| n == 0).count();
    println!(
        "{{\"mode\":\"push\",\"conns\":{},\"interval_ms\":{},\"seconds\":{:.3},\"messages\":{},\"mps\":{:.1},\
         \"ticks\":{:.1},\"per_conn_min\":{},\"per_conn_max\":{},\"silent_conns\":{},\"gaps\":{},\
         \"p50_us\":{:.1},\"p99_us\":{:.1},\"server_cpu_s\":{},\"server_cpu_s_per_100k\":{},\
         \"loadgen_cpu_s\":{:.3},\"foreign_cpu_s\":{},\"open_s\":{:.2}{}}}",
        r.o.conns,
        r.o.interval_ms,
        w.elapsed,
        r.push_msgs,
        r.push_msgs as f64 / w.elapsed,
        w.elapsed * 1000.0 / r.o.interval_ms,
        min,
        max,
        silent,
        r.gaps,
        percentile(&r.latencies, 50.0),
        percentile(&r.latencies, 99.0),
        w.server_cpu_json(),
        w.per_100k(r.push_msgs),
        w.own_cpu,
        w.foreign,
        r.open_s,
        w.extra_json()
    );
    if r.gaps > 0 {
        eprintln!(
            "lws-loadgen: PUSH GAPS: {} counters skipped; first: {}",
            r.gaps, r.first_gap
        );
        exit(2);
    }
    if silent > 0 || counts.len() != r.o.conns {
        r.fail(&format!(
            "{silent} of {} connections got no counter in the window ({} open at its end)",
            r.o.conns,
            counts.len()
        ));
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn idle(o: Options) {
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
    let mut r = Runner::new(o);
    r.open_all();
    println!("ready {}", r.opened);
    let _ = std::io::stdout().flush();
    while !STOP.load(Ordering::Relaxed) {
        r.poll(1000);
    }
    r.abort_all();
}

fn connrate(o: Options) {
    let (seconds, warmup, pid) = (o.seconds, o.warmup, o.server_pid);
    let mut r = Runner::new(o);
    for i in 0..r.slots.len() {
        if let Err(e) = r.open(i) {
            r.fail(&e);
        }
    }
    let w = r.measure(warmup, seconds, pid);
    println!(
        "{{\"mode\":\"connrate\",\"conns\":{},\"seconds\":{:.3},\"connections\":{},\"cps\":{:.1},\
         \"errors\":{},\"server_cpu_s\":{},\"loadgen_cpu_s\":{:.3},\"foreign_cpu_s\":{}{}}}",
        r.o.conns,
        w.elapsed,
        r.completed,
        r.completed as f64 / w.elapsed,
        r.errors,
        w.server_cpu_json(),
        w.own_cpu,
        w.foreign,
        w.extra_json()
    );
    if r.errors > 0 {
        r.fail(&format!(
            "{} failed connections; last: {}",
            r.errors, r.last_error
        ));
    }
    if r.completed == 0 {
        r.fail("no connection completed");
    }
}

fn main() {
    let o = parse_options();
    match o.mode {
        Mode::Echo => echo(o),
        Mode::Idle => idle(o),
        Mode::ConnRate => connrate(o),
        Mode::Broadcast => broadcast(o),
        Mode::Push => push(o),
    }
}
