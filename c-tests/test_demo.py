"""The demo server (c-tests/demo-server.c): its page and static files, its
three WebSocket protocols, and the page itself in headless Chromium."""

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO

try:
    import websockets
except ImportError:  # scripts/install-deps.sh installs it
    websockets = None

needs_websockets = pytest.mark.skipif(websockets is None, reason="no websockets module")

DEMO = REPO / "c-tests" / "demo"
COUNTER, MIRROR, ECHO = "dumb-increment-protocol", "lws-mirror-protocol", "lws-echo"


class Demo:
    """A demo-server process; start() again on the same port restarts it."""

    def __init__(self, exe, env, logdir):
        self.exe, self.env, self.logdir = exe, env, logdir
        self.proc = None
        self.port = 0
        self.runs = 0

    def start(self):
        self.runs += 1
        self.log = self.logdir / f"demo-stderr-{self.runs}"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [str(self.exe), "-p", str(self.port), "-r", str(DEMO)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=self.env)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            m = re.search(r"http://localhost:(\d+)/", self.log.read_text())
            if m:
                self.port = int(m.group(1))
                return
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError("demo-server did not start:\n" + self.log.read_text())

    def stop(self):
        """SIGTERM, and the server must exit cleanly."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        out = self.log.read_text()
        assert self.proc.returncode == 0, out
        assert "demo exited cleanly" in out, out

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
def demo(build_c, pkg_env, tmp_path):
    d = Demo(build_c("demo-server.c"), pkg_env, tmp_path)
    d.start()
    try:
        yield d
    finally:
        d.kill()


def test_demo_serves_its_page_and_files(demo):
    page = urllib.request.urlopen(demo.base + "/", timeout=10)
    assert page.headers["content-type"] == "text/html"
    assert "<title>libwebsockets in Rust: demo</title>" in page.read().decode()
    for name, ctype in [("demo.css", "text/css"), ("demo.js", "text/javascript"),
                        ("lws-common.js", "text/javascript"),
                        ("logo.png", "image/png"), ("favicon.ico", "image/x-icon")]:
        r = urllib.request.urlopen(f"{demo.base}/{name}", timeout=10)
        assert r.headers["content-type"] == ctype
        assert r.read() == (DEMO / name).read_bytes()
    try:
        urllib.request.urlopen(demo.base + "/missing.html", timeout=10)
        raise AssertionError("missing page served")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    demo.stop()


def test_demo_page_uses_no_external_resources():
    for name in ("index.html", "demo.js", "lws-common.js", "demo.css"):
        text = (DEMO / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), name


# ------------------------------------------------------------ WebSockets

async def recv_within(ws, seconds=5):
    return await asyncio.wait_for(ws.recv(), seconds)


@needs_websockets
def test_demo_websocket_protocols(demo):
    async def main():
        connect = websockets.connect
        async with connect(demo.ws, subprotocols=[COUNTER], max_queue=None) as c:
            assert c.subprotocol == COUNTER
            first = int(await recv_within(c))
            await asyncio.sleep(0.4)
            second = int(await recv_within(c))
            assert second > first
            # the ~50 ms ticks kept coming while we slept
            latest = second
            while True:
                try:
                    latest = int(await asyncio.wait_for(c.recv(), 0.01))
                except asyncio.TimeoutError:
                    break
            assert latest >= first + 4, (first, latest)
            # "reset\n" starts this connection's count again
            await c.send("reset\n")
            for _ in range(200):
                n = int(await recv_within(c))
                if n < latest:
                    break
                latest = n
            else:
                raise AssertionError("reset did not reset the counter")
            assert n <= 2

        async with connect(demo.ws, subprotocols=[MIRROR], max_queue=None) as a, \
                connect(demo.ws, subprotocols=[MIRROR], max_queue=None) as b:
            assert a.subprotocol == b.subprotocol == MIRROR
            for text in ["t hello from A", "d #102030 1 2 3 4", "t " + "\u00e9" * 1000]:
                await a.send(text)
                assert await recv_within(b) == text
                assert await recv_within(a) == text  # the sender gets it too
            await b.send(b"\x00\x01binary")
            assert await recv_within(a) == b"\x00\x01binary"
            assert await recv_within(b) == b"\x00\x01binary"

        async with connect(demo.ws, subprotocols=[ECHO], max_queue=None) as e:
            assert e.subprotocol == ECHO
            for msg in ["hello", "", "x" * 4096, b"\xff\x00" * 100, "\u2603 snow"]:
                await e.send(msg)
                assert await recv_within(e) == msg
            # a fragmented message comes back whole
            await e.send(["frag", "mented ", "message"])
            assert await recv_within(e) == "fragmented message"
            # many at once: queued, rx paused while the queue is full, all back in order
            for i in range(100):
                await e.send(f"burst {i}")
            for i in range(100):
                assert await recv_within(e) == f"burst {i}"
            # over 4 KiB: closed with 1009
            await e.send("y" * 4097)
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                await recv_within(e)
            assert closed.value.rcvd.code == 1009

    asyncio.run(asyncio.wait_for(main(), 30))
    demo.stop()


@needs_websockets
def test_demo_mirror_skips_ahead_for_a_slow_reader(demo):
    """A reader that falls more than the ring behind misses messages but gets
    the ones it does get whole and in order, and the last one."""
    total, pad = 2000, "x" * 4000

    async def main():
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", demo.port))
        async with websockets.connect(demo.ws, sock=sock, subprotocols=[MIRROR],
                                      max_queue=4, close_timeout=2) as slow, \
                websockets.connect(demo.ws, subprotocols=[MIRROR], max_queue=None) as a:
            seen_by_a = []

            async def drain():
                while True:
                    seen_by_a.append(await a.recv())

            drainer = asyncio.create_task(drain())
            for i in range(total):
                await a.send(f"m {i} {pad}")
            got = []
            while not got or got[-1] != total - 1:
                kind, number, rest = (await recv_within(slow, 10)).split(" ", 2)
                assert kind == "m" and rest == pad
                got.append(int(number))
            drainer.cancel()
            assert got == sorted(set(got))
            assert len(got) < total, "the slow reader was never behind"
            # once caught up it is sent new messages again
            await a.send("t caught up")
            assert await recv_within(slow) == "t caught up"

    asyncio.run(asyncio.wait_for(main(), 40))
    demo.stop()
    assert "mirror: slow client skips" in demo.log.read_text()


# -------------------------------------------------------- headless Chromium

def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Cdp:
    """Just enough of the Chrome DevTools protocol: one browser connection,
    pages attached with flat sessions, one command at a time."""

    def __init__(self, ws):
        self.ws = ws
        self.n = 0

    async def call(self, method, session=None, **params):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        while True:  # events are skipped
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
            if reply.get("id") == self.n:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def open(self, url):
        target = (await self.call("Target.createTarget", url=url, newWindow=True))["targetId"]
        session = (await self.call("Target.attachToTarget", targetId=target,
                                   flatten=True))["sessionId"]
        return Page(self, session)


class Page:
    def __init__(self, cdp, session):
        self.cdp, self.session = cdp, session

    async def eval(self, expression):
        r = await self.cdp.call("Runtime.evaluate", self.session, expression=expression,
                                returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def wait(self, expression, what, timeout=10):
        """Polls until `expression` is truthy (errors while the page loads
        count as not yet)."""
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                value = await self.eval(expression)
                if value:
                    return value
                last = value
            except RuntimeError as e:
                last = e
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what} ({expression!r}: {last!r})")

    async def counter(self):
        return await self.eval("Number(document.getElementById('counter').textContent)")


CONNECTED = ("document.readyState === 'complete' && window.lws && lws.sockets.length === 3"
             " && !document.body.classList.contains('disconnected')")
DIMMED = ("document.body.classList.contains('disconnected')"
          " && getComputedStyle(document.body).filter.includes('grayscale')")


@pytest.fixture
def chromium(tmp_path):
    exe = find_chromium()
    if not exe:
        pytest.skip("chromium not found (scripts/install-deps.sh installs it)")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    log = open(tmp_path / "chromium.log", "wb")
    proc = subprocess.Popen(
        [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-background-timer-throttling",
         "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
         "--window-size=900,1300", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        active = profile / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not (active.exists() and len(active.read_text().split()) == 2):
            assert proc.poll() is None, (tmp_path / "chromium.log").read_text()
            assert time.monotonic() < end, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port, path = active.read_text().split()
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        # Chromium first, so that it shuts down and reaps its helpers; then
        # whatever is left of the process group started above. Its leader
        # is not reaped before that, so the group id cannot have been reused.
        if proc.returncode is None:
            proc.terminate()
            end = time.monotonic() + 10
            while time.monotonic() < end and not os.waitid(
                    os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                time.sleep(0.05)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        log.close()


@needs_websockets
def test_demo_page_in_headless_chromium(demo, chromium, tmp_path):
    async def main():
        async with websockets.connect(chromium, max_size=None, max_queue=None) as ws:
            cdp = Cdp(ws)
            page1 = await cdp.open(demo.base + "/")
            page2 = await cdp.open(demo.base + "/")
            await page1.wait(CONNECTED, "page 1 to connect")
            await page2.wait(CONNECTED, "page 2 to connect")

            # the counter advances
            await page1.wait("document.getElementById('counter').textContent !== '\u2013'",
                             "the first number")
            first = await page1.counter()
            await asyncio.sleep(0.5)
            second = await page1.counter()
            assert second > first, (first, second)

            # a line typed in page 1's mirror box appears in page 2
            line = f"hello from page 1 at {time.time()}"
            await page1.eval(f"""(() => {{
                const input = document.getElementById('mirror-text');
                input.value = {json.dumps(line)};
                document.getElementById('mirror-form').requestSubmit();
                return input.value; }})()""")
            for page in (page2, page1):
                await page.wait(f"document.getElementById('mirror-log').textContent"
                                f".includes({json.dumps(line)})", "the mirrored line")
            # a stroke drawn in page 2 is painted on page 1's canvas
            await page2.eval("lws.sockets[1].send('d #c03030 10 100 590 100')")
            await page1.wait("""(() => { const c = document.getElementById('mirror-canvas');
                return c.getContext('2d').getImageData(300, 100, 1, 1).data[3] > 0; })()""",
                             "the mirrored stroke")
            # the echo box
            await page1.eval("demo.echoSend('echo from the page')")
            await page1.wait("document.querySelector('#echo-log .echoed') &&"
                             " document.querySelector('#echo-log .echoed').textContent"
                             " === 'echo from the page'", "the echo")

            shot = await cdp.call("Page.captureScreenshot", page1.session, format="png")
            png = base64.b64decode(shot["data"])
            (tmp_path / "demo.png").write_bytes(png)
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000

            # the server goes away: the page dims itself ...
            before = await page1.counter()
            assert before > 5
            demo.stop()
            await page1.wait(DIMMED, "the page to dim")
            await page2.wait(DIMMED, "page 2 to dim")
            await asyncio.sleep(0.5)  # the dimming's transition
            shot = await cdp.call("Page.captureScreenshot", page1.session, format="png")
            (tmp_path / "demo-disconnected.png").write_bytes(base64.b64decode(shot["data"]))
            # ... and recovers when it comes back on the same port
            demo.start()
            await page1.wait(CONNECTED, "page 1 to reconnect", timeout=15)
            await page2.wait(CONNECTED, "page 2 to reconnect", timeout=15)
            # the new connection counts from 0 again, and advances
            await page1.wait(f"Number(document.getElementById('counter').textContent) < {before}",
                             "the new connection's count")
            first = await page1.counter()
            await asyncio.sleep(0.5)
            assert await page1.counter() > first

    asyncio.run(asyncio.wait_for(main(), 60))
    demo.stop()


def test_demo_ssl_mode(build_c, pkg_env, tmp_path):
    """The demo serves its page over HTTPS and the echo over WSS (-c/-k)."""
    import ssl
    import asyncio
    import websockets
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    exe = build_c("demo-server.c")
    log = tmp_path / "stderr-ssl"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(exe), "-p", "0", "-r", str(REPO / "c-tests" / "demo"),
                                 "-c", str(cert), "-k", str(key)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                env=pkg_env)
    try:
        port = None
        end = time.monotonic() + 10
        while port is None and time.monotonic() < end:
            m = re.search(r"http://localhost:(\d+)/", log.read_text())
            port = int(m.group(1)) if m else time.sleep(0.05)
        assert port, log.read_text()
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        page = urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=ctx, timeout=10)
        assert "<title>libwebsockets in Rust: demo</title>" in page.read().decode()

        async def echo():
            async with websockets.connect(f"wss://127.0.0.1:{port}/", ssl=ctx,
                                          subprotocols=["lws-echo"]) as ws:
                await ws.send("over tls")
                return await asyncio.wait_for(ws.recv(), 5)
        assert asyncio.run(echo()) == "over tls"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
