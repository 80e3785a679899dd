"""The order of protocol callbacks an HTTP server application sees, checked
against ../shared/CONTRACT.md section 3 "Sequences" (A accept, B GET, C file,
D POST), section 2 (poll callbacks, lazy protocol init) and section 3 J
(context destroy).

c-tests/http_server.c runs with `-l LOG`: one line "<reason> <wsi-number>"
per callback. wsi numbers are handed out per `struct lws *` address, and a
freed wsi's address may be reused, so a connection's life is taken from its
WSI_CREATE (29) to its WSI_DESTROY (30). Callbacks on fake wsis (PROTOCOL_INIT
27, GET_THREAD_ID 31, PROTOCOL_DESTROY 28) are context-level.

LOCK_POLL / CHANGE_MODE_POLL_FD / UNLOCK_POLL trios (35/34/36) follow every
POLLIN/POLLOUT change and are treated as noise in the per-connection
sequences, except where the contract requires one (the header-table
CHANGE_MODE of sequence A, tested on its own); every 35 must still open a
well-formed trio.
"""

import re
import select
import signal
import socket
import subprocess
import time

import pytest

TIMEOUT = 2          # -t: info.timeout_secs
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
IO_TIMEOUT = 5.0

# reason numbers (CONTRACT 3 table)
CLOSED_HTTP = 5
HTTP = 12
HTTP_BODY = 13
HTTP_BODY_COMPLETION = 14
HTTP_FILE_COMPLETION = 15
HTTP_WRITEABLE = 16
FILTER_NETWORK_CONNECTION = 17
FILTER_HTTP_CONNECTION = 18
SERVER_NEW_CLIENT_INSTANTIATED = 19
PROTOCOL_INIT = 27
PROTOCOL_DESTROY = 28
WSI_CREATE = 29
WSI_DESTROY = 30
GET_THREAD_ID = 31
ADD_POLL_FD = 32
DEL_POLL_FD = 33
CHANGE_MODE_POLL_FD = 34
LOCK_POLL = 35
UNLOCK_POLL = 36
HTTP_BIND_PROTOCOL = 49
HTTP_DROP_PROTOCOL = 50
CONTEXT_LEVEL = {PROTOCOL_INIT, PROTOCOL_DESTROY, GET_THREAD_ID}

# --------------------------------------------------------------------------
# expected sequences, as data. Elements are reason numbers; "13+" means one
# or more HTTP_BODY; "50?" an optional HTTP_DROP_PROTOCOL.

# CONTRACT 3 Sequences: "POLL = LOCK/ADD or DEL/UNLOCK trio"
POLL_ADD = [LOCK_POLL, ADD_POLL_FD, UNLOCK_POLL]
POLL_DEL = [LOCK_POLL, DEL_POLL_FD, UNLOCK_POLL]
POLL_MODE = [LOCK_POLL, CHANGE_MODE_POLL_FD, UNLOCK_POLL]

# A Accept: "FILTER_NETWORK_CONNECTION(listener) -> WSI_CREATE ->
# SERVER_NEW_CLIENT_INSTANTIATED -> POLL add -> CHANGE_MODE_POLL_FD (ah)".
# FILTER_NETWORK_CONNECTION goes to the listener wsi (checked separately:
# it is the callback just before the new wsi's WSI_CREATE).
ACCEPT = [WSI_CREATE, SERVER_NEW_CLIENT_INSTANTIATED, *POLL_ADD]
# ... with the header-table CHANGE_MODE the contract names (kept out of
# ACCEPT since CHANGE_MODE trios are otherwise noise)
ACCEPT_WITH_AH_MODE = [*ACCEPT, *POLL_MODE]

# B GET answered by app: "FILTER_HTTP_CONNECTION -> HTTP_DROP_PROTOCOL ->
# HTTP_BIND_PROTOCOL -> HTTP"
REQUEST = [FILTER_HTTP_CONNECTION, HTTP_DROP_PROTOCOL, HTTP_BIND_PROTOCOL, HTTP]
# B: "app calls lws_http_transaction_completed => DROP -> BIND" (C: after a
# multi-write file lws itself completes the transaction: the same pair)
COMPLETED = [HTTP_DROP_PROTOCOL, HTTP_BIND_PROTOCOL]
# B: "Peer closes while idle: DROP -> CLOSED_HTTP at once; later POLL del ->
# WSI_DESTROY"
PEER_CLOSE_IDLE = [HTTP_DROP_PROTOCOL, CLOSED_HTTP, *POLL_DEL, WSI_DESTROY]
# B: "Keep-alive idle timeout: only POLL del -> WSI_DESTROY (no DROP, no
# CLOSED_HTTP) [run]"
KEEPALIVE_TIMEOUT = [*POLL_DEL, WSI_DESTROY]

# (a) one GET /hello, then the client closes
GET_HELLO = [*ACCEPT, *REQUEST, *COMPLETED, *PEER_CLOSE_IDLE]
# (b) D POST: "HTTP -> HTTP_BODY x n -> HTTP_BODY_COMPLETION -> app replies
# + completes"
POST_ECHO = [*ACCEPT, *REQUEST, "13+", HTTP_BODY_COMPLETION, *COMPLETED, *PEER_CLOSE_IDLE]
# (c) C file: "later POLLOUTs send chunks (no HTTP_WRITEABLE), then
# FILE_COMPLETION and lws completes the transaction (DROP/BIND ...)"
FILE_SERVE = [*ACCEPT, *REQUEST, HTTP_FILE_COMPLETION, *COMPLETED, *PEER_CLOSE_IDLE]
# two GETs on one keep-alive connection: "next request repeats from
# FILTER_HTTP_CONNECTION"; the keep-alive idle timeout (5 s) then closes it
KEEPALIVE_TWO_GETS = [*ACCEPT, *REQUEST, *COMPLETED, *REQUEST, *COMPLETED, *KEEPALIVE_TIMEOUT]
# B: "A connection that never sent a request still gets CLOSED_HTTP [run]"
# (here closed by the accept timeout, timeout_secs; the contract does not
# say whether a DROP without a pss precedes it, nor where the POLL del
# falls, so both places are allowed)
NEVER_REQUESTED = [*ACCEPT, "50?", "5-and-del", WSI_DESTROY]

# Listener: J "POLL add per listener (no WSI_CREATE)" at creation; A
# "FILTER_NETWORK_CONNECTION" per accepted connection; J destroy: "POLL
# del; WSI_DESTROY incl. listeners"
def listener_sequence(accepted):
    return [*POLL_ADD, *[FILTER_NETWORK_CONNECTION] * accepted, *POLL_DEL, WSI_DESTROY]


def pattern(expected):
    """The regex matching a space-joined reason sequence."""
    parts = []
    for e in expected:
        if e == "13+":
            parts.append(r"13(?: 13)*")
        elif e == "50?":
            parts.append(r"(?:50 )?")
            continue
        elif e == "5-and-del":
            parts.append(r"(?:5 35 33 36|35 33 36 5)")
        else:
            parts.append(str(e))
        parts.append(" ")
    return "^" + "".join(parts).rstrip(" ").replace("  ", " ") + "$"


def joined(seq):
    return " ".join(str(r) for r in seq)


def assert_sequence(actual, expected, what):
    text = joined(actual)
    assert re.match(pattern(expected), text), (
        f"{what}: callback order differs from CONTRACT 3\n"
        f"expected: {pattern(expected)}\nactual:   {text}")


# --------------------------------------------------------------------------
# the log


class Conn:
    """One wsi's life: [(global index, reason)]."""

    def __init__(self, number):
        self.number = number
        self.events = []

    def reasons(self):
        return [r for _, r in self.events]

    def without_mode_trios(self):
        """The reasons with LOCK/CHANGE_MODE/UNLOCK trios removed."""
        out = []
        rs = self.reasons()
        i = 0
        while i < len(rs):
            if rs[i:i + 3] == POLL_MODE:
                i += 3
                continue
            out.append(rs[i])
            i += 1
        return out


class Log:
    def __init__(self, lines):
        self.lines = lines
        self.context = []      # (index, reason) of fake-wsi callbacks
        self.listener = None
        self.conns = []        # in WSI_CREATE order
        live = {}
        for i, (reason, num) in enumerate(lines):
            if reason in CONTEXT_LEVEL:
                self.context.append((i, reason))
                continue
            if self.listener is None:
                # the first callback is the listener's POLL add (J)
                self.listener = Conn(num)
            if num == self.listener.number and num not in live and reason != WSI_CREATE:
                self.listener.events.append((i, reason))
                continue
            if reason == WSI_CREATE:
                assert num not in live, f"line {i}: WSI_CREATE for live wsi {num}"
                live[num] = Conn(num)
                self.conns.append(live[num])
            assert num in live, f"line {i}: reason {reason} for unknown wsi {num}"
            live[num].events.append((i, reason))
            if reason == WSI_DESTROY:
                del live[num]
        self.still_live = list(live.values())

    def check_poll_trios(self):
        """CONTRACT 2 External poll: LOCK_POLL, one of ADD/DEL/CHANGE_MODE,
        UNLOCK_POLL, for the same wsi, consecutive in the log."""
        lines = self.lines
        for i, (reason, num) in enumerate(lines):
            if reason == LOCK_POLL:
                assert i + 2 < len(lines), f"line {i}: LOCK_POLL at the end"
                mid, end = lines[i + 1], lines[i + 2]
                assert mid[0] in (ADD_POLL_FD, DEL_POLL_FD, CHANGE_MODE_POLL_FD) and mid[1] == num, \
                    f"line {i}: LOCK_POLL followed by {mid}"
                assert end == (UNLOCK_POLL, num), f"line {i}: trio ends with {end}"
            elif reason in (ADD_POLL_FD, DEL_POLL_FD, CHANGE_MODE_POLL_FD):
                assert i > 0 and lines[i - 1] == (LOCK_POLL, num), f"line {i}: {reason} without LOCK_POLL"
            elif reason == UNLOCK_POLL:
                assert i > 1 and lines[i - 2] == (LOCK_POLL, num), f"line {i}: UNLOCK_POLL without LOCK_POLL"

    def check_accepts(self):
        """A: FILTER_NETWORK_CONNECTION on the listener immediately before
        each new connection's WSI_CREATE."""
        for c in self.conns:
            first = c.events[0][0]
            assert first > 0 and self.lines[first - 1] == (FILTER_NETWORK_CONNECTION, self.listener.number), (
                f"wsi {c.number}: WSI_CREATE not preceded by FILTER_NETWORK_CONNECTION on the listener: "
                f"{self.lines[max(0, first - 3):first + 1]}")


# --------------------------------------------------------------------------
# the server


class LoggingServer:
    def __init__(self, exe, env, workdir):
        self.docroot = workdir / "docroot"
        self.docroot.mkdir(exist_ok=True)
        self.log_path = workdir / "callbacks.log"
        self.stdout_path = workdir / "server.stdout"
        self.stderr_path = workdir / "server.stderr"
        cmd = [str(exe), "-p", "0", "-d", str(self.docroot), "-t", str(TIMEOUT),
               "-l", str(self.log_path)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd=str(workdir))
        end = time.monotonic() + START_TIMEOUT
        self.port = None
        while time.monotonic() < end and self.proc.poll() is None:
            m = re.search(r"^port (\d+)$", self.stdout_path.read_text(), re.M)
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise AssertionError(f"http_server did not start:\n{self.stderr_path.read_text()}")

    def lines(self):
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return [tuple(map(int, l.split())) for l in text.splitlines() if len(l.split()) == 2]

    def wait_destroyed(self, count, limit=IO_TIMEOUT):
        """Waits until `count` connection wsis got WSI_DESTROY."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if sum(1 for r, n in self.lines() if r == WSI_DESTROY) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"{count} WSI_DESTROYs not logged within {limit}s:\n{self.lines()}")

    def stop(self):
        """SIGTERM (lws_context_destroy) with a bounded wait; our pid only."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
                raise AssertionError("http_server did not exit on SIGTERM")
        return self.proc.returncode

    def finish(self):
        """Stops the server, returns the parsed log."""
        rc = self.stop()
        assert rc == 0, f"http_server exit {rc}\n{self.stderr_path.read_text()[-3000:]}"
        assert "destroyed" in self.stdout_path.read_text()
        log = Log(self.lines())
        log.check_poll_trios()
        log.check_accepts()
        assert not log.still_live, [c.reasons() for c in log.still_live]
        return log


@pytest.fixture(scope="module")
def server_exe(build_c):
    return build_c("http_server.c", name="http_server_cborder")


@pytest.fixture
def server(server_exe, pkg_env, tmp_path):
    srv = LoggingServer(server_exe, pkg_env, tmp_path)
    yield srv
    srv.stop()


# --------------------------------------------------------------------------
# clients


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(IO_TIMEOUT)
    s.connect(("127.0.0.1", port))
    return s


def read_response(s, limit=IO_TIMEOUT):
    """One Content-Length-framed response: (status line, body)."""
    data = b""
    end = time.monotonic() + limit
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1")
            m = re.search(r"(?im)^content-length:\s*(\d+)", head)
            length = int(m.group(1)) if m else 0
            if len(data) >= head_end + 4 + length:
                return head.split("\r\n")[0], data[head_end + 4:head_end + 4 + length]
        left = end - time.monotonic()
        assert left > 0, f"no complete response within {limit}s: {data[:200]!r}"
        r, _, _ = select.select([s], [], [], left)
        if r:
            chunk = s.recv(1 << 20)
            assert chunk, f"closed mid-response: {data[:200]!r}"
            data += chunk


def get_hello(port):
    with connect(port) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, body = read_response(s)
    assert status.startswith("HTTP/1.1 200") and body == b"hello world"


# --------------------------------------------------------------------------
# tests


def test_get_sequence(server):
    """(a) GET /hello then close: A, B, idle peer close; and at shutdown the
    listener's POLL del and WSI_DESTROY (J)."""
    get_hello(server.port)
    server.wait_destroyed(1)
    log = server.finish()
    assert len(log.conns) == 1
    assert_sequence(log.conns[0].without_mode_trios(), GET_HELLO, "GET /hello")
    assert_sequence(log.listener.reasons(), listener_sequence(1), "listener")


def test_post_sequence(server):
    """(b) D: POST /echo with a small body then close."""
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n")
        time.sleep(0.1)
        s.sendall(b"hello")
        time.sleep(0.1)
        s.sendall(b" body")
        time.sleep(0.1)
        s.sendall(b"!")
        status, body = read_response(s)
    assert status.startswith("HTTP/1.1 200") and body == b"hello body!"
    server.wait_destroyed(1)
    log = server.finish()
    assert len(log.conns) == 1
    seq = log.conns[0].without_mode_trios()
    assert_sequence(seq, POST_ECHO, "POST /echo")
    # the three pieces arrived separately: one HTTP_BODY each
    assert seq.count(HTTP_BODY) == 3, joined(seq)


def test_post_body_with_head_sequence(server):
    """D with the body in the same packet as the head."""
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc")
        status, body = read_response(s)
    assert body == b"abc"
    server.wait_destroyed(1)
    log = server.finish()
    assert_sequence(log.conns[0].without_mode_trios(), POST_ECHO, "POST /echo (one packet)")


def test_file_sequence(server):
    """(c) C: a 4 MiB file to a client that reads slowly, so lws needs many
    writes on POLLOUT: no HTTP_WRITEABLE while the file goes out, then
    HTTP_FILE_COMPLETION and lws completes the transaction."""
    size = 4 * 1024 * 1024
    (server.docroot / "big.bin").write_bytes(bytes(range(256)) * (size // 256))
    with connect(server.port, rcvbuf=16384) as s:
        s.sendall(b"GET /file/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(0.3)  # let the socket fill up
        status, body = read_response(s, limit=20)
    assert status.startswith("HTTP/1.1 200") and len(body) == size
    server.wait_destroyed(1)
    log = server.finish()
    conn = log.conns[0]
    assert_sequence(conn.without_mode_trios(), FILE_SERVE, "file serve")
    raw = conn.reasons()
    http_at, done_at = raw.index(HTTP), raw.index(HTTP_FILE_COMPLETION)
    during = raw[http_at + 1:done_at]
    assert HTTP_WRITEABLE not in raw, joined(raw)
    # POLLOUT was armed while the file was sent: the multi-write path
    assert CHANGE_MODE_POLL_FD in during, f"file went out inside the call: {joined(raw)}"


def test_keepalive_and_idle_timeouts(server):
    """Two GETs on one keep-alive connection, then the keep-alive idle
    timeout (5 s) closes it: only POLL del and WSI_DESTROY. Meanwhile a
    connection that never sends a request is closed by the accept timeout
    (timeout_secs) and still gets CLOSED_HTTP."""
    silent = connect(server.port)
    time.sleep(0.2)
    with connect(server.port) as s:
        for _ in range(2):
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status, body = read_response(s)
            assert body == b"hello world"
        # keepalive_timeout default 5 s (CONTRACT 12), checked once a second
        r, _, _ = select.select([s], [], [], 5 + 2.5)
        assert r and s.recv(10) == b"", "keep-alive connection not closed after ~5 s idle"
    silent.close()
    server.wait_destroyed(2)
    log = server.finish()
    assert len(log.conns) == 2
    assert_sequence(log.conns[0].without_mode_trios(), NEVER_REQUESTED, "never requested")
    assert_sequence(log.conns[1].without_mode_trios(), KEEPALIVE_TWO_GETS, "keep-alive")


def test_shutdown_sequence(server):
    """J: at lws_context_destroy the listener gets POLL del and WSI_DESTROY,
    then PROTOCOL_DESTROY follows; PROTOCOL_INIT came once, at the first
    service, after the listener's POLL add."""
    get_hello(server.port)
    server.wait_destroyed(1)
    log = server.finish()
    lst = log.listener.events
    assert [r for _, r in lst[-4:]] == [*POLL_DEL, WSI_DESTROY], joined(log.listener.reasons())
    destroy_at = lst[-1][0]
    ctx = [r for _, r in log.context]
    assert ctx.count(PROTOCOL_INIT) == 1 and ctx.count(PROTOCOL_DESTROY) == 1, ctx
    assert ctx.count(GET_THREAD_ID) == 1, ctx
    init_at = next(i for i, r in log.context if r == PROTOCOL_INIT)
    pdestroy_at = next(i for i, r in log.context if r == PROTOCOL_DESTROY)
    # J create: POLL add per listener, then first service: PROTOCOL_INIT
    assert init_at > lst[2][0]
    # J destroy: every wsi's WSI_DESTROY, then PROTOCOL_DESTROY, last
    assert pdestroy_at > destroy_at and pdestroy_at == len(log.lines) - 1, log.lines[-6:]


def test_accept_sequence_announces_header_table_mode(server):
    """A: attaching the header table updates the pollfd (POLLIN), which lws
    announces with a CHANGE_MODE trio even though the mode is unchanged
    (CONTRACT 2: "sent on every update even if unchanged")."""
    get_hello(server.port)
    server.wait_destroyed(1)
    log = server.finish()
    raw = log.conns[0].reasons()
    assert raw[:len(ACCEPT_WITH_AH_MODE)] == ACCEPT_WITH_AH_MODE, joined(raw)


def test_get_thread_id_before_protocol_init(server):
    """CONTRACT 2 lws_service: step 4 (first call) GET_THREAD_ID, then
    poll(), then lws_service_fd, whose first call runs PROTOCOL_INIT."""
    get_hello(server.port)
    server.wait_destroyed(1)
    log = server.finish()
    ctx = [r for _, r in log.context]
    assert ctx[:2] == [GET_THREAD_ID, PROTOCOL_INIT], ctx
