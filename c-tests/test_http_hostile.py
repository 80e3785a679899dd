"""Hostile input against the HTTP server (c-tests/http_server.c on our
library): malformed heads, oversized heads, bodies longer than declared,
slowloris, clients that never read, idle and half-sent connections that
outnumber the header tables, and connect/close floods.

Every case checks that the hostile connection gets the right HTTP error or
a clean close within a bounded time, that the server process survives, and
that a well-behaved client (GET /hello -> "hello world") is served while or
after the hostile one is connected. References are to ../shared/CONTRACT.md.
"""

import os
import random
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import pkg_config, run

# Every server here runs with `-t TIMEOUT` (info.timeout_secs): the accept
# timeout (reason 3) and the HTTP content timeout (reason 10) are both
# timeout_secs; lws checks timeouts once a second and fires when
# now > armed + secs, so a timeout fires between TIMEOUT and TIMEOUT + 1 s.
TIMEOUT = 3
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
IO_TIMEOUT = 5.0
HELLO = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"


# --------------------------------------------------------------------------
# the server under test


class HostileServer:
    """One http_server process this test started, on a free port."""

    def __init__(self, exe, env, workdir, timeout_secs=TIMEOUT, nofile=None, nofile_hard=None):
        self.workdir = workdir
        self.docroot = workdir / "docroot"
        self.docroot.mkdir(exist_ok=True)
        (self.docroot / "index.html").write_text("<html>index</html>\n")
        self.stdout_path = workdir / "server.stdout"
        self.stderr_path = workdir / "server.stderr"
        cmd = [str(exe), "-p", "0", "-d", str(self.docroot), "-t", str(timeout_secs)]

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile_hard or nofile))

        # output goes to files: a full pipe must never block the server
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd=str(workdir),
                                         preexec_fn=limits)
        self.pid = self.proc.pid
        self.port = self._wait_port()

    def _wait_port(self):
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            m = re.search(r"^port (\d+)$", self.stdout_path.read_text(errors="replace"), re.M)
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"http_server did not report its port:\n{self.stderr()}")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")[-4000:]

    def assert_alive(self):
        assert self.proc.poll() is None, (
            f"http_server died (exit {self.proc.returncode}, "
            f"{signal_name(self.proc.returncode)})\nstderr:\n{self.stderr()}")

    def stop(self):
        """SIGTERM, a bounded wait, SIGKILL if it hangs: only our own pid."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            return None

    # /proc views of the process

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3): utime is field 14, stime field 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settled_fd_count(srv, limit=2.0):
    """The server's fd count once it has not changed for 0.3 s (a client
    that just closed may not have been reaped yet)."""
    end = time.monotonic() + limit
    last, since = srv.fd_count(), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        now = srv.fd_count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.3:
            break
    return last


def signal_name(rc):
    if rc is not None and rc < 0:
        return signal.Signals(-rc).name
    return "no signal"


@pytest.fixture(scope="module")
def server_exe(build_c):
    return build_c("http_server.c", name="http_server_hostile")


@pytest.fixture
def start_server(server_exe, pkg_env, tmp_path):
    started = []

    def start(**kw):
        srv = HostileServer(server_exe, pkg_env, tmp_path, **kw)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        rc = srv.stop()
        # a clean SIGTERM shutdown: lws_context_destroy and exit 0
        assert rc == 0, f"http_server exit {rc} ({signal_name(rc)}) at SIGTERM\n{srv.stderr()}"


@pytest.fixture
def server(start_server):
    return start_server()


# --------------------------------------------------------------------------
# raw-socket helpers


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(IO_TIMEOUT)
    s.connect(("127.0.0.1", port))
    return s


def read_until_closed(s, limit):
    """Reads until the peer closes (EOF or reset) or `limit` seconds pass.
    Returns (bytes, closed, seconds it took)."""
    start = time.monotonic()
    data = b""
    while True:
        left = limit - (time.monotonic() - start)
        if left <= 0:
            return data, False, time.monotonic() - start
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, True, time.monotonic() - start
        if not chunk:
            return data, True, time.monotonic() - start
        data += chunk


def parse_responses(data):
    """Splits bytes into complete HTTP responses (status, headers, body); the
    unparsed rest is returned too."""
    out = []
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0:
            return out, data
        head = data[:head_end].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", head[0])
        if not m:
            return out, data
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        body_end = head_end + 4 + length
        if len(data) < body_end:
            return out, data
        out.append((int(m.group(1)), headers, data[head_end + 4:body_end]))
        data = data[body_end:]


def request(port, raw, limit=IO_TIMEOUT):
    """Sends one request, reads one response (the connection stays open)."""
    with connect(port) as s:
        s.sendall(raw)
        data = b""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            got, rest = parse_responses(data)
            if got:
                return got[0]
            r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
            if not r:
                break
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        got, _ = parse_responses(data)
        return got[0] if got else None


def assert_hello(srv, limit=IO_TIMEOUT, why=""):
    """A well-behaved client is answered."""
    t0 = time.monotonic()
    resp = request(srv.port, HELLO, limit=limit)
    assert resp is not None, f"GET /hello not answered within {limit}s {why}\n{srv.stderr()}"
    status, _, body = resp
    assert (status, body) == (200, b"hello world"), resp
    return time.monotonic() - t0


def assert_rejected(data, allowed=(400, 403, 404, 405, 413, 414, 431)):
    """Nothing, or only a 4xx error, came back."""
    if not data:
        return
    got, rest = parse_responses(data)
    assert got and not rest, f"not a clean HTTP error: {data[:200]!r}"
    for status, _, _ in got:
        assert status in allowed, f"expected a 4xx rejection, got {status}: {data[:200]!r}"


def client_hello():
    """A well-formed TLS 1.2 ClientHello record (SNI localhost)."""
    name = b"localhost"
    sni = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    ciphers = b"\xc0\x2f\xc0\x30\x00\x9c\x00\x2f"
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", len(ciphers))
            + ciphers + b"\x01\x00" + struct.pack("!H", len(sni)) + sni)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def hostile_then_check(srv, payload, close_within):
    """Sends `payload` on one connection; while it is open, a normal client
    is served; then the hostile connection must be rejected (nothing or a
    4xx) and closed within `close_within` seconds; the server survives and
    still serves."""
    with connect(srv.port) as bad:
        bad.sendall(payload)
        assert_hello(srv, why="while a hostile connection is open")
        data, closed, took = read_until_closed(bad, close_within)
    assert closed, (f"hostile connection still open after {close_within}s "
                    f"(received {data[:200]!r})")
    assert_rejected(data)
    srv.assert_alive()
    assert_hello(srv, why="after the hostile connection")
    return data, took


# Malformed input must be refused at once, not left for the accept timeout:
# closing before TIMEOUT shows the server rejected it.
PROMPT = TIMEOUT - 1.0


# --------------------------------------------------------------------------
# malformed request lines


MALFORMED_LINES = {
    "garbage-line": b"\x7fthis is not http at all\r\n\r\n",
    "missing-version": b"GET /hello\r\nHost: localhost\r\n\r\n",
    "get-alone": b"GET\r\n\r\n",
    "binary-junk": random.Random(8).randbytes(600) + b"\r\n\r\n",
    "nul-in-request-line": b"GET /he\x00llo HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "tls-client-hello": client_hello(),
    "bad-version": b"GET /hello HTTP/9.9\r\nHost: localhost\r\n\r\n",
    # CONTRACT 6 Parsing: unknown methods => 403 + close
    "unknown-method": b"BREW /hello HTTP/1.1\r\nHost: localhost\r\n\r\n",
    # CONTRACT 6 Parsing: a path not starting with '/' => 403
    "relative-path": b"GET hello HTTP/1.1\r\nHost: localhost\r\n\r\n",
}


@pytest.mark.parametrize("payload", MALFORMED_LINES.values(), ids=MALFORMED_LINES.keys())
def test_malformed_request_line(server, payload):
    hostile_then_check(server, payload, close_within=PROMPT)


def test_unknown_method_gets_403(server):
    """CONTRACT 6: an unknown method is answered 403 and closed."""
    data, _ = hostile_then_check(server, MALFORMED_LINES["unknown-method"], PROMPT)
    got, _ = parse_responses(data)
    assert [g[0] for g in got] == [403], data


def test_tls_client_hello_then_server_still_speaks_http(server):
    """A TLS client against a plain listener, several times in a row."""
    for _ in range(5):
        with connect(server.port) as s:
            s.sendall(client_hello())
            data, closed, _ = read_until_closed(s, PROMPT)
        assert closed
        assert_rejected(data)
    server.assert_alive()
    assert_hello(server)


# --------------------------------------------------------------------------
# bad header syntax


BAD_HEADERS = {
    "no-colon": b"GET /hello HTTP/1.1\r\nHost localhost\r\n\r\n",
    # RFC 7230 3.2.4: whitespace between name and colon must be rejected
    "space-before-colon": b"GET /hello HTTP/1.1\r\nHost : localhost\r\n\r\n",
    "nul-in-value": b"GET /hello HTTP/1.1\r\nHost: localhost\r\nCookie: a\x00b\r\n\r\n",
    "nul-in-name": b"GET /hello HTTP/1.1\r\nHost: localhost\r\nCoo\x00kie: ab\r\n\r\n",
    "cr-without-lf": b"GET /hello HTTP/1.1\r\nHost: localhost\rCookie: x\r\n\r\n",
    "ctl-in-name": b"GET /hello HTTP/1.1\r\nHo\x01st: localhost\r\n\r\n",
}


@pytest.mark.parametrize("payload", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_bad_header_syntax(server, payload):
    hostile_then_check(server, payload, close_within=PROMPT)


# --------------------------------------------------------------------------
# heads over the limits (CONTRACT 6 Parsing: stored bytes >
# max_http_header_data (4096) => close, no response; fragment table full =>
# close)


def test_10k_cookie_closed_without_response(server):
    head = (b"GET /hello HTTP/1.1\r\nHost: localhost\r\nCookie: "
            + b"c" * 10240 + b"\r\n\r\n")
    data, _ = hostile_then_check(server, head, close_within=PROMPT)
    assert data == b"", data[:200]


def test_500_headers_closed_without_response(server):
    # 500 repeats of a known header: each is a fragment of the header table,
    # which has 2 x WSI_TOKEN_COUNT slots
    head = (b"GET /hello HTTP/1.1\r\nHost: localhost\r\n"
            + b"".join(b"Accept: t%d\r\n" % i for i in range(500)) + b"\r\n")
    data, _ = hostile_then_check(server, head, close_within=PROMPT)
    assert data == b"", data[:200]


def test_huge_uri_closed_without_response(server):
    """An 8 KiB path is more than max_http_header_data can store."""
    head = b"GET /" + b"a" * 8192 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    data, _ = hostile_then_check(server, head, close_within=PROMPT)
    assert data == b"", data[:200]


def test_500_uri_args_closed_without_response(server):
    """500 URI arguments: one header-table fragment each, more than the
    table has (CONTRACT 6: fragment table full => close)."""
    head = (b"GET /headers?" + b"&".join(b"a%d" % i for i in range(500))
            + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data, _ = hostile_then_check(server, head, close_within=PROMPT)
    assert data == b"", data[:200]


def test_endless_head_closed(server):
    """A head that never ends (headers keep coming, no blank line, 64 KiB)
    is closed without a response and without buffering it all."""
    with connect(server.port) as bad:
        bad.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n")
        sent = 0
        closed_early = False
        try:
            for i in range(4096):
                bad.sendall(b"X-Filler-%05d: %s\r\n" % (i, b"f" * 8))
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            closed_early = True
        assert_hello(server, why="while an endless head is being sent")
        data, closed, _ = read_until_closed(bad, PROMPT)
    assert closed_early or closed
    assert data == b""
    server.assert_alive()
    assert_hello(server)


def test_many_unknown_headers_are_skipped(server):
    """CONTRACT 6: unknown headers are skipped, they use no table space; 200
    short ones (3.4 KB of head, under max_http_header_data) are fine."""
    head = (b"GET /hello HTTP/1.1\r\nHost: localhost\r\n"
            + b"".join(b"X-H%03d: v\r\n" % i for i in range(200)) + b"\r\n")
    assert len(head) < 4096
    resp = request(server.port, head)
    assert resp is not None and resp[0] == 200 and resp[2] == b"hello world", resp
    server.assert_alive()


# --------------------------------------------------------------------------
# a body longer than declared


@pytest.mark.parametrize("junk", [
    b"!@#$%^&*()" * 5,                       # not even a method token
    b"\x00\x01\x02\x03\x04" * 10,            # binary
    b"GARBAGE /x HTTP/1.1\r\n" + b"z" * 29,  # unknown method
], ids=["symbols", "binary", "unknown-method"])
def test_body_longer_than_declared(server, junk):
    """Content-Length: 5 then 50 bytes: the 5 are echoed by POST /echo, the
    rest is the next (junk) request and the connection closes."""
    assert len(junk) == 50
    payload = (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\n"
               b"abcde" + junk)
    with connect(server.port) as s:
        s.sendall(payload)
        assert_hello(server, why="while the over-long body is being handled")
        data, closed, _ = read_until_closed(s, PROMPT)
    assert closed, f"not closed after the junk request: {data[:300]!r}"
    got, rest = parse_responses(data)
    assert got, data[:300]
    status, headers, body = got[0]
    assert (status, body) == (200, b"abcde"), got[0]
    assert headers.get("content-length") == "5"
    # whatever follows may only be a rejection of the junk
    assert not rest, rest[:200]
    for status, _, _ in got[1:]:
        assert 400 <= status < 500
    server.assert_alive()
    assert_hello(server)


def test_body_longer_than_declared_letter_junk(server):
    payload = (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\n"
               b"abcde" + b"X" * 50)
    with connect(server.port) as s:
        s.sendall(payload)
        data, closed, took = read_until_closed(s, PROMPT)
    got, _ = parse_responses(data)
    assert got and got[0][0] == 200 and got[0][2] == b"abcde"
    assert closed, f"still open after {took:.1f}s"
    server.assert_alive()


def test_bad_content_lengths(server):
    """Negative, non-numeric and overflowing Content-Length values on POST
    /echo: no crash; each connection is answered or closed, at the latest by
    the content timeout (timeout_secs)."""
    # three at a time: each may hold one of the 4 header tables until it
    # times out, and the normal client needs the fourth
    values = [b"-5", b"abc", b"99999999999999999999999999"]
    socks = []
    try:
        for v in values:
            s = connect(server.port)
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
                      + v + b"\r\n\r\nabcde")
            socks.append(s)
        assert_hello(server, why="with bad Content-Length requests open")
        t0 = time.monotonic()
        for v, s in zip(values, socks):
            data, closed, _ = read_until_closed(s, max(0.5, t0 + TIMEOUT + 2 - time.monotonic()))
            assert closed, f"Content-Length: {v!r}: still open"
            got, rest = parse_responses(data)
            assert not rest, rest[:200]
    finally:
        for s in socks:
            s.close()
    server.assert_alive()
    assert_hello(server)


# --------------------------------------------------------------------------
# slowloris and idle connections (accept timeout, CONTRACT 6 Timeouts: 3
# "server accept ... until headers done", timeout_secs)


def test_slowloris_dropped_after_timeout(server):
    """One header byte a second never holds the server: the connection is
    dropped within timeout_secs + 2 s while others are served meanwhile."""
    trickle = b"GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"s" * 64
    s = connect(server.port)
    t0 = time.monotonic()
    closed_after = None
    served = []
    try:
        for i, byte in enumerate(trickle):
            if time.monotonic() - t0 > TIMEOUT + 4:
                break
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - t0
                break
            if i in (1, 2):
                served.append(assert_hello(server, why="during slowloris"))
            data, closed, _ = read_until_closed(s, max(0.0, t0 + i + 1 - time.monotonic()))
            assert data == b"", data[:200]
            if closed:
                closed_after = time.monotonic() - t0
                break
    finally:
        s.close()
    assert closed_after is not None, "slowloris connection never dropped"
    assert TIMEOUT - 0.5 <= closed_after <= TIMEOUT + 2, closed_after
    assert len(served) == 2 and max(served) < 1.0, served
    server.assert_alive()
    assert_hello(server)


def test_idle_connections_closed_after_timeout(server):
    """Connections that send nothing are closed after timeout_secs."""
    socks = [connect(server.port) for _ in range(3)]
    t0 = time.monotonic()
    try:
        assert_hello(server, why="with idle connections open")
        results = []
        for s in socks:
            data, closed, _ = read_until_closed(s, max(0.0, t0 + TIMEOUT + 2 - time.monotonic()))
            results.append((data, closed, time.monotonic() - t0))
    finally:
        for s in socks:
            s.close()
    for data, closed, took in results:
        assert data == b""
        assert closed, f"idle connection still open after {took:.1f}s"
        assert TIMEOUT - 0.5 <= took <= TIMEOUT + 2, took
    server.assert_alive()
    assert_hello(server)


def test_half_sent_heads_outnumber_header_tables(server):
    """10 connections each hold half a request head (the pool has 4 tables,
    CONTRACT 12). A normal client connecting after them waits for a table
    (CONTRACT 1 "Header tables": waiting connections are not dropped) and
    is answered once the slow ones time out."""
    half = b"GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Half: "
    slow = []
    try:
        for _ in range(10):
            s = connect(server.port)
            s.sendall(half)
            slow.append(s)
        t0 = time.monotonic()
        # a later second than the slow ones, so its own accept timeout ends
        # after theirs (the accept timeout runs while waiting for a table)
        time.sleep(1.2)
        t1 = time.monotonic()
        resp = request(server.port, HELLO, limit=TIMEOUT + 3)
        took = time.monotonic() - t1
        assert resp is not None, f"normal client not answered within {TIMEOUT + 3}s"
        assert (resp[0], resp[2]) == (200, b"hello world"), resp
        assert took <= TIMEOUT + 3
        # it did have to wait: all four tables were held by the slow ones
        assert took >= 0.5, f"answered after {took:.2f}s: no wait for a header table?"
        # the slow ones were dropped (nothing answered to them)
        for s in slow:
            data, closed, _ = read_until_closed(s, max(0.5, t0 + TIMEOUT + 2.5 - time.monotonic()))
            assert closed and data == b"", data[:200]
    finally:
        for s in slow:
            s.close()
    server.assert_alive()
    assert_hello(server)


# --------------------------------------------------------------------------
# clients that never read


def _stuck_reader(server, path, extra=b""):
    """Requests `path` on a socket with a tiny receive buffer and never
    reads. Checks: others are served, RSS stays bounded, no busy loop.
    Returns the socket (still open)."""
    assert_hello(server)
    base_rss = server.rss_kib()
    s = connect(server.port, rcvbuf=4096)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path + extra)
    time.sleep(0.5)
    cpu0, w0 = server.cpu_seconds(), time.monotonic()
    time.sleep(1.0)
    cpu = (server.cpu_seconds() - cpu0) / (time.monotonic() - w0)
    for _ in range(3):
        assert_hello(server, limit=2.0, why=f"while a client does not read {path!r}")
    grown = server.rss_kib() - base_rss
    server.assert_alive()
    # the server waits for POLLOUT instead of spinning
    assert cpu < 0.5, f"server busy ({cpu:.0%} CPU) while a client does not read"
    return s, grown


def test_client_never_reads_large_file(server):
    """A 20 MiB file requested by a client that never reads: the file is
    sent from disk in chunks, so the server's memory does not grow by the
    file size."""
    size = 20 * 1024 * 1024
    with open(server.docroot / "big.bin", "wb") as f:
        f.write(random.Random(1).randbytes(1024 * 1024) * 20)
    s, grown = _stuck_reader(server, b"/file/big.bin")
    with s:
        assert grown < 4 * 1024, f"RSS grew by {grown} KiB serving a {size >> 20} MiB file"


def test_client_never_reads_stream(server):
    """/stream?n=100000 to a client that never reads."""
    s, grown = _stuck_reader(server, b"/stream?n=100000")
    with s:
        assert grown < 4 * 1024, f"RSS grew by {grown} KiB"


def test_stuck_reader_dropped_after_timeout(server):
    """The HTTP content timeout (CONTRACT 6, reason 10, refreshed per file
    chunk) drops a client that stopped reading: the server's fd count
    returns to its baseline."""
    with open(server.docroot / "big.bin", "wb") as f:
        f.write(b"\xa5" * (8 * 1024 * 1024))
    assert_hello(server)
    base_fds = settled_fd_count(server)
    with connect(server.port, rcvbuf=4096) as s:
        s.sendall(b"GET /file/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(0.3)
        # the connection and the open file
        assert server.fd_count() >= base_fds + 1
        end = time.monotonic() + TIMEOUT + 3
        while server.fd_count() > base_fds and time.monotonic() < end:
            time.sleep(0.1)
        assert server.fd_count() == base_fds, "stuck reader never dropped"
    server.assert_alive()
    assert_hello(server)


def test_client_keeps_sending_after_request(server):
    """GET /slow (answered never) followed by a flood of bytes: what the
    server buffers for the next request must stay bounded (lws keeps at most
    its 2048-byte ah rx buffer and stops reading, leaving the rest in the
    kernel)."""
    assert_hello(server)
    base_rss = server.rss_kib()
    flood = b"P" * (1024 * 1024)
    sent = 0
    with connect(server.port) as s:
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.settimeout(0.5)
        end = time.monotonic() + 1.5
        try:
            while time.monotonic() < end and sent < 64 * len(flood):
                sent += s.send(flood)
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass
        grown = server.rss_kib() - base_rss
        assert_hello(server, why="while a client floods after its request")
    server.assert_alive()
    assert grown < 16 * 1024, f"RSS grew by {grown} KiB after the client sent {sent >> 20} MiB"


def test_peer_resets_mid_response(server):
    """Clients that reset the connection (RST) after the first bytes of a
    file or a stream: the server's writes fail (no SIGPIPE death: CONTRACT 1
    SIGPIPE is ignored process-wide) and it goes on serving."""
    with open(server.docroot / "big.bin", "wb") as f:
        f.write(b"\x5a" * (4 * 1024 * 1024))
    for i in range(20):
        with connect(server.port) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            path = b"/file/big.bin" if i % 2 else b"/stream?n=100000"
            s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path)
            assert s.recv(1000)
    server.assert_alive()
    assert_hello(server, why="after peers reset mid-response")
    server.assert_alive()


# --------------------------------------------------------------------------
# connection floods


def test_rapid_connect_close_no_fd_leak(server):
    """1000 connect/close cycles without a request (half of them reset):
    afterwards a normal request works and the fd count is back to its
    baseline."""
    assert_hello(server)
    base = settled_fd_count(server)
    for i in range(1000):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(IO_TIMEOUT)
        if i % 2:
            # close with RST instead of FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.connect(("127.0.0.1", server.port))
        s.close()
    server.assert_alive()
    assert_hello(server, why="after 1000 connect/close cycles")
    end = time.monotonic() + 3
    while server.fd_count() != base and time.monotonic() < end:
        time.sleep(0.05)
    assert server.fd_count() == base, f"fds: {base} before, {server.fd_count()} after"


def _fill_fd_table(srv, count=80):
    """Opens `count` idle connections, more than the server's 64 fds."""
    assert_hello(srv)
    socks = []
    for _ in range(count):
        socks.append(connect(srv.port))
    time.sleep(0.3)
    return socks


def test_connections_beyond_fd_limit(start_server):
    """More connections than the process may have fds (RLIMIT_NOFILE 64):
    the server neither crashes nor goes over its limit; once the idle ones
    time out a normal client is served (CONTRACT 2 "fd limits": the listener
    stops accepting until a slot frees)."""
    srv = start_server(nofile=64)
    socks = _fill_fd_table(srv)
    try:
        srv.assert_alive()
        assert srv.fd_count() <= 64
    finally:
        for s in socks:
            s.close()
    end = time.monotonic() + TIMEOUT + 3
    while True:
        try:
            assert_hello(srv, limit=1.0)
            break
        except AssertionError:
            if time.monotonic() > end:
                raise
    srv.assert_alive()


def test_fds_beyond_max_fds_refused(start_server):
    """CONTRACT 2 "fd limits": max_fds = getdtablesize() at context creation
    (64 here); accepted fds >= max_fds are refused (closed). The soft limit
    is raised after start-up so accept() itself never fails with EMFILE: only
    the library's own limit is in play. The refused clients see a prompt
    close, the server does not spin, and serves again once slots free."""
    srv = start_server(nofile=64, nofile_hard=4096)
    resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (1024, 4096))
    socks = _fill_fd_table(srv)
    try:
        cpu0, w0 = srv.cpu_seconds(), time.monotonic()
        time.sleep(1.0)
        cpu = (srv.cpu_seconds() - cpu0) / (time.monotonic() - w0)
        srv.assert_alive()
        assert srv.fd_count() <= 64
        assert cpu < 0.5, f"server busy ({cpu:.0%} CPU) at its fd limit"
        refused = 0
        for s in socks:
            data, closed, _ = read_until_closed(s, 0.01)
            assert data == b""
            refused += closed
        assert refused >= 80 - 64, f"only {refused} of 80 refused"
    finally:
        for s in socks:
            s.close()
    end = time.monotonic() + TIMEOUT + 3
    while True:
        try:
            assert_hello(srv, limit=1.0)
            break
        except AssertionError:
            if time.monotonic() > end:
                raise
    srv.assert_alive()


# A minimal server with info.fd_limit_per_thread = 16 (http_server.c has no
# flag for it) and the built-in "http-only" dummy protocol, which answers 404.
FD_LIMIT_SERVER = r"""
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile int stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(void)
{
	struct lws_context_creation_info info;
	struct lws_context *context;

	memset(&info, 0, sizeof info);
	info.port = 0;
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = 3;
	info.fd_limit_per_thread = 16;
	signal(SIGTERM, on_signal);
	context = lws_create_context(&info);
	if (!context)
		return 1;
	printf("port %d\n", info.port);
	fflush(stdout);
	while (!stop)
		if (lws_service(context, 100) < 0)
			break;
	lws_context_destroy(context);
	return 0;
}
"""


def test_listener_paused_at_fd_limit_per_thread(server_exe, pkg_env, tmp_path):
    """CONTRACT 2 "fd limits": a pt holding fd_limit_per_thread entries
    refuses inserts; at limit-1 entries its listener stops accepting (POLLIN
    off) until a slot frees - no busy loop while clients queue."""
    src = tmp_path / "fd_limit_server.c"
    src.write_text(FD_LIMIT_SERVER)
    exe = tmp_path / "fd_limit_server"
    run(["gcc", "-std=gnu99", "-Wall", str(src), "-o", str(exe),
         *pkg_config(pkg_env, "--cflags", "--libs")], env=pkg_env)
    srv = HostileServer(exe, pkg_env, tmp_path)
    try:
        socks = [connect(srv.port) for _ in range(30)]
        try:
            time.sleep(0.3)
            cpu0, w0 = srv.cpu_seconds(), time.monotonic()
            time.sleep(1.0)
            cpu = (srv.cpu_seconds() - cpu0) / (time.monotonic() - w0)
            srv.assert_alive()
            # the listener paused: not all 30 were taken in
            assert srv.fd_count() < 30
        finally:
            for s in socks:
                s.close()
        # slots free as the peers' EOFs are read: accepting resumes
        resp = request(srv.port, HELLO)
        assert resp is not None and resp[0] == 404, resp
        srv.assert_alive()
        assert cpu < 0.5, f"server busy ({cpu:.0%} CPU) while at fd_limit_per_thread"
    finally:
        assert srv.stop() == 0


def test_many_connections_send_junk_concurrently(server):
    """50 connections in parallel send random junk; all get closed, the
    server survives and serves."""
    results = []

    def worker(seed):
        try:
            with connect(server.port) as s:
                s.sendall(random.Random(seed).randbytes(2000))
                data, closed, _ = read_until_closed(s, PROMPT)
                results.append((closed, data))
        except (BrokenPipeError, ConnectionResetError):
            results.append((True, b""))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PROMPT + IO_TIMEOUT)
    assert len(results) == 50
    for closed, data in results:
        assert closed
        assert_rejected(data)
    server.assert_alive()
    assert_hello(server)
