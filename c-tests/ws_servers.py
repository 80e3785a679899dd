"""Running c-tests/ws_server.c (the WebSocket echo server): a fixture that
starts it on a free port and always stops (only) the processes it started,
and a raw-socket WebSocket client for tests that must build or see the exact
frames on the wire (protocol violations, fragmentation, control frames)."""

import base64
import hashlib
import os
import socket
import struct

import pytest

from servers import Server, started_servers

IO_TIMEOUT = 5.0

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# RFC 6455 section 1.3's example key and its accept value
SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

# opcodes
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10


class WsServer(Server):
    """One ws_server process listening on 127.0.0.1:`port`."""

    def __init__(self, exe, env, workdir, args=(), cblog=False):
        super().__init__(exe, env, workdir, None, args, cblog)

    def ws(self, protocol="echo", timeout=IO_TIMEOUT, rcvbuf=None):
        """A RawWs that completed the handshake (asserting the 101)."""
        c = RawWs(self.connect(timeout, rcvbuf))
        try:
            status, headers = c.handshake(protocol)
            assert status == 101, headers
        except BaseException:
            c.close()
            raise
        return c

    def uri(self, path="/"):
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="session")
def ws_server_exe(build_c):
    return build_c("ws_server.c")


@pytest.fixture
def start_ws_server(ws_server_exe, pkg_env, tmp_path):
    """start_ws_server(*args, cblog=False) -> a running WsServer."""
    def make(work, *args, cblog=False):
        return WsServer(ws_server_exe, pkg_env, work, args, cblog)

    with started_servers(tmp_path, "ws_server", make) as start:
        yield start


# ------------------------------------------------------------ raw frames

def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_request(protocol="echo", key=SAMPLE_KEY, version="13", host="localhost",
                    path="/", extra=()):
    """A client upgrade request; None drops the header."""
    lines = [f"GET {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += ["Upgrade: websocket", "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if protocol is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def xor_mask(data, key):
    """RFC 6455 masking (its own inverse), fast for large payloads."""
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(op, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """One frame. mask=True picks a random key, bytes give the key, False or
    None sends it unmasked; `length` overrides the declared length."""
    b0 = (0x80 if fin else 0) | (rsv & 0x70) | (op & 0x0F)
    n = len(payload) if length is None else length
    if mask is True:
        mask = os.urandom(4)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if mask:
        return head + mask + xor_mask(payload, mask)
    return head + payload


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = (
            fin, rsv, opcode, masked, payload)

    @property
    def code(self):
        """The status code of a CLOSE (None without one)."""
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    def __repr__(self):
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return (f"Frame(fin={self.fin}, rsv={self.rsv:#x}, op={self.opcode}, "
                f"masked={self.masked}, len={len(self.payload)}, {p!r})")


class RawWs:
    """A hand-driven WebSocket client on a plain socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _more(self, size=1 << 20):
        data = self.sock.recv(size)
        if not data:
            raise EOFError(f"connection closed; unparsed: {bytes(self.buf[:200])!r}")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def handshake(self, protocol="echo", **kw):
        """Sends an upgrade request; returns (status, {lower name: value}).
        Also keeps the raw head in self.head."""
        self.sock.sendall(upgrade_request(protocol, **kw))
        return self.read_head()

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._more(4096)
        i = self.buf.index(b"\r\n\r\n") + 4
        self.head = bytes(self.buf[:i])
        del self.buf[:i]
        lines = self.head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, value = line.split(":", 1)
                assert name.lower() not in headers, f"duplicate header {name}"
                headers[name.strip().lower()] = value.strip()
        return status, headers

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, op, payload=b"", **kw):
        self.sock.sendall(frame(op, payload, **kw))

    def text(self, s):
        self.send(TEXT, s.encode() if isinstance(s, str) else s)

    def recv_frame(self):
        """The next frame; its header bytes are kept in self.last_header."""
        head = self._take(2)
        b0, b1 = head
        n = b1 & 0x7F
        if n == 126:
            ext = self._take(2)
            n = struct.unpack("!H", ext)[0]
            head += ext
        elif n == 127:
            ext = self._take(8)
            n = struct.unpack("!Q", ext)[0]
            head += ext
        key = self._take(4) if b1 & 0x80 else None
        self.last_header = head + (key or b"")
        payload = self._take(n)
        if key:
            payload = xor_mask(payload, key)
        return Frame(bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, key is not None, payload)

    def recv_message(self):
        """The next data message: (opcode, payload, frames), skipping nothing
        (a control frame here is an error)."""
        frames = []
        while True:
            f = self.recv_frame()
            assert f.opcode in (TEXT, BINARY, CONT), f"unexpected {f}"
            assert (f.opcode == CONT) == bool(frames), f"bad fragment order {frames + [f]}"
            frames.append(f)
            if f.fin:
                return frames[0].opcode, b"".join(x.payload for x in frames), frames

    def echo(self, payload=b"bystander", op=TEXT):
        """Sends one message and asserts it comes back as it went."""
        self.send(op, payload)
        got = self.recv_message()[:2]
        assert got == (op, payload)

    def until_close(self):
        """Frames up to and including the first CLOSE: (frames before, CLOSE)."""
        before = []
        while True:
            f = self.recv_frame()
            if f.opcode == CLOSE:
                return before, f
            before.append(f)

    def at_eof(self, timeout=3.0):
        """True if the peer ends the connection (EOF or reset) within
        `timeout` with nothing more to read; False on a timeout; an
        AssertionError if more bytes come."""
        if self.buf:
            raise AssertionError(f"unexpected data: {bytes(self.buf[:200])!r}")
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        assert data == b"", f"unexpected data: {data[:200]!r}"
        return True

    def silent(self, timeout=0.5):
        """True if nothing arrives (and the connection stays open) for `timeout`."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096, socket.MSG_PEEK)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(IO_TIMEOUT)
        return False
