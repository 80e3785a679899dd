"""CGI (CONTRACT section 9, issue 15) through c-tests/mounts_server.c -c
CGIDIR: LWSMPRO_CGI mounts /cgi/NAME running the shell and Python scripts
this file writes, and the application-driven lws_cgi of /appcgi/NAME
(test-server style: p[0] writes its own head and handles every CGI
callback) and /appcgi2/NAME (callbacks delegated to
lws_callback_http_dummy). Then the basic cases on every event loop
through c-tests/evloop_server.c --cgi.

What is checked: the CGI/1.1 environment (query string, script name and
path info, cgienv, request headers as HTTP_*; hostile header names and
values never reach it unsanitised), request bodies of 1 B, 64 KiB and
10 MiB echoed byte-exact (shell and Python), Status / Location honoured,
output without a head, a script that exits silently (500), crashes
mid-body (the body is cut, never completed), never answers (killed at
cgi_timeout: 504), is left by its client (killed, reaped), writes 50 MiB
to a slow client (the server's memory stays bounded), 100 at once, and
that no zombie is ever left (ps).
"""

import concurrent.futures
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time

import pytest

from servers import Reader, Server, request, started_servers

KIB = 1024
MIB = 1024 * KIB

SH = "#!/bin/sh\n"
PY = f"#!{sys.executable}\n"

SCRIPTS = {
    # the environment as JSON (Python), after reading the body if any
    "env": PY + r"""
import hashlib, json, os, sys
n = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(n) if n else b""
out = json.dumps({"env": dict(os.environ), "body_len": len(body), "cwd": os.getcwd(),
                  "body_sha": hashlib.sha256(body).hexdigest()}).encode()
sys.stdout.buffer.write(b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
""",
    # echo with a Content-Length (Python)
    "echo": PY + r"""
import os, sys
n = int(os.environ.get("CONTENT_LENGTH") or 0)
data = b""
while len(data) < n:
    chunk = sys.stdin.buffer.read(n - len(data))
    if not chunk:
        break
    data += chunk
sys.stdout.buffer.write(b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\nX-Got: %d\r\n\r\n" % (len(data), len(data)))
sys.stdout.buffer.write(data)
""",
    # echo as it streams, no length (shell): chunked on HTTP/1.1
    "cat": SH + "printf 'Content-Type: application/octet-stream\\n\\n'\nexec cat\n",
    "redirect": SH + "printf 'Status: 302 Found\\r\\nLocation: http://example.com/there\\r\\n\\r\\n'\n",
    "status": PY + r"""
import sys
sys.stdout.write("Status: 404 Not Here\nContent-Type: text/plain\nX-Custom: yes\n\nnot here\n")
""",
    "noheaders": SH + "echo hello world\necho second line\n",
    # 50 MiB of a known pattern, in 64 KiB writes, pausing a little
    "big": PY + r"""
import sys, time
block = bytes(range(256)) * 256
out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\r\n\r\n")
for i in range(800):
    out.write(block)
    if i % 16 == 15:
        out.flush()
        time.sleep(0.005)
""",
    "silent": SH + "exit 0\n",
    "crash": SH + "printf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
                  "i=0; while [ $i -lt 50 ]; do echo partial line $i; i=$((i+1)); done\n"
                  "kill -SEGV $$\n",
    "hang": SH + "echo $$ > hang.pid\nexec sleep 60\n",
    "slow": SH + "echo $$ > slow.pid\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
                 "while :; do echo tick; sleep 0.05; done\n",
    "stdin_ignorer": SH + "printf 'Content-Type: text/plain\\r\\nContent-Length: 3\\r\\n\\r\\nok\\n'\n",
    "bad_status": SH + "printf 'Status: abc\\r\\n\\r\\nbody'\n",
}


@pytest.fixture(scope="module")
def cgidir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cgi") / "cgi-bin"
    d.mkdir()
    for name, text in SCRIPTS.items():
        p = d / name
        p.write_text(text)
        p.chmod(0o755)
    return d


@pytest.fixture(scope="module")
def mounts_exe(build_c):
    return build_c("mounts_server.c")


@pytest.fixture
def srv(mounts_exe, pkg_env, cgidir, tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("root\n")

    def make(work):
        return Server(mounts_exe, pkg_env, work, root, ["-c", cgidir])

    with started_servers(tmp_path, "cgi", make) as start:
        s = start()
        yield s
        s.assert_alive()
        assert no_zombies(s), ps_children(s)


# ---------------------------------------------------------------- helpers

def ps_children(s):
    """The server's children as `ps` lists them: [(pid, stat, command)]."""
    r = subprocess.run(["ps", "-o", "pid=,stat=,args=", "--ppid", str(s.proc.pid)],
                       capture_output=True, text=True, timeout=10)
    out = []
    for line in r.stdout.splitlines():
        pid, stat, cmd = (line.split(None, 2) + [""])[:3]
        out.append((int(pid), stat, cmd))
    return out


def no_zombies(s, timeout=6.0):
    """True once the server has no zombie child (reaping is at most a
    second or two behind)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not any(stat.startswith("Z") for _, stat, _ in ps_children(s)):
            return True
        time.sleep(0.1)
    return False


def gone(pid, timeout=8.0):
    """True once process `pid` no longer exists (nor is a zombie)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "X":
            return True
        time.sleep(0.1)
    return False


def read_pid(path, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise AssertionError(f"no {path}")


def dechunk(data):
    """(body, complete): the decoded chunked body and whether its last
    chunk arrived."""
    out = []
    at = 0
    while True:
        eol = data.find(b"\r\n", at)
        if eol < 0:
            return b"".join(out), False
        size = int(data[at:eol].split(b";")[0], 16)
        at = eol + 2
        if size == 0:
            return b"".join(out), data[at:at + 2] == b"\r\n"
        if len(data) < at + size + 2:
            out.append(data[at:at + size])
            return b"".join(out), False
        out.append(data[at:at + size])
        at += size + 2


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), value.strip())
    return status, headers


def exchange(s, raw, timeout=30.0, rcvbuf=None):
    """Sends a raw request, reads the response: (status, headers, body,
    complete, closed). A chunked body is decoded; `complete` says whether
    it ended properly."""
    sock = s.connect(timeout=timeout, rcvbuf=rcvbuf)
    try:
        sock.sendall(raw)
        return read_response(sock)
    finally:
        sock.close()


def read_response(sock, eof_body=False):
    rd = Reader(sock)
    head = rd.head()
    status, headers = parse_head(head)
    closed = False
    if headers.get("transfer-encoding") == "chunked":
        parts = [rd.buf]
        tail = rd.buf[-16:]
        while not tail.endswith(b"\r\n0\r\n\r\n") and tail != b"0\r\n\r\n":
            more = sock.recv(256 * KIB)
            if not more:
                closed = True
                break
            parts.append(more)
            tail = (tail + more)[-16:]
        body, complete = dechunk(b"".join(parts))
        return status, headers, body, complete, closed
    if "content-length" in headers:
        n = int(headers["content-length"])
        try:
            body = rd.exactly(n)
            return status, headers, body, True, False
        except EOFError:
            return status, headers, rd.buf, False, True
    body = rd.rest_until_eof()
    return status, headers, body, True, True


def get(s, path, headers=(), version="HTTP/1.1"):
    return exchange(s, request("GET", path, headers, version=version))


def post(s, path, body, headers=(), version="HTTP/1.1"):
    hdrs = [f"Content-Length: {len(body)}", "Content-Type: application/octet-stream",
            *headers]
    return duplex(s, request("POST", path, hdrs, body, version=version))


def duplex(s, raw, timeout=60.0):
    """Sends while reading (as a full-duplex client does: a streaming echo
    answers before the upload ends); returns as exchange()."""
    import selectors
    sock = s.connect(timeout=timeout)
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    parts = []
    size = 0
    head = None
    tail = b""
    sent = 0
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            for _, ev in sel.select(timeout=1.0):
                if ev & selectors.EVENT_WRITE and sent < len(raw):
                    try:
                        sent += sock.send(raw[sent:sent + 256 * KIB])
                    except BlockingIOError:
                        pass
                    if sent == len(raw):
                        sel.modify(sock, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    try:
                        data = sock.recv(256 * KIB)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        data = b""
                    if not data:
                        return finish_duplex(b"".join(parts), True)
                    parts.append(data)
                    size += len(data)
                    tail = (tail + data)[-16:]
            if head is None and parts:
                got = b"".join(parts)
                if b"\r\n\r\n" in got:
                    h, _, rest = got.partition(b"\r\n\r\n")
                    head = (len(h) + 4, parse_head(h + b"\r\n\r\n")[1])
                    parts = [got]
            if head is not None:
                hlen, headers = head
                if headers.get("transfer-encoding") == "chunked":
                    done = tail.endswith(b"\r\n0\r\n\r\n") or (
                        size - hlen == 5 and tail.endswith(b"0\r\n\r\n"))
                elif "content-length" in headers:
                    done = size - hlen >= int(headers["content-length"])
                else:
                    done = False
                if done:
                    return finish_duplex(b"".join(parts), False)
        raise AssertionError(f"timed out; sent {sent}/{len(raw)}, got {size}")
    finally:
        sock.close()


def finish_duplex(got, closed):
    head, _, rest = got.partition(b"\r\n\r\n")
    status, headers = parse_head(head + b"\r\n\r\n")
    if headers.get("transfer-encoding") == "chunked":
        body, complete = dechunk(rest)
    elif "content-length" in headers:
        n = int(headers["content-length"])
        body, complete = rest[:n], len(rest) >= n
    else:
        body, complete = rest, closed
    return status, headers, body, complete, closed


def env_of(s, path="/cgi/env", headers=(), query=""):
    status, hdrs, body, complete, _ = get(s, path + query, headers)
    assert status == 200 and complete, (status, hdrs, body[:300])
    return json.loads(body)["env"]


# ------------------------------------------------------------------ tests

def test_get_with_query_string(srv, cgidir):
    status, headers, body, complete, closed = get(srv, "/cgi/env/more/path?a=1&b=x%20y&c")
    assert status == 200 and complete and not closed
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    env = doc["env"]
    assert env["REQUEST_METHOD"] == "GET"
    assert env["QUERY_STRING"] == "a=1&b=x%20y&c"
    assert env["SCRIPT_NAME"] == "/cgi/env"
    assert env["PATH_INFO"] == "/more/path"
    assert env["REQUEST_URI"] == "/cgi/env/more/path?a=1&b=x%20y&c"
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_SOFTWARE"] == "libwebsockets"
    assert env["SERVER_NAME"] == "localhost"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_HOST"] == "localhost"
    assert env["SCRIPT_FILENAME"] == str(cgidir / "env")
    # the mount's cgienv
    assert env["FOO"] == "bar" and env["BAZ"] == "qux"
    # no body: stdin ended at once, nothing of the server's own environment
    assert doc["body_len"] == 0
    assert "CONTENT_LENGTH" not in env and "HOME" not in env
    assert doc["cwd"] == str(cgidir)


def test_keepalive_across_cgi_responses(srv):
    sock = srv.connect(timeout=20)
    try:
        for i in range(3):
            sock.sendall(request("GET", f"/cgi/env?i={i}"))
            status, headers, body, complete, closed = read_response(sock)
            assert status == 200 and complete and not closed
            assert json.loads(body)["env"]["QUERY_STRING"] == f"i={i}"
            sock.sendall(request("GET", "/cgi/cat"))
            status, headers, body, complete, closed = read_response(sock)
            assert status == 200 and complete and headers["transfer-encoding"] == "chunked"
    finally:
        sock.close()


@pytest.mark.parametrize("script", ["echo", "cat"])
@pytest.mark.parametrize("size", [1, 64 * KIB, 10 * MIB])
def test_post_echoed_byte_exact(srv, script, size):
    body = random.Random(size).randbytes(size)
    status, headers, got, complete, _ = post(srv, f"/cgi/{script}", body)
    assert status == 200 and complete, (status, headers)
    assert len(got) == size and hashlib.sha256(got).digest() == hashlib.sha256(body).digest()
    if script == "echo":
        assert headers["content-length"] == str(size) and headers["x-got"] == str(size)
    else:
        assert headers["transfer-encoding"] == "chunked"


def test_post_body_environment(srv):
    body = b"x" * 1000
    status, _, got, complete, _ = post(srv, "/cgi/env?q=1", body, ["Content-Type: text/x-test"])
    assert status == 200 and complete
    doc = json.loads(got)
    assert doc["body_len"] == 1000
    assert doc["env"]["CONTENT_LENGTH"] == "1000"
    assert doc["env"]["REQUEST_METHOD"] == "POST"
    assert doc["env"]["QUERY_STRING"] == "q=1"


def test_status_and_location_honoured(srv):
    status, headers, body, complete, _ = get(srv, "/cgi/redirect")
    assert status == 302 and complete
    assert headers["location"] == "http://example.com/there"
    assert "status" not in headers
    status, headers, body, complete, _ = get(srv, "/cgi/status")
    assert status == 404 and complete
    assert headers["x-custom"] == "yes" and body == b"not here\n"


def test_http10_is_close_delimited(srv):
    status, headers, body, complete, closed = get(srv, "/cgi/status", version="HTTP/1.0")
    assert status == 404 and closed and body == b"not here\n"
    assert "transfer-encoding" not in headers and headers["connection"] == "close"


def test_script_without_headers(srv):
    status, headers, body, complete, _ = get(srv, "/cgi/noheaders")
    assert status == 200 and complete
    assert body == b"hello world\nsecond line\n"


def test_script_exiting_without_output(srv):
    status, headers, body, complete, _ = get(srv, "/cgi/silent")
    assert status == 500 and complete


def test_bad_status_is_a_500(srv):
    status, _, _, complete, _ = get(srv, "/cgi/bad_status")
    assert status == 500 and complete


def test_script_crashing_mid_body(srv):
    status, headers, body, complete, closed = get(srv, "/cgi/crash")
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    # what it wrote arrives, but the body never looks complete
    assert body.startswith(b"partial line 0\n") and b"partial line 49\n" in body
    assert not complete and closed


def test_script_never_answering_is_killed(srv, cgidir):
    t0 = time.monotonic()
    status, headers, body, complete, _ = get(srv, "/cgi/hang")
    took = time.monotonic() - t0
    assert status == 504 and complete
    assert 1.5 < took < 6, took
    assert gone(read_pid(cgidir / "hang.pid"))


def test_client_disconnect_kills_the_script(srv, cgidir):
    pidfile = cgidir / "slow.pid"
    pidfile.unlink(missing_ok=True)
    sock = srv.connect(timeout=10)
    sock.sendall(request("GET", "/cgi/slow"))
    rd = Reader(sock)
    rd.head()
    while b"tick" not in rd.buf:
        rd._more()
    pid = read_pid(pidfile)
    assert not gone(pid, timeout=0.3)
    sock.close()
    assert gone(pid), ps_children(srv)
    assert no_zombies(srv), ps_children(srv)
    assert all("slow" not in cmd for _, _, cmd in ps_children(srv))


def test_body_the_script_does_not_read(srv):
    body = os.urandom(2 * MIB)
    status, _, got, complete, _ = post(srv, "/cgi/stdin_ignorer", body)
    assert status == 200 and complete and got == b"ok\n"


def test_50_mib_to_a_slow_reader_keeps_memory_bounded(srv):
    # warm up, then the baseline
    assert get(srv, "/cgi/status")[0] == 404
    base = srv.rss_kib()
    sock = srv.connect(timeout=30, rcvbuf=64 * KIB)
    sock.sendall(request("GET", "/cgi/big"))
    rd = Reader(sock)
    _, headers = parse_head(rd.head())
    assert headers["transfer-encoding"] == "chunked"
    parts = [rd.buf]
    peak = base
    reads = 0
    tail = b""
    while True:
        chunk = sock.recv(64 * KIB)
        if not chunk:
            break
        parts.append(chunk)
        reads += 1
        if reads % 50 == 0:
            peak = max(peak, srv.rss_kib())
        tail = (tail + chunk)[-16:]
        if tail.endswith(b"\r\n0\r\n\r\n"):
            break
        time.sleep(0.001)
    sock.close()
    body, complete = dechunk(b"".join(parts))
    assert complete and len(body) == 50 * MIB
    assert body[:512] == bytes(range(256)) * 2 and body[-256:] == bytes(range(256))
    assert peak - base < 16 * 1024, (base, peak)


def test_100_concurrent_requests(srv):
    def one(i):
        payload = f"request {i} ".encode() * (i + 1)
        status, headers, got, complete, _ = post(srv, "/cgi/cat", payload)
        return status == 200 and complete and got == payload

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(one, range(100)))
    assert all(results), results.count(False)


def test_header_injection_never_reaches_the_environment(srv):
    big = "u" * 3000
    env = env_of(srv, headers=[
        "Foo_Bar: injected1",
        "Foo-Bar: injected2",
        "Proxy: http://injected3.example/",
        "Content_Length: 12345",
        "X-Real-IP: 10.0.0.1",
        f"User-Agent: {big}",
        "Cookie: a=1",
        "Cookie: b=2",
        "Authorization: Basic c2VjcmV0",
    ], query="?q=%0aINJECT%3d1")
    text = json.dumps(env)
    assert "injected" not in text
    for name in env:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name
    assert "HTTP_PROXY" not in env and "HTTP_FOO_BAR" not in env and "FOO_BAR" not in env
    assert "HTTP_AUTHORIZATION" not in env and "c2VjcmV0" not in text
    assert env["HTTP_X_REAL_IP"] == "10.0.0.1"
    assert env["HTTP_USER_AGENT"] == big
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    # the query string stays encoded: no new variable, no newline
    assert env["QUERY_STRING"] == "q=%0aINJECT%3d1" and "INJECT" not in env
    # a decoded control character in the path is %-encoded again
    env = env_of(srv, path="/cgi/env/a%0aINJECT=1")
    assert env["PATH_INFO"] == "/a%0AINJECT=1" and "INJECT" not in env
    for value in env.values():
        assert "\n" not in value and "\r" not in value


def test_hostile_header_lines_are_refused(srv):
    # a folded line, a bare CR, a huge value: the request never runs a
    # script with them (the connection closes, or an error comes back)
    for hdrs in (["X-Real-IP: 1.2.3.4", " INJECT=1"],
                 ["X-Real-IP: 1.2.3.4\rINJECT: 1"],
                 ["User-Agent: " + "v" * 100000]):
        sock = srv.connect(timeout=10)
        try:
            sock.sendall(request("GET", "/cgi/env", hdrs))
            data = Reader(sock).rest_until_eof()
        finally:
            sock.close()
        assert b"INJECT" not in data, data[:500]
        assert not data.startswith(b"HTTP/1.1 200"), data[:300]


# ------------------------------------------------------- lws_cgi by the app

def test_app_cgi_like_test_server(srv):
    """p[0] calls lws_cgi and writes "200 + connection: close" itself; the
    script's header lines follow it (the original's way) and the response
    ends with the connection at CGI_TERMINATED."""
    status, headers, body, complete, closed = get(srv, "/appcgi/env/p?x=1")
    assert status == 200 and complete
    assert headers["connection"] == "close" and headers["content-type"] == "application/json"
    env = json.loads(body)["env"]
    assert env["SCRIPT_NAME"] == "/appcgi" and env["PATH_INFO"] == "/env/p"
    assert env["QUERY_STRING"] == "x=1" and env["FOO"] == "bar"
    # a POST through CGI_STDIN_DATA, byte-exact
    body = random.Random(5).randbytes(200 * KIB)
    status, headers, got, complete, closed = post(srv, "/appcgi/cat", body)
    assert status == 200 and closed and got == body
    assert "transfer-encoding" not in headers
    ev = srv.stdout()
    assert "http lws_cgi /appcgi/env/p is_cgi=1" in ev
    assert "http CGI_STDIN_COMPLETED calls=" in ev and f"bytes={200 * KIB}" in ev
    assert "http CGI_TERMINATED mode=1 stdout_events=1 stdin_done=1" in ev


def test_app_cgi_kill(srv, cgidir):
    """lws_cgi_kill from the application at the script's first output:
    0, the script's process group is gone (reaped, no zombie), then
    CGI_TERMINATED, whose -1 ends the response with the connection."""
    pidfile = cgidir / "slow.pid"
    pidfile.unlink(missing_ok=True)
    sock = srv.connect(timeout=10)
    try:
        sock.sendall(request("GET", "/appcgi/slow/kill"))
        data = Reader(sock).rest_until_eof()
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert gone(read_pid(pidfile)), ps_children(srv)
    assert no_zombies(srv), ps_children(srv)
    ev = srv.stdout()
    assert "http lws_cgi_kill 0" in ev
    # CGI_TERMINATED comes from inside lws_cgi_kill, before it returns
    start = ev.index("http lws_cgi /appcgi/slow/kill")
    assert ev[start:].split("\n")[1:3] == [
        "http CGI_TERMINATED mode=1 stdout_events=1 stdin_done=0", "http lws_cgi_kill 0"], ev[start:]
    srv.assert_alive()


def test_app_cgi_through_the_dummy_handler(srv):
    """lws_cgi with every CGI callback handed to lws_callback_http_dummy:
    the head is built from the script's (Status honoured)."""
    status, headers, body, complete, _ = get(srv, "/appcgi2/redirect")
    assert status == 302 and headers["location"] == "http://example.com/there"
    body = random.Random(6).randbytes(64 * KIB)
    status, headers, got, complete, _ = post(srv, "/appcgi2/cat", body)
    assert status == 200 and complete and got == body
    status, headers, got, complete, _ = post(srv, "/appcgi2/echo", b"z")
    assert status == 200 and complete and got == b"z"
    assert "http CGI_TERMINATED mode=2 stdout_events=1 stdin_done=1" in srv.stdout()


# ------------------------------------------------------------ event loops

@pytest.fixture(scope="module")
def evloop_bin(pkg_env, tmp_path_factory):
    from conftest import REPO, pkg_config, run
    exe = tmp_path_factory.mktemp("cgi-evloop-bin") / "evloop_server"
    run(["gcc", "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-g",
         str(REPO / "c-tests" / "evloop_server.c"), "-o", str(exe),
         *pkg_config(pkg_env, "--cflags", "--libs"), "-luv", "-lev", "-lpthread"],
        env=pkg_env)
    return exe


@pytest.mark.parametrize("loop", ["own", "poll", "uv", "uv-foreign", "ev", "ev-foreign"])
def test_cgi_on_every_event_loop(loop, evloop_bin, pkg_env, cgidir, tmp_path):
    from test_evloops import EvServer
    root = tmp_path / "www"
    root.mkdir()

    def make(work):
        return EvServer(evloop_bin, pkg_env, work, root, loop, ["--cgi", str(cgidir / "env")])

    with started_servers(tmp_path, "ev", make) as start:
        s = start()
        env = env_of(s, path="/cgi", query="?loop=" + loop)
        assert env["QUERY_STRING"] == f"loop={loop}" and env["SCRIPT_NAME"] == "/cgi"
        for size in (1, 64 * KIB, 1 * MIB):
            body = random.Random(size).randbytes(size)
            status, _, got, complete, _ = post(s, "/cgi", body)
            assert status == 200 and complete
            doc = json.loads(got)
            assert doc["body_len"] == size
            assert doc["body_sha"] == hashlib.sha256(body).hexdigest()
        s.assert_alive()
        assert no_zombies(s), ps_children(s)
