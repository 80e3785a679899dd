"""The context, vhost, protocol, file-ops, mount and service APIs, through
c-tests/api_server.c (see its header comment), checked with curl."""

import hashlib
import os
import re
import signal
import subprocess
import time

import pytest



class ApiServer:
    def __init__(self, exe, env, docroot, tmp, *args):
        self.out = tmp / "stdout"
        self.err = tmp / "stderr"
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen([str(exe), "-d", str(docroot), *args], stdout=o, stderr=e,
                                         stdin=subprocess.DEVNULL, env=env)
        self.port = None
        end = time.monotonic() + 10
        while time.monotonic() < end and self.port is None:
            m = re.search(r"^port (\d+)$", self.out.read_text(), re.M)
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.02)
        assert self.port is not None, self.err.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def docroot(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("<html>index</html>\n")
    (root / "big.txt").write_bytes(os.urandom(3 * 1024 * 1024).hex().encode()[: 5 * 1024 * 1024])
    return root


@pytest.fixture
def api_server(build_c, pkg_env, docroot, tmp_path):
    exe = build_c("api_server.c", flags=("-std=gnu99", "-Wall", "-Wextra", "-Werror", "-pthread"))
    started = []

    def start(*args):
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        s = ApiServer(exe, pkg_env, docroot, workdir, *args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def curl(*args):
    r = subprocess.run(["curl", "-s", "--max-time", "10", *args], capture_output=True, timeout=20, check=True)
    return r.stdout.decode()


def head_and_body(*args):
    out = curl("-i", *args)
    head, _, body = out.partition("\r\n\r\n")
    return head.split("\r\n"), body


def test_accessors_and_protocol_init(api_server):
    s = api_server()
    facts = dict(line.split("=", 1) for line in curl(f"http://127.0.0.1:{s.port}/info").splitlines())
    assert facts == {
        "hostname": os.uname().nodename, "random": "16", "user": "ok", "threads": "1",
        "protocol": "http", "vhpriv": "42", "peer": "127.0.0.1", "rip": "127.0.0.1", "fd_ok": "1",
        "name_to_protocol": "ok", "context_ok": "1", "now_ok": "1", "wsi_user_ok": "1", "init": "1",
        "uid": str(os.getuid()), "gid": str(os.getgid()), "token": "content-length:",
    }
    assert s.stop() == 0
    assert "protocol_destroy=1" in s.out.read_text()


def test_cancel_service_wakes_the_loop(api_server):
    s = api_server()
    end = time.monotonic() + 3
    while "woken" not in s.out.read_text() and time.monotonic() < end:
        time.sleep(0.05)
    assert "woken" in s.out.read_text(), "lws_cancel_service did not end a 60 s wait"


def test_replaced_fops_serve_virtual_files(api_server):
    s = api_server()
    head, body = head_and_body(f"http://127.0.0.1:{s.port}/virtual/anything")
    assert body == "this file lives in the application's fops\n"
    assert head[:2] == ["HTTP/1.1 200 OK", "x-vhost: yes"]
    assert "content-type: text/plain" in head and "x-other: 1" in head
    assert "content-length: 42" in head and "cache-control: no-store" in head


def test_http_redirect(api_server):
    s = api_server()
    head, body = head_and_body(f"http://127.0.0.1:{s.port}/redirect")
    assert head == ["HTTP/1.1 302 Redirect", "x-vhost: yes", "server: api-server", "location: /info",
                    "content-type: text/html", "content-length: 0"]
    assert body == ""


def test_callback_all_protocol(api_server):
    """Every connection bound to the protocol gets the callback: this
    request's and the socket adopted at start-up."""
    s = api_server()
    assert curl(f"http://127.0.0.1:{s.port}/broadcast") == "user-callbacks=2\n"


def test_vhost_headers_and_server_string(api_server):
    s = api_server()
    head, _ = head_and_body(f"http://127.0.0.1:{s.port}/info")
    assert head[:3] == ["HTTP/1.1 200 OK", "x-vhost: yes", "server: api-server"]


def test_file_mount_default_document_cache_and_etag(api_server, docroot):
    s = api_server()
    head, body = head_and_body(f"http://127.0.0.1:{s.port}/m/")
    assert body == "<html>index</html>\n"
    assert "content-type: text/html" in head and "cache-control: private, max-age=60" in head
    etag = next(h.split(": ", 1)[1] for h in head if h.startswith("etag: "))
    assert re.fullmatch(r'"[0-9A-F]{16}"', etag)
    head, body = head_and_body("-H", f"If-None-Match: {etag}", f"http://127.0.0.1:{s.port}/m/index.html")
    assert head[0] == "HTTP/1.1 304 Not Modified" and body == ""
    big = curl(f"http://127.0.0.1:{s.port}/m/big.txt")
    assert hashlib.sha256(big.encode()).digest() == hashlib.sha256((docroot / "big.txt").read_bytes()).digest()


def test_mount_redirects(api_server):
    s = api_server()
    head, _ = head_and_body(f"http://127.0.0.1:{s.port}/m")
    assert head[0] == "HTTP/1.1 301 Redirect" and f"location: http://127.0.0.1:{s.port}/m/" in head
    head, _ = head_and_body(f"http://127.0.0.1:{s.port}/old")
    assert head[0] == "HTTP/1.1 301 Redirect" and "location: http://example.com/new" in head


def test_callback_mount_binds_its_protocol(api_server):
    s = api_server()
    assert curl(f"http://127.0.0.1:{s.port}/cb/thing") == "api protocol=api uri=/cb/thing\n"


def test_check_access_rights(api_server):
    s = api_server()
    head, _ = head_and_body(f"http://127.0.0.1:{s.port}/auth/index.html")
    assert head[0] == "HTTP/1.1 401 Unauthorized"
    assert curl("-b", "auth=1", f"http://127.0.0.1:{s.port}/auth/index.html") == "<html>index</html>\n"


def test_add_headers(api_server):
    s = api_server()
    head, body = head_and_body(f"http://127.0.0.1:{s.port}/hdr/index.html")
    assert "x-added: 1" in head and body == "<html>index</html>\n"


def test_external_poll_loop(api_server, docroot):
    s = api_server("-e")
    for _ in range(3):
        assert curl(f"http://127.0.0.1:{s.port}/virtual/x") == "this file lives in the application's fops\n"
    big = curl(f"http://127.0.0.1:{s.port}/m/big.txt")
    assert big.encode() == (docroot / "big.txt").read_bytes()
    assert s.stop() == 0


STREAMED = "part 1/3\npart 2/3\npart 3/3\n"


@pytest.mark.parametrize("loop", ["internal", "external"])
def test_body_from_http_writeable(api_server, loop):
    """A response written piece by piece from HTTP_WRITEABLE, each asked for
    with lws_callback_on_writable: with lws_service, and with an external
    poll() loop that learns of POLLOUT only from CHANGE_MODE_POLL_FD."""
    s = api_server(*(["-e"] if loop == "external" else []))
    for _ in range(3):
        assert curl(f"http://127.0.0.1:{s.port}/stream") == STREAMED
    assert s.stop() == 0


def test_writable_requested_from_another_thread(api_server):
    """lws_callback_on_writable from another thread while lws_service sleeps
    (60 s per call in api_server) gets its HTTP_WRITEABLE promptly."""
    s = api_server()
    t0 = time.monotonic()
    assert curl(f"http://127.0.0.1:{s.port}/later") == STREAMED
    took = time.monotonic() - t0
    assert 0.3 <= took < 5, took


def test_unix_socket(api_server, tmp_path):
    path = tmp_path / "lws.sock"
    api_server("-u", str(path))
    out = curl("--unix-socket", str(path), "http://localhost/virtual/x")
    assert out == "this file lives in the application's fops\n"


def test_interface_name(api_server):
    s = api_server("-i", "lo")
    assert curl(f"http://127.0.0.1:{s.port}/broadcast") == "user-callbacks=2\n"


def test_several_service_threads(api_server):
    s = api_server("-n", "2")
    facts = dict(line.split("=", 1) for line in curl(f"http://127.0.0.1:{s.port}/info").splitlines())
    assert facts["threads"] == "2"
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(lambda _: curl(f"http://127.0.0.1:{s.port}/virtual/x"), range(200)))
    assert bodies == ["this file lives in the application's fops\n"] * 200
    assert s.stop() == 0


def test_adopted_socket_is_served(api_server):
    s = api_server()
    end = time.monotonic() + 5
    while "adopted:" not in s.out.read_text() and time.monotonic() < end:
        time.sleep(0.05)
    assert "adopted: HTTP/1.1 200 OK" in s.out.read_text()


@pytest.mark.skipif(os.getuid() != 0, reason="dropping privileges needs root")
def test_privileges_dropped_after_listening(api_server):
    s = api_server("-U", "65534", "-G", "65534")
    facts = dict(line.split("=", 1) for line in curl(f"http://127.0.0.1:{s.port}/info").splitlines())
    assert (facts["uid"], facts["gid"]) == ("65534", "65534")


def ipv6_loopback():
    import socket
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_dual_stack_and_disable_ipv6(api_server):
    s = api_server()
    assert curl("-g", f"http://[::1]:{s.port}/virtual/x") == "this file lives in the application's fops\n"
    assert curl(f"http://127.0.0.1:{s.port}/virtual/x") == "this file lives in the application's fops\n"
    v4 = api_server("-4")
    assert curl(f"http://127.0.0.1:{v4.port}/virtual/x") == "this file lives in the application's fops\n"
    r = subprocess.run(["curl", "-s", "--max-time", "5", "-g", f"http://[::1]:{v4.port}/"], capture_output=True)
    assert r.returncode == 7, "DISABLE_IPV6 still listened on IPv6"
