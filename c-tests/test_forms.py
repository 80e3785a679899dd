"""Form parsing (lws_spa_*, CONTRACT §11) the way applications use it:
c-tests/forms_server.c handles POSTs like lws 2.0's test-server-http.c
(a struct lws_spa * per session, created at the first HTTP_BODY, finalized at
BODY_COMPLETION, uploads written to a directory by the file callback) and
answers with what lws_spa_get_length / lws_spa_get_string report. Peers:
raw sockets feeding bodies in 1-byte and random pieces, curl -F and
--data-urlencode, malformed and fuzzed bodies."""

import os
import random
import re
import socket
import subprocess
import time

import pytest

from conftest import have
from servers import Reader, Server, request, started_servers

PARAMS = ["text", "send", "file", "upload", "empty", "flag", "long", "a b", "multi"]
URLENC = "application/x-www-form-urlencoded"
BOUNDARY = "----formBoundary7MA4YWxk"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture(scope="session")
def forms_server_exe(build_c):
    return build_c("forms_server.c")


@pytest.fixture
def start_forms(forms_server_exe, pkg_env, tmp_path):
    """start_forms(*args) -> a running forms_server whose upload directory
    is its `docroot`."""
    def make(work, *args, cblog=False):
        uploads = work / "uploads"
        uploads.mkdir()
        return Server(forms_server_exe, pkg_env, work, uploads, args, cblog)

    with started_servers(tmp_path, "forms", make) as start:
        yield start


@pytest.fixture
def srv(start_forms):
    return start_forms()


# ------------------------------------------------------------- helpers

class Result:
    """forms_server's answer: body-calls, finalize, the values by name
    (None for "(none)") and the uploads as {field: (filename, length, fnv)}."""

    def __init__(self, body):
        self.raw = body
        m = re.match(rb"body-calls=(\d+)\nfinalize=(-?\d+)\n", body)
        assert m, body[:300]
        self.body_calls, self.finalize = int(m.group(1)), int(m.group(2))
        at = m.end()
        self.values = {}
        self.lengths = {}
        for name in PARAMS:
            m = re.compile(re.escape(name.encode()) + rb" len=(\d+) value=").match(body, at)
            assert m, (name, body[at:at + 200])
            n, at = int(m.group(1)), m.end()
            self.lengths[name] = n
            if n == 0 and body.startswith(b"(none)\n", at):
                self.values[name] = None
                at += 7
            else:
                self.values[name] = body[at:at + n]
                assert body[at + n:at + n + 1] == b"\n", body[at:at + n + 20]
                at += n + 1
        self.uploads = {}
        for line in body[at:].decode().splitlines():
            m = re.fullmatch(r"upload (\S+) (\S+) length=(\d+) fnv=([0-9a-f]{16})", line)
            assert m, line
            self.uploads[m.group(1)] = (m.group(2), int(m.group(3)), m.group(4))


def fnv1a64(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def post_head(ctype, length, path="/form"):
    headers = [f"Content-Length: {length}"]
    if ctype is not None:
        headers.insert(0, f"Content-Type: {ctype}")
    return request("POST", path, headers)


def pieces_of(body, sizes):
    """`body` cut into pieces whose sizes cycle through `sizes`."""
    out, at, i = [], 0, 0
    while at < len(body):
        out.append(body[at:at + sizes[i % len(sizes)]])
        at += sizes[i % len(sizes)]
        i += 1
    return out


def exchange(srv, ctype, body, pieces=None, delay=0.0, timeout=10.0):
    """POSTs `body` (in `pieces`, `delay` apart, on a TCP_NODELAY socket):
    (status, headers, response body), or None if the server closed the
    connection without an answer."""
    with srv.connect(timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s.sendall(post_head(ctype, len(body)))
            for piece in pieces if pieces is not None else [body]:
                if delay:
                    time.sleep(delay)
                s.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server gave up on the body: it closed, see below
        try:
            _, status, headers, rbody = Reader(s).response()
        except (EOFError, ConnectionResetError):
            return None
        return status, headers, rbody


def post(srv, ctype, body, **kw):
    got = exchange(srv, ctype, body, **kw)
    assert got is not None, f"connection closed\n{srv.stderr()[-2000:]}"
    status, headers, rbody = got
    assert status == 200, rbody
    assert headers["content-type"] == "text/plain"
    return Result(rbody)


def assert_serves(srv):
    """The server is alive and still answers a form."""
    srv.assert_alive()
    r = post(srv, URLENC, b"text=still+here")
    assert r.values["text"] == b"still here"


def multipart(fields=(), files=(), boundary=BOUNDARY):
    """A multipart/form-data body: fields [(name, value)], files
    [(name, filename, content)]."""
    out = b""
    for name, value in fields:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                .encode() + value + b"\r\n")
    for name, filename, content in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                .encode() + content + b"\r\n")
    return out + f"--{boundary}--\r\n".encode()


def nasty_bytes(rng, n):
    """Random bytes full of CRLFs, "--" and prefixes of the delimiter (but
    never the whole delimiter)."""
    data = bytearray(rng.randbytes(n))
    delim = f"\r\n--{BOUNDARY}".encode()
    for _ in range(n // 500):
        at = rng.randrange(n - len(delim))
        k = rng.randrange(1, len(delim))
        data[at:at + k] = delim[:k]
    # (a random byte may have completed one)
    while (at := data.find(delim)) >= 0:
        data[at + len(delim) - 1] ^= 0x20
    return bytes(data)


def open_fds(srv):
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


# ------------------------------------------------------------ urlencoded

URL_BODY = (b"text=hello+w%6Frld%21%20%2b%26%3d&unlisted=zz&send=Go&empty=&flag"
            b"&a+b=x%2By&multi=1&multi=2&t%65xt2=no")
URL_VALUES = {"text": b"hello world! +&=", "send": b"Go", "file": None, "upload": None,
              "empty": b"", "flag": b"", "long": None, "a b": b"x+y", "multi": b"12"}


def test_urlencoded_values(srv):
    r = post(srv, URLENC, URL_BODY)
    assert r.finalize == 0
    assert r.values == URL_VALUES
    assert r.lengths["text"] == 16 and r.lengths["file"] == 0
    assert r.uploads == {}


def test_no_content_type_is_urlencoded(srv):
    assert post(srv, None, b"text=a%20b").values["text"] == b"a b"


def test_urlencoded_in_one_byte_pieces(srv):
    r = post(srv, URLENC, URL_BODY, pieces=pieces_of(URL_BODY, [1]), delay=0.004)
    assert r.values == URL_VALUES
    # the server really got the body in separate reads
    assert r.body_calls > 10, r.body_calls


def test_urlencoded_in_random_pieces(srv):
    rng = random.Random(1234)
    for _ in range(5):
        sizes = [rng.randint(1, 9) for _ in range(30)]
        r = post(srv, URLENC, URL_BODY, pieces=pieces_of(URL_BODY, sizes), delay=0.002)
        assert r.values == URL_VALUES
        assert r.body_calls > 1


def test_keepalive_forms_get_fresh_parsers(srv):
    with srv.connect(5.0) as s:
        reader = Reader(s)
        for i in range(3):
            body = f"text=n{i}&multi={i}".encode()
            s.sendall(post_head(URLENC, len(body)) + body)
            _, status, _, rbody = reader.response()
            assert status == 200
            r = Result(rbody)
            assert (r.values["text"], r.values["multi"]) == (f"n{i}".encode(), str(i).encode())


def test_a_value_beyond_max_storage_is_cut_off(srv):
    long = b"L" * 5000
    r = post(srv, URLENC, b"long=" + long + b"&text=after")
    # 1024 bytes: 1023 of the value and its NUL; nothing left for "text"
    assert r.values["long"] == long[:1023]
    assert r.lengths["long"] == 1023
    assert r.values["text"] is None
    assert_serves(srv)


def test_small_storage_shares_the_arena(start_forms):
    srv = start_forms("-m", "12")
    r = post(srv, URLENC, b"text=abcdef&send=0123456789&flag=x")
    # "abcdef\0" takes 7 of 12, "0123\0" the rest
    assert (r.values["text"], r.values["send"], r.values["flag"]) == (b"abcdef", b"0123", None)


@pytest.mark.skipif(not have("curl"), reason="needs curl")
def test_curl_data_urlencode(srv):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--data-urlencode", "text=a&b=c %+ü",
         "--data-urlencode", "a b=two words", "--data", "send=Go",
         srv.url("/form")], capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    res = Result(r.stdout)
    assert res.values["text"] == "a&b=c %+ü".encode()
    assert res.values["a b"] == b"two words"
    assert res.values["send"] == b"Go"


# ------------------------------------------------------------- multipart

def test_multipart_fields_and_a_1mib_upload(srv):
    content = nasty_bytes(random.Random(7), 1 << 20)
    body = multipart([("text", b"line one\r\nline two"), ("send", b"Send")],
                     [("file", "upload.bin", content)])
    r = post(srv, MULTIPART, body)
    assert r.finalize == 0
    assert r.values["text"] == b"line one\r\nline two"
    assert r.values["send"] == b"Send"
    assert r.values["file"] is None
    assert r.uploads == {"file": ("upload.bin", len(content), fnv1a64(content))}
    assert (srv.docroot / "upload.bin").read_bytes() == content
    assert r.body_calls > 16  # streamed: many bodies pieces, never held whole


def test_multipart_in_random_pieces(srv):
    rng = random.Random(99)
    content = nasty_bytes(rng, 20000)
    body = multipart([("text", b"v"), ("multi", b"a"), ("multi", b"b")],
                     [("file", "a.bin", content), ("upload", "empty.txt", b"")])
    want = post(srv, MULTIPART, body)
    assert want.uploads == {"file": ("a.bin", 20000, fnv1a64(content)),
                            "upload": ("empty.txt", 0, fnv1a64(b""))}
    assert want.values["multi"] == b"ab"
    for seed in range(3):
        rng = random.Random(seed)
        sizes = [rng.randint(1, 300) for _ in range(50)]
        r = post(srv, MULTIPART, body, pieces=pieces_of(body, sizes), delay=0.0005)
        assert (r.values, r.uploads) == (want.values, want.uploads)
        assert r.body_calls > 5
    assert (srv.docroot / "a.bin").read_bytes() == content


def test_multipart_one_byte_pieces_around_the_boundaries(srv):
    body = multipart([("text", b"\r\n--x\r\n")], [("file", "b.bin", b"\r\n-\r\n--" + BOUNDARY[:-1].encode())])
    r = post(srv, MULTIPART, body, pieces=pieces_of(body, [1]), delay=0.001)
    assert r.values["text"] == b"\r\n--x\r\n"
    assert (srv.docroot / "b.bin").read_bytes() == b"\r\n-\r\n--" + BOUNDARY[:-1].encode()
    assert r.body_calls > 20


@pytest.mark.skipif(not have("curl"), reason="needs curl")
def test_curl_multipart_upload(srv, tmp_path):
    content = nasty_bytes(random.Random(3), 1 << 20)
    src = tmp_path / "payload.bin"
    src.write_bytes(content)
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-F", "text=from curl", "-F", "send=Go",
         "-F", f"upload=@{src};filename=curl.bin", srv.url("/form")],
        capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    res = Result(r.stdout)
    assert res.finalize == 0
    assert res.values["text"] == b"from curl"
    assert res.values["send"] == b"Go"
    assert res.uploads == {"upload": ("curl.bin", len(content), fnv1a64(content))}
    assert (srv.docroot / "curl.bin").read_bytes() == content


def test_upload_filename_cannot_leave_the_directory(srv):
    body = multipart(files=[("file", "../../escape.txt", b"data")])
    r = post(srv, MULTIPART, body)
    assert r.uploads["file"][0] == "escape.txt"
    assert (srv.docroot / "escape.txt").read_bytes() == b"data"
    assert not (srv.docroot.parent.parent / "escape.txt").exists()


# ------------------------------------------------------- malformed bodies

MALFORMED = [
    pytest.param("multipart/form-data", multipart([("text", b"x")]), id="no-boundary-param"),
    pytest.param(MULTIPART, b"garbage before\r\n" + multipart([("text", b"x")]), id="no-leading-boundary"),
    pytest.param(MULTIPART, multipart([("text", b"x")])[:-12], id="truncated-part"),
    pytest.param(MULTIPART, f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"text\"\r\n".encode(),
                 id="truncated-headers"),
    pytest.param(MULTIPART, f"--{BOUNDARY}\r\nX-Long: {'h' * 4000}\r\n\r\n".encode(), id="long-header-line"),
    pytest.param(MULTIPART, f"--{BOUNDARY}\r\nno colon\r\n\r\nx\r\n--{BOUNDARY}--".encode(), id="junk-header"),
    pytest.param(MULTIPART, f"--{BOUNDARY}\r\n\r\nx\r\n--{BOUNDARY}--".encode(), id="part-without-name"),
    pytest.param(MULTIPART, f"--{BOUNDARY}XX\r\n".encode(), id="junk-after-boundary"),
    pytest.param(MULTIPART, random.Random(5).randbytes(3000), id="random-bytes"),
    pytest.param(URLENC, b"text=%zz", id="bad-escape"),
    pytest.param(URLENC, b"text=ok&" + b"n" * 32 + b"=v", id="name-32-bytes"),
    pytest.param(URLENC, b"n" * (1 << 20), id="1mib-name"),
    pytest.param(URLENC, b"text=abc%4", id="truncated-escape"),
]


@pytest.mark.parametrize("ctype,body", MALFORMED)
def test_malformed_body_fails_the_request_not_the_server(srv, ctype, body):
    got = exchange(srv, ctype, body)
    # closed when create/process refuses, 400 when finalize finds it incomplete
    assert got is None or got[0] == 400, got
    assert_serves(srv)


def test_client_leaving_mid_upload(srv):
    base = open_fds(srv)
    body = multipart(files=[("file", "partial.bin", b"x" * 100000)])
    for _ in range(3):
        with srv.connect(5.0) as s:
            s.sendall(post_head(MULTIPART, len(body)) + body[:50000])
            time.sleep(0.1)
    # the session's parser and its upload fd go with the connection
    end = time.monotonic() + 5
    while open_fds(srv) > base and time.monotonic() < end:
        time.sleep(0.05)
    assert open_fds(srv) <= base
    assert_serves(srv)


def test_fuzzed_bodies(srv):
    rng = random.Random(20161204)
    base = open_fds(srv)
    alphabet = b"\r\n-=&%+;:\"ae1 \x00" + BOUNDARY.encode()
    valid = [
        multipart([("text", b"v1"), ("send", b"v2")], [("file", "f.bin", rng.randbytes(300))]),
        URL_BODY,
    ]
    outcomes = {"ok": 0, "closed": 0, "400": 0}
    deadline = time.monotonic() + 20
    for i in range(300):
        assert time.monotonic() < deadline, f"fuzzing too slow at {i}"
        kind = rng.randrange(4)
        if kind == 0:
            body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(200)))
        elif kind == 1:
            body = rng.randbytes(rng.randrange(600))
        else:
            body = bytearray(rng.choice(valid))
            del body[rng.randrange(len(body) + 1):]
            for _ in range(rng.randrange(3)):
                if body:
                    body[rng.randrange(len(body))] = rng.choice(alphabet)
            body = bytes(body)
        ctype = rng.choice([MULTIPART, URLENC, "multipart/form-data; boundary=x", None])
        sizes = [rng.randint(1, 64) for _ in range(8)]
        got = exchange(srv, ctype, body, pieces=pieces_of(body, sizes), timeout=5.0)
        if got is None:
            outcomes["closed"] += 1
        else:
            assert got[0] in (200, 400), got
            outcomes["ok" if got[0] == 200 else "400"] += 1
            if got[0] == 200:
                Result(got[2])  # well formed
        srv.assert_alive()
    assert outcomes["ok"] and outcomes["closed"], outcomes
    assert_serves(srv)
    end = time.monotonic() + 5
    while open_fds(srv) > base and time.monotonic() < end:
        time.sleep(0.05)
    assert open_fds(srv) <= base


def test_get_pages(srv):
    with srv.connect(5.0) as s:
        s.sendall(request("GET", "/"))
        _, status, _, body = Reader(s).response()
    assert status == 200 and b"<form" in body
    with srv.connect(5.0) as s:
        s.sendall(request("GET", "/nothing"))
        _, status, _, _ = Reader(s).response()
    assert status == 404
    assert_serves(srv)
