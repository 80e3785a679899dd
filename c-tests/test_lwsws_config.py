"""lwsws JSON configuration (CONTRACT section 14: lwsws_get_config_globals,
lwsws_get_config_vhosts) and the server-status JSON (section 9:
lws_json_dump_vhost, lws_json_dump_context), through c-tests/lwsws_conf.c,
a server that reads its globals and vhosts from a configuration directory
as lwsws does and answers /status/vhost and /status/context with the
dumps. Peers: curl (--resolve per vhost name), raw sockets, Python's json."""

import base64
import json
import os
import re
import shutil
import socket
import subprocess

import pytest

from conftest import have, run
from servers import Server, started_servers
from test_tls import pki  # noqa: F401


@pytest.fixture(scope="module")
def conf_exe(build_c):
    return build_c("lwsws_conf.c")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GLOBALS = """\
# lwsws globals, commented as the shipped example is
{
  "global": {
   "uid": "48",  # apache
   "gid": "49",
   "count-threads": "1",
   "server-string": "myserver/1.0",
   "plugin-dir": "/usr/local/share/libwebsockets-test-server/plugins",
   "plugin-dir": "_lws_ddir_/more-plugins",
   "init-ssl": "yes",
   "ws-pingpong-secs": "200",
   "interface": "eth0"
 }
}
"""


def write_dir(root, conf, files):
    """A configuration directory: `conf` (None: absent) and conf.d files."""
    root.mkdir(parents=True, exist_ok=True)
    if conf is not None:
        (root / "conf").write_text(conf)
    (root / "conf.d").mkdir(exist_ok=True)
    for name, text in files.items():
        (root / "conf.d" / name).write_text(text)
    return root


def site(tmp_path, port, tls=None):
    """Two vhosts on one port from two conf.d files, with different pvo,
    headers and mounts; each serves its own docroot."""
    for name in ("a", "b"):
        (tmp_path / f"www-{name}").mkdir(exist_ok=True)
        (tmp_path / f"www-{name}" / "index.html").write_text(f"<h1>site {name}</h1>\n")
    a = f"""\
# vhost a
{{"vhosts": [{{
  "name": "a.example",
  "port": "{port}",   # both vhosts share it
  "ws-protocols": [{{"mirror": {{"default": "1", "tag": "a"}}}}, {{"dumb": {{"tag": "a"}}}}],
  "headers": [{{"X-Test": "vhost-a"}}],
  "mounts": [{{"mountpoint": "/", "origin": "file://{tmp_path}/www-a",
              "default": "index.html", "cache-max-age": "60", "cache-reuse": "1",
              "cache-revalidate": "on"}}]
}}]}}
"""
    b = f"""\
{{"vhosts": [{{
  "name": "b.example",
  "port": "{port}",
  "ws-protocols": [{{"dumb": {{"default": "1", "tag": "b", "update-ms": "5000"}}}}],
  "mounts": [{{"mountpoint": "/site", "origin": "file://{tmp_path}/www-b", "default": "index.html"}},
             {{"mountpoint": "/away", "origin": ">https://example.org/there"}}]
}}]}}
"""
    if tls:
        a = a.replace('"port"', f'"host-ssl-cert": "{tls[0]}", "host-ssl-key": "{tls[1]}", "port"')
    return write_dir(tmp_path / "cfg", GLOBALS, {"10-a": a, "20-b": b})


@pytest.fixture
def start_conf(conf_exe, pkg_env, tmp_path):
    def make(work, cfg):
        return Server(conf_exe, pkg_env, work, None, ["-c", cfg])

    with started_servers(tmp_path, "lwsws", make) as start:
        yield start


def check(conf_exe, pkg_env, cfg, *args, valgrind=False):
    cmd = [str(conf_exe), "-c", str(cfg), "-x", *map(str, args)]
    if valgrind:
        cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
               "--errors-for-leak-kinds=definite", *cmd]
    r = run(cmd, env=pkg_env, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr[-6000:]
    assert "BROKEN" not in r.stdout, r.stdout
    return r


def curl(*args):
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "10", *map(str, args)],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    headers = {}
    for line in head.decode().split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    return status, headers, body


def get(port, host, path, scheme="http"):
    return curl("-k", "--resolve", f"{host}:{port}:127.0.0.1", f"{scheme}://{host}:{port}{path}")


def status_json(port, host, what, scheme="http"):
    status, _, body = get(port, host, f"/status/{what}", scheme)
    assert status == 200
    return json.loads(body)


def ws_hello(port, host):
    """A WebSocket upgrade naming no protocol; the answer to one message."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, _, buf = buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        mask = os.urandom(4)
        payload = b"hi"
        s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                  + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))
        while len(buf) < 2 or len(buf) < 2 + (buf[1] & 0x7f):
            buf += s.recv(4096)
        return buf[2:2 + (buf[1] & 0x7f)].decode()


# ------------------------------------------------------------------ globals

def test_globals(conf_exe, pkg_env, tmp_path):
    cfg = write_dir(tmp_path / "cfg", GLOBALS, {})
    r = check(conf_exe, pkg_env, cfg)
    out = r.stdout
    assert "globals 0 " in out
    assert "uid 48 gid 49 count_threads 1 ssl_init 1 pingpong 200" in out
    assert "server_string myserver/1.0" in out
    dirs = re.findall(r"^plugin_dir (.*)$", out, re.M)
    assert dirs == ["/usr/local/share/libwebsockets-test-server/plugins",
                    "/usr/local/share/more-plugins"]
    used = int(re.search(r"globals 0 used (\d+) left (\d+)", out).group(1))
    left = int(re.search(r"globals 0 used (\d+) left (\d+)", out).group(2))
    assert used + left == 65536
    # the plugin dir array (10 pointers, at the malloc'd, aligned start)
    # and the three strings with their NULs, no more
    assert used == 80 + sum(len(s) + 1 for s in ["myserver/1.0", *dirs])
    # no vhost at all: vhosts fail with the original's message
    assert "vhosts 1 " in out
    assert "Need at least one vhost" in r.stderr


def test_globals_in_conf_d_files_apply_in_order(conf_exe, pkg_env, tmp_path):
    cfg = write_dir(tmp_path / "cfg", '{"global": {"uid": "5", "plugin-dir": "/p1"}}', {
        "b": '{"global": {"uid": "7", "plugin-dir": "/p3"}}',
        "a": '{"global": {"gid": 9, "plugin-dir": "/p2", "init-ssl": "0"}}',
    })
    out = check(conf_exe, pkg_env, cfg).stdout
    assert "uid 7 gid 9 count_threads 0 ssl_init 0 pingpong 0" in out
    assert re.findall(r"^plugin_dir (.*)$", out, re.M) == ["/p1", "/p2", "/p3"]
    assert "server_string (null)" in out


def test_too_many_plugin_dirs(conf_exe, pkg_env, tmp_path):
    dirs = ", ".join(f'"plugin-dir": "/d{i}"' for i in range(10))
    cfg = write_dir(tmp_path / "cfg", '{"global": {%s}}' % dirs, {})
    r = check(conf_exe, pkg_env, cfg)
    assert "globals 1 " in r.stdout and "Too many plugin dirs" in r.stderr
    cfg = write_dir(tmp_path / "cfg9", '{"global": {%s}}' % dirs.rsplit(",", 1)[0], {})
    assert "globals 0 " in check(conf_exe, pkg_env, cfg).stdout


# ------------------------------------------------------------------ vhosts

def test_two_vhosts_from_conf_d(start_conf, tmp_path):
    port = free_port()
    srv = start_conf(site(tmp_path, port))
    assert srv.port == port
    out = srv.stdout()
    assert "vhosts 0 " in out
    inits = sorted(re.findall(r"^init (.*)$", out, re.M))
    assert inits == sorted(["http-only ", "dumb tag=a", "mirror tag=a,default=1",
                            "http-only ", "dumb update-ms=5000,tag=b,default=1", "mirror "])

    status, headers, body = get(port, "a.example", "/")
    assert (status, body) == (200, b"<h1>site a</h1>\n")
    assert headers["x-test"] == "vhost-a"
    assert headers["server"] == "myserver/1.0"
    # the mount's cache-max-age (in the RFC form main's mounts now send)
    assert "private, max-age=60" in headers["cache-control"]
    status, headers, body = get(port, "b.example", "/site/")
    assert (status, body) == (200, b"<h1>site b</h1>\n")
    assert "x-test" not in headers
    status, headers, _ = get(port, "b.example", "/away")
    assert status == 301 and headers["location"].startswith("https://example.org/there")
    # "/site" is b's alone; a has no such mount (its "/" has no file there)
    assert get(port, "a.example", "/site/")[0] == 404

    # the pvo "default" picks the protocol of upgrades naming none
    assert ws_hello(port, "a.example") == "mirror"
    assert ws_hello(port, "b.example") == "dumb"
    srv.assert_alive()


def test_vhost_status_json(start_conf, tmp_path):
    port = free_port()
    srv = start_conf(site(tmp_path, port))
    get(port, "a.example", "/")
    ws_hello(port, "a.example")
    a = status_json(port, "a.example", "vhost")
    assert a["name"] == "a.example"
    assert a["port"] == str(port)
    assert a["use_ssl"] == "0" and a["sts"] == "0"
    # every value is a quoted string
    for k in ("rx", "tx", "conn", "trans", "ws_upg", "rejected", "http2_upg"):
        assert isinstance(a[k], str) and a[k].isdigit(), k
    assert int(a["conn"]) >= 3 and int(a["trans"]) >= 1 and int(a["ws_upg"]) == 1
    assert int(a["rx"]) > 100 and int(a["tx"]) > 100
    assert a["mounts"] == [{
        "mountpoint": "/", "origin": f"file://{tmp_path}/www-a", "cache_max_age": "60",
        "cache_reuse": "1", "cache_revalidate": "1", "cache_intermediaries": "0",
        "default": "index.html"}]
    assert [list(p) for p in a["ws-protocols"]] == [["http-only"], ["dumb"], ["mirror"]]
    assert all(list(p.values()) == [{"status": "ok"}] for p in a["ws-protocols"])

    b = status_json(port, "b.example", "vhost")
    assert b["name"] == "b.example"
    assert [m["mountpoint"] for m in b["mounts"]] == ["/site", "/away"]
    assert b["mounts"][1]["origin"] == ">https://example.org/there"
    assert "default" not in b["mounts"][1]
    srv.assert_alive()


def test_context_status_json(start_conf, tmp_path):
    port = free_port()
    srv = start_conf(site(tmp_path, port))
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    try:
        get(port, "a.example", "/")
        c = status_json(port, "b.example", "context")
        assert c["version"].startswith("2.0.0")
        assert int(c["uptime"]) > 0
        assert {"l1", "l2", "l3"} <= set(c)
        (ctx,) = c["contexts"]
        assert ctx["ah_pool_max"] == "4"
        assert int(ctx["context_uptime"]) >= 0
        (pt,) = ctx["pt"]
        # the listener, the 3 idle connections and the one asking
        assert int(pt["fds_count"]) >= 5, pt
        assert int(pt["ah_pool_inuse"]) >= 1
        assert [v["name"] for v in ctx["vhosts"]] == ["a.example", "b.example"]
        # b shares a's listener
        assert ctx["listen_wsi"] == "1"
        for k in ("rx", "tx", "conn", "trans", "ws_upg", "rejected"):
            assert int(ctx[k]) == sum(int(v[k]) for v in ctx["vhosts"]), k
        assert int(ctx["conn"]) >= 5
        assert ctx["cgi_alive"] == "0"
    finally:
        for s in idle:
            s.close()
    srv.assert_alive()


@pytest.mark.parametrize("what,length", [("vhost", 100), ("vhost", 150), ("vhost", 400),
                                         ("context", 1), ("context", 100), ("context", 777)])
def test_status_json_is_cut_to_the_buffer(start_conf, tmp_path, what, length):
    """The dump never writes past `len` (the C program checks canary bytes
    after an exactly sized buffer) and returns what it wrote, NUL after it."""
    port = free_port()
    srv = start_conf(site(tmp_path, port))
    full = get(port, "a.example", f"/status/{what}")[2]
    status, _, body = get(port, "a.example", f"/status/{what}/{length}")
    assert status == 200
    if length < 100 and what == "vhost" or length == 1:
        assert json.loads(body) == {"ret": "0"}
    else:
        assert len(body) == length - 1
        # the same document, cut (counters and uptimes may have moved on)
        assert body[:12] == full[:12]
    # a vhost dump into fewer than 100 bytes writes nothing and returns 0
    assert json.loads(get(port, "a.example", "/status/vhost/99")[2]) == {"ret": "0"}
    srv.assert_alive()


def test_tls_vhost_from_config(start_conf, tmp_path, pki):  # noqa: F811
    if not have("openssl"):
        pytest.skip("no openssl")
    port = free_port()
    srv = start_conf(site(tmp_path, port, tls=(pki.self, pki.self_key)))
    status, _, body = get(port, "a.example", "/", scheme="https")
    assert (status, body) == (200, b"<h1>site a</h1>\n")
    # b shares a's (TLS) listener; SNI / Host pick b
    assert status_json(port, "a.example", "vhost", "https")["use_ssl"] == "1"
    assert status_json(port, "b.example", "vhost", "https")["name"] == "b.example"
    r = subprocess.run(["curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{port}/"],
                       capture_output=True, timeout=20)
    assert b"site a" not in r.stdout
    srv.assert_alive()


# ---------------------------------------------------------------- malformed

VHOST = '{"vhosts": [{"name": "v", "port": "%d", "mounts": [{"mountpoint": "/", "origin": "file:///tmp"}]}]}'

MALFORMED = {
    "syntax": ('{"vhosts": [\n  {"name": "v",\n   "port" "1"}\n]}', r"conf\.d/20-bad\(3\): parsing error -?\d+: "),
    "truncated": ('{"vhosts": [{"name": "v"', r"conf\.d/20-bad\(1\): parsing error"),
    "not-an-object": ('[1, 2]', r"20-bad\(1\): parsing error"),
    "vhosts-not-array": ('{"vhosts": {"name": "v"}}', r'"vhosts" must be an array'),
    "vhost-not-object": ('{"vhosts": ["v"]}', r"must be an object"),
    "name-is-object": ('{"vhosts": [{"name": {"x": "y"}, "port": "1"}]}', r'"name" must be a string'),
    "port-is-array": ('{"vhosts": [{"port": [80]}]}', r'"port" must be a string'),
    "mounts-not-array": ('{"vhosts": [{"port": "1", "mounts": "x"}]}', r'"mounts" must be an array'),
    "no-port": ('{"vhosts": [{"name": "v"}]}', r"Port required"),
    "no-origin": ('{"vhosts": [{"port": "1", "mounts": [{"mountpoint": "/"}]}]}', r"mountpoint and origin required"),
    "bad-scheme": ('{"vhosts": [{"port": "1", "mounts": [{"mountpoint": "/", "origin": "ftp://x"}]}]}',
                   r"unsupported protocol:// ftp://x"),
    "pvo-not-object": ('{"vhosts": [{"port": "1", "ws-protocols": [{"dumb": "x"}]}]}', r"must be"),
    "binary": ("\x00\x01{", r"parsing error"),
    "deep": ('{"vhosts": [' + "[" * 100000, r"parsing error -?\d+: recursion limit exceeded"),
    "deep-objects": ('{"global": ' + '{"a": ' * 100000, r"parsing error"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_vhosts_fail_cleanly(conf_exe, pkg_env, tmp_path, case):
    text, message = MALFORMED[case]
    port = free_port()
    cfg = write_dir(tmp_path / "cfg", None, {"10-good": VHOST % port, "20-bad": text})
    r = check(conf_exe, pkg_env, cfg)
    # both calls read every file: a file that does not parse fails the
    # globals already; type errors in vhosts only the vhosts
    assert "globals 1 " in r.stdout or "vhosts 1 " in r.stdout, r.stdout + r.stderr
    assert re.search(message, r.stderr), r.stderr


def test_malformed_globals_fail_cleanly(conf_exe, pkg_env, tmp_path):
    cfg = write_dir(tmp_path / "cfg", '# c\n{"global": {\n"uid": "1",\n"gid": }}', {})
    r = check(conf_exe, pkg_env, cfg)
    assert "globals 1 " in r.stdout
    assert re.search(r"/conf\(4\): parsing error", r.stderr), r.stderr
    cfg = write_dir(tmp_path / "cfg2", '{"global": {"uid": {"a": 1}}}', {})
    assert "globals 1 " in check(conf_exe, pkg_env, cfg).stdout
    cfg = write_dir(tmp_path / "cfg3", '{"global": []}', {})
    assert "globals 1 " in check(conf_exe, pkg_env, cfg).stdout


def test_missing_files_are_skipped(conf_exe, pkg_env, tmp_path):
    # no conf, no conf.d: globals succeed, vhosts find none
    r = check(conf_exe, pkg_env, tmp_path / "nowhere")
    assert "globals 0 " in r.stdout and "vhosts 1 " in r.stdout
    assert "Need at least one vhost" in r.stderr
    # no conf, one vhost in conf.d; an unreadable entry (a directory) skipped
    port = free_port()
    cfg = write_dir(tmp_path / "cfg", None, {"v": VHOST % port})
    (cfg / "conf.d" / "subdir").mkdir()
    r = check(conf_exe, pkg_env, cfg)
    assert "globals 0 " in r.stdout and "vhosts 0 " in r.stdout, r.stderr


def test_huge_strings(conf_exe, pkg_env, tmp_path):
    """A 1 MiB server-string: a clean failure with the default 64 KiB
    buffer, stored whole with a 2 MiB one."""
    big = "x" * (1 << 20)
    cfg = write_dir(tmp_path / "cfg", '{"global": {"server-string": "%s"}}' % big, {})
    r = check(conf_exe, pkg_env, cfg)
    assert "globals 1 " in r.stdout and "buffer is too small" in r.stderr
    r = check(conf_exe, pkg_env, cfg, "-b", 2 << 20)
    assert "globals 0 " in r.stdout and f"server_string {big}" in r.stdout
    port = free_port()
    cfg = write_dir(tmp_path / "cfg2", None,
                    {"v": '{"vhosts": [{"name": "%s", "port": "%d"}]}' % (big, port)})
    r = check(conf_exe, pkg_env, cfg)
    assert "vhosts 1 " in r.stdout and "buffer is too small" in r.stderr


def test_tiny_budgets(conf_exe, pkg_env, tmp_path):
    """Every buffer size from 0 up: either success or a clean failure, and
    never a byte written past the buffer."""
    port = free_port()
    cfg = site(tmp_path, port)
    outcomes = set()
    for budget in list(range(0, 200, 7)) + list(range(200, 1400, 37)):
        r = check(conf_exe, pkg_env, cfg, "-b", budget)
        ok = "globals 0 " in r.stdout and "vhosts 0 " in r.stdout
        outcomes.add(ok)
        if not ok:
            assert "buffer is too small" in r.stderr, r.stderr
    assert outcomes == {True, False}


def test_null_arguments(conf_exe, pkg_env, tmp_path):
    r = run([str(conf_exe), "-c", str(tmp_path), "-n"], env=pkg_env, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    got = dict(line.rsplit(" ", 1) for line in r.stdout.splitlines())
    for k, v in got.items():
        if k.startswith("null dump"):
            assert v == "-1", (k, v)
        elif k == "unchanged":
            assert v == "1"
        else:
            assert v == "1", (k, v)


def test_dump_lengths(conf_exe, pkg_env, tmp_path):
    port = free_port()
    r = check(conf_exe, pkg_env, site(tmp_path, port), "-j")
    dumps = {int(a): (int(b), int(c)) for a, b, c in
             re.findall(r"^dump (\d+) ret (-?\d+) strlen (-?\d+)$", r.stdout, re.M)}
    assert dumps[0] == (0, -1)
    for n, (ret, slen) in dumps.items():
        if n:
            assert ret == slen and ret <= n - 1, (n, ret, slen)
    assert dumps[500][0] == 499
    assert 1000 < dumps[100000][0] < 99999


@pytest.mark.skipif(not have("valgrind"), reason="valgrind not installed")
def test_under_valgrind(conf_exe, pkg_env, tmp_path):
    port = free_port()
    cfg = site(tmp_path, port)
    check(conf_exe, pkg_env, cfg, "-j", valgrind=True)
    for budget in (0, 50, 100, 300):
        check(conf_exe, pkg_env, cfg, "-b", budget, valgrind=True)
    for case in ("syntax", "no-origin", "bad-scheme", "name-is-object", "binary"):
        bad = write_dir(tmp_path / f"bad-{case}", None,
                        {"10-good": VHOST % free_port(), "20-bad": MALFORMED[case][0]})
        check(conf_exe, pkg_env, bad, valgrind=True)
    big = write_dir(tmp_path / "big", '{"global": {"server-string": "%s"}}' % ("y" * (1 << 20)), {})
    check(conf_exe, pkg_env, big, valgrind=True)
    r = run(["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
             "--errors-for-leak-kinds=definite", str(conf_exe), "-c", str(tmp_path), "-n"],
            env=pkg_env, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr[-6000:]
