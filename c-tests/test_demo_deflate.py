"""permessage-deflate on the demo page (issue 14): c-tests/demo-server.c and
lwsws (lwsws/lwsws.c with the example plugins) register
{"permessage-deflate", lws_extension_callback_pm_deflate, "permessage-deflate"}
in info.extensions as lws' test-server and lwsws do. Headless Chromium (which
offers "permessage-deflate; client_max_window_bits") loads the demo page in
two tabs while the dumb-increment counter and the mirror run; deflate must be
negotiated on all three sockets of each page - seen in page JavaScript
(`WebSocket.extensions`) and in the 101's headers as the DevTools protocol
reports them (Network.webSocketHandshakeResponseReceived) - while the counter
advances and mirror traffic (typed lines, a ~3.6 KB line, strokes) and the
echo round-trip. A Python `websockets` client additionally records the RSV1
bit of the frames the servers send: the demo protocols' messages do leave
compressed."""

import asyncio
import base64
import json
import time

import pytest

import test_demo as demo_tests
from test_demo import chromium, demo  # noqa: F401 - fixtures
from test_lwsws import lwsws  # noqa: F401 - fixture

websockets = pytest.importorskip("websockets")
from websockets.extensions.base import ClientExtensionFactory  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory)

COUNTER, MIRROR, ECHO = demo_tests.COUNTER, demo_tests.MIRROR, demo_tests.ECHO
PROTOCOLS = [COUNTER, MIRROR, ECHO]  # the order demo.js opens them in


class RecordingCdp(demo_tests.Cdp):
    """Cdp that keeps the events it reads while waiting for replies."""

    def __init__(self, ws):
        super().__init__(ws)
        self.events = []

    async def call(self, method, session=None, **params):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
            if reply.get("id") == self.n:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    async def open_recorded(self, url):
        """A new page with the Network domain on before it loads `url`."""
        target = (await self.call("Target.createTarget", url="about:blank",
                                  newWindow=True))["targetId"]
        session = (await self.call("Target.attachToTarget", targetId=target,
                                   flatten=True))["sessionId"]
        await self.call("Network.enable", session)
        await self.call("Page.navigate", session, url=url)
        return demo_tests.Page(self, session)

    def of(self, method, page=None):
        return [e["params"] for e in self.events if e["method"] == method and
                (page is None or e.get("sessionId") == page.session)]


def header(headers, name):
    """A header from a DevTools headers object (names in any case)."""
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


JS_EXTENSIONS = "lws.sockets.map(function (s) { return [s.protocol, s.ws && s.ws.extensions]; })"


async def demo_page_with_deflate(base, chromium_ws, tmp_path, name):
    async with websockets.connect(chromium_ws, max_size=None, max_queue=None) as ws:
        cdp = RecordingCdp(ws)
        page1 = await cdp.open_recorded(base + "/")
        page2 = await cdp.open_recorded(base + "/")
        await page1.wait(demo_tests.CONNECTED, "page 1 to connect")
        await page2.wait(demo_tests.CONNECTED, "page 2 to connect")

        # page JavaScript: WebSocket.extensions of each of the page's sockets
        for page in (page1, page2):
            exts = await page.eval(JS_EXTENSIONS)
            assert [p for p, _ in exts] == PROTOCOLS, exts
            for protocol, ext in exts:
                assert ext and ext.split(";")[0].strip() == "permessage-deflate", \
                    f"{protocol}: WebSocket.extensions is {ext!r}"

        # the counter advances, over the compressed connection
        await page1.wait("document.getElementById('counter').textContent !== '\u2013'",
                         "the first number")
        first = await page1.counter()
        await asyncio.sleep(0.6)
        second = await page1.counter()
        assert second > first, (first, second)

        # mirror: a typed line, a long compressible line, a stroke
        line = f"deflated hello from page 1 at {time.time()}"
        await page1.eval(f"""(() => {{
            const input = document.getElementById('mirror-text');
            input.value = {json.dumps(line)};
            document.getElementById('mirror-form').requestSubmit();
            return input.value; }})()""")
        for page in (page2, page1):
            await page.wait(f"document.getElementById('mirror-log').textContent"
                            f".includes({json.dumps(line)})", "the mirrored line")
        long_line = f"{time.time()} " + "squeeze me, deflate! " * 170
        assert len(long_line) < 4000
        await page2.eval(f"demo.mirrorSend({json.dumps(long_line)})")
        for page in (page1, page2):
            await page.wait(
                "Array.from(document.getElementById('mirror-log').children).some("
                f"function (d) {{ return d.textContent === {json.dumps(long_line)}; }})",
                "the long mirrored line")
        await page2.eval("lws.sockets[1].send('d #3030c0 10 150 590 150')")
        await page1.wait("""(() => { const c = document.getElementById('mirror-canvas');
            return c.getContext('2d').getImageData(300, 150, 1, 1).data[3] > 0; })()""",
                         "the mirrored stroke")
        # the echo
        await page1.eval("demo.echoSend('deflated echo')")
        await page1.wait("document.querySelector('#echo-log .echoed') &&"
                         " document.querySelector('#echo-log .echoed').textContent"
                         " === 'deflated echo'", "the echo")

        # the counter is still running
        third = await page1.counter()
        await asyncio.sleep(0.3)
        assert await page1.counter() > third

        # the 101s as DevTools saw them: 3 sockets per page, each with
        # permessage-deflate offered and accepted
        for page in (page1, page2):
            requests = cdp.of("Network.webSocketWillSendHandshakeRequest", page)
            responses = cdp.of("Network.webSocketHandshakeResponseReceived", page)
            assert len(requests) == 3 and len(responses) == 3, (requests, responses)
            for req in requests:
                offer = header(req["request"]["headers"], "sec-websocket-extensions")
                assert offer and "permessage-deflate" in offer, req
            for resp in responses:
                r = resp["response"]
                assert r["status"] == 101, r
                ext = header(r["headers"], "sec-websocket-extensions")
                assert ext is not None, f"no Sec-WebSocket-Extensions in the 101: {r['headers']}"
                assert ext.split(";")[0].strip() == "permessage-deflate", ext
            frames = cdp.of("Network.webSocketFrameReceived", page)
            assert len(frames) > 10, len(frames)  # at least the counter's numbers

        print(f"{name}: WebSocket.extensions {await page1.eval(JS_EXTENSIONS)}; "
              f"offered {header(requests[0]['request']['headers'], 'sec-websocket-extensions')!r}, "
              f"101: {header(responses[0]['response']['headers'], 'sec-websocket-extensions')!r}")
        shot = await cdp.call("Page.captureScreenshot", page1.session, format="png")
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        path = tmp_path / f"{name}-deflate.png"
        path.write_bytes(png)
        return path


@demo_tests.needs_websockets
def test_demo_server_page_deflate_in_chromium(demo, chromium, tmp_path,  # noqa: F811
                                              record_property):
    path = asyncio.run(asyncio.wait_for(
        demo_page_with_deflate(demo.base, chromium, tmp_path, "demo-server"), 90))
    record_property("screenshot", str(path))
    print(f"demo-server page with deflate: {path}")
    demo.stop()


@demo_tests.needs_websockets
def test_lwsws_page_deflate_in_chromium(lwsws, chromium, tmp_path,  # noqa: F811
                                        record_property):
    path = asyncio.run(asyncio.wait_for(
        demo_page_with_deflate(lwsws.base, chromium, tmp_path, "lwsws"), 90))
    record_property("screenshot", str(path))
    print(f"lwsws page with deflate: {path}")
    lwsws.stop()


# ------------------------------------- the frames the servers send are compressed

class RecordingClientFactory(ClientExtensionFactory):
    """websockets' default client deflate factory, whose extension records
    (opcode, rsv1, wire length) of every frame received, before inflating."""

    name = ClientPerMessageDeflateFactory.name

    def __init__(self):
        self.inner = ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})
        self.frames = []

    def get_request_params(self):
        return self.inner.get_request_params()

    def process_response_params(self, params, accepted_extensions):
        ext = self.inner.process_response_params(params, accepted_extensions)
        decode = ext.decode

        def recording_decode(f, *, max_size=None):
            self.frames.append((int(f.opcode), f.rsv1, len(f.data)))
            return decode(f, max_size=max_size)

        ext.decode = recording_decode
        return ext


async def compressed_frames_from(ws_url):
    def connect(protocol, rec):
        return websockets.connect(ws_url, subprotocols=[protocol], extensions=[rec],
                                  compression=None, max_queue=None)

    async def recv(c):
        return await asyncio.wait_for(c.recv(), 5)

    counter_rec = RecordingClientFactory()
    async with connect(COUNTER, counter_rec) as c:
        assert c.response.headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")
        numbers = [int(await recv(c)) for _ in range(5)]
        assert numbers == sorted(numbers)
    data = [f for f in counter_rec.frames if f[0] < 8]
    assert len(data) >= 5 and all(rsv1 for _, rsv1, _ in data), counter_rec.frames

    a_rec, b_rec = RecordingClientFactory(), RecordingClientFactory()
    big = "t " + "mirror mirror on the wall " * 150
    async with connect(MIRROR, a_rec) as a, connect(MIRROR, b_rec) as b:
        for text in ["t hello", big, "d #102030 1 2 3 4"]:
            await a.send(text)
            assert await recv(b) == text
            assert await recv(a) == text
    for rec in (a_rec, b_rec):
        data = [f for f in rec.frames if f[0] < 8]
        assert len(data) == 3 and all(rsv1 for _, rsv1, _ in data), rec.frames
        assert data[1][2] < len(big) // 5, f"the long line was hardly compressed: {data}"

    echo_rec = RecordingClientFactory()
    async with connect(ECHO, echo_rec) as e:
        for msg in ["hello", "", "z" * 4096, b"\x00\x01" * 100]:
            await e.send(msg)
            assert await recv(e) == msg
    data = [f for f in echo_rec.frames if f[0] < 8]
    assert len(data) == 4 and all(rsv1 for _, rsv1, _ in data), echo_rec.frames


@demo_tests.needs_websockets
def test_demo_server_sends_compressed_frames(demo):  # noqa: F811
    asyncio.run(asyncio.wait_for(compressed_frames_from(demo.ws), 30))
    demo.stop()


@demo_tests.needs_websockets
def test_lwsws_sends_compressed_frames(lwsws):  # noqa: F811
    asyncio.run(asyncio.wait_for(compressed_frames_from(lwsws.ws), 30))
    lwsws.stop()
