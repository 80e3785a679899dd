"""lws 2.0's own test programs, as written: classic_server.c (test-server:
HTTP files, dumb-increment, lws-mirror, handlers that dereference their
per-session data unchecked), classic_client.c (test-client: protocols
named by comma lists, HTTP reads in 1 KiB pieces) and classic_echo.c
(test-echo's server, whose length field holds -1 between messages).

* connections closed before, during and after the request line, junk and a
  Chromium page load never give a handler a NULL or foreign `user`;
* test-client against test-server, plain and TLS, and against Python
  `websockets` servers choosing each item of the list or echoing it whole;
* the HTTP client gets a small file whose body arrives with the head at
  once (not when the server closes the idle connection);
* test-echo's lws_write of (size_t)(unsigned int)-1 closes only that
  connection;
* a burst of PINGs gets one PONG each, in order.
"""

import asyncio
import socket
import subprocess
import threading
import time

import pytest
import websockets

from client_peers import PyWsServer
from conftest import run
from servers import Server, started_servers
from test_demo import Cdp, chromium  # noqa: F401 - the fixture
from test_forms import forms_server_exe, start_forms  # noqa: F401 - fixtures
from ws_servers import CLOSE, PING, PONG, TEXT, RawWs, frame

DUMB = "dumb-increment-protocol,fake-nonexistant-protocol"
MIRROR = "fake-nonexistant-protocol,lws-mirror-protocol"

TEST_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>test</title></head>
<body><h1>lws test</h1><div id="number">-</div><div id="mirror">0</div>
<script>
var loc = "ws://" + location.host + "/";
var dumb = new WebSocket(loc, "dumb-increment-protocol");
dumb.onmessage = function (m) { document.getElementById("number").textContent = m.data; };
var mirror = new WebSocket(loc, "lws-mirror-protocol");
var got = 0;
mirror.onopen = function () {
  for (var i = 0; i < 20; i++) mirror.send("c #7f7f7f " + i + " 10 5;");
};
mirror.onmessage = function () { document.getElementById("mirror").textContent = ++got; };
</script>
<p>%s</p>
</body></html>
"""


@pytest.fixture(scope="module")
def classic_exes(build_c):
    return build_c("classic_server.c"), build_c("classic_client.c"), build_c("classic_echo.c")


@pytest.fixture(scope="module")
def classic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("classic") / "root"
    root.mkdir()
    # a little over 3 KiB: the client reads it in four 1 KiB pieces
    (root / "test.html").write_text(TEST_HTML % ("filler " * 400))
    (root / "small.txt").write_text("small file\n")
    return root


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("classic-pki")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        timeout=60)
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def start_classic(classic_exes, classic_root, pkg_env, tmp_path):
    def make(work, *args):
        return Server(classic_exes[0], pkg_env, work, classic_root, args)

    with started_servers(tmp_path, "classic", make) as start:
        yield start


def classic_client(classic_exes, pkg_env, *args, timeout=30):
    return subprocess.run([str(classic_exes[1]), *map(str, args)], env=pkg_env,
                          capture_output=True, text=True, timeout=timeout)


def assert_healthy(srv):
    srv.assert_alive()
    assert "BAD PSS" not in srv.stderr(), srv.stderr()
    s = srv.connect()
    try:
        s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b"small file\n"):
            chunk = s.recv(4096)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data
    finally:
        s.close()


# ------------------------------------------------ early closes and junk

EARLY = [
    b"",                                   # connect, close
    b"GE",                                 # inside the method
    b"GET /tes",                           # inside the request line
    b"GET /test.html HTTP/1.1\r\n",        # a line, no headers
    b"GET /test.html HTTP/1.1\r\nHost: x\r\nUser-Ag",  # inside a header
    b"not a GET\r\n\r\n",                  # attack.sh's junk
    b"\x16\x03\x01\x00\xa5\x01\x00\x00",   # a TLS hello on a plain port
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",  # inside a body
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # whole request, gone before the answer
]


@pytest.mark.parametrize("how", ["close", "reset"])
def test_connections_closed_early_never_see_a_bad_pss(start_classic, how):
    srv = start_classic()
    for sent in EARLY * 3:
        s = srv.connect()
        if sent:
            s.sendall(sent)
        if how == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    # a keep-alive connection closed after a whole transaction: DROP gets
    # the connection's pss
    s = srv.connect()
    s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    s.close()
    time.sleep(0.3)
    assert_healthy(srv)


def test_posts_and_writeable_streams_keep_their_pss(start_classic):
    srv = start_classic()
    s = srv.connect()
    try:
        body = b"a=1&b=2"
        s.sendall(b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 200"), data
        s.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while len(data) < 64 * 1024:
            chunk = s.recv(65536)
            assert chunk
            data += chunk
    finally:
        s.close()
    assert_healthy(srv)


def test_page_load_in_headless_chromium(start_classic, chromium):  # noqa: F811
    srv = start_classic()

    async def main():
        async with websockets.connect(chromium, max_size=None, max_queue=None) as ws:
            cdp = Cdp(ws)
            page = await cdp.open(f"http://127.0.0.1:{srv.port}/")
            await page.wait("Number(document.getElementById('number').textContent) > 10",
                            "dumb-increment numbers")
            await page.wait("Number(document.getElementById('mirror').textContent) == 20",
                            "mirrored circles")
            await page.eval("location.reload()")
            await page.wait("Number(document.getElementById('number').textContent) > 5",
                            "numbers after a reload")

    asyncio.run(asyncio.wait_for(main(), 60))
    assert_healthy(srv)


# ---------------------------------------------- test-client protocols

@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_classic_client_against_classic_server(start_classic, classic_exes, pkg_env, cert,
                                               tls):
    srv = start_classic(*(["-c", cert[0], "-k", cert[1]] if tls else []))
    r = classic_client(classic_exes, pkg_env, *(["-s"] if tls else []), "-n", "200",
                       "127.0.0.1", srv.port)
    assert r.returncode == 0, (r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert f"dumb established {DUMB}" in lines
    assert f"mirror established {MIRROR}" in lines
    assert "circles 200" in lines
    assert "connection error" not in r.stdout
    assert_healthy(srv) if not tls else srv.assert_alive()


async def py_classic(ws, results):
    """dumb-increment numbers on a connection that offered it, else an echo."""
    offered = ws.request.headers.get("Sec-WebSocket-Protocol", "")
    results.append((offered, ws.subprotocol))
    if "dumb-increment-protocol" in offered:
        n = 0
        while True:
            await ws.send(str(n))
            n += 1
            await asyncio.sleep(0.005)
    else:
        async for msg in ws:
            await ws.send(msg)


@pytest.mark.parametrize("choice", ["first", "second", "whole"])
def test_classic_client_against_websockets(classic_exes, pkg_env, choice):
    def select(_conn, offered):
        if choice == "whole":   # an lws 2.0 server echoes the whole header
            return ",".join(offered)
        return offered[0 if choice == "first" else 1]

    with PyWsServer(py_classic, select_subprotocol=select) as srv:
        r = classic_client(classic_exes, pkg_env, "-n", "50", "127.0.0.1", srv.port)
        assert r.returncode == 0, (r.stdout, r.stderr, srv.errors)
        assert f"dumb established {DUMB}" in r.stdout.splitlines()
        assert f"mirror established {MIRROR}" in r.stdout.splitlines()
        assert "circles 50" in r.stdout.splitlines()
        chosen = {subprotocol for _, subprotocol in srv.results}
        if choice == "whole":
            assert chosen == {DUMB, MIRROR}
        else:
            i = 0 if choice == "first" else 1
            assert chosen == {DUMB.split(",")[i], MIRROR.split(",")[i]}


def test_reply_naming_an_unrequested_protocol_fails(classic_exes, pkg_env):
    with PyWsServer(py_classic, select_subprotocol=lambda _c, _o: "something-else") as srv:
        r = classic_client(classic_exes, pkg_env, "-n", "5", "-w", "5", "127.0.0.1", srv.port)
    assert r.returncode != 0
    assert "connection error: HS: Cannot match protocol" in r.stdout


# ----------------------------------------------------- HTTP client

@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("path", ["/small.txt", "/", "/stream"])
def test_http_client_body_with_the_head_arrives_at_once(start_classic, classic_exes, pkg_env,
                                                        classic_root, cert, tls, path):
    srv = start_classic(*(["-c", cert[0], "-k", cert[1]] if tls else []))
    if path == "/stream":   # 64 KiB from HTTP_WRITEABLE, in TLS records of 4 KiB
        expected = "".join(chr(ord("a") + i) * 4096 for i in range(16))
    else:
        expected = (classic_root / ("test.html" if path == "/" else path[1:])).read_text()
    started = time.monotonic()
    r = classic_client(classic_exes, pkg_env, *(["-s"] if tls else []), "-g", path,
                       "127.0.0.1", srv.port)
    elapsed = time.monotonic() - started
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "established http" in r.stdout
    assert expected in r.stdout
    done = [line for line in r.stdout.splitlines() if line.startswith("completed ")]
    assert done, r.stdout
    nbytes, ms = map(int, done[0].split()[1:])
    assert nbytes == len(expected.encode())
    # the server keeps the connection open for 5 s: nothing may wait for it
    assert ms < 100, r.stdout
    assert elapsed < 3, elapsed


def test_http_client_posts_a_form_to_an_lws_spa_server(start_forms, classic_exes, pkg_env):
    """test-client's POST against test-server's form handling (lws_spa_*,
    forms_server.c): the body goes out on CLIENT_HTTP_WRITEABLE, the values
    come back decoded."""
    srv = start_forms()
    r = classic_client(classic_exes, pkg_env, "-P", "/form", "text=hello+world%21&send=Send",
                       "127.0.0.1", srv.port)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.stderr())
    assert "finalize=0" in r.stdout
    assert "text len=12 value=hello world!" in r.stdout
    assert "send len=4 value=Send" in r.stdout
    srv.assert_alive()


def test_http_client_post(start_classic, classic_exes, pkg_env):
    srv = start_classic()
    r = classic_client(classic_exes, pkg_env, "-P", "/form", "text=hello&send=Send",
                       "127.0.0.1", srv.port)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "established http" in r.stdout
    assert "posted" in r.stdout
    assert_healthy(srv)


# ------------------------------------------- test-echo's length mistake

def test_echo_write_of_minus_one_costs_only_that_connection(classic_exes, pkg_env, tmp_path):
    """test-echo sets its length field to -1 after each echo; the WRITEABLE
    that follows our automatic PONG (unrequested, as the original's) makes
    it call lws_write(wsi, buf, (size_t)(unsigned int)-1, ...): -1, that
    connection closes, the other one and the process carry on."""
    work = tmp_path / "echo"
    work.mkdir()
    srv = Server(classic_exes[2], pkg_env, work, None)
    try:
        async def main():
            url = f"ws://127.0.0.1:{srv.port}/"
            async with websockets.connect(url) as a, websockets.connect(url) as b:
                for ws, text in ((a, "from a"), (b, "from b")):
                    await ws.send(text)
                    assert await asyncio.wait_for(ws.recv(), 5) == text
                await a.ping(b"are you there")
                with pytest.raises(websockets.ConnectionClosed):
                    while True:     # the PONG may arrive first
                        await asyncio.wait_for(a.recv(), 5)
                for i in range(20):
                    await b.send(f"b {i}")
                    assert await asyncio.wait_for(b.recv(), 5) == f"b {i}"

        asyncio.run(asyncio.wait_for(main(), 30))
        assert "write failed" in srv.stdout()
        assert "impossible length" in srv.stderr()
        srv.assert_alive()
    finally:
        srv.stop()


# ------------------------------------------------------------ pings

def test_ping_burst_gets_a_pong_each_in_order(start_classic):
    srv = start_classic()
    c = RawWs(srv.connect())
    try:
        status, headers = c.handshake("dumb-increment-protocol")
        assert status == 101, headers
        c.send_raw(b"".join(frame(PING, b"ping %d" % i, mask=True) for i in range(10)))
        pongs = []
        end = time.monotonic() + 5
        while len(pongs) < 10 and time.monotonic() < end:
            f = c.recv_frame()
            if f.opcode == PONG:
                pongs.append(f.payload)
            else:
                assert f.opcode == TEXT
        assert pongs == [b"ping %d" % i for i in range(10)]
    finally:
        c.close()
    srv.assert_alive()


def test_ping_flood_beyond_the_pong_queue_closes_with_1008(start_classic):
    """A peer that sends PINGs and does not read the PONGs: once the socket
    takes no more and the queue holds 4 KiB of answers, CLOSE 1008. Every
    PONG before it answers its PING, in order."""
    srv = start_classic()
    c = RawWs(srv.connect(timeout=20, rcvbuf=4096))
    try:
        status, headers = c.handshake("lws-mirror-protocol")
        assert status == 101, headers
        n = 60000   # 7.6 MB of PONGs: more than any socket buffers hold
        burst = b"".join(frame(PING, b"%06d" % i + b"x" * 119, mask=True) for i in range(n))

        def flood():
            try:
                c.sock.sendall(burst)
            except OSError:
                pass    # the server closed while we were still sending

        sender = threading.Thread(target=flood, daemon=True)
        sender.start()
        time.sleep(1)   # not reading: the server's output fills up
        expected, close_code = 0, None
        while close_code is None:
            f = c.recv_frame()
            if f.opcode == CLOSE:
                close_code = f.code
            else:
                assert (f.opcode, f.payload[:6]) == (PONG, b"%06d" % expected)
                expected += 1
        assert close_code == 1008
        assert expected < n
        sender.join(20)
    finally:
        c.close()
    assert_healthy(srv)
