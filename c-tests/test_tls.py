"""TLS (CONTRACT section 8, and the TLS parts of 7 and 12) through the test
programs: c-tests/http_server.c (-c/-k: HTTPS; -P key password, -E ECDH
curve, -S 1 STS, -O 1 ssl_options_set = SSL_OP_NO_TLSv1_3),
c-tests/ws_server.c (-c/-k: wss; -a CA, -C client certificates, -V refuse
them at OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION, -x cipher list, -N without
LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT) and c-tests/ws_client.c (-s FLAGS:
ci.ssl_connection; -D DISABLE_OS_CA_CERTS; -A CA loaded at
OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS; -X CA in a provided_client_ssl_ctx).

Peers: curl, `openssl s_client`, Python's ssl module and `websockets`.
Certificates are made at test time with the `openssl` command line: a CA,
an intermediate CA, a server certificate for localhost / 127.0.0.1, a client
certificate, a self-signed, an expired and a wrong-host certificate.

The C client verifies against the OS CA store (OpenSSL's default paths); the
tests that need it to trust the test CA point SSL_CERT_FILE at it, which is
how OpenSSL's default paths are redirected (no store is modified).

Library deviations found are asserted as the contract says and marked
xfail(strict=True).
"""

import asyncio
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest
import websockets

from conftest import run
from test_client import ConnectProxy
from servers import http_server_exe, start_server  # noqa: F401
from ws_servers import (BINARY, TEXT, RawWs, frame, start_ws_server,  # noqa: F401
                        upgrade_request, ws_server_exe)

KIB = 1024
MIB = 1024 * 1024
IO_TIMEOUT = 10.0

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl command")


def arun(coro, timeout):
    """Runs a coroutine with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


# ------------------------------------------------------------ certificates

REQ_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = CA:FALSE
subjectKeyIdentifier = hash
subjectAltName = DNS:localhost,IP:127.0.0.1
"""


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Paths of the test certificates and keys (PEM)."""
    d = tmp_path_factory.mktemp("pki")
    cnf = d / "req.cnf"
    cnf.write_text(REQ_CNF)

    def ossl(*args):
        run(["openssl", *map(str, args)], cwd=str(d), timeout=60)

    def key(name):
        ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", f"{name}.key")
        return d / f"{name}.key"

    def self_signed(name, cn, ext):
        key(name)
        ossl("req", "-x509", "-new", "-key", f"{name}.key", "-config", cnf, "-extensions", ext,
             "-subj", f"/CN={cn}", "-days", "30", "-out", f"{name}.pem")
        return d / f"{name}.pem"

    def signed(name, cn, issuer, lines, days=30):
        key(name)
        ossl("req", "-new", "-key", f"{name}.key", "-config", cnf, "-subj", f"/CN={cn}",
             "-out", f"{name}.csr")
        (d / f"{name}.ext").write_text("\n".join(
            ["subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid,issuer", *lines])
            + "\n")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem",
             "-CAkey", f"{issuer}.key", "-CAcreateserial", "-days", str(days),
             "-extfile", f"{name}.ext", "-out", f"{name}.pem")
        return d / f"{name}.pem"

    leaf = ["basicConstraints = CA:FALSE", "keyUsage = critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage = serverAuth"]
    san = "subjectAltName = DNS:localhost,IP:127.0.0.1"
    self_signed("ca", "lws test CA", "v3_ca")
    signed("server", "localhost", "ca", leaf + [san])
    signed("client", "lws test client", "ca",
           ["basicConstraints = CA:FALSE", "keyUsage = critical,digitalSignature",
            "extendedKeyUsage = clientAuth"])
    self_signed("self", "localhost", "v3_leaf")
    # -days -1: notAfter is a day before notBefore (now): expired
    signed("expired", "localhost", "ca", leaf + [san], days=-1)
    signed("wronghost", "wrong.example", "ca", leaf + ["subjectAltName = DNS:wrong.example"])
    signed("inter", "lws test intermediate", "ca",
           ["basicConstraints = critical,CA:TRUE,pathlen:0",
            "keyUsage = critical,keyCertSign,cRLSign"])
    signed("leaf", "localhost", "inter", leaf + [san])
    (d / "chain.pem").write_bytes((d / "leaf.pem").read_bytes() + (d / "inter.pem").read_bytes())

    p = SimpleNamespace(dir=d)
    for name in ("ca", "server", "client", "self", "expired", "wronghost", "inter", "leaf"):
        setattr(p, name, d / f"{name}.pem")
        setattr(p, name + "_key", d / f"{name}.key")
    p.chain = d / "chain.pem"
    return p


def server_args(pki, name="server"):
    return ["-c", getattr(pki, name), "-k", getattr(pki, name + "_key")]


def client_ctx(pki, cert=None, check_hostname=True, verify=True):
    """A Python TLS client context trusting the test CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(str(pki.ca))
        ctx.check_hostname = check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(str(getattr(pki, cert)), str(getattr(pki, cert + "_key")))
    return ctx


def tls_socket(port, ctx, hostname="localhost", timeout=IO_TIMEOUT):
    """A connected, handshaken TLS socket (the caller closes it)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=hostname)
    except BaseException:
        raw.close()
        raise


def read_head(s, limit=64 * KIB):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def upgrade_attempt(port, ctx, hostname="localhost"):
    """TLS handshake then a WebSocket upgrade: the response head (b"" on
    EOF), or the exception that ended the attempt."""
    try:
        s = tls_socket(port, ctx, hostname)
    except (ssl.SSLError, OSError) as e:
        return e
    with s:
        try:
            s.sendall(upgrade_request())
            return read_head(s)
        except (ssl.SSLError, OSError) as e:
            return e


def assert_wss_ok(port, ctx, hostname="localhost"):
    got = upgrade_attempt(port, ctx, hostname)
    assert isinstance(got, bytes) and got.startswith(b"HTTP/1.1 101"), got


def assert_refused(got):
    """A TLS client that must not get through: an exception or EOF, never a
    101."""
    assert not (isinstance(got, bytes) and b"101" in got.split(b"\r\n")[0]), got


def fd_count(proc):
    return len(os.listdir(f"/proc/{proc.pid}/fd"))


def settled_fd_count(proc, target=None, limit=5.0):
    """The fd count once stable for 0.3 s (or once <= target)."""
    end = time.monotonic() + limit
    last, since = fd_count(proc), time.monotonic()
    while time.monotonic() < end:
        if target is not None and last <= target:
            return last
        time.sleep(0.05)
        now = fd_count(proc)
        if now != last:
            last, since = now, time.monotonic()
        elif target is None and time.monotonic() - since >= 0.3:
            break
    return last


def client_hello(hostname="localhost"):
    """The bytes of a real ClientHello (TLS 1.2/1.3) from Python's ssl."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=hostname)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    assert hello[0] == 0x16 and len(hello) > 100
    return hello


def closed_within(sock, timeout):
    """Seconds until the peer ended `sock` (EOF/reset; anything it sent
    first, like a TLS alert, is read and ignored), or None on timeout."""
    start = time.monotonic()
    end = start + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start


# ---------------------------------------------------------------- s_client

def s_client(port, *args, timeout=15):
    """`openssl s_client -brief` against 127.0.0.1:port: (connected?,
    {"Protocol version": ..., "Ciphersuite": ...}, output)."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief",
                        *map(str, args)], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    out = r.stdout + r.stderr
    facts = dict(re.findall(r"^([A-Za-z ]+): (.*)$", out, re.M))
    return "CONNECTION ESTABLISHED" in out, facts, out


# -------------------------------------------------------------------- curl

def curl(*args, timeout=30):
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout - 5), *map(str, args)],
                          capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def tls_docroot(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls-site") / "root"
    root.mkdir()
    (root / "index.html").write_bytes(b"<html><body>index page</body></html>\n")
    (root / "big3.bin").write_bytes(os.urandom(3 * MIB))
    return root


@pytest.fixture
def docroot(tls_docroot):
    """start_server's default docroot (servers.py), here the small TLS one."""
    return tls_docroot


@pytest.fixture
def https_server(start_server, pki):  # noqa: F811
    return start_server(*server_args(pki), "-t", "5")


def test_curl_https_hello(https_server, pki):
    r = curl("--cacert", pki.ca, f"https://localhost:{https_server.port}/hello",
             "--resolve", f"localhost:{https_server.port}:127.0.0.1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello world"
    # by IP address too (the certificate has IP:127.0.0.1)
    r = curl("--cacert", pki.ca, "-i", f"https://127.0.0.1:{https_server.port}/hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (b"HTTP/1.1 200 OK\r\nserver: libwebsockets\r\ncontent-type: text/plain\r\n"
                        b"content-length: 11\r\n\r\nhello world")


def test_curl_https_big_file(https_server, pki, tls_docroot):
    r = curl("--cacert", pki.ca, f"https://127.0.0.1:{https_server.port}/file/big3.bin")
    assert r.returncode == 0, r.stderr
    want = (tls_docroot / "big3.bin").read_bytes()
    assert len(r.stdout) == len(want)
    assert hashlib.sha256(r.stdout).hexdigest() == hashlib.sha256(want).hexdigest()


def test_curl_https_keepalive_reuse(https_server, pki):
    base = f"https://127.0.0.1:{https_server.port}"
    r = curl("-v", "--cacert", pki.ca, f"{base}/hello", f"{base}/file/index.html")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello world<html><body>index page</body></html>\n"
    err = r.stderr.decode(errors="replace")
    assert "Re-using" in err, err
    assert err.count("SSL connection using") == 1, err


def test_curl_https_post_echo(https_server, pki, tmp_path):
    body = os.urandom(MIB)
    f = tmp_path / "body.bin"
    f.write_bytes(body)
    r = curl("--cacert", pki.ca, "--data-binary", f"@{f}", "-H",
             "Content-Type: application/octet-stream",
             f"https://127.0.0.1:{https_server.port}/echo")
    assert r.returncode == 0, r.stderr
    assert r.stdout == body


def test_https_slow_reader_big_file(https_server, pki, tls_docroot):
    """A reader with a small receive buffer that drains slowly: the server's
    TLS writes are refused part way again and again (OpenSSL wants the same
    bytes retried); the file still arrives byte-exact."""
    want = (tls_docroot / "big3.bin").read_bytes()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * KIB)
    raw.settimeout(IO_TIMEOUT)
    raw.connect(("127.0.0.1", https_server.port))
    with client_ctx(pki).wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /file/big3.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        head = read_head(s)
        head, _, data = head.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert f"content-length: {len(want)}".encode() in head.lower(), head
        time.sleep(0.3)  # let the server fill the pipe and stall
        reads = 0
        while len(data) < len(want):
            chunk = s.recv(64 * KIB)
            assert chunk, f"EOF after {len(data)} of {len(want)} bytes"
            data += chunk
            reads += 1
            if reads % 8 == 0:
                time.sleep(0.002)
    assert len(data) == len(want)
    assert hashlib.sha256(data).digest() == hashlib.sha256(want).digest()
    https_server.assert_alive()


def test_https_pipelined_requests(https_server, pki):
    """Twenty requests in one TLS write: OpenSSL holds decrypted bytes that
    no poll announces; every request is answered, in order."""
    n = 20
    with tls_socket(https_server.port, client_ctx(pki)) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n" * n)
        one = (b"HTTP/1.1 200 OK\r\nserver: libwebsockets\r\ncontent-type: text/plain\r\n"
               b"content-length: 11\r\n\r\nhello world")
        data = b""
        while len(data) < n * len(one):
            chunk = s.recv(65536)
            assert chunk, data[-200:]
            data += chunk
    assert data == one * n


def test_https_certificate_chain(start_server, pki):  # noqa: F811
    """The certificate file is a PEM chain: the intermediate goes out with
    the leaf, so a client trusting only the root verifies it."""
    srv = start_server("-c", pki.chain, "-k", pki.leaf_key)
    r = curl("--cacert", pki.ca, f"https://127.0.0.1:{srv.port}/hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello world"


# -------------------------------------------------------------- s_client

@pytest.fixture
def wss_server(start_ws_server, pki):  # noqa: F811
    return start_ws_server(*server_args(pki))


def test_s_client_tls13(wss_server, pki):
    ok, facts, out = s_client(wss_server.port, "-CAfile", pki.ca,
                              "-servername", "localhost", "-verify_return_error")
    assert ok, out
    assert facts.get("Protocol version") == "TLSv1.3", out
    assert facts.get("Verification") == "OK", out
    assert facts.get("Peer certificate") == "CN = localhost", out


SERVER_CIPHERS = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256"
CLIENT_CIPHERS = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:AES128-SHA"


def test_s_client_tls12_cipher_from_server_list(start_ws_server, pki):  # noqa: F811
    srv = start_ws_server(*server_args(pki), "-x", SERVER_CIPHERS)
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2", "-cipher", CLIENT_CIPHERS)
    assert ok, out
    assert facts.get("Protocol version") == "TLSv1.2", out
    assert facts.get("Ciphersuite") in set(SERVER_CIPHERS.split(":")) & set(CLIENT_CIPHERS.split(":"))
    # nothing in common: refused
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2", "-cipher", "AES128-SHA")
    assert not ok, out
    srv.assert_alive()


def test_s_client_tls12_server_cipher_preference(start_ws_server, pki):  # noqa: F811
    srv = start_ws_server(*server_args(pki), "-x", SERVER_CIPHERS)
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2", "-cipher", CLIENT_CIPHERS)
    assert ok, out
    # the server's first cipher the client offers
    assert facts.get("Ciphersuite") == "ECDHE-RSA-CHACHA20-POLY1305", out


def test_s_client_exact_cipher(start_ws_server, pki):  # noqa: F811
    srv = start_ws_server(*server_args(pki), "-x", "ECDHE-RSA-AES128-GCM-SHA256")
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2")
    assert ok, out
    assert facts.get("Ciphersuite") == "ECDHE-RSA-AES128-GCM-SHA256", out
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2",
                              "-cipher", "ECDHE-RSA-AES256-GCM-SHA384")
    assert not ok, out
    # the list is for TLS <= 1.2; TLS 1.3 still works
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca)
    assert ok and facts.get("Protocol version") == "TLSv1.3", out
    assert_wss_ok(srv.port, client_ctx(pki))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_s_client_old_tls_refused(wss_server, pki, tmp_path, version):
    weak = "ALL:@SECLEVEL=0"
    # control: this s_client can speak that version (to a server that allows it)
    port = free_port()
    with open(tmp_path / "s_server.log", "wb") as log:
        ref = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                                "-cert", str(pki.server), "-key", str(pki.server_key),
                                "-cipher", weak, "-www", "-quiet"],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        ok, facts, out = s_client(port, version, "-cipher", weak)
        if not ok:
            pytest.skip(f"this openssl cannot do {version}: {out[-300:]}")
    finally:
        ref.kill()
        ref.wait(timeout=5)
    ok, facts, out = s_client(wss_server.port, version, "-cipher", weak)
    assert not ok, out
    wss_server.assert_alive()
    assert_wss_ok(wss_server.port, client_ctx(pki))


def test_default_cipher_list_is_openssls(wss_server, pki):
    ok, facts, out = s_client(wss_server.port, "-CAfile", pki.ca, "-tls1_2",
                              "-cipher", "ECDHE-RSA-AES128-SHA")
    assert ok, out
    assert facts.get("Ciphersuite") == "ECDHE-RSA-AES128-SHA", out


def test_no_tls_without_global_init(start_ws_server, pki):  # noqa: F811
    srv = start_ws_server(*server_args(pki), "-N")
    with srv.connect() as s:
        s.sendall(upgrade_request())
        head = read_head(s)
    assert head.startswith(b"HTTP/1.1 101"), head


@pytest.mark.parametrize("args", [
    ("-c", "server", "-k", "client_key"),   # key of another certificate
    ("-c", "missing", "-k", "server_key"),  # no such file
    ("-c", "server", "-k", "missing"),
])
def test_bad_certificate_or_key_fails_creation(ws_server_exe, pkg_env, pki, args):  # noqa: F811
    argv = [str(ws_server_exe), "-p", "0"]
    for a in args:
        argv.append(a if a.startswith("-") else str(getattr(pki, a, pki.dir / "missing.pem")))
    r = subprocess.run(argv, env=pkg_env, capture_output=True, text=True, timeout=15,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "lws_create_context failed" in r.stderr
    assert "port" not in r.stdout


# ------------------------------------------------------ websockets over TLS

def wss_connect(port, ctx, **kw):
    kw.setdefault("open_timeout", 10)
    kw.setdefault("close_timeout", 5)
    return websockets.connect(f"wss://127.0.0.1:{port}/", ssl=ctx, subprotocols=["echo"],
                              max_size=None, max_queue=None, ping_interval=None,
                              compression=None, **kw)


def test_wss_echo_sizes(wss_server, pki):
    async def go():
        async with wss_connect(wss_server.port, client_ctx(pki)) as ws:
            assert ws.subprotocol == "echo"
            for msg in ["hello", "x" * 125, "é€𝄞" * 1000, b"\x00\xff" * 100,
                        os.urandom(1), os.urandom(65535), os.urandom(65536),
                        os.urandom(MIB), os.urandom(16 * MIB)]:
                await ws.send(msg)
                got = await ws.recv()
                assert type(got) is type(msg)
                assert len(got) == len(msg)
                assert got == msg
    arun(go(), 60)
    wss_server.assert_alive()


def test_wss_lws_is_ssl(wss_server, start_ws_server, pki):  # noqa: F811
    """CONTRACT 8: ESTABLISHED gets the SSL * (NULL without TLS); lws_is_ssl
    is 1 on a TLS server connection, 0 on plain TCP."""
    async def ask(uri, ctx):
        async with websockets.connect(uri, ssl=ctx, subprotocols=["echo"], open_timeout=10,
                                      close_timeout=5) as ws:
            await ws.send("tls")
            return await ws.recv()
    assert arun(ask(f"wss://127.0.0.1:{wss_server.port}/", client_ctx(pki)), 20) == \
        "is_ssl=1 ssl_at_established=1"
    plain = start_ws_server()
    assert arun(ask(f"ws://127.0.0.1:{plain.port}/", None), 20) == "is_ssl=0 ssl_at_established=0"


def test_wss_coalesced_and_split_frames(wss_server, pki):
    """Many frames in one TLS record (decrypted bytes OpenSSL holds must be
    processed without a new poll event), and one frame dribbled a few bytes
    per TLS record."""
    with RawWs(tls_socket(wss_server.port, client_ctx(pki))) as c:
        status, headers = c.handshake("echo")
        assert status == 101, headers
        msgs = [os.urandom(1 + i % 200) for i in range(300)]
        c.send_raw(b"".join(frame(BINARY, m) for m in msgs))
        for m in msgs:
            assert c.recv_message()[:2] == (BINARY, m)
        big = os.urandom(3000)
        data = frame(BINARY, big)
        for i in range(0, len(data), 7):
            c.send_raw(data[i:i + 7])
        assert c.recv_message()[:2] == (BINARY, big)
        c.text("after")
        assert c.recv_message()[:2] == (TEXT, b"after")


def test_wss_concurrent_clients(wss_server, pki):
    ctx = client_ctx(pki)

    async def one(i):
        async with wss_connect(wss_server.port, ctx) as ws:
            for j in range(200):
                msg = os.urandom(1 + (i * 200 + j) * 37 % 3000)
                if j % 2:
                    msg = msg.hex()
                await ws.send(msg)
                assert await ws.recv() == msg
        return i

    async def go():
        return await asyncio.gather(*(one(i) for i in range(20)))

    assert arun(go(), 60) == list(range(20))
    wss_server.assert_alive()


def test_wss_large_messages_fast(wss_server, pki):
    """The original stalled big TLS writes (about one message a second)."""
    payload = os.urandom(4 * MIB)

    async def go():
        async with wss_connect(wss_server.port, client_ctx(pki)) as ws:
            start = time.monotonic()
            for i in range(10):
                msg = payload[i:] + payload[:i]
                await ws.send(msg)
                assert await ws.recv() == msg
            return time.monotonic() - start

    took = arun(go(), 60)
    assert took < 5.0, f"10 x 4 MiB echoes over wss took {took:.1f} s"


# ------------------------------------------------------- the C client (TLS)

LCCSCF_USE_SSL, ALLOW_SELFSIGNED, SKIP_HOSTNAME = 1, 2, 4

OPENSSL_LINK = ("-Wl,--no-as-needed", "-lssl", "-lcrypto")


@pytest.fixture(scope="module")
def ws_client_exe(build_c):
    """ws_client with its OpenSSL options (-A, -X: -DWS_CLIENT_OPENSSL)."""
    return build_c("ws_client.c", name="ws_client_tls",
                   flags=("-std=gnu99", "-Wall", "-Wextra", "-Werror", "-DWS_CLIENT_OPENSSL",
                          *OPENSSL_LINK))


def client_env(pkg_env, ca=None):
    """The C client's environment: OpenSSL's default CA file pointed at `ca`
    (None: the OS store as it is)."""
    env = dict(pkg_env)
    env.pop("SSL_CERT_DIR", None)
    env.pop("SSL_CERT_FILE", None)
    if ca:
        env["SSL_CERT_FILE"] = str(ca)
        env["SSL_CERT_DIR"] = str(ca.parent / "no-such-dir")
    return env


def run_client(exe, env, *args, timeout=40):
    r = subprocess.run([str(exe), *map(str, args)], env=env, capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


@pytest.mark.parametrize("size", [1000, 70000])
@pytest.mark.parametrize("how", ["selfsigned", "ca"])
def test_c_client_wss_echo(ws_client_exe, pkg_env, start_ws_server, pki, how, size):  # noqa: F811
    """100 echoes over wss: against a self-signed server with ALLOW_SELFSIGNED
    (and the hostname check skipped), and fully verified (hostname included)
    against the CA-signed server with the CA as OpenSSL's default CA file."""
    if how == "selfsigned":
        srv = start_ws_server(*server_args(pki, "self"))
        flags, env = LCCSCF_USE_SSL | ALLOW_SELFSIGNED | SKIP_HOSTNAME, client_env(pkg_env)
    else:
        srv = start_ws_server(*server_args(pki))
        flags, env = LCCSCF_USE_SSL, client_env(pkg_env, pki.ca)
    for binary in ([], ["-b"]):
        rc, out, err = run_client(ws_client_exe, env, "-s", flags, "-w", 30, *binary, "ws",
                                  "localhost", srv.port, "/", "echo", 100, size)
        assert rc == 0, (out, err)
        assert out.splitlines() == ["established", "received 100 messages ok", "closed"], out
    srv.assert_alive()


def test_c_client_wss_through_connect_proxy(ws_client_exe, pkg_env, wss_server, pki):
    """With an HTTP proxy (http_proxy, CONTRACT 7) the CONNECT goes first and
    TLS runs inside the tunnel, the certificate checked for the target."""
    proxy = ConnectProxy()
    try:
        env = {**client_env(pkg_env, pki.ca), "http_proxy": f"127.0.0.1:{proxy.port}"}
        rc, out, err = run_client(ws_client_exe, env, "-s", LCCSCF_USE_SSL, "-w", 10, "ws",
                                  "localhost", wss_server.port, "/", "echo", 5, 1000)
        assert rc == 0, (out, err)
        assert out.splitlines() == ["established", "received 5 messages ok", "closed"], out
        assert proxy.heads[0].startswith(f"CONNECT localhost:{wss_server.port} HTTP/1.0\r\n")
    finally:
        proxy.stop()


def test_c_client_unverified_server_fails(ws_client_exe, pkg_env, wss_server, pki):
    """Without ALLOW_SELFSIGNED and without the CA in the store: the
    handshake fails, reported once as a connection error with the original's
    text (CONTRACT 8: "lws_ssl_client_connect1/2 failed")."""
    rc, out, err = run_client(ws_client_exe, client_env(pkg_env), "-s", LCCSCF_USE_SSL, "-w", 10,
                              "ws", "localhost", wss_server.port, "/", "echo", 1, 16)
    assert rc != 0
    lines = out.splitlines()
    assert "established" not in lines, out
    errs = [x for x in lines if x.startswith("connection error:")]
    assert errs in (["connection error: lws_ssl_client_connect1 failed"],
                    ["connection error: lws_ssl_client_connect2 failed"]), out
    assert "timed out" not in lines, out
    wss_server.assert_alive()
    assert_wss_ok(wss_server.port, client_ctx(pki))


@pytest.mark.parametrize("cert,flags", [
    ("self", LCCSCF_USE_SSL),                   # self-signed, no ALLOW_SELFSIGNED
    ("expired", LCCSCF_USE_SSL),                # CA trusted, expired
    ("wronghost", LCCSCF_USE_SSL),              # CA trusted, other name
])
def test_c_client_verification_failures(ws_client_exe, pkg_env, start_ws_server, pki,  # noqa: F811
                                        cert, flags):
    srv = start_ws_server(*server_args(pki, cert))
    rc, out, err = run_client(ws_client_exe, client_env(pkg_env, pki.ca), "-s", flags, "-w", 10,
                              "ws", "localhost", srv.port, "/", "echo", 1, 16)
    assert rc != 0
    assert "established" not in out.splitlines(), out
    assert len([x for x in out.splitlines() if x.startswith("connection error:")]) == 1, out
    srv.assert_alive()


def test_c_client_skip_hostname_check(ws_client_exe, pkg_env, start_ws_server, pki):  # noqa: F811
    """SKIP_SERVER_CERT_HOSTNAME_CHECK: a CA-signed certificate for another
    name is accepted (the chain is still verified)."""
    srv = start_ws_server(*server_args(pki, "wronghost"))
    rc, out, err = run_client(ws_client_exe, client_env(pkg_env, pki.ca), "-s",
                              LCCSCF_USE_SSL | SKIP_HOSTNAME, "-w", 10,
                              "ws", "localhost", srv.port, "/", "echo", 3, 100)
    assert rc == 0, (out, err)
    assert out.splitlines() == ["established", "received 3 messages ok", "closed"], out


@pytest.mark.parametrize("cert,flags,ca", [
    ("expired", LCCSCF_USE_SSL | ALLOW_SELFSIGNED | SKIP_HOSTNAME, True),
    ("wronghost", LCCSCF_USE_SSL | ALLOW_SELFSIGNED, True),
    ("server", LCCSCF_USE_SSL | ALLOW_SELFSIGNED | SKIP_HOSTNAME, False),  # unknown issuer
])
def test_c_client_allow_selfsigned_is_not_verify_none(ws_client_exe, pkg_env, start_ws_server,  # noqa: F811
                                                      pki, cert, flags, ca):
    srv = start_ws_server(*server_args(pki, cert))
    rc, out, err = run_client(ws_client_exe, client_env(pkg_env, pki.ca if ca else None),
                              "-s", flags, "-w", 10,
                              "ws", "localhost", srv.port, "/", "echo", 1, 16)
    assert "established" not in out.splitlines(), out
    assert rc != 0


def test_c_client_sends_sni(ws_client_exe, pkg_env, pki):
    """CONTRACT 8: the client's SNI is ci.host."""
    seen = []
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(str(pki.self), str(pki.self_key))
    sctx.sni_callback = lambda sock, name, ctx: seen.append(name)
    lsock = socket.create_server(("127.0.0.1", 0))
    lsock.settimeout(15)
    port = lsock.getsockname()[1]

    def serve():
        try:
            conn, _ = lsock.accept()
            conn.settimeout(5)
            with sctx.wrap_socket(conn, server_side=True) as s:
                read_head(s)
        except (OSError, ssl.SSLError):
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        run_client(ws_client_exe, client_env(pkg_env), "-s", 7, "-w", 5, "-t", 2,
                   "ws", "localhost", port, "/", "echo", 1, 16, timeout=20)
        t.join(10)
    finally:
        lsock.close()
    assert seen == ["localhost"]


def client_http(exe, env, *args):
    """ws_client's http mode: its stdout up to "completed" (the end of the
    reply), and how it ended. ws_client closes at its next RECEIVE_CLIENT_HTTP
    after COMPLETED_CLIENT_HTTP; a keep-alive connection may stay open with
    nothing more to read (CONTRACT 7: lws_http_client_read returns 0 and
    lws does not close), so "-w 2" ends it then."""
    rc, out, err = run_client(exe, env, "-w", 2, "-s", LCCSCF_USE_SSL, "http", *args)
    head, sep, tail = out.partition("\ncompleted\n")
    assert sep, (out[-500:], err)
    assert tail in ("closed http\n", "timed out\n"), (tail, err)
    return head


def test_c_client_https(ws_client_exe, pkg_env, https_server, pki, tmp_path):
    env = client_env(pkg_env, pki.ca)
    assert client_http(ws_client_exe, env, "localhost", https_server.port,
                       "/hello") == "status 200\nhello world"
    body = "".join(chr(ord("a") + i % 26) for i in range(100 * KIB))
    f = tmp_path / "body.txt"
    f.write_text(body)
    got = client_http(ws_client_exe, env, "localhost", https_server.port, "/echo", "POST", f"@{f}")
    assert got == f"status 200\n{body}", got[:300]
    https_server.assert_alive()


# ------------------------------------------------------ client certificates

@pytest.fixture
def mtls_server(start_ws_server, pki):  # noqa: F811
    return start_ws_server(*server_args(pki), "-a", pki.ca, "-C")


def test_client_cert_accepted(mtls_server, pki):
    async def go():
        async with wss_connect(mtls_server.port, client_ctx(pki, cert="client")) as ws:
            for msg in ["mutual", os.urandom(100 * KIB)]:
                await ws.send(msg)
                assert await ws.recv() == msg
    arun(go(), 30)


@pytest.mark.parametrize("cert", [None, "self", "wronghost"])
def test_client_cert_refused(mtls_server, pki, cert):
    """No certificate, a self-signed one, or a CA-signed one for server use
    only (extendedKeyUsage serverAuth: OpenSSL's client purpose check): the
    TLS client never gets a 101, and a verified client connected meanwhile
    keeps being served."""
    async def bystander():
        async with wss_connect(mtls_server.port, client_ctx(pki, cert="client")) as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            for _ in range(3):
                got = await asyncio.to_thread(upgrade_attempt, mtls_server.port,
                                              client_ctx(pki, cert=cert))
                assert_refused(got)
            await ws.send("after")
            assert await ws.recv() == "after"
    arun(bystander(), 30)
    mtls_server.assert_alive()
    assert_wss_ok(mtls_server.port, client_ctx(pki, cert="client"))


# ------------------------------------------------------------------ hostile

def test_plain_http_to_tls_port(https_server, pki):
    r = curl(f"http://127.0.0.1:{https_server.port}/hello", timeout=15)
    assert r.returncode not in (0, 28), r  # 28: curl's timeout
    assert b"hello world" not in r.stdout
    https_server.assert_alive()
    r = curl("--cacert", pki.ca, f"https://127.0.0.1:{https_server.port}/hello")
    assert r.returncode == 0 and r.stdout == b"hello world", r


@pytest.mark.parametrize("garbage", [
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
    b"\x16\x03\x01\xff\xff" + b"\x00" * 512,          # record longer than allowed
    b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",      # a ClientHello of nothing
    b"\x15\x03\x03\x00\x02\x02\x28",                  # an alert first
], ids=["http", "huge-record", "empty-hello", "alert"])
def test_garbage_is_dropped(wss_server, pki, garbage):
    with wss_server.connect() as s:
        s.sendall(garbage)
        took = closed_within(s, 5)
    assert took is not None, "the server kept a connection that sent garbage"
    wss_server.assert_alive()
    assert_wss_ok(wss_server.port, client_ctx(pki))


def test_random_garbage(wss_server, pki):
    rnd = os.urandom(64 * KIB)
    for i in range(8):
        with wss_server.connect() as s:
            try:
                s.sendall(rnd[i * 8 * KIB:(i + 1) * 8 * KIB])
            except (BrokenPipeError, ConnectionResetError):
                continue
            assert closed_within(s, 5) is not None
    wss_server.assert_alive()
    assert_wss_ok(wss_server.port, client_ctx(pki))


def test_stalled_handshakes_time_out(start_ws_server, pki):  # noqa: F811
    """With timeout_secs 2: a ClientHello cut after its record header, half a
    ClientHello, a client that stops after its ClientHello (the server's
    flight unanswered) and a client that completes TLS but sends no request
    are all dropped by the accept timeout; meanwhile an established wss
    client is served at once, and a new one after them.

    (Each stalled connection holds one of the 4 header tables - CONTRACT 1
    "Header tables": a fifth new connection would wait for one.)"""
    srv = start_ws_server(*server_args(pki), "-t", "2")
    assert_wss_ok(srv.port, client_ctx(pki))
    baseline = settled_fd_count(srv.proc)
    hello = client_hello()

    async def go():
        stalled = []
        async with wss_connect(srv.port, client_ctx(pki)) as ws:
            try:
                s = srv.connect()
                s.sendall(hello[:5])
                stalled.append(("record header", s))
                s = srv.connect()
                s.sendall(hello[:len(hello) // 2])
                stalled.append(("half ClientHello", s))
                s = srv.connect()
                s.sendall(hello)
                stalled.append(("mid-handshake", s))
                stalled.append(("no request", tls_socket(srv.port, client_ctx(pki))))
                start = time.monotonic()
                for n in (10, 100 * KIB, 10, 1 * MIB):
                    msg = os.urandom(n)
                    await ws.send(msg)
                    assert await ws.recv() == msg
                assert time.monotonic() - start < 1.0, "the server stalled with its clients"
                for what, s in stalled:
                    left = 7.0 - (time.monotonic() - start)
                    took = await asyncio.to_thread(closed_within, s, max(left, 0.1))
                    assert took is not None, f"{what}: not dropped within 7 s (-t 2)"
                elapsed = time.monotonic() - start
                assert elapsed >= 1.0, f"stalled connections dropped after {elapsed:.1f} s"
                await ws.send("still here")
                assert await ws.recv() == "still here"
            finally:
                for _, s in stalled:
                    s.close()

    arun(go(), 20)
    srv.assert_alive()
    assert_wss_ok(srv.port, client_ctx(pki))
    assert settled_fd_count(srv.proc, target=baseline) <= baseline


def test_rapid_connect_close_no_fd_leak(start_ws_server, pki):  # noqa: F811
    """1000 TLS connections opened and dropped at various points (before any
    byte, after the handshake, after the upgrade request, after half a
    ClientHello): the server's fd count returns to its baseline."""
    srv = start_ws_server(*server_args(pki), "-t", "3")
    ctx = client_ctx(pki)
    assert_wss_ok(srv.port, ctx)
    baseline = settled_fd_count(srv.proc)
    hello = client_hello()
    errors = []

    def worker(k, n):
        try:
            for i in range(n):
                kind = (i + k) % 4
                raw = socket.create_connection(("127.0.0.1", srv.port), timeout=IO_TIMEOUT)
                try:
                    if kind == 1:
                        raw.sendall(hello[:len(hello) // 2])
                    elif kind >= 2:
                        s = ctx.wrap_socket(raw, server_hostname="localhost")
                        if kind == 3:
                            s.sendall(upgrade_request())
                        s.close()
                finally:
                    raw.close()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k, 250), daemon=True) for k in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "connect/close cycles hung"
    assert not errors, errors[:5]
    took = time.monotonic() - start
    srv.assert_alive()
    assert_wss_ok(srv.port, ctx)
    # half ClientHellos wait for timeout_secs (3) before they go
    count = settled_fd_count(srv.proc, target=baseline, limit=8.0)
    assert count <= baseline, f"fd count {count} > baseline {baseline} after 1000 cycles ({took:.1f} s)"


def test_expired_server_cert_fails_cleanly(start_ws_server, pki):  # noqa: F811
    srv = start_ws_server(*server_args(pki, "expired"))
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        tls_socket(srv.port, client_ctx(pki)).close()
    assert e.value.verify_code == 10, e.value  # X509_V_ERR_CERT_HAS_EXPIRED
    srv.assert_alive()
    # the server itself works (for a client that does not check)
    assert_wss_ok(srv.port, client_ctx(pki, verify=False))


def test_wrong_host_server_cert_fails_cleanly(start_ws_server, pki):  # noqa: F811
    srv = start_ws_server(*server_args(pki, "wronghost"))
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        tls_socket(srv.port, client_ctx(pki), hostname="localhost").close()
    assert e.value.verify_code == 62, e.value  # X509_V_ERR_HOSTNAME_MISMATCH
    srv.assert_alive()
    assert_wss_ok(srv.port, client_ctx(pki), hostname="wrong.example")


def test_self_signed_server_cert_fails_cleanly(start_ws_server, pki):  # noqa: F811
    srv = start_ws_server(*server_args(pki, "self"))
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        tls_socket(srv.port, client_ctx(pki)).close()
    assert e.value.verify_code == 18, e.value  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    srv.assert_alive()
    assert_wss_ok(srv.port, client_ctx(pki, verify=False))



def test_plain_http_redirected_to_https_on_the_same_port(start_server, pki):
    """ALLOW_NON_SSL_ON_SSL_PORT + REDIRECT_HTTP_TO_HTTPS (CONTRACT 8): the
    first byte tells plain HTTP from TLS; plain requests get 301 to
    https://<Host>/, TLS ones are served."""
    srv = start_server(*server_args(pki), "-t", "5", "-R", "1")
    r = curl("-i", f"http://127.0.0.1:{srv.port}/hello")
    assert r.returncode == 0, r.stderr
    head = r.stdout.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"HTTP/1.1 301 Redirect", head
    assert f"location: https://127.0.0.1:{srv.port}/".encode() in head, head
    r = curl("--cacert", pki.ca, f"https://127.0.0.1:{srv.port}/hello")
    assert r.returncode == 0 and r.stdout == b"hello world", r.stderr
    srv.assert_alive()


@pytest.mark.parametrize("mode", ["load", "refuse"])
def test_openssl_hooks_get_the_ssl_ctx(build_c, pkg_env, pki, mode):
    """OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS and, without a key path,
    OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY get the vhost's SSL_CTX as `user`;
    the application loads the key there, or refuses and creation fails."""
    exe = build_c("tls_hooks.c", flags=("-std=gnu99", "-Wall", "-Wextra", "-Werror",
                                        *OPENSSL_LINK))
    r = run([str(exe), str(pki.server), str(pki.server_key), mode], env=pkg_env)
    lines = r.stdout.split()
    assert "requires_key_ctx=1" in lines
    if mode == "load":
        assert lines[-1] == "created" and "extra_verify_ctx=1" in lines
    else:
        assert lines[-1] == "refused"


# ------------------------------------ creation-info TLS settings (server side)

def creation_fails(exe, env, *args):
    """Runs a server program that must not get a context: its stderr."""
    r = subprocess.run([str(exe), "-p", "0", *map(str, args)], env=env, capture_output=True,
                       text=True, timeout=15, stdin=subprocess.DEVNULL, start_new_session=True)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "lws_create_context failed" in r.stderr, r.stderr
    assert "port" not in r.stdout, r.stdout
    return r.stderr


@pytest.fixture(scope="module")
def encrypted_key(pki):
    """The server key, AES-256 encrypted with the password "secret"."""
    path = pki.dir / "server_enc.key"
    if not path.exists():
        run(["openssl", "pkey", "-in", str(pki.server_key), "-aes256", "-passout", "pass:secret",
             "-out", str(path)], timeout=60)
    assert b"ENCRYPTED" in path.read_bytes()
    return path


def test_private_key_password(start_server, http_server_exe, pkg_env, pki,  # noqa: F811
                              encrypted_key):
    """ssl_private_key_password decrypts the key; a wrong one fails context
    creation."""
    srv = start_server("-c", pki.server, "-k", encrypted_key, "-P", "secret")
    r = curl("--cacert", pki.ca, f"https://127.0.0.1:{srv.port}/hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello world"
    creation_fails(http_server_exe, pkg_env, "-c", pki.server, "-k", encrypted_key,
                   "-P", "wrong")


def test_ecdh_curve(start_server, http_server_exe, pkg_env, pki):  # noqa: F811
    """ecdh_curve secp384r1: TLS 1.2 ECDHE runs over it; a client offering
    only prime256v1 gets no ECDHE (an ECDHE-only client is refused; one that
    also offers RSA key exchange may get that); an unknown curve name fails
    context creation."""
    srv = start_server(*server_args(pki), "-E", "secp384r1")
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2", "-curves", "secp384r1")
    assert ok, out
    assert facts.get("Protocol version") == "TLSv1.2", out
    assert facts.get("Ciphersuite", "").startswith("ECDHE-"), out
    assert "secp384r1" in facts.get("Server Temp Key", ""), out
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2", "-curves", "prime256v1",
                              "-cipher", "ECDHE")
    assert not ok, out
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_2", "-curves", "prime256v1")
    assert not (ok and facts.get("Ciphersuite", "").startswith("ECDHE")), out
    assert "prime256v1" not in facts.get("Server Temp Key", ""), out
    srv.assert_alive()
    creation_fails(http_server_exe, pkg_env, *server_args(pki), "-E", "no-such-curve")


STS_LINE = b"Strict-Transport-Security: max-age=15768000 ; includeSubDomains"


def https_head(port, ca, path, *args):
    r = curl("-i", "--cacert", ca, *args, f"https://127.0.0.1:{port}{path}")
    assert r.returncode == 0, r.stderr
    return r.stdout.split(b"\r\n\r\n")[0].split(b"\r\n")


def test_sts_header_on_every_response(start_server, pki):  # noqa: F811
    """LWS_SERVER_OPTION_STS: every status line lws builds is followed by
    the Strict-Transport-Security header (header helpers, file serving,
    lws_return_http_status, the redirect of plain HTTP); none without it."""
    srv = start_server(*server_args(pki), "-S", "1", "-R", "1")
    for path, status in [("/hello", b"200"), ("/file/index.html", b"200"),
                         ("/", b"200"), ("/status/403", b"403"), ("/nothing-here", b"404")]:
        head = https_head(srv.port, pki.ca, path)
        assert head[0].split(b" ")[1] == status, (path, head)
        assert head.count(STS_LINE) == 1, (path, head)
    # the 301 lws sends plain HTTP on that port
    r = curl("-i", f"http://127.0.0.1:{srv.port}/hello")
    assert r.returncode == 0, r.stderr
    head = r.stdout.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0].startswith(b"HTTP/1.1 301"), head
    assert head.count(STS_LINE) == 1, head
    # keep-alive: the second response on the connection has it too
    r = curl("-i", "--cacert", pki.ca, f"https://127.0.0.1:{srv.port}/hello",
             f"https://127.0.0.1:{srv.port}/status/404")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(STS_LINE + b"\r\n") == 2, r.stdout
    srv.assert_alive()

    plain = start_server(*server_args(pki))
    for path in ("/hello", "/file/index.html", "/nothing-here"):
        head = https_head(plain.port, pki.ca, path)
        assert not [h for h in head if h.lower().startswith(b"strict-transport-security")], head


def test_ssl_options_set_no_tls13(start_server, pki):  # noqa: F811
    """ssl_options_set = SSL_OP_NO_TLSv1_3: a client that could do 1.3
    negotiates TLS 1.2, a 1.3-only client is refused; without it, 1.3."""
    srv = start_server(*server_args(pki), "-O", "1")
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-verify_return_error")
    assert ok, out
    assert facts.get("Protocol version") == "TLSv1.2", out
    ok, facts, out = s_client(srv.port, "-CAfile", pki.ca, "-tls1_3")
    assert not ok, out
    r = curl("--cacert", pki.ca, f"https://127.0.0.1:{srv.port}/hello")
    assert r.returncode == 0 and r.stdout == b"hello world", r.stderr
    srv.assert_alive()
    control = start_server(*server_args(pki))
    ok, facts, out = s_client(control.port, "-CAfile", pki.ca)
    assert ok and facts.get("Protocol version") == "TLSv1.3", out


PERFORM_CLIENT_CERT_VERIFICATION = 23


def test_client_cert_refused_by_the_application(start_ws_server, pki):  # noqa: F811
    """OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION (on protocols[0]) returning
    1 refuses a certificate OpenSSL accepts; returning 0 lets it through."""
    srv = start_ws_server(*server_args(pki), "-a", pki.ca, "-C", "-V", cblog=True)
    for _ in range(2):
        assert_refused(upgrade_attempt(srv.port, client_ctx(pki, cert="client")))
    srv.assert_alive()
    assert PERFORM_CLIENT_CERT_VERIFICATION in [r for r, _ in srv.callbacks()]
    # without a certificate: refused as before
    assert_refused(upgrade_attempt(srv.port, client_ctx(pki)))

    accepting = start_ws_server(*server_args(pki), "-a", pki.ca, "-C", cblog=True)
    assert_wss_ok(accepting.port, client_ctx(pki, cert="client"))
    assert PERFORM_CLIENT_CERT_VERIFICATION in [r for r, _ in accepting.callbacks()]


# ------------------------------------ creation-info TLS settings (client side)

def client_error_lines(out):
    return [x for x in out.splitlines() if x.startswith("connection error:")]


def assert_c_client_echoed(rc, out, err, n=3):
    assert rc == 0, (out, err)
    assert out.splitlines() == ["established", f"received {n} messages ok", "closed"], (out, err)


def assert_c_client_unverified(rc, out, err):
    assert rc != 0, (out, err)
    assert "established" not in out.splitlines(), out
    assert client_error_lines(out) == ["connection error: lws_ssl_client_connect2 failed"], \
        (out, err)


def echo_args(port):
    return ("-s", LCCSCF_USE_SSL, "-w", 10, "ws", "localhost", port, "/", "echo", 3, 100)


def test_c_client_extra_verify_certs(ws_client_exe, pkg_env, wss_server, pki):
    """OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS gets the client SSL_CTX as
    `user`: the CA the application loads there verifies our server fully
    (hostname included); without it the OS store does not."""
    env = client_env(pkg_env)  # the OS store only
    assert_c_client_unverified(*run_client(ws_client_exe, env, *echo_args(wss_server.port)))
    assert_c_client_echoed(*run_client(ws_client_exe, env, "-A", pki.ca,
                                       *echo_args(wss_server.port)))
    # also with the OS CAs disabled: the hook adds to what lws loaded
    assert_c_client_echoed(*run_client(ws_client_exe, env, "-D", "-A", pki.ca,
                                       *echo_args(wss_server.port)))
    wss_server.assert_alive()


def test_c_client_disable_os_ca_certs(ws_client_exe, pkg_env, wss_server, pki):
    """LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS: OpenSSL's default CA file (here
    pointed at our CA) is not loaded, so verification fails; without the
    option it succeeds."""
    env = client_env(pkg_env, pki.ca)
    assert_c_client_echoed(*run_client(ws_client_exe, env, *echo_args(wss_server.port)))
    assert_c_client_unverified(*run_client(ws_client_exe, env, "-D",
                                           *echo_args(wss_server.port)))
    wss_server.assert_alive()


def test_c_client_provided_ssl_ctx(ws_client_exe, pkg_env, wss_server, pki):
    """provided_client_ssl_ctx: the application's SSL_CTX (its CA loaded,
    nothing else) verifies our server with the OS store empty of our CA."""
    assert_c_client_echoed(*run_client(ws_client_exe, client_env(pkg_env), "-X", pki.ca,
                                       *echo_args(wss_server.port)))
    wss_server.assert_alive()


@pytest.mark.parametrize("server,ca", [
    ("server", "self"),     # the application's CA did not sign it
    ("wronghost", "ca"),    # signed, for another name
])
def test_c_client_provided_ssl_ctx_still_verifies(ws_client_exe, pkg_env, start_ws_server,  # noqa: F811
                                                  pki, server, ca):
    """The provided SSL_CTX is used as it is (no OS CAs added: OpenSSL's
    default CA file, pointed at our CA, does not help), and CONTRACT 8's
    check applies to it: after the handshake the verify result must be OK
    (lws 2.0 checked SSL_get_verify_result, whatever the context's verify
    mode; an SSL_CTX_new context has SSL_VERIFY_NONE)."""
    srv = start_ws_server(*server_args(pki, server))
    assert_c_client_unverified(*run_client(ws_client_exe, client_env(pkg_env, pki.ca),
                                           "-X", getattr(pki, ca), *echo_args(srv.port)))
    srv.assert_alive()
