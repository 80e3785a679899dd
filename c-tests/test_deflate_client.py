"""permessage-deflate on the client side (issue 14, /work/deflate-spec.md's
"Client negotiation" and "Messages", RFC 7692) through c-tests/deflate_client.c,
a client written like lws 2.0's test-client: it registers
{"permessage-deflate", lws_extension_callback_pm_deflate,
"permessage-deflate; client_max_window_bits"} in info.extensions (or
ccinfo.client_exts), sends messages and checks every echo byte for byte.

Peers:

* Python `websockets` echo servers (compression on by default, and
  ServerPerMessageDeflateFactory with each RFC parameter). A wrapper around
  the server's extension records every frame as it came off the wire (RSV1,
  compressed bytes); the test then inflates the client's compressed messages
  again with a strict inflater (small output steps, so the LZ77 window really
  is 2^client_max_window_bits and a fresh one per message under
  client_no_context_takeover) - websockets itself inflates into one big buffer
  and would not notice a client that uses a bigger window than agreed.
* Raw servers (threads, hand-made frames): replies with parameters that must
  fail the connection; deflate echo servers that check the client's frames
  strictly and answer compressed, uncompressed, mixed, fragmented with PINGs
  between fragments, with empty fragments, with a BFINAL block; malformed
  compressed data and invalid UTF-8 (close 1002 / 1007 expected); a
  decompression bomb (1 GiB of zeros in ~1 MiB) that the client must take in
  chunks with bounded memory (its own VmHWM, printed at exit).
* Our own servers: demo-server.c's and lwsws's lws-echo protocol, deflate at
  both ends.

Also: the offer placement (info.extensions, ccinfo.client_exts, both),
CLIENT_CONFIRM_EXTENSION_SUPPORTED and its veto, lws_set_extension_option,
rx flow control while inflating, RECEIVE chunk sizes, an ASan build writing
over the LWS_PRE headroom of every received chunk.

Every client run is bounded (-w, then the subprocess timeout); every server
is started and stopped by its test. The whole file: ~80 s on the 2-core
development machine (the bomb tests ~3 and ~7 s).
"""

import hashlib
import re
import socket
import subprocess
import time
import zlib
from functools import lru_cache

import pytest

from client_peers import PyWsServer, RawServer, read_request, reply_101
from test_demo import demo  # noqa: F401 - fixture
from test_lwsws import lwsws  # noqa: F401 - fixture
from ws_servers import BINARY, CLOSE, CONT, PING, PONG, TEXT, RawWs, close_payload, frame

websockets = pytest.importorskip("websockets")
from websockets.extensions.base import ServerExtensionFactory  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ServerPerMessageDeflateFactory, enable_server_permessage_deflate)

KIB = 1024
MIB = 1024 * KIB
RUN_TIMEOUT = 90
DEFAULT_OFFER = "permessage-deflate; client_max_window_bits"
SIZES = "0,1,125,16384,1048576"
TAIL = b"\x00\x00\xff\xff"


# ================================================================ runner

class Run:
    def __init__(self, cmd, rc, out, err, elapsed, peak_rss_kib=None):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err
        self.elapsed, self.peak_rss_kib = elapsed, peak_rss_kib

    @property
    def lines(self):
        """stdout's lines but the final "peak rss" one."""
        return [line for line in self.out.splitlines() if not line.startswith("peak rss ")]

    def value(self, prefix):
        """The rest of the first line starting with `prefix`, else None."""
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix):]
        return None

    def __repr__(self):
        return (f"Run({' '.join(map(str, self.cmd))}\n rc={self.rc}, {self.elapsed:.2f}s, "
                f"peak RSS {self.peak_rss_kib} KiB)\nstdout:\n{self.out[-4000:]}\n"
                f"stderr:\n{self.err[-4000:]}")


@pytest.fixture(scope="session")
def dclient_exe(build_c):
    return build_c("deflate_client.c")


@pytest.fixture
def dclient(dclient_exe, pkg_env, tmp_path):
    """dclient(*options, port=...) -> Run; the options go before HOST PORT."""
    counter = [0]

    def run(*opts, port, timeout=RUN_TIMEOUT):
        counter[0] += 1
        out_path = tmp_path / f"dclient{counter[0]}.out"
        err_path = tmp_path / f"dclient{counter[0]}.err"
        cmd = [str(dclient_exe), *[str(o) for o in opts], "127.0.0.1", str(port)]
        t0 = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env=pkg_env)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()  # only the child this fixture started
            proc.wait()
        out = out_path.read_text(errors="replace")
        m = re.search(r"^peak rss (-?\d+) KiB$", out, re.M)
        return Run(cmd, proc.returncode, out, err_path.read_text(errors="replace"),
                   time.monotonic() - t0, int(m.group(1)) if m else None)

    return run


def assert_echo_ok(r, count):
    """Exit 0 (not a signal), every echo right, the close, no panic."""
    assert r.rc == 0, r
    assert f"received {count} messages ok" in r.out, r
    assert r.lines[-1] == "closed", r
    assert "FAIL" not in r.out and "panic" not in r.err.lower(), r


def assert_connection_failed(r):
    """A handshake reply that must fail the connection: exactly one
    "connection error:" line, never established, exit 1 (not a signal)."""
    assert r.rc == 1, r
    errors = [line for line in r.lines if line.startswith("connection error:")]
    assert len(errors) == 1, r
    assert "established" not in r.lines and "closed" not in r.lines, r
    assert "panic" not in r.err.lower(), r


def assert_no_crash(r):
    assert r.rc in (0, 1), r  # not a signal, not an abort
    assert "panic" not in r.err.lower(), r


def n_messages(sizes, count=1):
    return len(str(sizes).split(",")) * count


# ============================================ frames and strict inflating

def strict_inflate(d, data, step=256):
    """Inflates with output steps of `step` bytes: the decompressor's window
    is then all the history there is, and a back reference further than
    2^wbits fails ("invalid distance too far back")."""
    out = []
    buf = data
    while True:
        o = d.decompress(buf, step)
        out.append(o)
        buf = d.unconsumed_tail
        if not buf and len(o) < step:
            break
    while True:
        o = d.decompress(b"", step)
        if not o:
            break
        out.append(o)
    return b"".join(out)


def split_messages(frames):
    """[(opcode, rsv1, fin, data)] data frames of one direction -> a list of
    messages (opcode, compressed, [payloads]); control frames are skipped."""
    msgs, cur = [], None
    for op, rsv1, fin, data in frames:
        if op >= 8:
            continue
        if op != CONT:
            assert cur is None, "new message before FIN"
            cur = (op, rsv1, [])
        else:
            assert cur is not None, "orphan continuation"
            assert not rsv1, "RSV1 on a continuation frame"
        cur[2].append(data)
        if fin:
            msgs.append(cur)
            cur = None
    return msgs


def parse_params(ext_header):
    """'permessage-deflate; a; b=10' -> {"a": True, "b": "10"}."""
    parts = [p.strip() for p in ext_header.split(";")]
    assert parts[0] == "permessage-deflate", ext_header
    params = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        params[k.strip()] = v.strip().strip('"') if v else True
    return params


def check_client_messages(frames, digests, ext_header):
    """The client's data frames as the server saw them: every message has
    RSV1 on its first frame (deflate was agreed), none elsewhere, and
    inflating them strictly with the agreed client window / context
    takeover gives what the server delivered (`digests`, sha1 per message).
    Returns (compressed bytes on the wire, message bytes)."""
    params = parse_params(ext_header)
    cw = params.get("client_max_window_bits")
    wbits = int(cw) if isinstance(cw, str) else 15
    no_takeover = "client_no_context_takeover" in params
    msgs = split_messages(frames)
    assert len(msgs) == len(digests), (len(msgs), len(digests))
    d = zlib.decompressobj(-wbits)
    wire = plain = 0
    for i, (op, compressed, parts) in enumerate(msgs):
        data = b"".join(parts)
        wire += len(data)
        assert compressed, f"client message {i} ({op}) was sent without RSV1"
        if no_takeover:
            d = zlib.decompressobj(-wbits)
        try:
            inflated = strict_inflate(d, data + TAIL)
        except zlib.error as e:
            raise AssertionError(f"client message {i} does not inflate with window bits "
                                 f"{wbits}{' and no context takeover' if no_takeover else ''}"
                                 f": {e}") from None
        assert hashlib.sha1(inflated).hexdigest() == digests[i], f"client message {i}"
        plain += len(inflated)
    return wire, plain


# ===================================================== websockets servers

class Recording(ServerExtensionFactory):
    """Wraps a server extension factory: the extension it makes records
    every frame it decodes, before decoding, as (opcode, rsv1, fin, data)."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name

    def process_request_params(self, params, accepted_extensions):
        response, ext = self.inner.process_request_params(params, accepted_extensions)
        ext.frames = []
        decode = ext.decode

        def recording_decode(f, *, max_size=None):
            ext.frames.append((int(f.opcode), f.rsv1, f.fin, bytes(f.data)))
            return decode(f, max_size=max_size)

        ext.decode = recording_decode
        return response, ext


async def echo_handler(ws, results):
    rec = {"request": ws.request.headers.get("Sec-WebSocket-Extensions"),
           "response": ws.response.headers.get("Sec-WebSocket-Extensions"),
           "digests": [], "types": []}
    try:
        async for msg in ws:
            data = msg.encode() if isinstance(msg, str) else msg
            rec["digests"].append(hashlib.sha1(data).hexdigest())
            rec["types"].append("text" if isinstance(msg, str) else "binary")
            await ws.send(msg)
    finally:
        exts = ws.protocol.extensions
        rec["extensions"] = [e.name for e in exts]
        rec["frames"] = getattr(exts[0], "frames", None) if exts else None
        rec["close"] = ws.close_code
        results.append(rec)


def default_factory():
    """Exactly the factory websockets.serve() uses by default."""
    return enable_server_permessage_deflate(None)[0]


SERVER_CONFIGS = {
    "default": default_factory,
    "no-params": lambda: ServerPerMessageDeflateFactory(),
    "server_no_context_takeover":
        lambda: ServerPerMessageDeflateFactory(server_no_context_takeover=True),
    "client_no_context_takeover":
        lambda: ServerPerMessageDeflateFactory(client_no_context_takeover=True),
    "both_no_context_takeover":
        lambda: ServerPerMessageDeflateFactory(server_no_context_takeover=True,
                                               client_no_context_takeover=True),
    "server_max_window_bits=10": lambda: ServerPerMessageDeflateFactory(server_max_window_bits=10),
    "server_max_window_bits=15": lambda: ServerPerMessageDeflateFactory(server_max_window_bits=15),
    "client_max_window_bits=9": lambda: ServerPerMessageDeflateFactory(client_max_window_bits=9),
    "client_max_window_bits=12": lambda: ServerPerMessageDeflateFactory(client_max_window_bits=12),
    "client_max_window_bits=15": lambda: ServerPerMessageDeflateFactory(client_max_window_bits=15),
    "everything-small": lambda: ServerPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True,
        server_max_window_bits=9, client_max_window_bits=9),
}


def py_server(factory=None, compression="deflate"):
    kw = {"compression": compression}
    if factory is not None:
        kw["extensions"] = [Recording(factory)]
    return PyWsServer(echo_handler, **kw)


def one_record(srv):
    recs = srv.wait_results(1, timeout=10)
    assert not srv.errors, srv.errors
    assert len(recs) == 1, recs
    return recs[0]


def check_deflate_run(r, rec, offer, count, data=None):
    """A run against a recording websockets server that negotiated deflate."""
    assert_echo_ok(r, count)
    assert rec["request"] == offer, rec["request"]
    assert rec["extensions"] == ["permessage-deflate"], rec
    assert r.value("extensions: ") == rec["response"], (r, rec["response"])
    assert rec["close"] == 1000, rec["close"]
    wire, plain = check_client_messages(rec["frames"], rec["digests"], rec["response"])
    # (repeat data only compresses with a window over its 1500 byte period)
    if data in ("compressible", "zeros") and plain > 64 * KIB:
        assert wire * 5 < plain, f"the client's messages hardly compressed: {wire} of {plain}"
    return wire, plain


# ------------------------------------------------------------ the matrix

@pytest.mark.parametrize("data", ["random", "compressible", "repeat"])
@pytest.mark.parametrize("config", list(SERVER_CONFIGS))
def test_websockets_parameter_combinations(dclient, config, data):
    """Each server configuration x data kind: 0 B, 1 B, 125 B, 16 KiB,
    1 MiB, twice, text and binary alternating; the client's frames are
    compressed (RSV1), inflate strictly with the agreed window and context
    takeover, and every echo (compressed by websockets with its parameters)
    comes back byte for byte."""
    with py_server(SERVER_CONFIGS[config]()) as srv:
        r = dclient("-s", SIZES, "-n", 2, "-t", "mixed", "-d", data, port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, n_messages(SIZES, 2), data)
    assert rec["types"] == ["text", "binary"] * 5


def test_websockets_default_server_untouched(dclient):
    """websockets.serve() exactly as shipped (compression on by default):
    it answers server_max_window_bits=12; client_max_window_bits=12 to our
    default offer, and the echoes work."""
    with PyWsServer(echo_handler) as srv:
        r = dclient("-s", SIZES, "-t", "mixed", "-d", "compressible", port=srv.port)
        rec = one_record(srv)
    assert_echo_ok(r, 5)
    assert rec["request"] == DEFAULT_OFFER
    assert rec["response"] == ("permessage-deflate; server_max_window_bits=12; "
                               "client_max_window_bits=12"), rec["response"]
    assert r.value("extensions: ") == rec["response"], r
    assert rec["extensions"] == ["permessage-deflate"]
    assert "confirm permessage-deflate len 0" in r.lines, r


@pytest.mark.parametrize("offer", [
    "permessage-deflate",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits",
    "permessage-deflate; server_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits=10",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
    "server_max_window_bits=9; client_max_window_bits=9",
])
def test_client_offers(dclient, offer):
    """The application's offer string goes out as it is (spec: "the request
    has Sec-WebSocket-Extensions: <client_offer>"); whatever websockets'
    default server answers to it, the client honours it."""
    with py_server(default_factory()) as srv:
        r = dclient("-o", offer, "-s", SIZES, "-t", "mixed", "-d", "repeat", port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, offer, 5, "repeat")


@pytest.mark.parametrize("where", ["cc", "both", "testclient"])
def test_extension_table_placement(dclient, where):
    """ccinfo.client_exts alone; client_exts winning over a different table in
    info.extensions (spec: "offers the extensions of ccinfo.client_exts if
    non-NULL, else those of its vhost"); test-client's two-entry table with
    "deflate-frame" (not negotiated; permessage-deflate still is)."""
    with py_server(default_factory()) as srv:
        r = dclient("-e", where, "-s", SIZES, "-d", "compressible", port=srv.port)
        rec = one_record(srv)
    if where == "testclient":
        assert (rec["request"] or "").startswith(DEFAULT_OFFER), rec["request"]
        offers = [o.strip().split(";")[0] for o in rec["request"].split(",")]
        assert offers.count("permessage-deflate") == 1, rec["request"]
        rec["request"] = DEFAULT_OFFER
    check_deflate_run(r, rec, DEFAULT_OFFER, 5, "compressible")


# ------------------------------------------------- veto, no compression

@pytest.mark.parametrize("where", ["ctx", "cc"])
def test_veto_offers_nothing(dclient, where):
    """LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED returning 1: the
    callback saw "permessage-deflate", the request has no
    Sec-WebSocket-Extensions, nothing is negotiated (the option call says
    -1), the echoes are plain."""
    with py_server(default_factory()) as srv:
        r = dclient("-V", "-e", where, "-s", SIZES, "-t", "mixed",
                    "-O", "rx_buf_size=12", port=srv.port)
        rec = one_record(srv)
    assert_echo_ok(r, 5)
    assert "confirm permessage-deflate len 0" in r.lines, r
    assert rec["request"] is None, rec["request"]
    assert rec["response"] is None and rec["extensions"] == []
    assert r.value("extensions: ") == "-", r
    assert "option rx_buf_size=12 -> -1" in r.lines, r


def test_confirm_comes_before_the_request_is_made(dclient):
    """CONTRACT sequence G: CLIENT_CONFIRM_EXTENSION_SUPPORTED (in = the
    extension's name, len 0) once, before CLIENT_APPEND_HANDSHAKE_HEADER."""
    with py_server(default_factory()) as srv:
        r = dclient("-s", "16", port=srv.port)
        one_record(srv)
    assert_echo_ok(r, 1)
    assert r.lines[:3] == ["confirm permessage-deflate len 0", "append-handshake-header",
                           "extensions: permessage-deflate; server_max_window_bits=12; "
                           "client_max_window_bits=12"], r


def test_foreign_callback_not_negotiated(dclient):
    """Spec: an extension entry whose callback is not
    lws_extension_callback_pm_deflate is not negotiated (even when named
    "permessage-deflate"); the connection works without it."""
    with py_server(default_factory()) as srv:
        r = dclient("-e", "foreign", "-s", SIZES, "-d", "compressible", port=srv.port)
        rec = one_record(srv)
    assert_echo_ok(r, 5)
    assert rec["extensions"] == [] and rec["response"] is None, (rec["request"], r)
    assert r.value("extensions: ") == "-", r


@pytest.fixture(scope="session")
def dclient_asan_exe(build_c):
    return build_c("deflate_client.c", name="deflate_client_asan",
                   flags=("-std=gnu99", "-Wall", "-Wextra", "-Werror", "-g",
                          "-fsanitize=address", "-fno-omit-frame-pointer"))


@pytest.mark.parametrize("peer", ["websockets", "raw-tiny", "raw-fragmented"])
def test_headroom_and_memory_under_asan(dclient_asan_exe, pkg_env, tmp_path, peer):
    """The client built with AddressSanitizer (its malloc also serves the
    library's buffers) writes over the LWS_PRE bytes before every received
    chunk (-H): inflated chunks have the headroom the spec promises, and no
    invalid access happens anywhere in the run."""
    sizes = "0,1,125,4095,4096,4097,16384,100000"
    opts = ["-H", "-s", sizes, "-n", 2, "-t", "mixed", "-d", "compressible", "-r", 1000]
    env = {**pkg_env, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=99"}

    def run(port):
        cmd = [str(dclient_asan_exe), *map(str, opts), "127.0.0.1", str(port)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env,
                           stdin=subprocess.DEVNULL)
        return Run(cmd, p.returncode, p.stdout, p.stderr, 0)

    if peer == "websockets":
        with py_server(default_factory()) as srv:
            r = run(srv.port)
            one_record(srv)
    else:
        with DeflateEcho("permessage-deflate", peer[4:]) as srv:
            r = run(srv.port)
            srv.result(r)
    assert "AddressSanitizer" not in r.err, r
    assert_echo_ok(r, n_messages(sizes, 2))


def test_no_extension_registered(dclient):
    with py_server(default_factory()) as srv:
        r = dclient("-e", "none", "-s", SIZES, port=srv.port)
        rec = one_record(srv)
    assert_echo_ok(r, 5)
    assert rec["request"] is None and rec["extensions"] == []
    assert not any(line.startswith("confirm") for line in r.lines), r


def test_server_without_compression(dclient):
    """compression=None: the client offers, the server declines (no header in
    the 101), every message goes uncompressed both ways (websockets would
    fail the connection on RSV1), lws_set_extension_option gives -1."""
    with PyWsServer(echo_handler, compression=None) as srv:
        r = dclient("-s", SIZES, "-n", 2, "-t", "mixed", "-d", "compressible",
                    "-O", "compression_level=9", port=srv.port)
        rec = one_record(srv)
    assert_echo_ok(r, 10)
    assert rec["request"] == DEFAULT_OFFER
    assert rec["response"] is None and rec["extensions"] == []
    assert r.value("extensions: ") == "-", r
    assert "option compression_level=9 -> -1" in r.lines, r
    assert rec["close"] == 1000


# ------------------------------------------- sending and receiving modes

def test_pipelined_100_messages(dclient):
    """100 messages written without waiting for echoes (context takeover
    across all of them), text and binary."""
    sizes = "1,16,125,200,1000,4096,5000,65536,0,300"
    with py_server(default_factory()) as srv:
        r = dclient("-q", "-s", sizes, "-n", 10, "-t", "mixed", "-d", "compressible",
                    port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, 100, "compressible")


@pytest.mark.parametrize("config", ["default", "client_no_context_takeover"])
def test_fragmented_sends_with_pings_between(dclient, config):
    """Each message written in 1000 byte pieces (LWS_WRITE_NO_FIN /
    CONTINUATION) with a PING written between the pieces: RSV1 only on the
    first frame, the pings are not compressed (websockets answers every one),
    the message inflates whole."""
    sizes = "0,1,125,16384,100000"
    with py_server(SERVER_CONFIGS[config]()) as srv:
        r = dclient("-f", 1000, "-g", "-s", sizes, "-n", 2, "-t", "mixed", "-d", "repeat",
                    port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, 10, "repeat")
    m = re.search(r"^pings (\d+) pongs (\d+)$", r.out, re.M)
    assert m and int(m.group(1)) == int(m.group(2)) > 100, r
    pings = [f for f in rec["frames"] if f[0] == PING]
    assert len(pings) == int(m.group(1)) and not any(f[1] for f in pings)
    # data frames: one per piece at least, continuation frames never RSV1
    data = [f for f in rec["frames"] if f[0] < 8]
    assert len(data) >= 2 * (1 + 1 + 1 + 17 + 100), len(data)


@pytest.mark.parametrize("data", ["compressible", "random"])
def test_rx_flow_control_while_inflating(dclient, data):
    """lws_rx_flow_control(wsi, 0) after every 3rd chunk, re-enabled ~5 ms
    later: no CLIENT_RECEIVE while disabled, nothing lost or reordered."""
    with py_server(default_factory()) as srv:
        r = dclient("-F", 3, "-s", "0,1,125,16384,1048576", "-t", "mixed", "-d", data,
                    port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, 5, data)
    pauses = int(re.search(r"flow pauses (\d+)", r.out).group(1))
    assert pauses > 80, r


@pytest.mark.parametrize("rx_buf_size,limit", [("10", 1024), ("12", 4096)])
def test_rx_buf_size_option_limits_chunks(dclient, rx_buf_size, limit):
    """lws_set_extension_option(wsi, "permessage-deflate", "rx_buf_size", N)
    returns 0 once deflate is agreed; inflated data then arrives in chunks
    of at most 2^N bytes (the protocol's rx_buffer_size is 65536 here)."""
    with py_server(default_factory()) as srv:
        r = dclient("-r", 65536, "-c", limit, "-O", f"rx_buf_size={rx_buf_size}",
                    "-s", "16384,1048576,100000", "-d", "compressible", port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, 3, "compressible")
    assert f"option rx_buf_size={rx_buf_size} -> 0" in r.lines, r


def test_chunks_follow_rx_buffer_size(dclient):
    """Without options the inflated chunks are at most the protocol's
    rx_buffer_size (1000 here, not a power of two)."""
    with py_server(default_factory()) as srv:
        r = dclient("-r", 1000, "-s", "16384,1048576", "-d", "zeros", port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, 2, "zeros")
    assert int(re.search(r"max chunk (\d+)", r.out).group(1)) <= 1000


def test_extension_options_accepted(dclient):
    """The option names of the spec return 0 on a deflate connection
    (unknown names are ignored, still 0), and the echoes keep working."""
    opts = ["compression_level=9", "mem_level=9", "tx_buf_size=12", "rx_buf_size=11",
            "no_such_option=1"]
    args = []
    for o in opts:
        args += ["-O", o]
    with py_server(default_factory()) as srv:
        r = dclient(*args, "-s", SIZES, "-d", "compressible", port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, 5, "compressible")
    for o in opts:
        assert f"option {o} -> 0" in r.lines, r


def test_16_mib_messages(dclient):
    with py_server(default_factory()) as srv:
        r = dclient("-s", f"{16 * MIB},{16 * MIB}", "-t", "mixed", "-d", "compressible",
                    port=srv.port)
        rec = one_record(srv)
    check_deflate_run(r, rec, DEFAULT_OFFER, 2, "compressible")


# ===================================================== raw servers

def raw_handshake(sock, response_ext, protocol="echo"):
    """Reads the request and answers 101 with `response_ext` (None: no
    Sec-WebSocket-Extensions). Returns (request headers, RawWs)."""
    _, headers, rest = read_request(sock)
    extra = [f"Sec-WebSocket-Extensions: {response_ext}"] if response_ext is not None else []
    sock.sendall(reply_101(headers["sec-websocket-key"], protocol=protocol, extra=extra))
    ws = RawWs(sock)
    ws.buf += rest
    return headers, ws


def until_eof_or_close(ws, timeout=5.0):
    """Frames until the client's CLOSE or EOF: returns the CLOSE's code
    (None for EOF / a reset / no close code) and whether any data frame came."""
    ws.sock.settimeout(timeout)
    data_frames = 0
    try:
        while True:
            f = ws.recv_frame()
            if f.opcode == CLOSE:
                try:
                    ws.send(CLOSE, f.payload[:2], mask=False)
                except OSError:
                    pass
                return f.code, data_frames
            if f.opcode < 8:
                data_frames += 1
    except (EOFError, ConnectionError, socket.timeout, OSError):
        return None, data_frames


# ---------------------------------------- replies that fail the connection

BAD_REPLIES = [
    # spec: "an unknown parameter or window bits outside 8..15 fail the connection"
    ("unknown-parameter", DEFAULT_OFFER, "permessage-deflate; foo=1"),
    ("client_max_window_bits=20", DEFAULT_OFFER, "permessage-deflate; client_max_window_bits=20"),
    ("client_max_window_bits=7", DEFAULT_OFFER, "permessage-deflate; client_max_window_bits=7"),
    ("server_max_window_bits=7", DEFAULT_OFFER, "permessage-deflate; server_max_window_bits=7"),
    ("server_max_window_bits=16", DEFAULT_OFFER, "permessage-deflate; server_max_window_bits=16"),
    # spec: "an extension we did not offer"
    ("not-offered-extension", DEFAULT_OFFER, "x-webkit-deflate-frame"),
    ("unknown-extension-after", DEFAULT_OFFER, "permessage-deflate, x-foo"),
    # RFC 7692 section 7 / 7.1.2: invalid values, duplicates, a missing value
    ("server_max_window_bits=abc", DEFAULT_OFFER, "permessage-deflate; server_max_window_bits=abc"),
    ("duplicate-parameter", DEFAULT_OFFER,
     "permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
    ("value-on-no_context_takeover", DEFAULT_OFFER,
     "permessage-deflate; server_no_context_takeover=1"),
    ("server_max_window_bits-without-value", DEFAULT_OFFER,
     "permessage-deflate; server_max_window_bits"),
    ("client_max_window_bits-without-value", DEFAULT_OFFER,
     "permessage-deflate; client_max_window_bits"),
    ("accepted-twice", DEFAULT_OFFER, "permessage-deflate, permessage-deflate"),
]


@pytest.mark.parametrize("offer,reply", [(o, r) for _, o, r in BAD_REPLIES],
                         ids=[i for i, _, _ in BAD_REPLIES])
def test_bad_extension_reply_fails_the_connection(dclient, offer, reply):
    def behaviour(sock, server):
        headers, ws = raw_handshake(sock, reply)
        code, data = until_eof_or_close(ws, 3.0)
        return {"request": headers.get("sec-websocket-extensions"), "data": data}

    with RawServer(behaviour) as srv:
        r = dclient("-o", offer, "-s", "16", "-w", 10, port=srv.port)
        srv.wait_results(1)
    assert_connection_failed(r)
    assert not srv.errors, srv.errors
    assert srv.results[0]["request"] == offer
    assert srv.results[0]["data"] == 0, "the client sent data on a failed connection"


def test_reply_with_deflate_after_a_veto_fails(dclient):
    """The client vetoed (offered nothing); a 101 accepting permessage-deflate
    anyway is an extension it did not offer."""
    def behaviour(sock, server):
        headers, ws = raw_handshake(sock, "permessage-deflate")
        until_eof_or_close(ws, 3.0)
        return headers.get("sec-websocket-extensions")

    with RawServer(behaviour) as srv:
        r = dclient("-V", "-s", "16", "-w", 10, port=srv.port)
        srv.wait_results(1)
    assert_connection_failed(r)
    assert srv.results == [None]


# -------------------------------------------- a strict deflate echo server

class DeflateEcho:
    """A raw server that agrees `response_ext`, checks every frame of the
    client (masked; RSV1 on the first frame of each data message if `deflate`;
    no RSV1 on control or continuation frames; no RSV2/RSV3), inflates the
    client's messages strictly (window from client_max_window_bits, fresh
    per message under client_no_context_takeover) and echoes each message
    encoded as `mode` says:

      compressed   one frame, RSV1, context takeover unless
                   server_no_context_takeover
      plain        one uncompressed frame
      mixed        compressed and plain alternating
      fragmented   compressed, in 3 frames with a PING between them
      plain-frag   uncompressed, in 3 frames with a PING between them
      tiny         compressed, in frames of 1-7 bytes, PINGs every 5 frames
      empty-frags  compressed: an empty CONT between the halves and an empty
                   final CONT
      empty-first  compressed: an empty first frame (RSV1), everything in
                   the final CONT
      bfinal       compressed with Z_FINISH (a BFINAL block, tail kept as it
                   is), a new compressor per message (RFC 7692 7.2.3.3)
    """

    def __init__(self, response_ext, mode="compressed", deflate=True, allow_plain=False):
        self.response_ext = response_ext
        self.mode = mode
        self.deflate = deflate
        self.allow_plain = allow_plain  # the client may send uncompressed (window 8)
        params = parse_params(response_ext) if deflate and response_ext else {}
        cw = params.get("client_max_window_bits")
        self.client_wbits = int(cw) if cw not in (None, True) else 15
        sw = params.get("server_max_window_bits")
        self.server_wbits = int(sw) if sw not in (None, True) else 15
        self.client_nct = "client_no_context_takeover" in params
        self.server_nct = "server_no_context_takeover" in params or mode == "bfinal"
        self.server = RawServer(self.behaviour)
        self.port = self.server.port

    def compress(self, state, data, finish=False):
        if finish or self.server_nct or state.get("c") is None:
            state["c"] = zlib.compressobj(6, zlib.DEFLATED, -max(self.server_wbits, 9))
        c = state["c"]
        out = c.compress(data) + c.flush(zlib.Z_FINISH if finish else zlib.Z_SYNC_FLUSH)
        if not finish:
            assert out.endswith(TAIL)
            out = out[:-4]
        return out

    def echo_frames(self, state, i, op, data):
        """[(opcode, payload, fin, rsv)] for echo number i (PINGs included)."""
        mode = self.mode
        if mode == "mixed":
            mode = "compressed" if i % 2 == 0 else "plain"
        if mode == "plain":
            return [(op, data, True, 0)]
        if mode == "plain-frag":
            a, b = len(data) // 3, 2 * len(data) // 3
            return [(op, data[:a], False, 0), (PING, b"p%d" % i, True, 0),
                    (CONT, data[a:b], False, 0), (PING, b"q%d" % i, True, 0),
                    (CONT, data[b:], True, 0)]
        z = self.compress(state, data, finish=mode == "bfinal")
        if mode in ("compressed", "bfinal"):
            return [(op, z, True, 0x40)]
        if mode == "fragmented":
            a, b = len(z) // 3, 2 * len(z) // 3
            return [(op, z[:a], False, 0x40), (PING, b"p%d" % i, True, 0),
                    (CONT, z[a:b], False, 0), (PING, b"q%d" % i, True, 0),
                    (CONT, z[b:], True, 0)]
        if mode == "empty-frags":
            a = len(z) // 2
            return [(op, z[:a], False, 0x40), (CONT, b"", False, 0), (CONT, z[a:], False, 0),
                    (CONT, b"", True, 0)]
        if mode == "empty-first":
            return [(op, b"", False, 0x40), (CONT, z, True, 0)]
        if mode == "tiny":
            out, pos, k = [], 0, 0
            while pos < len(z) or not out:
                n = 1 + k % 7
                piece = z[pos:pos + n]
                pos += n
                out.append((op if not out else CONT, piece, pos >= len(z), 0x40 if not out else 0))
                k += 1
                if k % 5 == 0 and pos < len(z):
                    out.append((PING, b"t%d" % k, True, 0))
            return out
        raise AssertionError(mode)

    def behaviour(self, sock, server):
        headers, ws = raw_handshake(sock, self.response_ext)
        rec = {"request": headers.get("sec-websocket-extensions"), "errors": [],
               "messages": 0, "compressed": 0, "pings": [], "pongs": [], "close": None}
        state = {}
        inflater = zlib.decompressobj(-self.client_wbits)
        ws.sock.settimeout(10)
        parts, first = [], None
        while True:
            f = ws.recv_frame()
            if not f.masked:
                rec["errors"].append(f"unmasked {f}")
            if f.rsv & 0x30:
                rec["errors"].append(f"RSV2/RSV3 in {f}")
            if f.opcode >= 8:
                if f.rsv:
                    rec["errors"].append(f"RSV1 on a control frame {f}")
                if f.opcode == PONG:
                    rec["pongs"].append(f.payload)
                elif f.opcode == PING:
                    ws.send(PONG, f.payload, mask=False)
                elif f.opcode == CLOSE:
                    rec["close"] = f.code
                    ws.send(CLOSE, f.payload[:2], mask=False)
                    return rec
                continue
            if f.opcode == CONT:
                if first is None:
                    rec["errors"].append(f"orphan continuation {f}")
                if f.rsv:
                    rec["errors"].append(f"RSV1 on a continuation frame {f}")
            else:
                if first is not None:
                    rec["errors"].append(f"new message before FIN {f}")
                first = f
                parts = []
            parts.append(f.payload)
            if not f.fin:
                continue
            data = b"".join(parts)
            compressed = bool(first.rsv & 0x40)
            if compressed and not self.deflate:
                rec["errors"].append("RSV1 without deflate agreed")
            if not compressed and self.deflate and not self.allow_plain:
                rec["errors"].append(f"message {rec['messages']} not compressed")
            if compressed:
                rec["compressed"] += 1
                if self.client_nct:
                    inflater = zlib.decompressobj(-self.client_wbits)
                try:
                    data = strict_inflate(inflater, data + TAIL)
                except zlib.error as e:
                    rec["errors"].append(f"message {rec['messages']}: {e}")
                    ws.send(CLOSE, close_payload(1007), mask=False)
                    until_eof_or_close(ws, 2)
                    return rec
            op = first.opcode
            first = None
            for fop, payload, fin, rsv in self.echo_frames(state, rec["messages"], op, data):
                if fop == PING:
                    rec["pings"].append(payload)
                ws.send_raw(frame(fop, payload, fin=fin, rsv=rsv, mask=False))
            rec["messages"] += 1

    def result(self, run=None):
        """The connection's record; asserts the server found nothing wrong
        (`run`, the client's Run, goes into the message)."""
        recs = self.server.wait_results(1, timeout=10)
        assert not self.server.errors, (self.server.errors, run)
        assert len(recs) == 1, (recs, run)
        rec = recs[0]
        assert not rec["errors"], (rec["errors"], run)
        return rec

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.stop()


ECHO_CASES = [
    # (id, response extension, mode, sizes)
    ("compressed", "permessage-deflate", "compressed", SIZES),
    ("plain-echoes", "permessage-deflate", "plain", SIZES),
    ("mixed", "permessage-deflate", "mixed", SIZES),
    ("fragmented-pings-between", "permessage-deflate", "fragmented", SIZES),
    ("plain-fragmented-pings-between", "permessage-deflate", "plain-frag", SIZES),
    ("tiny-fragments", "permessage-deflate", "tiny", "0,1,125,3000"),
    ("empty-fragments", "permessage-deflate", "empty-frags", SIZES),
    ("empty-first-fragment", "permessage-deflate", "empty-first", SIZES),
    ("bfinal-blocks", "permessage-deflate; server_no_context_takeover", "bfinal", SIZES),
    ("server_no_context_takeover", "permessage-deflate; server_no_context_takeover",
     "compressed", SIZES),
    ("client_no_context_takeover", "permessage-deflate; client_no_context_takeover",
     "compressed", SIZES),
    ("server_no_context_takeover-not-offered", "permessage-deflate; server_no_context_takeover",
     "compressed", SIZES),
    ("server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9", "compressed",
     SIZES),
    ("client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9", "compressed",
     SIZES),
    ("client_max_window_bits=10-both-no-takeover",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=10; client_max_window_bits=10", "mixed", SIZES),
    ("client_max_window_bits=15", "permessage-deflate; client_max_window_bits=15", "compressed",
     SIZES),
    # RFC 7692 section 7: a value may be a quoted-string
    ("quoted-value", 'permessage-deflate;client_max_window_bits="11"', "compressed", SIZES),
]


@pytest.mark.parametrize("data", ["compressible", "repeat"])
@pytest.mark.parametrize("ext,mode,sizes", [c[1:] for c in ECHO_CASES],
                         ids=[c[0] for c in ECHO_CASES])
def test_strict_deflate_echo_server(dclient, ext, mode, sizes, data):
    """The client's messages inflate under the agreed parameters exactly
    (window bits enforced, no context takeover enforced); the echoes come
    back encoded every RFC-legal way and the client delivers them intact."""
    count = n_messages(sizes, 2)
    with DeflateEcho(ext, mode) as srv:
        r = dclient("-s", sizes, "-n", 2, "-t", "mixed", "-d", data, port=srv.port)
        rec = srv.result(r)
    assert_echo_ok(r, count)
    assert r.value("extensions: ") == ext, r
    assert rec["request"] == DEFAULT_OFFER
    assert rec["messages"] == count and rec["compressed"] == count
    assert rec["close"] == 1000
    if rec["pings"]:
        # every PING before the last echo is answered, in order; the client
        # may stop ponging once it has set its close reason
        assert rec["pongs"] == rec["pings"][:len(rec["pongs"])], rec
        last = len([p for p in rec["pings"] if p.endswith(b"%d" % (count - 1))])
        assert len(rec["pongs"]) >= len(rec["pings"]) - last - 2, rec


@pytest.mark.parametrize("mode", ["compressed", "fragmented", "tiny", "mixed"])
def test_utf8_validated_across_frames_and_chunks(dclient, mode):
    """LWS_SERVER_OPTION_VALIDATE_UTF8 on the client: valid text whose 2-4
    byte sequences are split across frames (tiny: 1-7 byte frames) and across
    the inflated 4096 byte chunks is delivered, not refused."""
    sizes = "1,125,4095,4097,16384" + (",100000" if mode != "tiny" else "")
    count = n_messages(sizes, 2)
    with DeflateEcho("permessage-deflate", mode) as srv:
        r = dclient("-U", "-s", sizes, "-n", 2, "-d", "utf8", port=srv.port)
        rec = srv.result(r)
    assert_echo_ok(r, count)
    assert rec["messages"] == count


@pytest.mark.parametrize("bad", [
    pytest.param(lambda m: m[:8] + b"\xff" + m[9:], id="invalid-byte"),
    pytest.param(lambda m: m[:15] + b"\xc3", id="truncated-sequence-at-the-end"),
    pytest.param(lambda m: m[:8] + b"\xed\xa0\x80" + m[11:], id="surrogate"),
])
def test_invalid_utf8_in_inflated_text(dclient, bad):
    """Spec "Errors": invalid UTF-8 in an inflated text message with
    LWS_SERVER_OPTION_VALIDATE_UTF8 => close 1007, before the bytes reach
    the application."""
    def behaviour(sock, server):
        _, ws = raw_handshake(sock, "permessage-deflate")
        ws.sock.settimeout(5)
        f = ws.recv_frame()
        msg = zlib.decompressobj(-15).decompress(f.payload + TAIL)
        ws.send_raw(raw(TEXT, deflate_parts(bad(msg))[0], rsv=0x40))
        return until_eof_or_close(ws, 5.0)

    with RawServer(behaviour) as srv:
        r = dclient("-U", "-s", "16,16", "-w", 10, port=srv.port)
        srv.wait_results(1)
    assert_no_crash(r)
    assert r.rc == 1 and "FAIL" not in r.out, r
    assert not srv.errors, srv.errors
    assert srv.results[0][0] == 1007, (srv.results, r)


@pytest.mark.parametrize("args,mode,ext", [
    pytest.param(("-O", "tx_buf_size=8", "-d", "random"), "compressed", "permessage-deflate",
                 id="tx_buf_size=8-random"),
    pytest.param(("-O", "tx_buf_size=8", "-d", "compressible"), "compressed",
                 "permessage-deflate", id="tx_buf_size=8-compressible"),
    pytest.param(("-O", "compression_level=0", "-d", "compressible"), "compressed",
                 "permessage-deflate", id="compression_level=0"),
    pytest.param(("-O", "mem_level=1", "-O", "compression_level=9", "-d", "repeat"),
                 "compressed", "permessage-deflate; client_max_window_bits=11",
                 id="mem_level=1-level-9-window-11"),
    pytest.param(("-O", "rx_buf_size=8", "-c", 256, "-d", "compressible"), "compressed",
                 "permessage-deflate", id="rx_buf_size=8"),
    pytest.param(("-r", 0, "-d", "compressible"), "compressed", "permessage-deflate",
                 id="rx_buffer_size-0-chunks-4096"),
    pytest.param(("-r", 100, "-c", 100, "-d", "compressible"), "tiny", "permessage-deflate",
                 id="rx_buffer_size-100-tiny-frames"),
    pytest.param(("-q", "-F", 5, "-d", "random", "-t", "mixed"), "fragmented",
                 "permessage-deflate", id="pipelined-flow-control-fragmented"),
])
def test_options_and_buffers_with_strict_server(dclient, args, mode, ext):
    """Options that change how the client compresses (output buffer of 256
    bytes, level 0 = stored blocks, a small mem_level) or how it delivers
    (rx_buf_size, rx_buffer_size 0 and 100): still strictly valid, still
    byte-exact; chunks never over the limit (-c, default rx_buffer_size or
    4096)."""
    with DeflateEcho(ext, mode) as srv:
        r = dclient("-s", SIZES, "-n", 2, *args, port=srv.port)
        rec = srv.result(r)
    assert_echo_ok(r, 10)
    assert rec["messages"] == rec["compressed"] == 10
    for o in args:
        if isinstance(o, str) and "=" in o:
            assert f"option {o} -> 0" in r.lines, r


def test_big_fragmented_pipelined_no_context_takeover(dclient):
    """1 MiB and 3 MB messages written in 300000 byte pieces, pipelined, with
    PINGs between pieces, client_no_context_takeover: each message inflates
    on its own; the echoes come back fragmented with PINGs between."""
    ext = "permessage-deflate; client_no_context_takeover"
    with DeflateEcho(ext, "fragmented") as srv:
        r = dclient("-s", "1048576,3000000", "-n", 3, "-q", "-f", 300000, "-g", "-t", "binary",
                    "-d", "compressible", port=srv.port)
        rec = srv.result(r)
    assert_echo_ok(r, 6)
    assert rec["messages"] == rec["compressed"] == 6


def test_client_max_window_bits_8(dclient):
    """client_max_window_bits=8: zlib cannot deflate with a 256 byte window
    (it silently uses 512); the client must still produce messages a 256
    byte window inflates - or send them uncompressed (RFC-legal)."""
    with DeflateEcho("permessage-deflate; client_max_window_bits=8", allow_plain=True) as srv:
        r = dclient("-s", SIZES, "-n", 2, "-t", "mixed", "-d", "repeat", port=srv.port)
        rec = srv.result(r)
    assert_echo_ok(r, 10)
    assert rec["messages"] == 10
    # all compressed (and inflatable with 256 bytes of window) or none
    assert rec["compressed"] in (0, 10), rec


def test_client_max_window_bits_in_reply_not_offered(dclient):
    """RFC 7692 7.1.2.2: a server MUST NOT answer client_max_window_bits to an
    offer without it. The spec does not make this a failure: a client that
    accepts such a reply must honour it (the server inflates with a 1024
    byte window); failing the connection cleanly is fine too."""
    with DeflateEcho("permessage-deflate; client_max_window_bits=10") as srv:
        r = dclient("-o", "permessage-deflate", "-s", SIZES, "-n", 2, "-t", "mixed",
                    "-d", "repeat", port=srv.port)
        if any(line.startswith("connection error:") for line in r.lines):
            assert_connection_failed(r)
            return
        rec = srv.result(r)
    assert_echo_ok(r, 10)
    assert rec["request"] == "permessage-deflate" and rec["compressed"] == 10


def test_deflate_not_agreed_client_sends_plain(dclient):
    """The client offered, the 101 has no extension: no RSV1 on anything."""
    with DeflateEcho(None, "plain", deflate=False) as srv:
        r = dclient("-s", SIZES, "-t", "mixed", "-d", "compressible", port=srv.port)
        rec = srv.result(r)
    assert_echo_ok(r, 5)
    assert rec["compressed"] == 0 and rec["messages"] == 5


# ----------------------------------------------- malformed data from the server

def deflate_parts(*parts):
    """Each part compressed in turn with one compressor (context takeover),
    sync-flushed, the tail removed: the frames' payloads of one message."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = []
    for i, p in enumerate(parts):
        z = c.compress(p) + c.flush(zlib.Z_SYNC_FLUSH)
        out.append(z[:-4] if i == len(parts) - 1 else z)
    return out


def raw(op, payload, **kw):
    return frame(op, payload, mask=False, **kw)


# (id, response extension, frames made of the client's first message, codes)
MALFORMED = [
    ("bad-deflate-stream", "permessage-deflate",
     lambda m: [raw(TEXT, b"\xff\xff\xff\xff\xff", rsv=0x40)], (1007,)),
    ("bad-deflate-in-second-fragment", "permessage-deflate",
     lambda m: [raw(TEXT, deflate_parts(m[:8])[0], fin=False, rsv=0x40),
                raw(CONT, b"\xff\xff\xff\xff")], (1007,)),
    ("rsv1-on-ping", "permessage-deflate", lambda m: [raw(PING, b"x", rsv=0x40)], (1002,)),
    ("rsv1-on-close", "permessage-deflate",
     lambda m: [raw(CLOSE, close_payload(1000), rsv=0x40)], (1002,)),
    ("rsv1-on-continuation", "permessage-deflate",
     lambda m: [raw(TEXT, m[:8], fin=False), raw(CONT, m[8:], rsv=0x40)], (1002,)),
    ("rsv1-on-continuation-of-compressed", "permessage-deflate",
     lambda m: (lambda z: [raw(TEXT, z[0], fin=False, rsv=0x40),
                           raw(CONT, z[1], rsv=0x40)])(deflate_parts(m[:8], m[8:])), (1002,)),
    ("rsv1-without-deflate", None,
     lambda m: [raw(TEXT, deflate_parts(m)[0], rsv=0x40)], (1002,)),
    ("rsv2", "permessage-deflate", lambda m: [raw(TEXT, m, rsv=0x20)], (1002,)),
    ("rsv3-compressed", "permessage-deflate",
     lambda m: [raw(TEXT, deflate_parts(m)[0], rsv=0x50)], (1002,)),
]


@pytest.mark.parametrize("ext,make,codes", [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_from_server(dclient, ext, make, codes):
    """Spec "Errors": RSV1 on a control / continuation frame or without
    deflate, RSV2/RSV3 => 1002; a payload that is not a deflate stream =>
    1007. The frames answer the client's first message (the valid parts of
    them are that message, so the client itself finds nothing wrong before
    the library does); the client closes with that code, no crash."""
    def behaviour(sock, server):
        _, ws = raw_handshake(sock, ext)
        ws.sock.settimeout(5)
        parts, first = [], None
        while True:  # the client's first message
            f = ws.recv_frame()
            if f.opcode >= 8:
                continue
            first = first or f
            parts.append(f.payload)
            if f.fin:
                break
        msg = b"".join(parts)
        if first.rsv & 0x40:
            msg = zlib.decompressobj(-15).decompress(msg + TAIL)
        for fr in make(msg):
            ws.send_raw(fr)
        return until_eof_or_close(ws, 5.0)

    with RawServer(behaviour) as srv:
        r = dclient("-s", "16,16", "-w", 10, port=srv.port)
        srv.wait_results(1)
    assert_no_crash(r)
    assert r.rc == 1, r
    assert "FAIL" not in r.out, r
    assert not srv.errors, srv.errors
    code, _ = srv.results[0]
    assert code in codes, f"the client closed with {code}, expected {codes}\n{r}"


# ------------------------------------------------------- decompression bomb

@lru_cache(maxsize=1)
def bomb(total=1 << 30):
    """`total` zero bytes as one raw deflate stream (sync-flushed, tail off)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(MIB)
    out = [c.compress(chunk) for _ in range(total // MIB)]
    out.append(c.flush(zlib.Z_SYNC_FLUSH))
    z = b"".join(out)
    assert z.endswith(TAIL)
    return z[:-4]


@pytest.mark.parametrize("flow", [False, True], ids=["no-flow-control", "flow-control"])
def test_decompression_bomb_bounded_memory(dclient, flow):
    """1 GiB of zeros in one compressed message (~1 MiB on the wire) sent to
    the client: it is delivered in chunks of at most rx_buffer_size (4096),
    the whole GiB arrives, and the client's peak RSS stays far below it
    (spec: "inflating never runs more than one rx chunk ahead")."""
    z = bomb()

    def behaviour(sock, server):
        _, ws = raw_handshake(sock, "permessage-deflate")
        ws.sock.settimeout(30)
        while True:
            f = ws.recv_frame()
            if f.opcode < 8 and f.fin:
                break
        ws.send_raw(frame(BINARY, z, rsv=0x40, mask=False))
        return until_eof_or_close(ws, 60.0)

    opts = ["-S", "-s", "1", "-t", "binary", "-w", 80]
    if flow:
        opts += ["-F", 512]
    with RawServer(behaviour) as srv:
        r = dclient(*opts, port=srv.port, timeout=120)
        srv.wait_results(1, timeout=30)
    assert r.rc == 0, r
    assert "sink message 0: 1073741824 bytes binary" in r.lines, r
    assert int(re.search(r"max chunk (\d+)", r.out).group(1)) <= 4096, r
    assert r.peak_rss_kib is not None and 0 < r.peak_rss_kib < 32 * 1024, r
    assert not srv.errors and srv.results[0][0] == 1000, (srv.errors, srv.results)


# =============================================== lws client <-> lws server

@pytest.mark.parametrize("opts", [
    pytest.param(("-n", 20), id="one-by-one"),
    pytest.param(("-n", 20, "-q"), id="pipelined"),
    pytest.param(("-n", 5, "-f", 700, "-g"), id="fragmented-pings-between"),
    pytest.param(("-n", 10, "-F", 2), id="client-rx-flow-control"),
])
@pytest.mark.parametrize("server", ["demo-server", "lwsws"])
def test_against_our_own_servers(dclient, request, server, opts):
    """Our client against our servers' lws-echo protocol (messages up to
    4096 bytes: demo-server.c and lwsws's lws-echo plugin), deflate at both
    ends: the 101 accepts it, every echo comes back."""
    srv = request.getfixturevalue("demo" if server == "demo-server" else "lwsws")
    sizes = "0,1,125,4096,2000"
    r = dclient("-p", "lws-echo", "-s", sizes, "-t", "mixed", "-d", "compressible",
                *opts, port=srv.port)
    count = n_messages(sizes, int(opts[1]))
    assert_echo_ok(r, count)
    assert r.value("extensions: ") == "permessage-deflate", r
    if "-g" in opts:
        m = re.search(r"^pings (\d+) pongs (\d+)$", r.out, re.M)
        assert m and int(m.group(1)) == int(m.group(2)) > 0, r
    srv.stop()
