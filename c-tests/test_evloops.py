"""The service loops (CONTRACT section 2 "Service loop" / "External poll",
section 11 libuv/libev) through c-tests/evloop_server.c, one lws application
run by each loop an application can choose:

  own         while (!stop) lws_service(ctx, 50)
  poll        the application's own poll() array from ADD/DEL/CHANGE_MODE
              _POLL_FD, ready fds to lws_service_fd (an external loop must
              never stall: input lws holds is announced with POLLOUT)
  uv          LWS_SERVER_OPTION_LIBUV on the loop lws makes, lws_libuv_run,
              SIGINT through lws' default handler
  uv-foreign  the application's uv_loop_t with its own signal handlers and
              timers; after lws_context_destroy the loop must run dry and
              uv_loop_close must return 0
  ev          LWS_SERVER_OPTION_LIBEV on ev_default_loop, lws_service runs it
  ev-foreign  the application's ev_loop_new loop and ev_run

For each: 20 concurrent clients x 200 pipelined messages (1 B - 64 KiB, text
and binary) echoed intact and in order, 1 MiB and 16 MiB messages, the
dumb-increment counter ticking from the loop's own timer, a file over HTTP,
50 back-to-back messages all echoed (the external-poll stall), SIGINT ->
"destroyed" and exit 0. Then TLS on uv (and own / poll), the uv-foreign
application's own timer and SIGUSR1 handler, uv with two service threads,
and uv-foreign under valgrind.
"""

import asyncio
import math
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect

from conftest import REPO, have, pkg_config, run, valgrind_problems
from servers import Server, started_servers
from ws_servers import BINARY, CONT, PING, PONG, TEXT, RawWs, frame

LOOPS = ["own", "poll", "uv", "uv-foreign", "ev", "ev-foreign"]
KIB = 1024
MIB = 1024 * KIB
STOP_TIMEOUT = 10.0


def arun(coro, timeout):
    """Runs a coroutine with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


# ------------------------------------------------------------- the server

@pytest.fixture(scope="module")
def evloop_exe(pkg_env, tmp_path_factory):
    """evloop_server.c built through pkg-config; it calls uv_* / ev_* itself,
    so it links libuv and libev explicitly."""
    exe = tmp_path_factory.mktemp("evloop-bin") / "evloop_server"
    run(["gcc", "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-g",
         str(REPO / "c-tests" / "evloop_server.c"), "-o", str(exe),
         *pkg_config(pkg_env, "--cflags", "--libs"), "-luv", "-lev", "-lpthread"],
        env=pkg_env)
    return exe


@pytest.fixture(scope="module")
def evroot(tmp_path_factory):
    root = tmp_path_factory.mktemp("evloop-site") / "root"
    root.mkdir()
    (root / "index.html").write_bytes(b"<html><body>evloop</body></html>\n")
    (root / "data.bin").write_bytes(random.Random(7).randbytes(300 * KIB + 17))
    return root


class EvServer(Server):
    """One evloop_server process (optionally under a wrapper such as
    valgrind) listening on 127.0.0.1:`port`."""

    def __init__(self, exe, env, workdir, docroot, loop, args=(), wrapper=(),
                 start_timeout=10.0):
        self.name = f"evloop_server --loop {loop}"
        self.loop = loop
        self.workdir = workdir
        self.docroot = docroot
        self.cblog_path = None
        self.stdout_path = workdir / "stdout"
        self.stderr_path = workdir / "stderr"
        cmd = [*map(str, wrapper), str(exe), "-p", "0", "-d", str(docroot),
               "--loop", loop, *map(str, args)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd=str(workdir))
        self.port = self._wait_port(start_timeout)

    def ws_uri(self, scheme="ws"):
        return f"{scheme}://127.0.0.1:{self.port}/"

    def interrupt(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        """Sends `sig`; the exit code (None if it did not exit in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def assert_clean(self):
        self.assert_alive()
        err = self.stderr()
        for bad in ("FLOW VIOLATION", "failed", "not the app's loop", "lws_uv_getloop: NULL"):
            assert bad not in err, err[-4000:]

    def describe(self):
        return (f"{self.name}: exit {self.proc.poll()}\nstdout:\n{self.stdout()[-2000:]}"
                f"\nstderr:\n{self.stderr()[-4000:]}")


@pytest.fixture
def start_ev(evloop_exe, pkg_env, evroot, tmp_path):
    """start_ev(loop, *args, wrapper=(), start_timeout=10) -> a running
    EvServer; every one started is stopped at the end."""
    def make(work, loop, *args, wrapper=(), start_timeout=10.0):
        return EvServer(evloop_exe, pkg_env, work, evroot, loop, args, wrapper,
                        start_timeout)

    with started_servers(tmp_path, "evloop", make) as start:
        yield start


@pytest.fixture(params=LOOPS)
def srv(request, start_ev):
    return start_ev(request.param)


# -------------------------------------------------------------- clients

def random_messages(seed, count, lo=1, hi=64 * KIB):
    """`count` messages of log-uniform random sizes in [lo, hi] (the first two
    are the extremes), text and binary mixed."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if i == 0:
            n = lo
        elif i == 1:
            n = hi
        else:
            n = int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))
            n = max(lo, min(hi, n))
        if rng.random() < 0.5:
            # printable ASCII text
            out.append(bytes(0x21 + b % 94 for b in rng.randbytes(n)).decode())
        else:
            out.append(rng.randbytes(n))
    return out


def first_mismatch(sent, got):
    """None if `got` is `sent` in order, else a short description."""
    for i, (a, b) in enumerate(zip(sent, got)):
        if type(a) is not type(b) or a != b:
            return (f"message {i}: sent {type(a).__name__} of {len(a)}, got "
                    f"{type(b).__name__} of {len(b)} ({b[:32]!r}...)")
    if len(sent) != len(got):
        return f"sent {len(sent)} messages, got {len(got)}"
    return None


async def pipelined_echo(uri, msgs, ssl_ctx=None, timeout=60):
    """Sends every message back-to-back (a second task reads meanwhile) and
    returns the messages echoed, stopping early on a stall of `timeout`."""
    got = []
    async with connect(uri, subprotocols=["lws-echo"], max_size=None, compression=None,
                       ping_interval=None, open_timeout=10, close_timeout=2,
                       ssl=ssl_ctx, max_queue=None) as ws:
        assert ws.subprotocol == "lws-echo"

        async def sender():
            for m in msgs:
                await ws.send(m)

        task = asyncio.create_task(sender())
        try:
            for _ in msgs:
                got.append(await asyncio.wait_for(ws.recv(), timeout))
        except asyncio.TimeoutError:
            pass
        finally:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
    return got


async def many_clients(uri, clients, per_client, seed, ssl_ctx=None, hi=64 * KIB):
    sent = [random_messages(seed + i, per_client, hi=hi) for i in range(clients)]
    got = await asyncio.gather(*(pipelined_echo(uri, s, ssl_ctx, timeout=10) for s in sent))
    return sent, got


def check_many(srv, sent, got):
    bad = [f"client {i}: {first_mismatch(s, g)}" for i, (s, g) in enumerate(zip(sent, got))
           if first_mismatch(s, g)]
    assert not bad, "\n".join(bad[:5]) + "\n" + srv.describe()


def recv_message(c):
    """One whole message from a RawWs: (opcode, payload)."""
    f = c.recv_frame()
    op, data = f.opcode, bytearray(f.payload)
    while not f.fin:
        f = c.recv_frame()
        assert f.opcode == CONT, f
        data += f.payload
    return op, bytes(data)


# ------------------------------------------------------ per-loop tests

def test_pipelined_echo_20_clients(srv):
    """20 clients at once, each sending 200 messages of 1 B - 64 KiB without
    waiting for the echoes: every echo intact, with its type, in order."""
    sent, got = arun(many_clients(srv.ws_uri(), 20, 200, seed=100), 90)
    check_many(srv, sent, got)
    srv.assert_clean()


def test_big_messages(srv):
    """1 MiB and 16 MiB messages echo chunk by chunk into whole messages."""
    rng = random.Random(5)
    msgs = [rng.randbytes(MIB), rng.randbytes(16 * MIB),
            "t" * (MIB + 3)]
    got = arun(pipelined_echo(srv.ws_uri(), msgs, timeout=15), 60)
    assert first_mismatch(msgs, got) is None, first_mismatch(msgs, got) + "\n" + srv.describe()
    srv.assert_clean()


def test_dumb_increment_counts(srv):
    """The loop's own 50 ms timer drives lws_callback_on_writable_all_protocol:
    each connection gets 0, 1, 2, ... ; two connections count separately."""
    async def one():
        async with connect(srv.ws_uri(), subprotocols=["dumb-increment-protocol"],
                           compression=None, ping_interval=None, open_timeout=10) as ws:
            assert ws.subprotocol == "dumb-increment-protocol"
            start = time.monotonic()
            vals = [int(await ws.recv()) for _ in range(6)]
            return vals, time.monotonic() - start

    async def two():
        return await asyncio.gather(one(), one())

    for vals, took in arun(two(), 20):
        assert vals == list(range(6)), vals
        # 6 ticks of 50 ms: well under 2 s, even on a busy machine
        assert took < 3.0, took
    srv.assert_clean()


@pytest.mark.parametrize("loop", ["own", "uv", "uv-foreign", "ev", "ev-foreign"])
def test_ticks_from_another_thread(start_ev, loop):
    """A worker pthread calls lws_callback_on_writable_all_protocol and
    lws_cancel_service every 50 ms (CONTRACT section 2: the service thread
    is woken): the counters advance on every backend whose loop the library
    can wake (an application's poll() loop cannot be woken by lws)."""
    srv = start_ev(loop, "--tick-thread")

    async def one():
        async with connect(srv.ws_uri(), subprotocols=["dumb-increment-protocol"],
                           compression=None, ping_interval=None, open_timeout=10) as ws:
            return [int(await asyncio.wait_for(ws.recv(), 5)) for _ in range(6)]

    async def two():
        return await asyncio.gather(one(), one())

    for vals in arun(two(), 30):
        assert vals == list(range(6)), vals
    srv.assert_clean()


def test_http_file(srv, evroot):
    """A file served with lws_serve_http_file arrives byte-exact; a missing
    one is a 404; the server keeps serving."""
    for _ in range(2):
        with urllib.request.urlopen(srv.url("/data.bin"), timeout=10) as r:
            assert r.status == 200
            assert r.read() == (evroot / "data.bin").read_bytes()
    with urllib.request.urlopen(srv.url("/index.html"), timeout=10) as r:
        assert r.read() == (evroot / "index.html").read_bytes()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(srv.url("/missing.txt"), timeout=10)
    assert e.value.code == 404
    srv.assert_clean()


def test_sigint_stops_cleanly(srv):
    """SIGINT with connections open (a ws echo connection, a dumb-increment
    one, an idle HTTP keep-alive one): the loop returns,
    lws_context_destroy runs ("destroyed"), exit 0; uv-foreign's own loop
    then runs dry and uv_loop_close returns 0."""
    echo = RawWs(srv.connect())
    dumb = RawWs(srv.connect())
    idle = srv.connect()
    try:
        assert echo.handshake("lws-echo")[0] == 101
        assert dumb.handshake("dumb-increment-protocol")[0] == 101
        echo.send(TEXT, b"hello")
        assert recv_message(echo) == (TEXT, b"hello")
        assert recv_message(dumb)[0] == TEXT
        idle.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        rc = srv.interrupt(signal.SIGINT)
    finally:
        echo.close()
        dumb.close()
        idle.close()
    assert rc == 0, srv.describe()
    out = srv.stdout()
    assert "destroyed" in out, srv.describe()
    if srv.loop == "uv-foreign":
        assert "uv_loop_close 0" in out, srv.describe()
    if srv.loop == "ev-foreign":
        # lws left nothing active on the application's loop
        assert "ev_run returned" in out, srv.describe()


class Busy:
    """Connections in the middle of something, for stopping a server under
    them: file downloads and 4 MiB echoes nobody reads (tiny receive
    buffers), and a request still missing its end."""

    def __init__(self, srv, timeout=5.0):
        self.socks, self.threads = [], []
        try:
            for _ in range(4):
                s = srv.connect(timeout, rcvbuf=4096)
                self.socks.append(s)
                s.sendall(b"GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            for _ in range(3):
                c = RawWs(srv.connect(timeout, rcvbuf=4096))
                self.socks.append(c.sock)
                assert c.handshake("lws-echo")[0] == 101
                data = frame(BINARY, os.urandom(4 * MIB))
                t = threading.Thread(target=self._send, args=(c.sock, data), daemon=True)
                t.start()
                self.threads.append(t)
            s = srv.connect(timeout)
            self.socks.append(s)
            s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _send(sock, data):
        try:
            sock.sendall(data)
        except OSError:
            pass

    def close(self):
        for s in self.socks:
            s.close()
        for t in self.threads:
            t.join(5)


@pytest.mark.parametrize("loop", LOOPS + ["uv-threads", "ev-threads"])
def test_sigint_mid_transfer(start_ev, loop):
    """SIGINT while files and big echoes are stuck half-sent and a request
    is half-received: still a clean stop (uv: lws_libuv_stop closes them
    all; uv-foreign: the loop then runs dry, uv_loop_close 0)."""
    srv = (start_ev(loop[:2], "--threads", "2") if loop.endswith("-threads")
           else start_ev(loop))
    busy = Busy(srv)
    try:
        time.sleep(0.5)
        srv.assert_clean()
        rc = srv.interrupt(signal.SIGINT)
    finally:
        busy.close()
    assert rc == 0, srv.describe()
    assert "destroyed" in srv.stdout(), srv.describe()
    if loop == "uv-foreign":
        assert "uv_loop_close 0" in srv.stdout(), srv.describe()
    if loop == "ev-foreign":
        assert "ev_run returned" in srv.stdout(), srv.describe()


@pytest.mark.parametrize("loop", ["own", "poll", "uv"])
def test_sigterm_stops_cleanly(start_ev, loop):
    """SIGTERM too: the application's handler (own, poll) or lws' default
    libuv handler (SIGINT and SIGTERM) stops the loop cleanly."""
    srv = start_ev(loop)
    with RawWs(srv.connect()) as c:
        assert c.handshake("lws-echo")[0] == 101
        c.send(TEXT, b"x")
        assert recv_message(c) == (TEXT, b"x")
        rc = srv.interrupt(signal.SIGTERM)
    assert rc == 0, srv.describe()
    assert "destroyed" in srv.stdout(), srv.describe()


@pytest.mark.parametrize("how", ["websockets", "raw-burst"])
def test_fifty_back_to_back(srv, how):
    """The stall: one client sends 50 messages of 1-4 KiB back-to-back and
    then only waits. Everything lws read past the first message is held
    while rx flow is off; when it is allowed again the held input must be
    serviced without any new socket activity - under an external poll loop
    too (announced with POLLOUT, CHANGE_MODE_POLL_FD)."""
    rng = random.Random(50)
    msgs = [rng.randbytes(rng.randint(KIB, 4 * KIB)) for _ in range(50)]
    if how == "websockets":
        got = arun(pipelined_echo(srv.ws_uri(), msgs, timeout=5), 30)
        assert len(got) == 50, f"stalled after {len(got)} of 50 echoes\n" + srv.describe()
        assert got == msgs
    else:
        # all 50 frames in one write: they arrive together
        with RawWs(srv.connect(timeout=5)) as c:
            assert c.handshake("lws-echo")[0] == 101
            c.send_raw(b"".join(frame(BINARY, m) for m in msgs))
            got = []
            try:
                for _ in msgs:
                    got.append(recv_message(c)[1])
            except TimeoutError:
                pass
            assert len(got) == 50, f"stalled after {len(got)} of 50 echoes\n" + srv.describe()
            assert got == msgs
    srv.assert_clean()


# ------------------------------------ timeouts without socket activity

# Every backend has the once-a-second timeout timer (libev included: the
# original's libev backend had none and checked timeouts only on activity).
TIMED_LOOPS = ["own", "poll", "uv", "uv-foreign", "ev", "ev-foreign"]


@pytest.mark.parametrize("loop", TIMED_LOOPS)
def test_idle_request_times_out(start_ev, loop):
    """timeout_secs 2: a connection that never finishes its request headers
    is hard-closed after about 2 s although nothing else happens on any
    socket (libuv / libev: the library's 1 s timer; poll:
    lws_service_fd(ctx, NULL))."""
    srv = start_ev(loop, "--timeout-secs", "2")
    s = srv.connect(timeout=8)
    try:
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        took = time.monotonic() - start
    except TimeoutError:
        raise AssertionError(f"not closed within 8 s\n{srv.describe()}")
    finally:
        s.close()
    assert data == b"", data
    assert 1.0 <= took <= 5.0, took
    srv.assert_clean()


@pytest.mark.parametrize("loop", TIMED_LOOPS)
def test_idle_ping(start_ev, loop):
    """ws_ping_pong_interval 1: an idle established connection gets a PING
    with nothing else going on; a PONG keeps it open."""
    srv = start_ev(loop, "--ping-interval", "1")
    with RawWs(srv.connect(timeout=6)) as c:
        assert c.handshake("lws-echo")[0] == 101
        f = c.recv_frame()
        assert f.opcode == PING, f
        c.send(PONG, f.payload)
        c.send(TEXT, b"still here")
        assert recv_message(c) == (TEXT, b"still here")
    srv.assert_clean()


# ---------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def selfsigned(tmp_path_factory):
    if not have("openssl"):
        pytest.skip("no openssl command")
    d = tmp_path_factory.mktemp("evloop-pki")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")], timeout=60)
    return d / "cert.pem", d / "key.pem"


@pytest.mark.parametrize("loop", LOOPS)
def test_tls(start_ev, selfsigned, evroot, loop):
    """wss:// and https:// with a self-signed certificate: pipelined echoes,
    a 1 MiB message, 50 back-to-back messages (TLS holds decrypted input
    lws must still service), a file; SIGINT stops it cleanly."""
    cert, key = selfsigned
    srv = start_ev(loop, "--ssl", cert, key)
    ctx = ssl.create_default_context(cafile=str(cert))

    sent, got = arun(many_clients(srv.ws_uri("wss"), 5, 60, seed=300, ssl_ctx=ctx), 60)
    check_many(srv, sent, got)

    rng = random.Random(51)
    msgs = [rng.randbytes(MIB)] + [rng.randbytes(rng.randint(KIB, 4 * KIB)) for _ in range(50)]
    got = arun(pipelined_echo(srv.ws_uri("wss"), msgs, ssl_ctx=ctx, timeout=5), 30)
    assert first_mismatch(msgs, got) is None, first_mismatch(msgs, got) + "\n" + srv.describe()

    url = f"https://127.0.0.1:{srv.port}/data.bin"
    with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
        assert r.read() == (evroot / "data.bin").read_bytes()

    srv.assert_clean()
    assert srv.interrupt(signal.SIGINT) == 0, srv.describe()
    assert "destroyed" in srv.stdout()


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_client_connection_on_the_loop(start_ev, selfsigned, loop, tls):
    """A client connection (lws_client_connect_via_info from the loop's
    timer) to the process's own lws-echo runs on the same loop: connect,
    handshake, CLIENT_WRITEABLE, the echo back in CLIENT_RECEIVE."""
    cert, key = selfsigned
    srv = start_ev(loop, "--self-client", *(("--ssl", cert, key) if tls else ()))
    line = wait_line(srv, r"^self-client (.*)$", timeout=10)
    assert line is not None and line.group(1) == "ok", srv.describe()
    srv.assert_clean()


# ------------------------------------------------- the foreign uv loop

def wait_line(srv, pattern, after=0, timeout=5.0):
    """The first match of `pattern` in stdout past offset `after`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = re.compile(pattern, re.M).search(srv.stdout(), after)
        if m:
            return m
        time.sleep(0.02)
    raise AssertionError(f"no {pattern!r}\n" + srv.describe())


def test_uv_foreign_app_timer_and_signal_keep_running(start_ev):
    """The application's own 10 ms timer and SIGUSR1 uv_signal_t on the loop
    it shares with lws keep working while lws serves, and its SIGINT
    handler (lws' own disabled by lws_uv_sigint_cfg(ctx, 0, NULL)) stops
    it."""
    srv = start_ev("uv-foreign")
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGUSR1)
    m1 = wait_line(srv, r"^usr1 (\d+)$")
    t1 = time.monotonic()
    sent, got = arun(many_clients(srv.ws_uri(), 4, 60, seed=400), 60)
    check_many(srv, sent, got)
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGUSR1)
    m2 = wait_line(srv, r"^usr1 (\d+)$", after=m1.end())
    elapsed = time.monotonic() - t1
    n1, n2 = int(m1.group(1)), int(m2.group(1))
    assert n1 >= 5, srv.describe()
    # 10 ms ticks: at least a third of the nominal count (slow machine)
    assert n2 - n1 >= elapsed * 100 / 3, (n1, n2, elapsed)
    srv.assert_clean()
    assert srv.interrupt(signal.SIGINT) == 0, srv.describe()
    out = srv.stdout()
    assert "signal 2" in out and "destroyed" in out and "uv_loop_close 0" in out, srv.describe()


def test_uv_app_timer_left_on_lws_loop(start_ev):
    """lws' own test-server-libuv starts a uv_timer_t on lws_uv_getloop(ctx,
    0) and never closes it: after lws_libuv_run returns (SIGINT through lws'
    handler), lws_context_destroy must still return with the application's
    handle open on the loop lws made."""
    srv = start_ev("uv", "--keep-timer")
    sent, got = arun(many_clients(srv.ws_uri(), 2, 20, seed=450), 30)
    check_many(srv, sent, got)
    assert srv.interrupt(signal.SIGINT) == 0, srv.describe()
    assert "destroyed" in srv.stdout(), srv.describe()


# ---------------------------------------------------- two threads

@pytest.mark.parametrize("loop", ["uv", "ev"])
def test_two_service_threads(start_ev, loop):
    """count_threads 2: one loop per service thread, each on its own pthread
    (libuv: lws-made loops run by lws_libuv_run(ctx, tsi); libev: the
    default loop under lws_service and an ev_loop_new() under ev_run);
    connections spread over both, every echo intact; SIGINT stops both."""
    srv = start_ev(loop, "--threads", "2")
    sent, got = arun(many_clients(srv.ws_uri(), 10, 60, seed=500), 60)
    check_many(srv, sent, got)
    with urllib.request.urlopen(srv.url("/index.html"), timeout=10) as r:
        assert r.status == 200
    srv.assert_clean()
    assert srv.interrupt(signal.SIGINT) == 0, srv.describe()
    assert "destroyed" in srv.stdout()


# ------------------------------------------------------------ valgrind

@pytest.mark.skipif(not have("valgrind"), reason="valgrind not installed")
@pytest.mark.parametrize("loop", ["uv-foreign", "uv", "ev-foreign", "poll"])
def test_under_valgrind(start_ev, evroot, tmp_path, loop):
    """A short session under memcheck (above all on the application's own uv
    loop): no invalid access, no definite leak from libwebsockets, and
    uv-foreign's loop still closes (uv_loop_close 0) after
    lws_context_destroy."""
    log = tmp_path / "valgrind.log"
    srv = start_ev(loop, wrapper=[
        "valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
        "--error-exitcode=99", "--num-callers=30", f"--log-file={log}"],
        start_timeout=60)
    sent, got = arun(many_clients(srv.ws_uri(), 3, 20, seed=600, hi=100 * KIB), 90)
    check_many(srv, sent, got)
    with urllib.request.urlopen(srv.url("/data.bin"), timeout=30) as r:
        assert r.read() == (evroot / "data.bin").read_bytes()

    async def dumb():
        async with connect(srv.ws_uri(), subprotocols=["dumb-increment-protocol"],
                           compression=None, ping_interval=None, open_timeout=30) as ws:
            return [int(await ws.recv()) for _ in range(3)]

    assert arun(dumb(), 30) == [0, 1, 2]
    # connections still open, some mid-transfer, when the loop stops
    held = RawWs(srv.connect(timeout=30))
    busy = None
    try:
        assert held.handshake("lws-echo")[0] == 101
        busy = Busy(srv, timeout=30)
        time.sleep(1.0)
        rc = srv.interrupt(signal.SIGINT, timeout=60)
    finally:
        held.close()
        if busy:
            busy.close()
    text = log.read_text(errors="replace")
    assert "Memcheck" in text and "LEAK SUMMARY" in text, text[-4000:]
    problems = valgrind_problems(text)
    assert not problems, "\n\n".join(problems)[:8000]
    assert "destroyed" in srv.stdout(), srv.describe()
    if loop == "uv-foreign":
        assert "uv_loop_close 0" in srv.stdout(), srv.describe()
    # 99 only for leaks outside libwebsockets (checked above)
    assert rc in (0, 99), srv.describe() + "\n" + text[-4000:]


# ------------------------------------ destroying the context from the loop

@pytest.mark.parametrize("loop", ["uv", "ev"])
def test_destroy_from_a_loop_callback(pkg_env, tmp_path, loop):
    """lws_context_destroy inside an application timer callback on the loop
    the library is running (libuv: its own loop; libev: the default loop):
    the run returns and valgrind sees no invalid access or definite leak."""
    if not have("valgrind"):
        pytest.skip("no valgrind")
    exe = tmp_path / "evloop_destroy"
    run(["gcc", "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-g",
         str(REPO / "c-tests" / "evloop_destroy.c"), "-o", str(exe),
         *pkg_config(pkg_env, "--cflags", "--libs"), "-luv", "-lev"], env=pkg_env)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
             "--error-exitcode=99", str(exe), loop, str(port)],
            env=pkg_env, check=False, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["destroyed in callback", "run returned"], r.stdout
