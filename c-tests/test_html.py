"""lws_chunked_html_process through c-tests/html_server.c (see its header
comment): a page streamed from HTTP_WRITEABLE in pieces of every size and
split at every byte, so each variable is cut at each of its bytes, and a
file mount whose interpret protocol calls it from PROCESS_HTML. The chunked
framing is checked on the raw bytes (no 0-size chunk before the end), the
body also with curl."""

import subprocess

import pytest

from conftest import have, valgrind_problems
from servers import Reader, Server, request, started_servers

PAGE = (b"<html><title>$user</title>\n"
        b"<p>${user} $$user $us $a$ab$abc $abc_def$abc_deff ${user $self $null #$n #$n</p>\n"
        b"$</html>$")
# $n counts the substitutions of the response, its own included
EXPECTED = (b"<html><title>alice</title>\n"
            b"<p><b>ALICE</b> $alice $us [A]c [DEF][DEF]f ${user $user NULL #11 #12</p>\n"
            b"$</html>$")
# the variables' names, for cutting each at every byte below
NAMES = [b"$user", b"${user}", b"$a", b"$ab", b"$abc_def", b"$self", b"$null", b"$n"]
VALUES = [b"alice", b"<b>ALICE</b>", b"[A]", b"", b"[DEF]", b"$user", b"NULL"]


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "page.html").write_bytes(PAGE)
    (root / "empty.html").write_bytes(b"")
    (root / "plain.html").write_bytes(b"no variables at all\n" * 500)
    return root


@pytest.fixture
def server(build_c, pkg_env, site, tmp_path):
    exe = build_c("html_server.c")
    with started_servers(tmp_path, "html", lambda w: Server(exe, pkg_env, w, site)) as start:
        yield start()


def read_chunked(reader):
    """One response: (status, headers, chunk sizes, de-chunked body), strict
    about the framing."""
    head = reader.head().decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    headers = {}
    for line in head[1:]:
        if line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    sizes, body = [], b""
    if headers.get("transfer-encoding") != "chunked":
        return status, headers, sizes, reader.exactly(int(headers.get("content-length", "0")))
    while True:
        while b"\r\n" not in reader.buf:
            reader._more()
        line, reader.buf = reader.buf.split(b"\r\n", 1)
        assert line and all(c in b"0123456789ABCDEF" for c in line), line
        n = int(line, 16)
        sizes.append(n)
        if n == 0:
            assert reader.exactly(2) == b"\r\n"
            return status, headers, sizes, body
        body += reader.exactly(n)
        assert reader.exactly(2) == b"\r\n"


def fetch_all(server, paths):
    """GETs every path on one keep-alive connection, pipelined in batches."""
    out = []
    with server.connect(timeout=10) as s:
        r = Reader(s)
        for i in range(0, len(paths), 32):
            batch = paths[i:i + 32]
            s.sendall(b"".join(request("GET", p) for p in batch))
            for p in batch:
                status, headers, sizes, body = read_chunked(r)
                assert status == 200, p
                assert headers.get("transfer-encoding") == "chunked", p
                assert "content-length" not in headers, p
                # only the last chunk is empty: nothing ended the body early
                assert sizes[-1] == 0 and all(sizes[:-1]), (p, sizes)
                out.append(body)
    return out


def test_pieces_of_every_size(server):
    paths = [f"/page/page.html?size={n}" for n in range(1, len(PAGE) + 1)]
    for path, body in zip(paths, fetch_all(server, paths)):
        assert body == EXPECTED, path


def test_one_split_at_every_byte(server):
    paths = [f"/page/page.html?first={n}&size=4096" for n in range(len(PAGE) + 1)]
    for path, body in zip(paths, fetch_all(server, paths)):
        assert body == EXPECTED, path


def test_every_variable_cut_at_every_byte(server):
    """Each name (and a value that is a name) alone in a page, the first
    piece ending inside it at each position, the rest a byte at a time or
    all at once."""
    paths, want = [], []
    for i, name in enumerate(NAMES):
        doc = b"<" + name + b">"
        value = VALUES[i] if i < len(VALUES) else b"1"
        fname = f"v{i}.html"
        (server.docroot / fname).write_bytes(doc)
        for cut in range(len(doc) + 1):
            for size in (1, 2, 4096):
                paths.append(f"/page/{fname}?first={cut}&size={size}")
                want.append(b"<" + value + b">")
    for path, body, w in zip(paths, fetch_all(server, paths), want):
        assert body == w, path


def test_empty_and_plain_documents(server):
    bodies = fetch_all(server, ["/page/empty.html", "/page/plain.html?size=999",
                                "/page/page.html"])
    assert bodies == [b"", b"no variables at all\n" * 500, EXPECTED]


def test_curl_dechunks_it(server):
    r = subprocess.run(["curl", "-s", "--max-time", "10", server.url("/page/page.html?size=7")],
                       capture_output=True, timeout=20, check=True)
    assert r.stdout == EXPECTED


def test_interpret_mount_calls_it_from_process_html(server):
    """The library reads the file in 4 KiB pieces: a page whose variables
    straddle that boundary at each offset, framed by the handler's
    lws_chunked_html_process (the library adds no framing of its own)."""
    tail = b"${user}$abc_def$user$ab|"
    want_tail = b"<b>ALICE</b>[DEF]alice|"
    paths, want = [], []
    for pad in range(4096 - len(tail) - 2, 4096 + 2):
        name = f"p{pad}.shtml"
        (server.docroot / name).write_bytes(b"x" * pad + tail + b"$n")
        paths.append(f"/interp/{name}")
        want.append(b"x" * pad + want_tail + b"5")
    bodies = fetch_all(server, paths)
    for path, body, w in zip(paths, bodies, want):
        assert body == w, path


def test_interpret_to_http10_sends_the_data_unframed(server):
    """HTTP/1.0 has no chunking: the library sends only the data of what
    the handler's lws_chunked_html_process framed, and closes after it."""
    (server.docroot / "q.shtml").write_bytes(b"x" * 4090 + b"${user}$abc_def$user$ab|$n")
    with server.connect() as s:
        s.sendall(request("GET", "/interp/q.shtml", version="HTTP/1.0"))
        r = Reader(s)
        head = r.head().lower()
        body = r.rest_until_eof()
    assert head.startswith(b"http/1.0 200") or head.startswith(b"http/1.1 200"), head
    assert b"transfer-encoding" not in head and b"content-length" not in head
    assert body == b"x" * 4090 + b"<b>ALICE</b>[DEF]alice|5"


def test_server_exits_cleanly(server):
    fetch_all(server, ["/page/page.html?size=1"])
    assert server.terminate() == 0
    out = server.stdout()
    assert "destroyed" in out
    # a piece holding only the start of a name gives nothing to send
    pieces, empty = [int(w) for w in out.split("pieces ")[1].split()[0:3:2]]
    assert pieces >= len(PAGE) and empty > 0


@pytest.mark.skipif(not have("valgrind"), reason="valgrind not installed")
def test_under_valgrind(build_c, pkg_env, site, tmp_path):
    """Pieces of a few sizes and an interpreted file under memcheck."""
    exe = build_c("html_server.c")
    log = tmp_path / "valgrind.log"
    wrapper = tmp_path / "html_server_vg"
    wrapper.write_text(f"#!/bin/sh\nexec valgrind -q --leak-check=full --log-file={log} "
                       f"{exe} \"$@\"\n")
    wrapper.chmod(0o755)
    (site / "p.shtml").write_bytes(b"x" * 4090 + b"${user}$abc_def|$n")
    with started_servers(tmp_path, "vg", lambda w: Server(wrapper, pkg_env, w, site)) as start:
        server = start()
        paths = [f"/page/page.html?size={n}" for n in (1, 2, 5, 13, 4096)]
        assert fetch_all(server, paths) == [EXPECTED] * len(paths)
        assert fetch_all(server, ["/interp/p.shtml"]) == [b"x" * 4090 + b"<b>ALICE</b>[DEF]|3"]
        assert server.terminate(timeout=30) == 0
    assert not valgrind_problems(log.read_text())
