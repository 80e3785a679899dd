"""Mounts (CONTRACT §9) through c-tests/mounts_server.c (see its header
comment): file mounts with default documents, cache-control, extra
mimetypes and interpret; CALLBACK mounts with their protocol's own
per-session data, BIND/DROP, HTTP_PMO and forms through lws_spa_*; redirect
mounts; mountpoint edge cases. curl and raw sockets as clients."""

import hashlib
import os
import re
import signal
import socket
import subprocess
import time

import pytest


class Server:
    def __init__(self, exe, env, docroot, tmp):
        self.out = tmp / "stdout"
        with open(self.out, "wb") as o, open(tmp / "stderr", "wb") as e:
            self.proc = subprocess.Popen([str(exe), "-d", str(docroot)], stdout=o, stderr=e,
                                         stdin=subprocess.DEVNULL, env=env)
        self.port = None
        end = time.monotonic() + 10
        while time.monotonic() < end and self.port is None:
            m = re.search(r"^port (\d+)$", self.out.read_text(), re.M)
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.02)
        assert self.port, (tmp / "stderr").read_text()
        self.url = f"http://127.0.0.1:{self.port}"

    def events(self):
        return [l for l in self.out.read_text().splitlines() if not l.startswith("port ")]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def docroot(tmp_path):
    root = tmp_path / "www"
    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<html>root index</html>\n")
    (docs / "start.html").write_text("<html>start</html>\n")
    (docs / "index.html").write_text("<html>docs index</html>\n")
    (docs / "sub" / "index.html").write_text("<html>sub index</html>\n")
    (docs / "readme.md").write_text("# readme\n")
    (docs / "blob.bin").write_bytes(bytes(range(256)))
    (docs / "data.weird").write_text("weird\n")
    (docs / "page.shtml").write_text("hello <b>world</b>\n" * 1000)
    (docs / "empty.shtml").write_text("")
    (docs / "plain.txt").write_text("plain text\n")
    return root


@pytest.fixture
def server(build_c, pkg_env, docroot, tmp_path):
    exe = build_c("mounts_server.c")
    s = Server(exe, pkg_env, docroot, tmp_path)
    yield s
    s.stop()


def curl(*args):
    r = subprocess.run(["curl", "-s", "--max-time", "10", "-i", *args], capture_output=True,
                       timeout=20, check=True)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body


def header(head, name):
    vals = [h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith(name + ":")]
    return vals[0] if len(vals) == 1 else (vals or None)


def raw(port, request, wait=1.0):
    """Sends `request` and reads until the server closes or `wait` passes quietly."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        s.settimeout(wait)
        out = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except socket.timeout:
            pass
    return out


# ---- file mounts ----

def test_default_document_and_directories(server):
    for path, body in [("/docs/", "<html>start</html>\n"), ("/", "<html>root index</html>\n"),
                       ("/docs/sub", "<html>sub index</html>\n"),
                       ("/docs/sub/", "<html>sub index</html>\n"),
                       ("/index.html", "<html>root index</html>\n")]:
        head, b = curl(server.url + path)
        assert head[0] == "HTTP/1.1 200 OK", path
        assert b.decode() == body, path
        assert header(head, "content-type") == "text/html"


def test_mountpoint_without_slash_redirects(server):
    head, body = curl(server.url + "/docs")
    assert head[0] == "HTTP/1.1 301 Redirect"
    assert header(head, "location") == f"http://127.0.0.1:{server.port}/docs/"
    assert header(head, "content-length") == "0" and body == b""
    # a mountpoint written with a trailing '/' mounts the directory
    head, body = curl(server.url + "/pub")
    assert header(head, "location") == f"http://127.0.0.1:{server.port}/pub/"
    head, body = curl(server.url + "/pub/")
    assert head[0] == "HTTP/1.1 200 OK" and body == b"<html>docs index</html>\n"
    head, body = curl(server.url + "/pub/plain.txt")
    assert body == b"plain text\n"


def test_mountpoint_prefix_is_not_a_match(server):
    # "/docsx" is not inside "/docs": the "/" mount serves it (no such file,
    # so p[0]'s HTTP gets the full URI)
    head, body = curl(server.url + "/docsx/start.html")
    assert body == b"http uri=/docsx/start.html\n"
    assert server.events()[-1] == "http HTTP /docsx/start.html"


def test_cache_control_settings(server):
    head, _ = curl(server.url + "/docs/start.html")
    assert header(head, "cache-control") == "private, max-age=60"
    head, _ = curl(server.url + "/pub/plain.txt")
    assert header(head, "cache-control") == "public, max-age=30"
    head, _ = curl(server.url + "/nocache/plain.txt")
    assert header(head, "cache-control") == "no-cache"
    head, _ = curl(server.url + "/index.html")
    assert header(head, "cache-control") == "no-store"


def test_etag_and_conditional_get(server):
    head, _ = curl(server.url + "/docs/plain.txt")
    etag = header(head, "etag")
    assert re.fullmatch(r'"[0-9A-F]{16}"', etag)
    for inm in [etag, etag.strip('"'), f'"nope", W/{etag}', "*"]:
        head, body = curl("-H", f"If-None-Match: {inm}", server.url + "/docs/plain.txt")
        assert head[0] == "HTTP/1.1 304 Not Modified", inm
        assert header(head, "etag") == etag and body == b""
    head, body = curl("-H", 'If-None-Match: "0000000000000000"', server.url + "/docs/plain.txt")
    assert head[0] == "HTTP/1.1 200 OK" and body == b"plain text\n"


def test_extra_mimetypes(server):
    head, body = curl(server.url + "/docs/readme.md")
    assert header(head, "content-type") == "text/markdown" and body == b"# readme\n"
    head, body = curl(server.url + "/docs/blob.bin")
    assert header(head, "content-type") == "application/x-bin" and body == bytes(range(256))
    # built-ins still win
    head, _ = curl(server.url + "/docs/plain.txt")
    assert header(head, "content-type") == "text/plain"
    # unknown suffix: no mimetype, so the HTTP callback answers
    head, body = curl(server.url + "/docs/data.weird")
    assert body == b"http uri=/docs/data.weird\n"
    # "*" matches anything
    head, body = curl(server.url + "/any/data.weird")
    assert header(head, "content-type") == "application/x-any" and body == b"weird\n"


def test_interpret_goes_chunked_through_process_html(server, docroot):
    src = (docroot / "docs" / "page.shtml").read_bytes()
    head, body = curl("--raw", server.url + "/interp/page.shtml")
    assert head[0] == "HTTP/1.1 200 OK"
    assert header(head, "transfer-encoding") == "chunked"
    assert header(head, "content-length") is None
    # de-chunk by hand
    out, rest = b"", body
    while True:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            assert rest == b"\r\n"
            break
        out += rest[:n]
        assert rest[n:n + 2] == b"\r\n"
        rest = rest[n + 2:]
    assert out == src.upper() + b"<!--x--"
    ev = server.events()
    assert "filter BIND" in ev
    pieces = [e for e in ev if e.startswith("filter PROCESS_HTML")]
    assert pieces and pieces[-1].endswith("final=1 room=1")
    assert all(p.endswith("room=1") for p in pieces)
    # curl itself de-chunks; other suffixes are served as they are
    _, body = curl(server.url + "/interp/page.shtml")
    assert body == src.upper() + b"<!--x--"
    head, body = curl(server.url + "/interp/plain.txt")
    assert header(head, "content-length") == "11" and body == b"plain text\n"


def test_interpret_empty_file_and_keepalive(server):
    req = b"GET /interp/empty.shtml HTTP/1.1\r\nHost: x\r\n\r\nGET /interp/plain.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    out = raw(server.port, req)
    first, _, rest = out.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in first
    assert rest.startswith(b"0\r\n\r\nHTTP/1.1 200 OK")
    assert rest.endswith(b"plain text\n")


def test_interpret_http10_ends_with_close(server, docroot):
    out = raw(server.port, b"GET /interp/page.shtml HTTP/1.0\r\n\r\n", wait=3)
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head and b"content-length" not in head
    assert body == (docroot / "docs" / "page.shtml").read_bytes().upper() + b"<!--x--"


def test_file_mount_protocol_adds_headers(server):
    head, body = curl(server.url + "/hdrs/plain.txt")
    assert header(head, "x-hdrs") == "1" and body == b"plain text\n"
    head, body = curl(server.url + "/hdrs/missing.txt")
    assert body == b"hdrs fallback\n"
    assert "hdrs HTTP /missing.txt" in server.events()


def test_dotdot_stays_inside(server):
    for path in [b"/docs/../../../etc/passwd", b"/docs/%2e%2e/%2e%2e/etc/passwd",
                 b"/docs/sub/../../../../etc/hostname"]:
        out = raw(server.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"root:" not in out, path
        assert out.startswith(b"HTTP/1.1 "), path
    out = raw(server.port, b"GET /docs/sub/../plain.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.endswith(b"\r\n\r\nplain text\n")


def test_non_get_to_file_mount_reaches_p0(server):
    head, body = curl("-X", "PUT", "-d", "x=1", server.url + "/docs/plain.txt")
    assert body == b"http uri=/docs/plain.txt\n"


# ---- redirect mounts ----

def test_redirect_mounts(server):
    for path, loc in [("/go", "http://example.com/target"), ("/go/", "http://example.com/target"),
                      ("/go/deeper/x.html", "http://example.com/target"),
                      ("/gos", "https://example.org/secure/"), ("/gos/a", "https://example.org/secure/")]:
        head, body = curl(server.url + path)
        assert head[0] == "HTTP/1.1 301 Redirect", path
        assert header(head, "location") == loc, path
        assert header(head, "content-length") == "0" and body == b""


def test_redirect_without_host_closes(server):
    out = raw(server.port, b"GET /docs HTTP/1.0\r\n\r\n")
    assert out == b""


# ---- callback mounts ----

def test_callback_mount_get(server):
    head, body = curl(server.url + "/form/some/thing?x=1")
    assert body == b"form uri=/form/some/thing\n"
    head, body = curl(server.url + "/formp")
    assert body == b"form uri=/formp\n"
    # the last DROP comes when curl's connection closes: it may lag
    end = time.monotonic() + 5
    while len(ev := server.events()) < 8 and time.monotonic() < end:
        time.sleep(0.02)
    assert ev[:4] == ["form BIND zeroed=1", "form PMO FOO=bar", "form PMO BAZ=qux",
                      "form HTTP /form/some/thing"]
    assert ev[4] == "form DROP intact=1"
    assert ev[5:] == ["form BIND zeroed=1", "form HTTP /formp", "form DROP intact=1"]


def test_callback_mount_urlencoded_post(server):
    head, body = curl("-d", "text=hello+world%21&other=x", server.url + "/form/submit")
    assert head[0] == "HTTP/1.1 200 OK"
    assert body == (b"form uri=/submit finalize=0 text=hello world! upload= len=0 "
                    b"fnv=0000000000000000 magic=1\n")
    ev = server.events()
    assert ev == ["form BIND zeroed=1", "form PMO FOO=bar", "form PMO BAZ=qux", "form HTTP /submit",
                  "form BODY_COMPLETION", "form DROP intact=1"]


def test_callback_mount_multipart_upload(server, tmp_path):
    data = os.urandom(300_000)
    f = tmp_path / "up.dat"
    f.write_bytes(data)
    fnv = 0xcbf29ce484222325
    for b in data:
        fnv = ((fnv ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    head, body = curl("-F", "text=multi", "-F", f"upload=@{f}", server.url + "/formp/up")
    assert body == (f"form uri=/up finalize=0 text=multi upload=up.dat len={len(data)} "
                    f"fnv={fnv:016x} magic=1\n").encode()
    ev = server.events()
    assert ev[0] == "form BIND zeroed=1" and ev[1] == "form HTTP /up"
    assert ev[-2:] == ["form BODY_COMPLETION", "form DROP intact=1"]
    assert not any("PMO" in e for e in ev)


def test_callback_mount_keepalive_rebinds_fresh_pss(server):
    req = (b"POST /form/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: 6\r\n\r\ntext=1"
           b"GET /docs/plain.txt HTTP/1.1\r\nHost: x\r\n\r\n"
           b"POST /formp/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: 6\r\n\r\ntext=2")
    out = raw(server.port, req)
    assert out.count(b"HTTP/1.1 200 OK") == 3
    assert b"form uri=/a finalize=0 text=1 " in out and b"form uri=/b finalize=0 text=2 " in out
    assert b"plain text\n" in out
    ev = [e for e in server.events() if e.startswith("form ")]
    assert ev == ["form BIND zeroed=1", "form PMO FOO=bar", "form PMO BAZ=qux", "form HTTP /a",
                  "form BODY_COMPLETION", "form DROP intact=1",
                  "form BIND zeroed=1", "form HTTP /b", "form BODY_COMPLETION", "form DROP intact=1"]


def test_big_file_through_mount(server, docroot):
    data = os.urandom(2 * 1024 * 1024)
    (docroot / "docs" / "big.bin").write_bytes(data)
    _, body = curl(server.url + "/docs/big.bin")
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
