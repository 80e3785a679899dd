"""Running c-tests/http_server.c: a fixture that starts it on a free port and
always stops (only) the processes it started, plus small raw-socket HTTP
helpers for tests that must see the exact bytes on the wire."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import time

import pytest

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class Server:
    """One test server process (http_server, or ws_server without a
    docroot) listening on 127.0.0.1:`port`."""

    def __init__(self, exe, env, workdir, docroot, args=(), cblog=False):
        self.name = exe.stem
        self.workdir = workdir
        self.docroot = docroot
        self.stdout_path = workdir / "stdout"
        self.stderr_path = workdir / "stderr"
        self.cblog_path = workdir / "callbacks.log" if cblog else None
        cmd = [str(exe), "-p", "0"]
        if docroot is not None:
            cmd += ["-d", str(docroot)]
        cmd += map(str, args)
        if cblog:
            cmd += ["-l", str(self.cblog_path)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd=str(workdir))
        self.port = self._wait_port()

    def _wait_port(self, timeout=START_TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(r"^port (\d+)$", self.stdout(), re.M)
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"{self.name} did not report its port\n"
                             f"stdout:\n{self.stdout()}\nstderr:\n{self.stderr()[-4000:]}")

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def callbacks(self):
        """The callback log as (reason, wsi-number) pairs."""
        text = self.cblog_path.read_text() if self.cblog_path.exists() else ""
        return [tuple(map(int, line.split())) for line in text.splitlines()
                if len(line.split()) == 2]

    def alive(self):
        return self.proc.poll() is None

    def assert_alive(self):
        assert self.alive(), (f"{self.name} died (exit {self.proc.returncode})\n"
                              f"stderr:\n{self.stderr()[-4000:]}")

    def rss_kib(self):
        """VmRSS of the server process in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM and a bounded wait; the exit code (None if it hung)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Stops the process this object started, whatever state it is in."""
        if self.proc.poll() is not None:
            return
        if self.terminate() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass

    def connect(self, timeout=5.0, rcvbuf=None):
        """A client socket; `rcvbuf` (set before connecting) keeps the
        server's output from fitting in the socket buffers."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(timeout)
            s.connect(("127.0.0.1", self.port))
        except BaseException:
            s.close()
            raise
        return s

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


def make_docroot(root):
    """The standard docroot: index.html, typed files, an empty and an 8 MiB
    random file, a subdirectory; a "secret" file beside (outside) it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_bytes(b"<html><body>index page</body></html>\n")
    (root / "page.html").write_bytes(b"<p>page</p>")
    (root / "style.css").write_bytes(b"body { color: red; }\n")
    (root / "notes.txt").write_bytes(b"some notes\n")
    (root / "pixel.png").write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"))
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "noext").write_bytes(b"no extension here")
    (root / "empty.txt").write_bytes(b"")
    (root / "a b.txt").write_bytes(b"space in name")
    (root / "big.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "inner.txt").write_bytes(b"inner file\n")
    (root.parent / "secret").write_bytes(b"TOP-SECRET-CONTENT outside the docroot\n")
    return root


@pytest.fixture(scope="session")
def http_server_exe(build_c):
    return build_c("http_server.c")


@pytest.fixture(scope="session")
def docroot(tmp_path_factory):
    return make_docroot(tmp_path_factory.mktemp("site") / "root")


@contextlib.contextmanager
def started_servers(tmp_path, prefix, make):
    """For fixtures: a start(*args, **kw) that runs make(workdir, *args, **kw)
    in a fresh folder per server; every server it started is stopped at the
    end."""
    started = []

    def start(*args, **kw):
        work = tmp_path / f"{prefix}{len(started)}"
        work.mkdir()
        srv = make(work, *args, **kw)
        started.append(srv)
        return srv

    try:
        yield start
    finally:
        for srv in started:
            srv.stop()


@pytest.fixture
def start_server(http_server_exe, pkg_env, docroot, tmp_path):
    """start_server(*args, cblog=False, root=docroot) -> a running Server."""
    def make(work, *args, cblog=False, root=None):
        return Server(http_server_exe, pkg_env, work, root or docroot, args, cblog)

    with started_servers(tmp_path, "server", make) as start:
        yield start


@pytest.fixture
def server(start_server):
    return start_server()


# ---------------------------------------------------------------- raw HTTP

class Reader:
    """Reads HTTP/1.x responses from a socket, keeping what follows."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(f"connection closed; unparsed: {self.buf[:200]!r}")
        self.buf += data

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def exactly(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        """(raw bytes, status code, {lowercase name: value}, body)."""
        head = self.head()
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = self.exactly(int(headers.get("content-length", "0")))
        return head + body, status, headers, body

    def rest_until_eof(self, limit=64 * 1024 * 1024):
        """Everything up to the peer's EOF (socket timeout bounds the wait)."""
        while len(self.buf) <= limit:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            self.buf += data
        out, self.buf = self.buf, b""
        return out


def closed_by_peer(sock, timeout=3.0):
    """True if the peer closes `sock` (EOF or reset) within `timeout` with
    nothing more to read; False on a timeout, AssertionError on data."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    assert data == b"", f"unexpected data: {data[:200]!r}"
    return True


def request(method, path, headers=(), body=b"", version="HTTP/1.1", host="localhost"):
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------- expected responses

# lws 2.0's phrases (not all the RFC's wording); other codes get none
STATUS_TEXT = {200: "OK", 301: "Redirect", 302: "Redirect", 304: "Not Modified",
               400: "Bad Request", 403: "Forbidden", 404: "Not Found",
               407: "Proxy Auth Required", 414: "Request URI too Long",
               417: "Expectation Failed", 418: "", 451: "", 500: "Internal Server Error",
               505: "HTTP Version Not Supported", 506: "", 599: "", 100: "", 201: ""}


def status_line(code, version="HTTP/1.1"):
    return f"{version} {code} {STATUS_TEXT[code]}\r\nserver: libwebsockets\r\n".encode()


def text_response(body, ctype="text/plain", version="HTTP/1.1"):
    """What send_text() in http_server.c writes."""
    return (status_line(200, version)
            + f"content-type: {ctype}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body)


def file_response(body, ctype, keepalive=True, version="HTTP/1.1"):
    """What lws_serve_http_file writes (no `other` headers)."""
    head = (status_line(200, version)
            + f"content-type: {ctype}\r\ncontent-length: {len(body)}\r\n"
              f"cache-control: no-store\r\n".encode())
    if keepalive:
        head += b"connection: keep-alive\r\n"
    return head + b"\r\n" + body


def status_page(code, html=b"", version="HTTP/1.1"):
    """What lws_return_http_status writes."""
    body = f"<html><body><h1>{code}</h1>".encode() + html + b"</body></html>"
    return (status_line(code, version)
            + f"content-type: text/html\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body)
