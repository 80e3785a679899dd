"""Name-based virtual hosting (CONTRACT section 9: listeners shared by vhosts
on the same port, Host picks the vhost; section 8: SNI picks its
certificate) through c-tests/vhosts_server.c: vhosts "localhost",
"example.com" and "wrong.example" on one port, each answering with its
name."""

import base64
import os
import socket
import ssl

import pytest

from servers import Reader, Server, started_servers
from test_tls import pki, s_client  # noqa: F401


@pytest.fixture(scope="session")
def vhosts_exe(build_c):
    return build_c("vhosts_server.c")


@pytest.fixture
def start_vhosts(vhosts_exe, pkg_env, tmp_path):
    def make(work, *args):
        return Server(vhosts_exe, pkg_env, work, None, args)

    with started_servers(tmp_path, "vhosts", make) as start:
        yield start


def get(sock, host, reader, path="/"):
    """One keep-alive GET with the given Host (None: an HTTP/1.0 request
    without one); the body."""
    if host is None:
        sock.sendall(f"GET {path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".encode())
    else:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    _, status, _, body = reader.response()
    assert status == 200, status
    return body.decode()


@pytest.mark.parametrize("host,vhost", [
    ("localhost", "localhost"),
    ("example.com", "example.com"),
    ("wrong.example:1234", "wrong.example"),   # the port is not part of the name
    ("www.example.com", "example.com"),        # ends with ".name"
    ("example", "example.com"),                # compared over the host's length
    ("unknown.net", "localhost"),              # none: the accepting vhost
    ("127.0.0.1", "localhost"),
    (None, "localhost"),                       # no Host
])
def test_host_picks_the_vhost(start_vhosts, host, vhost):
    srv = start_vhosts()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        assert get(s, host, Reader(s)) == f"vhost={vhost} fresh=1\n"
    srv.assert_alive()


def test_each_request_on_a_connection_picks_again(start_vhosts):
    """Keep-alive requests naming other hosts reach their vhosts, each with
    per-session data of its own protocols[0]'s size, zeroed."""
    srv = start_vhosts()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        r = Reader(s)
        for host in ["example.com", "localhost", "wrong.example", "example.com", "example.com"]:
            assert get(s, host, r) == f"vhost={host} fresh=1\n"
    srv.assert_alive()


def upgrade(port, host):
    """A WebSocket upgrade with the given Host; sends "hi", returns the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: echo\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | 2]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"hi")))
    while len(rest) < 2 or len(rest) < 2 + rest[1]:
        chunk = s.recv(4096)
        assert chunk, rest
        rest += chunk
    s.close()
    assert rest[0] == 0x81
    return rest[2:2 + rest[1]].decode()


def test_upgrade_uses_the_chosen_vhosts_protocols(start_vhosts):
    srv = start_vhosts()
    assert upgrade(srv.port, "example.com") == "example.com:hi"
    assert upgrade(srv.port, "wrong.example") == "wrong.example:hi"
    assert upgrade(srv.port, "elsewhere") == "localhost:hi"


def test_vhosts_share_one_listener(start_vhosts):
    """Three vhosts on one port: one listening socket, not three."""
    srv = start_vhosts()
    listening = 0
    for fd in os.listdir(f"/proc/{srv.proc.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{srv.proc.pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            inode = target[8:-1]
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(table) as f:
                    for line in f.readlines()[1:]:
                        cols = line.split()
                        if cols[9] == inode and cols[3] == "0A":  # LISTEN
                            listening += 1
    assert listening == 1


def test_sni_picks_the_certificate(start_vhosts, pki):  # noqa: F811
    """With TLS, the client's SNI picks the vhost's certificate (the Host
    header then picks the vhost); an unknown or missing name gets the
    listener's."""
    srv = start_vhosts("-c", pki.server, "-k", pki.server_key, "-C", pki.wronghost,
                       "-K", pki.wronghost_key)
    for name, cn in [("wrong.example", "wrong.example"), ("localhost", "localhost"),
                     ("unknown.net", "localhost"), (None, "localhost")]:
        args = ["-CAfile", pki.ca] + (["-servername", name] if name else ["-noservername"])
        ok, facts, out = s_client(srv.port, *args)
        assert ok, out
        assert facts.get("Peer certificate") == f"CN = {cn}", out
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki.ca))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="wrong.example") as s:
            assert get(s, "wrong.example", Reader(s)) == "vhost=wrong.example fresh=1\n"
    srv.assert_alive()
