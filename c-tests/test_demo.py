"""The demo server (c-tests/demo-server.c) serves its page and static files."""

import re
import signal
import subprocess
import time
import urllib.request

from conftest import REPO


def test_demo_serves_its_page_and_files(build_c, pkg_env, tmp_path):
    exe = build_c("demo-server.c")
    log = tmp_path / "stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(exe), "-p", "0", "-r", str(REPO / "c-tests" / "demo")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                env=pkg_env)
    try:
        port = None
        end = time.monotonic() + 10
        while port is None and time.monotonic() < end:
            m = re.search(r"http://localhost:(\d+)/", log.read_text())
            port = int(m.group(1)) if m else time.sleep(0.05)
        assert port, log.read_text()
        base = f"http://127.0.0.1:{port}"
        page = urllib.request.urlopen(base + "/", timeout=10)
        assert page.headers["content-type"] == "text/html"
        assert "<title>libwebsockets in Rust: demo</title>" in page.read().decode()
        for name, ctype in [("demo.css", "text/css"), ("demo.js", "text/javascript"),
                            ("logo.png", "image/png"), ("favicon.ico", "image/x-icon")]:
            r = urllib.request.urlopen(f"{base}/{name}", timeout=10)
            assert r.headers["content-type"] == ctype
            assert r.read() == (REPO / "c-tests" / "demo" / name).read_bytes()
        try:
            urllib.request.urlopen(base + "/missing.html", timeout=10)
            raise AssertionError("missing page served")
        except urllib.error.HTTPError as e:
            assert e.code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert "demo exited cleanly" in log.read_text()
