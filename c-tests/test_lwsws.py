"""The lwsws program (lwsws/lwsws.c) with its example plugins (plugins/) and
example configuration (lwsws/etc/), as `make install` installs them: the
configuration is copied from the install into a temporary directory with a
free port written in (JSON configuration has no port 0), lwsws runs on it,
and the tests use the demo page, every plugin's protocol, the POST demo and
the signals; headless Chromium shows the demo page served through it (its
screenshot's path is printed and recorded as the test's `screenshot`
property)."""

import asyncio
import base64
import hashlib
import json
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import test_demo as demo_tests
from conftest import REPO

websockets = demo_tests.websockets
needs_websockets = demo_tests.needs_websockets
chromium = demo_tests.chromium  # the fixture, shared with test_demo

DEMO = REPO / "c-tests" / "demo"
PLUGINS = ["libprotocol_dumb_increment.so", "libprotocol_lws_echo.so",
           "libprotocol_lws_mirror.so", "libprotocol_lws_server_status.so",
           "libprotocol_lws_status.so", "libprotocol_post_demo.so"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fnv1a32(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


class Lwsws:
    """One lwsws process on a copy of the installed example configuration."""

    def __init__(self, prefix, env, workdir, port=None):
        self.prefix, self.env, self.workdir = prefix, env, workdir
        self.confdir = workdir / "lwsws-conf"
        (self.confdir / "conf.d").mkdir(parents=True, exist_ok=True)
        installed = prefix / "etc" / "lwsws"
        (self.confdir / "conf").write_text((installed / "conf").read_text())
        self.template = (installed / "conf.d" / "localhost").read_text()
        self.proc = None
        self.runs = 0
        self.port = port

    def start(self, tries=3):
        for _ in range(tries):
            port = self.port or free_port()
            conf = self.template.replace('"port": "7681"', f'"port": "{port}"')
            assert conf != self.template
            (self.confdir / "conf.d" / "localhost").write_text(conf)
            self.runs += 1
            self.log = self.workdir / f"lwsws-stderr-{self.runs}"
            with open(self.log, "wb") as err:
                self.proc = subprocess.Popen(
                    [str(self.prefix / "bin" / "lwsws"), "-c", str(self.confdir)],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=self.env,
                    cwd=str(self.workdir))
            end = time.monotonic() + 10
            while time.monotonic() < end and self.proc.poll() is None:
                if "lwsws: serving" in self.text():
                    self.port = port
                    return
                time.sleep(0.05)
            self.kill()
            if self.port:  # a fixed port (a restart): no second chance
                break
        raise AssertionError("lwsws did not start:\n" + self.text())

    def text(self):
        return self.log.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        """The signal, and lwsws must exit 0 after destroying its context."""
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=10)
        out = self.text()
        assert rc == 0, out
        assert "lwsws exited cleanly" in out, out
        assert "ERR:" not in out, out

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self):
        return f"ws://127.0.0.1:{self.port}/"


@pytest.fixture
def lwsws(prefix, pkg_env, tmp_path):
    s = Lwsws(prefix, pkg_env, tmp_path)
    s.start()
    try:
        yield s
    finally:
        s.kill()


def arun(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def recv_within(ws, seconds=5):
    return await asyncio.wait_for(ws.recv(), seconds)


# ---------------------------------------------------------------- install

def test_make_install_ships_lwsws(prefix):
    assert (prefix / "bin" / "lwsws").stat().st_mode & 0o111
    plugins = prefix / "lib" / "lwsws" / "plugins"
    assert sorted(p.name for p in plugins.iterdir()) == sorted(PLUGINS)
    for name in ("index.html", "demo.js", "lws-common.js", "demo.css"):
        assert (prefix / "share" / "lwsws" / "demo" / name).read_bytes() == \
            (DEMO / name).read_bytes()
    assert (prefix / "share" / "lwsws" / "server-status" / "server-status.html").exists()
    conf = (prefix / "etc" / "lwsws" / "conf.d" / "localhost").read_text()
    assert f'"file://{prefix}/share/lwsws/demo"' in conf
    assert "@" not in conf
    assert f"{prefix}/lib/lwsws/plugins" in (prefix / "etc" / "lwsws" / "conf").read_text()
    # the compiled-in default configuration directory follows PREFIX
    r = subprocess.run([str(prefix / "bin" / "lwsws"), "-h"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0 and f"{prefix}/etc/lwsws" in r.stderr


def test_lwsws_without_a_vhost_fails(prefix, pkg_env, tmp_path):
    """A configuration directory with no vhost: lwsws reports it and exits 1."""
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf").write_text('{"global": {"server-string": "x"}}\n')
    r = subprocess.run([str(prefix / "bin" / "lwsws"), "-c", str(tmp_path)],
                       capture_output=True, text=True, timeout=20, env=pkg_env)
    assert r.returncode == 1, r.stderr
    assert "Need at least one vhost" in r.stderr


# ------------------------------------------------------------------ HTTP

def test_lwsws_serves_the_demo_page(lwsws):
    page = urllib.request.urlopen(lwsws.base + "/", timeout=10)
    assert page.headers["content-type"] == "text/html"
    assert page.headers["server"] == "lwsws"  # "server-string" of conf
    assert "max-age=60" in page.headers["cache-control"]
    assert "<title>libwebsockets in Rust: demo</title>" in page.read().decode()
    for name, ctype in [("demo.css", "text/css"), ("demo.js", "text/javascript"),
                        ("logo.png", "image/png")]:
        r = urllib.request.urlopen(f"{lwsws.base}/{name}", timeout=10)
        assert r.headers["content-type"] == ctype
        assert r.read() == (DEMO / name).read_bytes()
    r = urllib.request.urlopen(lwsws.base + "/server-status", timeout=10)
    assert "lws-server-status" in r.read().decode()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(lwsws.base + "/missing.html", timeout=10)
    assert e.value.code == 404
    lwsws.stop()


def test_lwsws_post_demo(lwsws):
    """protocol-post-demo on the /formtest callback mount: a form on GET,
    urlencoded and multipart bodies parsed with lws_spa_*."""
    url = lwsws.base + "/formtest"
    form = urllib.request.urlopen(url, timeout=10).read().decode()
    assert 'enctype="multipart/form-data"' in form and 'name="text"' in form

    body = urllib.parse.urlencode({"text": "hello <world> & more", "send": "go"}).encode()
    r = urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10)
    page = r.read().decode()
    result = re.search(r'<pre id="result">(.*?)</pre>', page, re.S).group(1)
    assert result.splitlines() == ["text: hello &lt;world&gt; &amp; more", "send: go",
                                   "finalize: 0"]

    upload = bytes(range(256)) * 400 + b"\r\n--not-the-boundary\r\n" + b"z" * 777
    boundary = "----lwswsBoundary7MA4YWxkTrZu0gW"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
        "multipart value\r\n".encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="data.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + upload + b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="send"\r\n\r\n'
        "up\r\n".encode(),
        f"--{boundary}--\r\n".encode(),
    ]
    req = urllib.request.Request(url, data=b"".join(parts), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    page = urllib.request.urlopen(req, timeout=10).read().decode()
    result = re.search(r'<pre id="result">(.*?)</pre>', page, re.S).group(1)
    assert result.splitlines() == ["text: multipart value", "send: up",
                                   f"file: data.bin {len(upload)} {fnv1a32(upload)}",
                                   "finalize: 0"]
    lwsws.stop()




def test_lwsws_post_demo_result_page_that_fills_its_buffer(prefix, pkg_env, tmp_path):
    """A result page that grows past the plugin's 8 KiB page buffer is cut,
    never written past it. Escaped text and file names of a size that puts
    a "file: " line at the buffer's last bytes pushed the write position
    past the end, and the next snprintf was given a wrapped-around size and
    wrote past the stack buffer (lwsws crashed, depending on the stack).
    The plugin is built here with _FORTIFY_SOURCE=3, which aborts on such an
    snprintf every time; loaded from a "plugin-dir" after the installed
    one, its protocol comes first."""
    plugdir = tmp_path / "fortified"
    plugdir.mkdir()
    subprocess.run(["gcc", "-std=gnu99", "-O2", "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=3",
                    "-Wall", "-Werror", "-shared", "-fPIC", str(REPO / "plugins" / "protocol_post_demo.c"),
                    "-o", str(plugdir / "libprotocol_post_demo.so"),
                    *subprocess.run(["pkg-config", "--cflags", "--libs", "libwebsockets"],
                                    env=pkg_env, check=True, capture_output=True,
                                    text=True).stdout.split()],
                   env=pkg_env, check=True)
    s = Lwsws(prefix, pkg_env, tmp_path)
    (s.confdir / "conf").write_text('{"global": {"plugin-dir": "%s"}}' % plugdir)
    s.start()
    try:
        url = s.base + "/formtest"
        head = len('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                   '<title>lwsws post demo: result</title></head><body>'
                   '<h1>Form received</h1><pre id="result">')
        name = "&" * 127  # what the plugin keeps of a name; 5 bytes escaped each
        line = len("file: ") + 5 * len(name) + len(" 0 811c9dc5\n")
        for target in range(8180, 8196):
            # "text: " E "\n" "send: (none)\n", 6 file lines, the 7th at target
            escaped = target - head - 20 - 6 * line
            text = '"' * (escaped // 6) + "x" * (escaped % 6)
            parts = [f'--B\r\nContent-Disposition: form-data; name="text"\r\n\r\n{text}\r\n']
            parts += [f'--B\r\nContent-Disposition: form-data; name="file"; '
                      f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n'] * 7
            parts.append("--B--\r\n")
            req = urllib.request.Request(url, data="".join(parts).encode(), headers={
                "Content-Type": "multipart/form-data; boundary=B"})
            try:
                page = urllib.request.urlopen(req, timeout=10).read()
            except OSError as e:
                raise AssertionError(f"target {target}: {e}\n{s.text()[-3000:]}") from e
            assert 8000 < len(page) < 8192, (target, len(page))
            assert page.startswith(b"<!DOCTYPE html>"), target
        s.stop()
    finally:
        s.kill()


# ------------------------------------------------------------ WebSockets

@needs_websockets
def test_lwsws_counter_and_echo(lwsws):
    async def main():
        async with websockets.connect(lwsws.ws, subprotocols=["dumb-increment-protocol"],
                                      max_queue=None) as c:
            assert c.subprotocol == "dumb-increment-protocol"
            first = int(await recv_within(c))
            await asyncio.sleep(0.4)
            later = [int(await recv_within(c)) for _ in range(3)]
            assert later == sorted(later) and later[0] > first
            await c.send("reset\n")
            # numbers already on their way, then it counts from 0 again
            for _ in range(100):
                if int(await recv_within(c)) < later[-1]:
                    break
            else:
                raise AssertionError("reset had no effect")
        async with websockets.connect(lwsws.ws, subprotocols=["lws-echo"]) as e:
            await e.send("echo this")
            assert await recv_within(e) == "echo this"
            await e.send(b"\x00\x01binary")
            assert await recv_within(e) == b"\x00\x01binary"

    arun(main())
    lwsws.stop()


@needs_websockets
def test_lwsws_mirror_between_clients(lwsws):
    async def main():
        async with websockets.connect(lwsws.ws, subprotocols=["lws-mirror-protocol"]) as a, \
                websockets.connect(lwsws.ws, subprotocols=["lws-mirror-protocol"]) as b:
            await a.send("t from a")
            assert await recv_within(a) == "t from a"
            assert await recv_within(b) == "t from a"
            await b.send("d #102030 1 2 3 4")
            assert await recv_within(a) == "d #102030 1 2 3 4"
            assert await recv_within(b) == "d #102030 1 2 3 4"

    arun(main())
    lwsws.stop()


@needs_websockets
def test_lwsws_status_plugins_send_json(lwsws):
    """lws-status lists its connections (each update to every client);
    lws-server-status sends lws_json_dump_context's JSON now and then
    every update-ms (1000 in the example configuration)."""
    async def main():
        async with websockets.connect(lwsws.ws, subprotocols=["lws-status"],
                                      user_agent_header="agent-one") as s1:
            status = json.loads(await recv_within(s1))
            assert [c["ua"] for c in status["conns"]] == ["agent-one"]
            assert status["conns"][0]["peer"] == "127.0.0.1"
            async with websockets.connect(lwsws.ws, subprotocols=["lws-status"],
                                          user_agent_header='agent "two"') as s2:
                for s in (s1, s2):
                    status = json.loads(await recv_within(s))
                    assert sorted(c["ua"] for c in status["conns"]) == \
                        ['agent "two"', "agent-one"]
            status = json.loads(await recv_within(s1))
            assert [c["ua"] for c in status["conns"]] == ["agent-one"]

        async with websockets.connect(lwsws.ws, subprotocols=["lws-server-status"],
                                      max_size=None) as st:
            first = json.loads(await recv_within(st))
            assert isinstance(first, dict) and first
            # then one a second: a few in 2.5 s, not a flood
            got, end = [], time.monotonic() + 2.5
            while (left := end - time.monotonic()) > 0:
                try:
                    got.append(json.loads(await asyncio.wait_for(st.recv(), left)))
                except asyncio.TimeoutError:
                    break
            assert 2 <= len(got) <= 5, len(got)
            assert all(isinstance(g, dict) for g in got)
            assert str(lwsws.port) in json.dumps(first)

    arun(main())
    lwsws.stop()


@needs_websockets
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_lwsws_stops_on_signal(lwsws, sig):
    """With WebSocket connections open and the timers running, the signal
    stops the loop, the context (and the plugins) are destroyed, exit 0."""
    async def main():
        async with websockets.connect(lwsws.ws, subprotocols=["dumb-increment-protocol"]) as c, \
                websockets.connect(lwsws.ws, subprotocols=["lws-server-status"],
                                   max_size=None) as st:
            await recv_within(c)
            await recv_within(st)
            lwsws.proc.send_signal(sig)
            await asyncio.to_thread(lwsws.proc.wait, 10)

    arun(main())
    out = lwsws.text()
    assert lwsws.proc.returncode == 0, out
    assert f"signal {int(sig)} caught" in out and "lwsws exited cleanly" in out, out
    assert "uv_loop_close" not in out, out


# -------------------------------------------------------- headless Chromium

@needs_websockets
def test_lwsws_demo_page_in_headless_chromium(lwsws, chromium, tmp_path, record_property):
    async def main():
        async with websockets.connect(chromium, max_size=None, max_queue=None) as ws:
            cdp = demo_tests.Cdp(ws)
            page1 = await cdp.open(lwsws.base + "/")
            page2 = await cdp.open(lwsws.base + "/")
            await page1.wait(demo_tests.CONNECTED, "page 1 to connect")
            await page2.wait(demo_tests.CONNECTED, "page 2 to connect")
            assert await page1.eval("document.getElementById('server').textContent") == "lwsws"

            await page1.wait("document.getElementById('counter').textContent !== '\u2013'",
                             "the first number")
            first = await page1.counter()
            await asyncio.sleep(0.5)
            assert await page1.counter() > first

            line = f"hello through lwsws at {time.time()}"
            await page1.eval(f"demo.mirrorSend({json.dumps(line)})")
            for page in (page2, page1):
                await page.wait(f"document.getElementById('mirror-log').textContent"
                                f".includes({json.dumps(line)})", "the mirrored line")
            await page2.eval("lws.sockets[1].send('d #c03030 10 100 590 100')")
            await page1.wait("""(() => { const c = document.getElementById('mirror-canvas');
                return c.getContext('2d').getImageData(300, 100, 1, 1).data[3] > 0; })()""",
                             "the mirrored stroke")
            await page1.eval("demo.echoSend('echo through lwsws')")
            await page1.wait("document.querySelector('#echo-log .echoed') &&"
                             " document.querySelector('#echo-log .echoed').textContent"
                             " === 'echo through lwsws'", "the echo")

            shot = await cdp.call("Page.captureScreenshot", page1.session, format="png")
            png = base64.b64decode(shot["data"])
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
            path = tmp_path / "lwsws-demo.png"
            path.write_bytes(png)
            record_property("screenshot", str(path))
            print(f"lwsws demo page screenshot: {path} ({len(png)} bytes, "
                  f"sha1 {hashlib.sha1(png).hexdigest()[:12]})")

            # the status page: both status plugins' JSON shows up
            status = await cdp.open(lwsws.base + "/server-status")
            await status.wait("document.getElementById('server-status').textContent"
                              ".trim().startsWith('{')", "the server status")
            await status.wait("document.getElementById('lws-status').textContent"
                              ".includes('conns')", "the lws-status list")

    asyncio.run(asyncio.wait_for(main(), 60))
    lwsws.stop()
