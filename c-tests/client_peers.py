"""Servers for the client tests (test_client.py), all in threads of the test
process, all bounded in time and stopped by the object that started them:

* PyWsServer - Python `websockets` (asyncio API) in a thread with its own
  event loop, running an async handler per connection;
* HttpServer - http.server with a handler class of ours (routes below);
* RawServer  - a plain listening socket whose accepted connections run a
  Python function, for handshake replies and frames built by hand.
"""

import asyncio
import http.server
import random
import socket
import threading
import time

import websockets

from ws_servers import accept_for

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 5.0


def pattern(n, seed=0):
    """n deterministic pseudo-random bytes."""
    return random.Random(seed).randbytes(n)


# ----------------------------------------------------------- websockets

class PyWsServer:
    """websockets.serve(handler, "127.0.0.1", 0, subprotocols=["echo"],
    max_size=None) on its own loop in a thread. `results` collects what
    handlers append; exceptions escaping a handler land in `errors`."""

    def __init__(self, handler, **kw):
        self.handler = handler
        self.kw = kw
        self.results = []
        self.errors = []
        self.port = None
        self._loop = None
        self._stop = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self.port is None:
            self.stop()
            raise AssertionError(f"websockets server did not start: {self.errors}")

    async def _wrapped(self, ws):
        try:
            await asyncio.wait_for(self.handler(ws, self.results), 30)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))

    async def _main(self):
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        kw = dict(subprotocols=["echo"], max_size=None, close_timeout=3)
        kw.update(self.kw)
        async with websockets.serve(self._wrapped, "127.0.0.1", 0, **kw) as server:
            self.port = list(server.sockets)[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _run(self):
        try:
            asyncio.run(self._main())
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))
        finally:
            self._ready.set()

    def wait_results(self, n, timeout=5.0):
        end = time.monotonic() + timeout
        while len(self.results) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.results

    def stop(self):
        if self._loop is not None and self._stop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # loop already closed
                pass
        self._thread.join(STOP_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ----------------------------------------------------------------- HTTP

CHUNKS = [1, 10, 0x100, 4095, 4096, 4097, 20000, 3]


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes:
    GET  /cl/N           200, Content-Length, N pattern bytes (seed N)
    GET  /chunked        200, chunked by hand: CHUNKS pattern bytes (seed 1),
                         hex case varying, some pieces split and delayed
    GET  /chunked-ext    chunked with chunk extensions and a trailer
    GET  /eof/N          HTTP/1.0 200 without length: N bytes then close
    GET  /404            404 with a small body
    GET  /short          Content-Length 1000, only 10 bytes, then close
    GET  /badchunk       chunked with a size line that is not hex
    POST|PUT /echo       200 echoing the request body (Content-Length)
    GET  /hop/K          K > 0: 302 to /hop/K-1 (a path); K = 0: as /cl/100
    GET  /to/PORT/REST   301 to http://127.0.0.1:PORT/REST (a URL)
    GET  /ws-to/PORT     307 to ws://127.0.0.1:PORT/ (for a ws client)
    GET  /bad-redirect   302 to ftp://127.0.0.1/x (a scheme no client follows)
    GET  /no-location    302 without a Location
    """
    protocol_version = "HTTP/1.1"
    timeout = IO_TIMEOUT

    def log_message(self, *args):
        pass

    def _record(self, body=b""):
        self.server.requests.append({
            "method": self.command, "path": self.path,
            "version": self.request_version,
            "headers": [(k.lower(), v) for k, v in self.headers.items()],
            "body": body})

    def _send(self, status, body, ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status, location):
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self._record()
        path = self.path
        if path.startswith("/hop/"):
            k = int(path[5:])
            if k:
                self._redirect(302, f"/hop/{k - 1}")
            else:
                self._send(200, pattern(100, 100))
        elif path.startswith("/to/"):
            port, rest = path[4:].split("/", 1)
            self._redirect(301, f"http://127.0.0.1:{port}/{rest}")
        elif path.startswith("/ws-to/"):
            self._redirect(307, f"ws://127.0.0.1:{path[7:]}/")
        elif path == "/bad-redirect":
            self._redirect(302, "ftp://127.0.0.1/x")
        elif path == "/no-location":
            self._send(302, b"moved, but where?")
        elif path.startswith("/cl/"):
            n = int(path[4:])
            self._send(200, pattern(n, n))
        elif path == "/chunked":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
            data = pattern(sum(CHUNKS), 1)
            pos = 0
            for i, n in enumerate(CHUNKS):
                size = (f"{n:x}" if i % 2 else f"{n:X}").encode()
                piece = size + b"\r\n" + data[pos:pos + n] + b"\r\n"
                pos += n
                if i % 3 == 0:
                    # split inside the size line and inside the data
                    for part in (piece[:1], piece[1:len(size) + 3], piece[len(size) + 3:]):
                        self.wfile.write(part)
                        time.sleep(0.01)
                else:
                    self.wfile.write(piece)
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/chunked-ext":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5;name=value\r\nhello\r\n"
                             b"7 ; x=\"y\"\r\n, world\r\n"
                             b"0\r\nX-Trailer: t\r\n\r\n")
        elif path.startswith("/eof/"):
            n = int(path[5:])
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            self.wfile.write(pattern(n, n))
            self.close_connection = True
        elif path == "/short":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            self.close_connection = True
        elif path == "/badchunk":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"zz\r\nhello\r\n0\r\n\r\n")
            self.close_connection = True
        elif path == "/404":
            self._send(404, b"<html>not here</html>", "text/html")
        else:
            self._send(500, b"unknown route")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        self._record(body)
        if self.path == "/echo":
            self._send(200, body)
        else:
            self._send(500, b"unknown route")

    do_PUT = do_POST


class HttpServer:
    """ThreadingHTTPServer with _Handler on 127.0.0.1, serving in a thread.
    `requests` records each request (method, path, headers, body)."""

    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.requests = []
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def requests(self):
        return self.httpd.requests

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(STOP_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ------------------------------------------------------------ raw socket

def read_request(sock, timeout=IO_TIMEOUT):
    """Reads a request head: (head bytes, {lower name: value}, bytes after)."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(4096)
        if not data:
            raise EOFError(f"request head incomplete: {buf!r}")
        buf += data
    i = buf.index(b"\r\n\r\n") + 4
    head, rest = buf[:i], buf[i:]
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        if line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return head, headers, rest


def reply_101(key, protocol="echo", accept=None, upgrade="websocket", connection="Upgrade",
              extra=()):
    """A 101 reply; None drops a header."""
    lines = ["HTTP/1.1 101 Switching Protocols"]
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    lines.append(f"Sec-WebSocket-Accept: {accept if accept is not None else accept_for(key)}")
    if protocol is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class RawServer:
    """Listens on 127.0.0.1:port; each accepted connection runs
    behaviour(sock, server) in a thread (exceptions go to `errors`, return
    values to `results`), then is closed. `accept=False` listens without
    ever accepting."""

    def __init__(self, behaviour=None, accept=True):
        self.behaviour = behaviour
        self.results = []
        self.errors = []
        self.socks = []
        self._threads = []
        self._stopping = threading.Event()
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.lsock.settimeout(0.05)
        self.port = self.lsock.getsockname()[1]
        self._acceptor = None
        if accept:
            self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
            self._acceptor.start()

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                s, _ = self.lsock.accept()
            except (socket.timeout, OSError):
                continue
            self.socks.append(s)
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, s):
        try:
            s.settimeout(IO_TIMEOUT)
            r = self.behaviour(s, self) if self.behaviour else None
            self.results.append(r)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))
        finally:
            s.close()  # as a server does once it is done with a connection

    def wait_results(self, n, timeout=5.0):
        end = time.monotonic() + timeout
        while len(self.results) + len(self.errors) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.results

    def stop(self):
        self._stopping.set()
        if self._acceptor:
            self._acceptor.join(STOP_TIMEOUT)
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes a behaviour blocked in recv
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(STOP_TIMEOUT)
        self.lsock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
