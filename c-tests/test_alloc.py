"""lws_set_allocator through c-tests/alloc_server.c (see its header
comment): a counting allocator installed before the context sees the
per-session data, the per-vhost data and each connection's state allocated
and freed, every count balanced after lws_context_destroy; an allocator
that returns NULL gets connections refused or closed, never a crash."""

import base64
import os
import re
import socket
import struct
import time

import pytest

from conftest import have, valgrind_problems
from servers import Reader, Server, closed_by_peer, request, started_servers

HTTP_PSS, WS_PSS = 200, 312


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "data.txt").write_bytes(b"0123456789" * 10000)
    return root


@pytest.fixture
def server(build_c, pkg_env, site, tmp_path):
    exe = build_c("alloc_server.c")
    with started_servers(tmp_path, "alloc", lambda w: Server(exe, pkg_env, w, site)) as start:
        yield start()


def get(server, path, close=False):
    """One request on a fresh connection: (status, body)."""
    with server.connect() as s:
        s.sendall(request("GET", path, ["Connection: close"] if close else []))
        _, status, _, body = Reader(s).response()
        return status, body


def stats(text):
    m = re.search(r"allocs (\d+) frees (\d+) live (-?\d+) pss (\d+) bad (\d+) "
                  r"client (\d+) errors (\d+)", text)
    assert m, text
    return dict(zip(["allocs", "frees", "live", "pss", "bad", "client", "errors"],
                    map(int, m.groups())))


def ws_connect(server, protocol="echo"):
    """A WebSocket handshake: (socket, status line, reader)."""
    s = server.connect()
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(request("GET", "/", ["Upgrade: websocket", "Connection: Upgrade",
                                   f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                                   f"Sec-WebSocket-Protocol: {protocol}"]))
    r = Reader(s)
    head = r.head()
    return s, head.split(b"\r\n")[0], r


def ws_echo(sock, reader, payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)
    hdr = reader.exactly(2)
    assert hdr[0] == 0x81 and hdr[1] == len(payload)
    return reader.exactly(len(payload))


def finish(server, timeout=5):
    """Stops the server; the counts it printed after lws_context_destroy."""
    assert server.terminate(timeout) == 0, server.stderr()
    out = server.stdout()
    assert "destroyed" in out, out
    final = stats(out)
    unknown = int(re.search(r"unknown-frees (\d+)", out).group(1))
    return final, unknown


def test_allocations_go_through_the_application_and_balance(server):
    status, body = get(server, "/stats")
    assert status == 200
    first = stats(body.decode())
    # the vhost data and this connection's state and pss came from it
    assert first["allocs"] >= 3 and first["pss"] >= 1 and first["bad"] == 0
    # keep-alive: a fresh pss per transaction, the old one freed
    with server.connect() as s:
        r = Reader(s)
        for _ in range(5):
            s.sendall(request("GET", "/stats"))
            _, status, _, body = r.response()
            assert status == 200
        s.sendall(request("GET", "/file/data.txt"))
        _, status, _, body = r.response()
        assert status == 200 and body == b"0123456789" * 10000
    socks = []
    for i in range(3):
        s, line, r = ws_connect(server)
        assert b" 101 " in line, line
        assert ws_echo(s, r, f"hello {i}".encode()) == f"hello {i}".encode()
        socks.append(s)
    status, body = get(server, "/stats")
    now = stats(body.decode())
    assert now["bad"] == 0
    assert now["pss"] >= first["pss"] + 5 + 3
    assert now["live"] >= 3  # at least the open WebSockets' state
    for s in socks:
        s.close()
    final, unknown = finish(server)
    assert final["bad"] == 0
    assert final["live"] == 0, final
    assert final["allocs"] == final["frees"] and final["allocs"] > now["allocs"] - now["live"]
    assert unknown == 0
    assert "out of memory" not in server.stderr()


def test_a_refused_connection_state_refuses_the_connection(server):
    assert get(server, "/refuse?n=1", close=True) == (200, b"ok\n")
    # the next connection's state cannot be allocated: closed unanswered
    with server.connect() as s:
        s.sendall(request("GET", "/stats"))
        assert closed_by_peer(s)
    assert "out of memory" in server.stderr()
    server.assert_alive()
    status, body = get(server, "/stats")
    assert status == 200 and stats(body.decode())["bad"] == 0
    final, unknown = finish(server)
    assert final["live"] == 0 and final["allocs"] == final["frees"] and unknown == 0


def test_a_refused_pss_closes_the_connection(server):
    assert get(server, f"/refuse?n=1&size={HTTP_PSS}", close=True) == (200, b"ok\n")
    with server.connect() as s:
        s.sendall(request("GET", "/stats"))
        assert closed_by_peer(s)
    # a WebSocket whose pss is refused gets a 500
    assert get(server, f"/refuse?n=1&size={WS_PSS}", close=True) == (200, b"ok\n")
    s, line, _ = ws_connect(server)
    with s:
        assert b" 500 " in line, line
    # and the next ones work
    s, line, r = ws_connect(server)
    with s:
        assert b" 101 " in line and ws_echo(s, r, b"again") == b"again"
    status, body = get(server, "/stats")
    assert status == 200 and stats(body.decode())["bad"] == 0
    server.assert_alive()
    final, unknown = finish(server)
    assert final["live"] == 0 and final["allocs"] == final["frees"] and unknown == 0


# the RECEIVE buffer: LWS_PRE + the protocol's rx size (0: 4096) + 2
WS_RX_BUF = 16 + 4096 + 2


def test_the_websocket_receive_buffer_comes_from_the_application(server):
    """The buffer RECEIVE's `in` points into is allocated when the first
    message arrives; refused, that connection closes with 1011 and the
    server goes on."""
    s, line, r = ws_connect(server)
    with s:
        assert b" 101 " in line, line
        before = stats(get(server, "/stats")[1].decode())
        assert ws_echo(s, r, b"first") == b"first"
        after = stats(get(server, "/stats")[1].decode())
        # the receive buffer, plus the two /stats connections' state and pss
        assert after["allocs"] - before["allocs"] >= 3, (before, after)
    assert get(server, f"/refuse?n=1&size={WS_RX_BUF}", close=True) == (200, b"ok\n")
    s, line, r = ws_connect(server)
    with s:
        assert b" 101 " in line, line
        mask = os.urandom(4)
        s.sendall(struct.pack("!BB", 0x81, 0x82) + mask + bytes(b ^ mask[i] for i, b in enumerate(b"hi")))
        hdr = r.exactly(2)
        assert hdr[0] == 0x88, hdr
        assert struct.unpack("!H", r.exactly(hdr[1])[:2])[0] == 1011
    assert "out of memory" in server.stderr()
    s, line, r = ws_connect(server)
    with s:
        assert b" 101 " in line and ws_echo(s, r, b"again") == b"again"
    server.assert_alive()
    final, unknown = finish(server)
    assert final["live"] == 0 and final["allocs"] == final["frees"] and unknown == 0


def test_a_refused_pss_for_the_next_keepalive_request_closes_after_the_reply(server):
    with server.connect() as s:
        r = Reader(s)
        s.sendall(request("GET", f"/refuse?n=1&size={HTTP_PSS}"))
        _, status, _, body = r.response()
        # the reply went out; the next request's pss could not be had
        assert status == 200 and body == b"ok\n"
        assert closed_by_peer(s)
    assert get(server, "/stats")[0] == 200
    final, unknown = finish(server)
    assert final["live"] == 0 and final["allocs"] == final["frees"] and unknown == 0


def wait_stats(server, key, value, timeout=10):
    end = time.monotonic() + timeout
    while True:
        now = stats(get(server, "/stats")[1].decode())
        if now[key] >= value or time.monotonic() > end:
            return now
        time.sleep(0.05)


def test_client_connections_too(server):
    """A client connection's state and pss come from the allocator as
    well; refusing its state makes lws_client_connect_via_info fail with
    CLIENT_CONNECTION_ERROR."""
    for _ in range(3):
        assert get(server, "/client") == (200, b"started\n")
    now = wait_stats(server, "client", 3)
    assert now["client"] == 3 and now["errors"] == 0 and now["bad"] == 0
    assert get(server, "/client?refuse=1") == (200, b"refused\n")
    now = stats(get(server, "/stats")[1].decode())
    assert now["errors"] == 1 and now["client"] == 3
    assert "refused" in server.stderr() and "for a client connection" in server.stderr()
    server.assert_alive()
    final, unknown = finish(server)
    assert final["live"] == 0 and final["allocs"] == final["frees"] and unknown == 0


@pytest.mark.skipif(not have("valgrind"), reason="valgrind not installed")
def test_refusals_under_valgrind(build_c, pkg_env, site, tmp_path):
    """The same paths under memcheck: no invalid access, nothing of ours
    leaked, whatever the allocator refused."""
    exe = build_c("alloc_server.c")
    log = tmp_path / "valgrind.log"
    wrapper = tmp_path / "alloc_server_vg"
    wrapper.write_text(f"#!/bin/sh\nexec valgrind -q --leak-check=full --log-file={log} "
                       f"{exe} \"$@\"\n")
    wrapper.chmod(0o755)
    with started_servers(tmp_path, "vg", lambda w: Server(wrapper, pkg_env, w, site)) as start:
        server = start()
        assert get(server, "/file/data.txt")[1] == b"0123456789" * 10000
        for refusal in ["n=1", f"n=1&size={HTTP_PSS}"]:
            assert get(server, f"/refuse?{refusal}", close=True) == (200, b"ok\n")
            with server.connect(timeout=20) as s:
                s.sendall(request("GET", "/stats"))
                assert closed_by_peer(s, timeout=20)
        assert get(server, f"/refuse?n=1&size={WS_PSS}", close=True) == (200, b"ok\n")
        s, line, _ = ws_connect(server)
        with s:
            assert b" 500 " in line, line
        s, line, r = ws_connect(server)
        with s:
            assert b" 101 " in line and ws_echo(s, r, b"vg") == b"vg"
        assert get(server, "/client?refuse=1") == (200, b"refused\n")
        assert get(server, "/client") == (200, b"started\n")
        assert wait_stats(server, "client", 1, timeout=30)["client"] == 1
        final, unknown = finish(server, timeout=30)
    assert final["live"] == 0 and final["allocs"] == final["frees"] and unknown == 0
    assert not valgrind_problems(log.read_text())
