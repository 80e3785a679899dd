"""The WebSocket server, through c-tests/ws_server.c (an lws 2.0 style echo
server: every RECEIVE chunk is queued and written back from SERVER_WRITEABLE
with the same fragmentation, reception paused with lws_rx_flow_control while
more than -q bytes wait).

Checked against ../shared/CONTRACT.md sections 3 (sequences E and F), 4, 5
and 13, and against the README's behaviour notes where this library follows
RFC 6455 instead of the original: masking enforced, RSV bits checked,
zero-length frames delivered, UTF-8 validated with
LWS_SERVER_OPTION_VALIDATE_UTF8, the protocol list trimmed, the 101 naming
the ONE selected protocol, and an application close without lws_close_reason
sending CLOSE 1000.

Clients: Python's `websockets` where a conforming peer will do, RawWs
(ws_servers.py) for exact frames on the wire and protocol violations.
"""

import asyncio
import random
import re
import socket
import struct
import threading
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from ws_servers import (BINARY, CLOSE, CONT, PING, PONG, SAMPLE_ACCEPT,  # noqa: F401
                        SAMPLE_KEY, TEXT, RawWs, close_payload, frame,
                        start_ws_server, upgrade_request, ws_server_exe)

KIB = 1024
MIB = 1024 * 1024


def arun(coro, timeout):
    """Runs a coroutine with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def connect(srv, protocol="echo", **kw):
    kw.setdefault("max_size", None)
    kw.setdefault("max_queue", None)
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 3)
    return websockets.connect(srv.uri(), subprotocols=[protocol] if protocol else None, **kw)


def ascii_text(rng, n):
    """n bytes of printable ASCII that is never one of ws_server's commands."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_"
    s = "".join(rng.choices(alphabet, k=n))
    return ("T" + s[1:]) if n else s


@pytest.fixture
def server(start_ws_server):
    return start_ws_server()


# =================================================================== echo

ECHO_SIZES = [125, 126, 65535, 65536, MIB, 16 * MIB]


def test_echo_text_binary_empty(server):
    async def go():
        async with connect(server) as ws:
            assert ws.subprotocol == "echo"
            for msg in ["hello", b"\x00\x01\x02\xff", "", b"", "h\u00e9llo \u20ac \U0001f600",
                        bytes(range(256))]:
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), 5)
                assert type(got) is type(msg) and got == msg
    arun(go(), 15)


@pytest.mark.parametrize("size", ECHO_SIZES, ids=lambda n: f"{n}B")
def test_echo_sizes(server, size):
    rng = random.Random(size)
    text = ascii_text(rng, size)
    blob = rng.randbytes(size)

    async def go():
        async with connect(server) as ws:
            for msg in (text, blob):
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), 20)
                assert type(got) is type(msg)
                assert len(got) == len(msg) and got == msg
    arun(go(), 40)


def test_echo_multibyte_text_with_utf8_validation(start_ws_server):
    """-u: 1 MiB of text whose multi-byte characters straddle every RECEIVE
    chunk boundary is valid and echoed intact (validation across chunks)."""
    srv = start_ws_server("-u")
    msg = ("\u20ac\U0001f600\u00e9a" * (MIB // 10))

    async def go():
        async with connect(srv) as ws:
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), 20)
            assert got == msg
    arun(go(), 30)


def test_raw_echo_frames_exact(server):
    """Server frames are unmasked, FIN set, type and RSV as sent; a
    zero-length TEXT and BINARY come back as zero-length frames."""
    with server.ws() as c:
        for op, payload in [(TEXT, b"abc"), (BINARY, b"\x00\xff"), (TEXT, b""), (BINARY, b""),
                            (BINARY, bytes(126)), (TEXT, b"x" * 4000)]:
            c.send(op, payload)
            f = c.recv_frame()
            assert (f.fin, f.rsv, f.opcode, f.masked, f.payload) == (True, 0, op, False, payload)
        # a message of two empty fragments
        c.send_raw(frame(TEXT, b"", fin=False) + frame(CONT, b""))
        got = [c.recv_frame() for _ in range(2)]
        assert [(f.opcode, f.fin, f.payload) for f in got] == [
            (TEXT, False, b""), (CONT, True, b"")]
        assert c.silent(0.3)


@pytest.mark.parametrize("size,header", [
    (0, b"\x82\x00"),
    (125, b"\x82\x7d"),
    (126, b"\x82\x7e\x00\x7e"),
    (65535, b"\x82\x7e\xff\xff"),
    (65536, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    (150000, b"\x82\x7f\x00\x00\x00\x00\x00\x02\x49\xf0"),
])
def test_server_frame_headers(start_ws_server, size, header):
    """With -r 200000 a whole frame is one RECEIVE and one echoed frame:
    7-, 16- and 64-bit lengths, minimal encoding, unmasked."""
    srv = start_ws_server("-r", "200000")
    payload = random.Random(size).randbytes(size)
    with srv.ws(timeout=10) as c:
        c.send(BINARY, payload)
        f = c.recv_frame()
        assert c.last_header == header
        assert f.payload == payload


# ========================================================== fragmentation

def test_fragmented_messages(server):
    async def go():
        async with connect(server) as ws:
            await ws.send(["frag", "mented ", "text \u20ac"])
            assert await asyncio.wait_for(ws.recv(), 5) == "fragmented text \u20ac"
            await ws.send([b"\x01\x02", b"", b"\x03" * 70000, b"\x04"])
            assert await asyncio.wait_for(ws.recv(), 5) == b"\x01\x02" + b"\x03" * 70000 + b"\x04"
            await ws.send("after")
            assert await asyncio.wait_for(ws.recv(), 5) == "after"
    arun(go(), 15)


def test_fragments_with_interleaved_pings(server):
    """TEXT(no FIN), PING, CONT, PING, CONT(FIN): each PING answered by a PONG
    with its payload, the message echoed reassembled."""
    with server.ws() as c:
        data, pongs = [], []

        def collect_until_pong():
            while True:
                f = c.recv_frame()
                if f.opcode == PONG:
                    pongs.append(f)
                    return
                data.append(f)

        c.send(TEXT, b"Hello, ", fin=False)
        c.send(PING, b"p1")
        collect_until_pong()
        c.send(CONT, b"fragmented ", fin=False)
        c.send(PING, b"second ping")
        collect_until_pong()
        c.send(CONT, b"world")
        while not (data and data[-1].fin):
            f = c.recv_frame()
            assert f.opcode != PONG, f"extra PONG {f}"
            data.append(f)
        assert [(p.fin, p.masked, p.payload) for p in pongs] == [
            (True, False, b"p1"), (True, False, b"second ping")]
        assert [f.opcode for f in data] == [TEXT, CONT, CONT]
        assert [f.fin for f in data] == [False, False, True]
        assert b"".join(f.payload for f in data) == b"Hello, fragmented world"
        assert c.silent(0.3)


def test_fragments_and_pings_in_one_write(server):
    """The same frames in one TCP write: the message is reassembled and at
    least the last PING is answered (RFC 6455 5.5.3 allows answering only the
    most recent one)."""
    with server.ws() as c:
        c.send_raw(frame(TEXT, b"one ", fin=False) + frame(PING, b"a")
                   + frame(CONT, b"two ", fin=False) + frame(PING, b"b")
                   + frame(CONT, b"three"))
        data, pongs = [], []
        while not (data and data[-1].fin and pongs and pongs[-1].payload == b"b"):
            f = c.recv_frame()
            (pongs if f.opcode == PONG else data).append(f)
        assert [p.payload for p in pongs] in ([b"b"], [b"a", b"b"])
        assert b"".join(f.payload for f in data) == b"one two three"
        assert data[0].opcode == TEXT and all(f.opcode == CONT for f in data[1:])


def test_rx_buffer_size_chunks(start_ws_server):
    srv = start_ws_server("-r", "1000")
    payload = bytes(random.Random(5).choices(b"abcdefghij", k=5000))
    with srv.ws() as c:
        c.send(TEXT, payload)
        frames = [c.recv_frame()]
        while not frames[-1].fin:
            frames.append(c.recv_frame())
        assert b"".join(f.payload for f in frames) == payload
        assert [(f.opcode, f.fin, len(f.payload)) for f in frames] == [
            (TEXT, False, 1000), (CONT, False, 1000), (CONT, False, 1000),
            (CONT, False, 1000), (CONT, True, 1000)]


def test_rx_buffer_size_message_intact(start_ws_server):
    """Whatever the chunking, a 5000-byte message (and a 1 MiB one) comes
    back intact and in order with -r 1000."""
    srv = start_ws_server("-r", "1000")
    rng = random.Random(7)
    msgs = [rng.randbytes(5000), ascii_text(rng, 5000), rng.randbytes(MIB)]

    async def go():
        async with connect(srv) as ws:
            for m in msgs:
                await ws.send(m)
                got = await asyncio.wait_for(ws.recv(), 10)
                assert type(got) is type(m) and got == m
    arun(go(), 30)


# ============================================================ concurrency

@pytest.mark.parametrize("args,nclients,nmsgs", [
    ((), 100, 1000),
    (("-q", "8192", "-r", "1000"), 40, 300),
], ids=["100x1000", "flow-control-40x300"])
def test_many_clients(start_ws_server, args, nclients, nmsgs):
    """100 concurrent clients x 1000 messages of mixed sizes and types, all
    echoed intact and in order within 60 s; and the same (smaller) with a
    tiny queue limit so rx flow control toggles all the time."""
    server = start_ws_server(*args)
    sizes = [0, 1, 7, 60, 125, 126, 300, 1000, 4095, 4096, 4097, 20000]
    weights = [2, 10, 10, 20, 5, 5, 15, 10, 3, 3, 3, 1]

    async def client(i):
        rng = random.Random(i)
        msgs = []
        for j in range(nmsgs):
            n = rng.choices(sizes, weights)[0]
            if j % 2:
                msgs.append(rng.randbytes(n))
            else:
                msgs.append(ascii_text(rng, n))
        # the handshakes share the (single-threaded) client process with
        # the traffic of the clients already connected: the 60 s bound of
        # the whole test is what counts
        async with connect(server, open_timeout=50) as ws:
            async def sender():
                for m in msgs:
                    await ws.send(m)
            task = asyncio.create_task(sender())
            for j, m in enumerate(msgs):
                got = await ws.recv()
                assert type(got) is type(m) and got == m, f"client {i} message {j}"
            await task
        return nmsgs

    async def go():
        results = await asyncio.gather(*(client(i) for i in range(nclients)))
        assert sum(results) == nclients * nmsgs

    t0 = time.monotonic()
    arun(go(), 60)
    server.assert_alive()
    assert time.monotonic() - t0 < 60


# ============================================================ flow control

def test_flow_control_slow_reader(start_ws_server):
    """A client sends 64 MiB as fast as it can and reads very slowly: the
    server stops reading (lws_rx_flow_control) once 1 MiB waits, so its RSS
    stays bounded, and everything comes back intact and in order."""
    limit = MIB
    srv = start_ws_server("-q", str(limit))
    total, msg_size = 64 * MIB, 256 * KIB
    data = random.Random(64).randbytes(total)
    c = srv.ws(rcvbuf=64 * KIB, timeout=30)
    base_rss = srv.rss_kib()
    sent = [0]
    errors = []

    def sender():
        try:
            for off in range(0, total, msg_size):
                c.send(BINARY, data[off:off + msg_size])
                sent[0] = off + msg_size
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    max_rss = base_rss
    got = bytearray()
    fins = []
    # phase 1: ~2.5 s reading a trickle (16 KiB per 50 ms)
    end = time.monotonic() + 2.5
    c.sock.settimeout(5)
    while time.monotonic() < end:
        c.buf += c.sock.recv(16 * KIB)
        max_rss = max(max_rss, srv.rss_kib())
        time.sleep(0.05)
    sent_while_slow = sent[0]
    # phase 2: read everything
    c.sock.settimeout(30)
    deadline = time.monotonic() + 40
    last_sample = 0
    while len(got) < total:
        assert time.monotonic() < deadline, f"only {len(got)} of {total} bytes echoed"
        f = c.recv_frame()
        assert f.opcode == (CONT if fins and not fins[-1] else BINARY) or (
            not fins and f.opcode == BINARY), f
        assert not f.masked
        got += f.payload
        fins.append(f.fin)
        if time.monotonic() - last_sample > 0.05:
            max_rss = max(max_rss, srv.rss_kib())
            last_sample = time.monotonic()
    t.join(10)
    assert not t.is_alive() and not errors, errors
    assert len(got) == total and got == data
    # message boundaries kept: every 256 KiB message ends with a FIN
    ends = [i for i, fin in enumerate(fins) if fin]
    assert len(ends) == total // msg_size
    # the sender was held back by TCP while the reader was slow
    assert sent_while_slow < total // 2, sent_while_slow
    growth = (max_rss - base_rss) / 1024
    assert growth < 40, f"server RSS grew by {growth:.1f} MiB"
    # the server's own view: the queue went past the limit (so reception was
    # paused), by at most one RECEIVE chunk (<= 4096 bytes, CONTRACT 5)
    c.sock.settimeout(5)
    queued = stats(c)
    assert limit < queued <= limit + 4096, queued
    c.close()
    srv.assert_alive()


def stats(c):
    """ws_server's "stats": the most bytes its queue ever held."""
    c.text(b"stats")
    op, payload, _ = c.recv_message()
    assert op == TEXT
    return int(re.fullmatch(rb"queued=(\d+)", payload).group(1))


def test_receive_chunk_bounded(start_ws_server):
    """-q 1 pauses reception after every RECEIVE and resumes once the queue
    is written, so the most ever queued is the biggest RECEIVE: at most the
    4096-byte default buffer (CONTRACT 5); the message still comes back intact."""
    srv = start_ws_server("-q", "1")
    data = random.Random(1).randbytes(MIB)
    with srv.ws(timeout=20) as c:
        t = threading.Thread(target=c.send, args=(BINARY, data), daemon=True)
        t.start()
        op, payload, frames = c.recv_message()
        t.join(10)
        assert (op, payload) == (BINARY, data)
        assert max(len(f.payload) for f in frames) <= 4096
        assert stats(c) <= 4096


# ================================================================= closing

def test_client_close_with_code(server):
    with server.ws() as c:
        c.echo()
        c.send(CLOSE, close_payload(4321, b"client bye"))
        before, cl = c.until_close()
        assert before == []
        assert cl.fin and not cl.masked and cl.code == 4321
        assert cl.payload in (close_payload(4321), close_payload(4321, b"client bye"))
        assert c.at_eof(3)
    with server.ws() as c:
        c.send(CLOSE, b"")
        before, cl = c.until_close()
        assert before == [] and cl.payload == b""
        assert c.at_eof(3)
    server.assert_alive()


def test_client_close_websockets(server):
    async def go():
        async with connect(server) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            await ws.close(4002, "done")
            proto = ws.protocol
            assert proto.close_rcvd is not None and proto.close_rcvd.code == 4002
            assert proto.close_sent.code == 4002 and proto.close_rcvd_then_sent is False
    arun(go(), 10)


def test_server_close_with_reason(server):
    """'close:4001:bye': lws_close_reason + return -1 => CLOSE 4001 "bye";
    the peer's answering CLOSE ends the connection."""
    with server.ws() as c:
        c.text(b"close:4001:bye")
        f = c.recv_frame()
        assert (f.fin, f.rsv, f.opcode, f.masked, f.payload) == (
            True, 0, CLOSE, False, b"\x0f\xa1bye")
        c.send(CLOSE, b"\x0f\xa1")
        assert c.at_eof(3)

    async def go():
        async with connect(server) as ws:
            await ws.send("close:4001:bye")
            with pytest.raises(ConnectionClosed) as e:
                await asyncio.wait_for(ws.recv(), 5)
            assert (e.value.rcvd.code, e.value.rcvd.reason) == (4001, "bye")
    arun(go(), 10)
    server.assert_alive()


def test_server_close_reason_truncated(server):
    """lws_close_reason keeps at most 123 bytes of reason (control frames
    carry 125 bytes)."""
    reason = "r" * 200
    with server.ws() as c:
        c.text(f"close:4003:{reason}".encode())
        f = c.recv_frame()
        assert f.opcode == CLOSE and f.payload == close_payload(4003, b"r" * 123)


def test_server_drop_sends_close_1000(server):
    """'drop': return -1 without lws_close_reason => CLOSE 1000 (README), and
    the connection ends within the 1 s close-ack wait even if the peer never
    answers."""
    with server.ws() as c:
        c.send_raw(frame(TEXT, b"drop") + frame(TEXT, b"late"))  # "late" is dropped
        f = c.recv_frame()
        assert (f.fin, f.opcode, f.payload) == (True, CLOSE, b"\x03\xe8")
        t0 = time.monotonic()
        assert c.at_eof(4)
        assert time.monotonic() - t0 < 3

    async def go():
        async with connect(server) as ws:
            await ws.send("drop")
            with pytest.raises(ConnectionClosed) as e:
                await asyncio.wait_for(ws.recv(), 5)
            assert e.value.rcvd.code == 1000
    arun(go(), 10)


def test_server_ping_command(server):
    """lws_write(LWS_WRITE_PING): the client gets the PING; our PONG is
    accepted and the connection goes on."""
    with server.ws() as c:
        c.text(b"ping:hello")
        f = c.recv_frame()
        assert (f.fin, f.opcode, f.masked, f.payload) == (True, PING, False, b"hello")
        c.send(PONG, b"hello")
        c.echo(b"still here")


def test_client_drops_tcp(server):
    """A client vanishing without a CLOSE (idle, or in the middle of a
    frame) does not disturb the server."""
    c = server.ws()
    c.echo()
    c.close()
    c = server.ws()
    c.send_raw(frame(BINARY, bytes(100000))[:5000])
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    c = server.ws()
    c.send(TEXT, b"x" * 100000, fin=False)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # RST
    time.sleep(0.3)
    server.assert_alive()
    with server.ws() as c:
        c.echo(b"next client")


def test_many_clients_vanish_with_data_in_flight(server):
    """20 clients each send 2 MiB and reset the connection without reading:
    the server copes and keeps serving."""
    data = frame(BINARY, bytes(2 * MIB))
    for _ in range(20):
        c = server.ws(rcvbuf=16 * KIB)
        c.sock.setblocking(False)
        try:
            c.sock.send(data)
        except BlockingIOError:
            pass
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    time.sleep(0.5)
    server.assert_alive()
    with server.ws() as c:
        c.echo(b"survivor")
        c.echo(bytes(100000), BINARY)


def test_idle_ping(start_ws_server):
    """-i 2 -t 2: an idle connection gets a 0-length PING; one that never
    answers is closed ~timeout_secs later (hard close: no CLOSE frame), one
    that answers stays up."""
    srv = start_ws_server("-i", "2", "-t", "2")
    mute = srv.ws()
    polite = srv.ws()
    t0 = time.monotonic()
    polite_pings, polite_errors = [], []
    stop = threading.Event()

    def answer_pings():
        try:
            polite.sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    f = polite.recv_frame()
                except socket.timeout:
                    continue
                polite_pings.append((time.monotonic() - t0, f.opcode, f.payload))
                polite.send(PONG, f.payload)
        except BaseException as e:  # reported by the main thread
            polite_errors.append(e)

    t = threading.Thread(target=answer_pings, daemon=True)
    t.start()
    try:
        mute.sock.settimeout(8)
        f = mute.recv_frame()
        t_ping = time.monotonic()
        assert (f.fin, f.opcode, f.masked, f.payload) == (True, PING, False, b"")
        # (how early exactly: test_idle_ping_not_before_interval)
        assert 1.0 <= t_ping - t0 <= 4.5, t_ping - t0
        assert mute.at_eof(6)
        t_closed = time.monotonic()
        assert 1.0 <= t_closed - t_ping <= 4.5, t_closed - t_ping
        # let the polite client go through at least one more ping round
        time.sleep(max(0.0, t0 + 7.0 - time.monotonic()))
    finally:
        stop.set()
        t.join(5)
    assert not polite_errors, polite_errors
    assert len(polite_pings) >= 2, polite_pings
    assert all(op == PING and payload == b"" for _, op, payload in polite_pings), polite_pings
    # still served (PINGs may keep coming: answer them)
    polite.sock.settimeout(5)
    polite.text(b"alive")
    while True:
        f = polite.recv_frame()
        if f.opcode != PING:
            break
        polite.send(PONG, f.payload)
    assert (f.opcode, f.fin, f.payload) == (TEXT, True, b"alive")
    polite.close()
    mute.close()
    srv.assert_alive()


def test_close_during_fragmented_message(server):
    """A CLOSE may come between fragments: it is echoed (the fragment
    already received may or may not be echoed first: RFC 6455 5.5.1 lets the
    CLOSE go before the current message, lws sent it first)."""
    with server.ws() as c:
        c.send_raw(frame(TEXT, b"part", fin=False) + frame(CLOSE, close_payload(1001)))
        before, cl = c.until_close()
        assert [(f.opcode, f.fin, f.payload) for f in before] in ([], [(TEXT, False, b"part")])
        assert cl.code == 1001
        assert c.at_eof(3)


# ============================================================== robustness

def test_upgrade_and_first_frame_in_one_write(server):
    """Frames that arrive with the upgrade request are not lost."""
    with RawWs(server.connect()) as c:
        c.send_raw(upgrade_request("echo") + frame(TEXT, b"early") + frame(PING, b"pi"))
        status, _ = c.read_head()
        assert status == 101
        f = c.recv_frame()
        g = c.recv_frame()
        got = sorted([(f.opcode, f.payload), (g.opcode, g.payload)])
        assert got == [(TEXT, b"early"), (PONG, b"pi")]


def test_frames_byte_by_byte(server):
    """Headers (16-bit length form), mask and payload split at every byte."""
    payload = bytes(range(200))
    wire = frame(BINARY, payload) + frame(PING, b"slow") + frame(TEXT, b"x" * 3, fin=False) \
        + frame(CONT, b"yz")
    with server.ws() as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in wire:
            c.send_raw(bytes([b]))
            time.sleep(0.001)
        frames = []
        while len([f for f in frames if f.fin]) < 3:
            frames.append(c.recv_frame())
        data = [f for f in frames if f.opcode != PONG]
        pongs = [f.payload for f in frames if f.opcode == PONG]
        assert pongs == [b"slow"]
        assert [(f.opcode, f.fin, f.payload) for f in data] == [
            (BINARY, True, payload), (TEXT, False, b"xxx"), (CONT, True, b"yz")]


@pytest.mark.parametrize("size", [0, 1, 125])
def test_ping_payload_sizes(server, size):
    payload = bytes(random.Random(size).randbytes(size))
    with server.ws() as c:
        c.send(PING, payload)
        f = c.recv_frame()
        assert (f.fin, f.rsv, f.opcode, f.masked, f.payload) == (True, 0, PONG, False, payload)
        c.echo()


def test_unsolicited_pong_ignored(server):
    with server.ws() as c:
        c.send(PONG, b"unasked")
        c.send(PONG, b"")
        assert c.silent(0.3)
        c.echo()


def test_ping_flood(server):
    """2000 PINGs in one write: the connection survives, PONGs carry PING
    payloads in order, the last PING is answered, then the echo."""
    n = 2000
    wire = b"".join(frame(PING, str(i).encode()) for i in range(n)) + frame(TEXT, b"after")
    with server.ws(timeout=10) as c:
        c.send_raw(wire)
        pongs, echoed = [], False
        while not (echoed and pongs and pongs[-1] == n - 1):
            f = c.recv_frame()
            if f.opcode == PONG:
                pongs.append(int(f.payload))
            else:
                assert (f.opcode, f.payload) == (TEXT, b"after")
                echoed = True
        assert pongs == sorted(set(pongs))
        assert c.silent(0.3)
        c.echo()
    server.assert_alive()


def _send_in_thread(c, data):
    errors = []

    def run():
        try:
            c.send_raw(data)
        except BaseException as e:  # reported by the caller
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


def test_ping_while_output_buffered(server):
    """A PING arriving while an 8 MiB echo is stuck in the server's output:
    the PONG is a whole frame between data frames, the message intact."""
    data = random.Random(8).randbytes(8 * MIB)
    with server.ws(timeout=20, rcvbuf=32 * KIB) as c:
        t, errors = _send_in_thread(c, frame(BINARY, data) + frame(PING, b"mid"))
        time.sleep(0.5)
        frames = []
        while not (frames and frames[-1].opcode != PONG and frames[-1].fin):
            frames.append(c.recv_frame())
            if frames[-1].opcode == PONG:
                assert frames[-1].payload == b"mid"
        if not any(f.opcode == PONG for f in frames):
            f = c.recv_frame()
            assert (f.opcode, f.payload) == (PONG, b"mid")
        t.join(10)
        assert not errors, errors
        body = [f for f in frames if f.opcode != PONG]
        assert body[0].opcode == BINARY and all(f.opcode == CONT for f in body[1:])
        assert b"".join(f.payload for f in body) == data
        c.echo()


def test_violation_while_output_buffered(server):
    """A protocol error found while an 8 MiB echo is stuck in the server's
    output: what was sent is a well-formed prefix of the echo, then CLOSE
    1002 (never inside a data frame), then EOF."""
    data = random.Random(9).randbytes(8 * MIB)
    with server.ws(timeout=20, rcvbuf=32 * KIB) as c:
        t, errors = _send_in_thread(c, frame(BINARY, data) + frame(TEXT, b"bad", mask=None))
        time.sleep(0.5)
        before, cl = c.until_close()
        t.join(10)
        assert not errors, errors
        got = b"".join(f.payload for f in before)
        assert data.startswith(got), "echo corrupted"
        assert all(f.opcode == (CONT if i else BINARY) for i, f in enumerate(before))
        assert cl.code == 1002
        assert c.at_eof(5)
    server.assert_alive()


def test_close_while_output_buffered(server):
    """The peer's CLOSE while an 8 MiB echo is stuck in the server's output:
    the echoed CLOSE follows whole frames (a prefix of the echo), then EOF."""
    data = random.Random(10).randbytes(8 * MIB)
    with server.ws(timeout=20, rcvbuf=32 * KIB) as c:
        t, errors = _send_in_thread(c, frame(BINARY, data) + frame(CLOSE, close_payload(4444)))
        time.sleep(0.5)
        before, cl = c.until_close()
        t.join(10)
        assert not errors, errors
        assert data.startswith(b"".join(f.payload for f in before)), "echo corrupted"
        assert all(f.opcode == (CONT if i else BINARY) for i, f in enumerate(before))
        assert cl.code == 4444
        assert c.at_eof(5)
    server.assert_alive()


def test_plain_http_on_ws_server(server):
    """A GET without upgrade goes to protocols[0], which answers 404."""
    with server.connect() as s:
        s.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        c = RawWs(s)
        status, headers = c.read_head()
        assert status == 404


def test_idle_ping_not_before_interval(start_ws_server):
    """-i 2: no PING before the connection has been idle 2 s, whatever the
    phase of the connection within the second (10 connections opened 0.1 s
    apart); and one comes within interval + ~1 s."""
    srv = start_ws_server("-i", "2", "-t", "10")
    conns = []
    try:
        for _ in range(10):
            c = srv.ws()
            conns.append((c, time.monotonic()))
            time.sleep(0.1)
        delays = []
        for c, t_est in conns:
            c.sock.settimeout(max(0.1, t_est + 4.0 - time.monotonic()))
            f = c.recv_frame()
            delays.append(round(time.monotonic() - t_est, 2))
            assert (f.opcode, f.payload) == (PING, b"")
        assert all(1.9 <= d <= 3.5 for d in delays), delays
    finally:
        for c, _ in conns:
            c.close()


# ===================================================== protocol violations

def _v(*frames_):
    return b"".join(frames_)


VIOLATIONS = [
    # (id, bytes after the handshake, server args, expected CLOSE code)
    ("unmasked", frame(TEXT, b"hi", mask=None), (), 1002),
    ("rsv1", frame(TEXT, b"hi", rsv=0x40), (), 1002),
    ("rsv2", frame(BINARY, b"hi", rsv=0x20), (), 1002),
    ("rsv3", frame(TEXT, b"hi", rsv=0x10), (), 1002),
    ("opcode3", frame(3, b"hi"), (), 1002),
    ("opcode11", frame(11, b"hi"), (), 1002),
    ("opcode7", frame(7), (), 1002),
    ("opcode15", frame(15, b"x"), (), 1002),
    ("ping-no-fin", frame(PING, b"p", fin=False), (), 1002),
    ("close-no-fin", frame(CLOSE, close_payload(1000), fin=False), (), 1002),
    ("ping-126", frame(PING, b"p" * 126), (), 1002),
    ("close-126", frame(CLOSE, close_payload(1000, b"r" * 124)), (), 1002),
    ("pong-200", frame(PONG, b"p" * 200), (), 1002),
    ("orphan-continuation", frame(CONT, b"abc"), (), 1002),
    ("text-during-fragmented", _v(frame(TEXT, b"a", fin=False), frame(TEXT, b"b")), (), 1002),
    ("binary-during-fragmented", _v(frame(BINARY, b"a", fin=False), frame(BINARY, b"b")), (),
     1002),
    ("bad-utf8", frame(TEXT, b"ab\xff\xfecd"), ("-u",), 1007),
    ("overlong-utf8", frame(TEXT, b"\xc0\xaf"), ("-u",), 1007),
    ("surrogate-utf8", frame(TEXT, b"\xed\xa0\x80"), ("-u",), 1007),
    ("truncated-utf8", frame(TEXT, b"ab\xe2\x82"), ("-u",), 1007),
    ("bad-utf8-across-fragments",
     _v(frame(TEXT, b"ab\xe2\x82", fin=False), frame(CONT, b"\x28cd")), ("-u",), 1007),
    ("truncated-utf8-across-fragments",
     _v(frame(TEXT, b"ab", fin=False), frame(CONT, b"\xf0\x9f\x98")), ("-u",), 1007),
    ("close-code-999", frame(CLOSE, close_payload(999)), (), 1002),
    ("close-code-1005", frame(CLOSE, close_payload(1005)), (), 1002),
    ("close-code-1006", frame(CLOSE, close_payload(1006)), (), 1002),
    ("close-code-1015", frame(CLOSE, close_payload(1015)), (), 1002),
    ("close-code-5000", frame(CLOSE, close_payload(5000)), (), 1002),
    ("close-1-byte", frame(CLOSE, b"\x03"), (), 1002),
    ("close-reason-bad-utf8", frame(CLOSE, close_payload(1000, b"\xff")), (), 1007),
    ("length-2^62", frame(BINARY, b"", length=1 << 62), (), 1009),
    ("length-msb", frame(BINARY, b"", length=1 << 63), (), 1002),
]


@pytest.mark.parametrize("wire,args,code", [v[1:] for v in VIOLATIONS],
                         ids=[v[0] for v in VIOLATIONS])
def test_protocol_violation(start_ws_server, wire, args, code):
    srv = start_ws_server(*args)
    with srv.ws() as bystander, srv.ws() as bad:
        bystander.echo(b"before")
        bad.send_raw(wire)
        before, cl = bad.until_close()
        # only echoes of a valid first fragment may precede the CLOSE
        assert all(f.opcode in (TEXT, BINARY, CONT) and not f.fin for f in before), before
        assert (cl.fin, cl.rsv, cl.masked, cl.code) == (True, 0, False, code), cl
        assert bad.at_eof(3)
        bystander.echo(b"after")
        bystander.echo(bytes(70000), BINARY)
    srv.assert_alive()


@pytest.mark.parametrize("wire,expect", [
    (frame(TEXT, b"ab\xff\xfecd"), [(TEXT, True, b"ab\xff\xfecd")]),
    (frame(TEXT, b"ab\xe2\x82", fin=False) + frame(CONT, b"\x28cd"),
     [(TEXT, False, b"ab\xe2\x82"), (CONT, True, b"\x28cd")]),
], ids=["whole", "fragments"])
def test_invalid_utf8_accepted_without_option(server, wire, expect):
    with server.ws() as c:
        c.send_raw(wire)
        got = [c.recv_frame() for _ in expect]
        assert [(f.opcode, f.fin, f.payload) for f in got] == expect
        c.echo()


def test_valid_utf8_split_across_fragments_with_option(start_ws_server):
    srv = start_ws_server("-u")
    with srv.ws() as c:
        c.send_raw(frame(TEXT, b"ab\xe2\x82", fin=False) + frame(CONT, b"\xac\xf0\x9f", fin=False)
                   + frame(CONT, b"\x98\x80!"))
        op, payload, frames = c.recv_message()
        assert (op, payload) == (TEXT, "ab\u20ac\U0001f600!".encode())
        assert len(frames) == 3


def test_data_after_close_is_discarded(server):
    """After the peer's CLOSE nothing more is echoed."""
    with server.ws() as c:
        c.send_raw(frame(CLOSE, close_payload(1000)) + frame(TEXT, b"late"))
        before, cl = c.until_close()
        assert before == [] and cl.code == 1000
        assert c.at_eof(3)


# ================================================================ handshake

def test_handshake_exact_101(server):
    with RawWs(server.connect()) as c:
        status, headers = c.handshake("echo")
        assert c.head == (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                          + SAMPLE_ACCEPT.encode() + b"\r\nSec-WebSocket-Protocol: echo\r\n\r\n")
        c.echo()


@pytest.mark.parametrize("lines", [
    ["Upgrade: WebSocket", "Connection: keep-alive, Upgrade"],
    ["upgrade: websocket", "connection: upgrade"],
    ["Upgrade: websocket", "Connection: Upgrade, HTTP2-Settings"],
], ids=["firefox-connection", "lowercase-names", "connection-list"])
def test_upgrade_header_variants(server, lines):
    req = ("GET / HTTP/1.1\r\nHost: localhost\r\n" + "\r\n".join(lines)
           + f"\r\nSec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: echo\r\n\r\n").encode()
    with RawWs(server.connect()) as c:
        c.send_raw(req)
        status, headers = c.read_head()
        assert status == 101 and headers["sec-websocket-accept"] == SAMPLE_ACCEPT
        c.echo()


@pytest.mark.parametrize("header", ["nope, second", "nope,second", "  nope ,  second  ",
                                    "second, echo"])
def test_protocol_selection(server, header):
    """The first listed protocol the vhost serves is chosen (list trimmed);
    the 101 names only it."""
    with RawWs(server.connect()) as c:
        status, headers = c.handshake(header)
        assert status == 101
        assert headers["sec-websocket-protocol"] == "second"
        c.echo(b"on second")


def test_protocol_selection_websockets(server):
    async def go():
        async with websockets.connect(server.uri(), subprotocols=["nope", "second"],
                                      open_timeout=5) as ws:
            assert ws.subprotocol == "second"
            await ws.send("via second")
            assert await asyncio.wait_for(ws.recv(), 5) == "via second"
    arun(go(), 10)


def test_no_protocol_header_binds_protocols0(start_ws_server):
    """No Sec-WebSocket-Protocol => the vhost default, protocols[0] (the
    http-only one, which ignores RECEIVE): 101 without a protocol header,
    messages reach protocol 0's callback, nothing is echoed, and the library
    still answers PING and CLOSE."""
    srv = start_ws_server(cblog=True)
    with RawWs(srv.connect()) as c:
        status, headers = c.handshake(None)
        assert status == 101 and "sec-websocket-protocol" not in headers
        assert headers["sec-websocket-accept"] == SAMPLE_ACCEPT
        c.text(b"hello")
        c.send(PING, b"pp")
        f = c.recv_frame()
        assert (f.opcode, f.payload) == (PONG, b"pp")
        assert c.silent(0.5)
        c.send(CLOSE, close_payload(1000))
        _, cl = c.until_close()
        assert cl.code == 1000
    reasons = [r for r, _ in srv.callbacks()]
    assert 0 in reasons and 6 in reasons  # ESTABLISHED, RECEIVE to protocol 0


@pytest.mark.parametrize("kw", [
    dict(protocol="nope, nada"),
    dict(protocol="ECHO"),
    dict(version="8"),
    dict(version=None),
    dict(key=None),
    dict(host=None),
    dict(protocol="echo," + "x" * 130),
    dict(key="k" * 128),
], ids=["unknown-protocols", "protocol-case", "version-8", "no-version", "no-key", "no-host",
        "protocol-header-too-long", "key-too-long"])
def test_refused_upgrade(server, kw):
    """A refused handshake gets an HTTP error (the issue asks for one; the
    original answered nothing, CONTRACT 3 F) and the connection closes: 426
    with the version we speak for a wrong version (RFC 6455 4.4), else 400."""
    with server.connect() as s:
        s.sendall(upgrade_request(**kw))
        s.settimeout(3)
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    if "version" in kw:
        assert data.startswith(b"HTTP/1.1 426 "), data
        assert b"\r\nSec-WebSocket-Version: 13\r\n" in data
    else:
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), data
    assert data.endswith(b"content-length: 0\r\n\r\n"), data
    server.assert_alive()
    with server.ws() as c:
        c.echo()


# ========================================================= callback order

ESTABLISHED, CLOSED, RECEIVE, SERVER_WRITEABLE = 0, 4, 6, 11
FILTER_NETWORK_CONNECTION, FILTER_HTTP_CONNECTION = 17, 18
SERVER_NEW_CLIENT_INSTANTIATED, FILTER_PROTOCOL_CONNECTION = 19, 20
WSI_CREATE, WSI_DESTROY = 29, 30
ADD_POLL_FD, DEL_POLL_FD, CHANGE_MODE_POLL_FD, LOCK_POLL, UNLOCK_POLL = 32, 33, 34, 35, 36
WS_PEER_INITIATED_CLOSE, HTTP_DROP_PROTOCOL, CLOSED_HTTP = 38, 50, 5


def connection_sequence(srv, timeout=5.0):
    """The callbacks of the one connection (its wsi from WSI_CREATE to
    WSI_DESTROY) as a space-separated string, preceded by the listener's
    FILTER_NETWORK_CONNECTION; LOCK/ADD/UNLOCK => "ADD", LOCK/DEL/UNLOCK =>
    "DEL", LOCK/CHANGE_MODE/UNLOCK trios dropped."""
    end = time.monotonic() + timeout
    while True:
        log = srv.callbacks()
        creates = [i for i, (r, _) in enumerate(log) if r == WSI_CREATE]
        assert len(creates) == 1, log
        start = creates[0]
        wsi = log[start][1]
        mine = [r for r, w in log[start:] if w == wsi]
        if WSI_DESTROY in mine:  # a later fake wsi may reuse the address
            mine = mine[:mine.index(WSI_DESTROY) + 1]
        if mine[-1] == WSI_DESTROY or time.monotonic() > end:
            break
        time.sleep(0.05)
    assert start > 0 and log[start - 1][0] == FILTER_NETWORK_CONNECTION
    assert log[start - 1][1] != wsi
    out = ["17"]
    i = 0
    while i < len(mine):
        r = mine[i]
        if r == LOCK_POLL:
            assert mine[i + 2] == UNLOCK_POLL, mine[i:i + 3]
            kind = mine[i + 1]
            assert kind in (ADD_POLL_FD, DEL_POLL_FD, CHANGE_MODE_POLL_FD), mine[i:i + 3]
            if kind == ADD_POLL_FD:
                out.append("ADD")
            elif kind == DEL_POLL_FD:
                out.append("DEL")
            i += 3
            continue
        out.append(str(r))
        i += 1
    return " ".join(out)


UPGRADE = "17 29 19 ADD 20 0"


def test_callback_order_client_close(start_ws_server):
    srv = start_ws_server(cblog=True)
    with srv.ws() as c:
        for m in (b"one", b"two", b"three"):
            c.echo(m)
        c.send(CLOSE, close_payload(1000, b"bye"))
        _, cl = c.until_close()
        assert cl.code == 1000
        assert c.at_eof(3)
    seq = connection_sequence(srv)
    assert re.fullmatch(UPGRADE + r"( 6( 11)+){3} 38 DEL 50 4 30", seq), seq
    assert str(FILTER_HTTP_CONNECTION) not in seq.split()


def test_callback_order_client_close_peer_keeps_tcp(start_ws_server):
    """Peer CLOSE answered, write side shut; the peer never closes TCP:
    the teardown (DEL, DROP, CLOSED, DESTROY) comes after timeout_secs."""
    srv = start_ws_server("-t", "2", cblog=True)
    with srv.ws() as c:
        c.send(CLOSE, close_payload(1000))
        _, cl = c.until_close()
        assert cl.code == 1000
        assert c.at_eof(3)
        t0 = time.monotonic()
        seq = connection_sequence(srv, timeout=6)
        waited = time.monotonic() - t0
    assert re.fullmatch(UPGRADE + r" 38 DEL 50 4 30", seq), seq
    assert 1.0 <= waited <= 4.5, waited


def test_callback_order_ping_pong(start_ws_server):
    """Client PING: no callback, automatic PONG, then an unrequested
    SERVER_WRITEABLE (quirk 2). Server PING ("ping:" command) answered by the
    client's PONG: RECEIVE_PONG (7)."""
    srv = start_ws_server(cblog=True)
    with srv.ws() as c:
        c.send(PING, b"cp")
        f = c.recv_frame()
        assert (f.opcode, f.payload) == (PONG, b"cp")
        time.sleep(0.2)
        c.text(b"ping:sp")
        f = c.recv_frame()
        assert (f.opcode, f.payload) == (PING, b"sp")
        c.send(PONG, b"sp")
        time.sleep(0.2)
        c.send(CLOSE, close_payload(1000))
        _, cl = c.until_close()
        assert c.at_eof(3)
    seq = connection_sequence(srv)
    assert re.fullmatch(UPGRADE + r" 11 6 7 38 DEL 50 4 30", seq), seq


def test_callback_order_server_close(start_ws_server):
    """close:...: RECEIVE returns -1 after lws_close_reason; the peer's CLOSE
    is the answer to ours (no WS_PEER_INITIATED_CLOSE)."""
    srv = start_ws_server(cblog=True)
    with srv.ws() as c:
        c.echo(b"one")
        c.text(b"close:4001:bye")
        f = c.recv_frame()
        assert f.opcode == CLOSE and f.code == 4001
        c.send(CLOSE, close_payload(4001))
        assert c.at_eof(3)
    seq = connection_sequence(srv)
    assert re.fullmatch(UPGRADE + r" 6( 11)+ 6 DEL 50 4 30", seq), seq


def test_callback_order_server_drop_unanswered(start_ws_server):
    srv = start_ws_server(cblog=True)
    with srv.ws() as c:
        c.text(b"drop")
        f = c.recv_frame()
        assert f.opcode == CLOSE and f.code == 1000
        assert c.at_eof(4)
        seq = connection_sequence(srv)
    assert re.fullmatch(UPGRADE + r" 6 DEL 50 4 30", seq), seq


def test_callback_order_peer_drops_tcp(start_ws_server):
    srv = start_ws_server(cblog=True)
    c = srv.ws()
    c.echo(b"one")
    c.close()
    seq = connection_sequence(srv)
    assert re.fullmatch(UPGRADE + r" 6( 11)+ DEL 50 4 30", seq), seq


def test_callback_order_protocol_violation(start_ws_server):
    """An unmasked frame: CLOSE 1002 and the write side shut at once, no
    RECEIVE for it, no WS_PEER_INITIATED_CLOSE; DEL, DROP, CLOSED, DESTROY
    once the peer closes."""
    srv = start_ws_server(cblog=True)
    with srv.ws() as c:
        c.send(TEXT, b"x", mask=None)
        _, cl = c.until_close()
        assert cl.code == 1002
        assert c.at_eof(3)
    seq = connection_sequence(srv)
    assert re.fullmatch(UPGRADE + r" DEL 50 4 30", seq), seq


def test_callback_order_refused_upgrade(start_ws_server):
    """CONTRACT 3 F: no FILTER_PROTOCOL_CONNECTION when no protocol matches,
    no ESTABLISHED, CLOSED, CLOSED_HTTP or HTTP_DROP_PROTOCOL; the wsi ends
    with DEL, WSI_DESTROY (at the latest at context destroy)."""
    srv = start_ws_server(cblog=True)
    with srv.connect() as s:
        s.sendall(upgrade_request(protocol="nope"))
        s.settimeout(3)
        assert s.recv(4096).startswith(b"HTTP/1.1 400 ")
    time.sleep(0.3)
    assert srv.terminate() == 0
    seq = connection_sequence(srv, timeout=0)
    assert re.fullmatch(r"17 29 19 ADD DEL 30", seq), seq
