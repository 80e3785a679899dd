"""Plugins and per-vhost protocol options (CONTRACT section 9) through
c-tests/plugin_server.c and the plugins in c-tests/plugins/, built here the
way lws plugins are (gcc -shared -fPIC against the installed headers):

* libprotocol_dumb_increment.so: "dumb-increment-protocol" (answers each
  message with the session's next number)
* protocol_echo.so (no "lib" prefix): "echo-protocol", "echo-protocol-2"
* broken ones: libprotocol_nosym.so (init under another name),
  libprotocol_badmagic.so (reports another API magic), libprotocol_fails.so
  (init returns 1), libgarbage.so (not a shared object at all), beside
  files that are no plugins (notes.txt, x.so, libother.so.1)

Each plugin appends what it was asked to do (init / destroy, PROTOCOL_INIT
with its pvo options, PROTOCOL_DESTROY) to $PLUGIN_TEST_LOG. In lws the
first file that failed to load ended the scan; here a broken plugin is
logged and skipped (README, Behaviour notes)."""

import asyncio
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect

from conftest import REPO, have, pkg_config, run, valgrind_problems
from servers import Server, started_servers

PLUGIN_SRC = REPO / "c-tests" / "plugins"
GOOD = {"libprotocol_dumb_increment.so": ("dumb_increment.c", []),
        "protocol_echo.so": ("echo.c", [])}
BROKEN = {"libprotocol_nosym.so": ("broken.c", ["-DBROKEN_NOSYM"]),
          "libprotocol_badmagic.so": ("broken.c", ["-DBROKEN_MAGIC"]),
          "libprotocol_fails.so": ("broken.c", ["-DBROKEN_INIT"])}


def arun(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="session")
def plugin_builds(pkg_env, tmp_path_factory):
    """Every plugin compiled once: {file name: path}."""
    out = tmp_path_factory.mktemp("plugin-builds")
    flags = pkg_config(pkg_env, "--cflags", "--libs")
    built = {}
    for name, (src, defs) in {**GOOD, **BROKEN}.items():
        so = out / name
        run(["gcc", "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
             *defs, str(PLUGIN_SRC / src), "-o", str(so), *flags], env=pkg_env)
        built[name] = so
    return built


@pytest.fixture(scope="session")
def good_dir(plugin_builds, tmp_path_factory):
    d = tmp_path_factory.mktemp("plugins-good")
    for name in GOOD:
        shutil.copy(plugin_builds[name], d / name)
    return d


@pytest.fixture(scope="session")
def mixed_dir(plugin_builds, tmp_path_factory):
    """The good plugins among broken ones and unrelated files (the broken
    ones sort first, so a scan that stopped at them would miss the rest)."""
    d = tmp_path_factory.mktemp("plugins-mixed")
    for name in plugin_builds:
        shutil.copy(plugin_builds[name], d / name)
    (d / "libgarbage.so").write_text("this is not an ELF object\n")
    (d / "notes.txt").write_text("not a plugin\n")
    (d / "x.so").write_text("too short a name\n")
    shutil.copy(plugin_builds["libprotocol_dumb_increment.so"], d / "libother.so.1")
    return d


@pytest.fixture(scope="session")
def plugin_server_exe(build_c):
    return build_c("plugin_server.c")


class PluginServer(Server):
    """One plugin_server (optionally under a wrapper such as valgrind)."""

    def __init__(self, exe, env, workdir, args=(), wrapper=(), start_timeout=10.0):
        self.name = "plugin_server"
        self.workdir = workdir
        self.docroot = None
        self.cblog_path = None
        self.stdout_path = workdir / "stdout"
        self.stderr_path = workdir / "stderr"
        self.log_path = workdir / "plugin.log"
        env = dict(env, PLUGIN_TEST_LOG=str(self.log_path))
        cmd = [*map(str, wrapper), str(exe), "-p", "0", *map(str, args)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd=str(workdir))
        self.port = self._wait_port(start_timeout)

    def labelled_port(self, label):
        m = re.search(rf"^{label} (\d+)$", self.stdout(), re.M)
        assert m, self.stdout()
        return int(m.group(1))

    def log(self):
        return self.log_path.read_text().splitlines() if self.log_path.exists() else []

    def shutdown(self, timeout=5.0):
        """SIGINT; asserts a clean exit after lws_context_destroy."""
        rc = self.terminate(timeout)
        assert rc == 0 and "destroyed" in self.stdout(), (
            f"exit {rc}\nstdout:\n{self.stdout()}\nstderr:\n{self.stderr()[-4000:]}")


@pytest.fixture
def start_plugins(plugin_server_exe, pkg_env, tmp_path):
    def make(work, *args, **kw):
        return PluginServer(plugin_server_exe, pkg_env, work, args, **kw)

    with started_servers(tmp_path, "plugins", make) as start:
        yield start


async def talk(port, protocol, messages):
    """Connects with `protocol` (None: no Sec-WebSocket-Protocol) and sends
    each message, collecting the answers."""
    subprotocols = [protocol] if protocol else None
    async with connect(f"ws://127.0.0.1:{port}/", subprotocols=subprotocols,
                       compression=None, ping_interval=None, open_timeout=20) as ws:
        if protocol:
            assert ws.subprotocol == protocol
        out = []
        for m in messages:
            await ws.send(m)
            out.append(await ws.recv())
        return out


def refused(port, protocol):
    """The server does not serve `protocol` here: the upgrade fails."""
    try:
        arun(talk(port, protocol, ["who"]), 20)
    except Exception:  # noqa: BLE001 - any handshake failure
        return True
    return False


def http_status(port, path="/"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def assert_lifecycle(lines, plugins):
    """Each plugin's init and destroy ran exactly once, destroy after every
    PROTOCOL_DESTROY."""
    for p in plugins:
        assert lines.count(f"init {p} context=set") == 1, lines
        assert lines.count(f"destroy {p} context=set") == 1, lines
    first_destroy = min(i for i, l in enumerate(lines) if l.startswith("destroy "))
    assert not any(l.startswith("PROTOCOL_DESTROY") for l in lines[first_destroy:]), lines


def test_plugin_protocols_are_served(start_plugins, good_dir):
    srv = start_plugins("-P", good_dir)
    assert arun(talk(srv.port, "dumb-increment-protocol", ["a", "b", "c"])) == ["0", "1", "2"]
    assert arun(talk(srv.port, "echo-protocol", ["hello", "who"])) == [
        "hello", "echo-protocol opts= inits=1"]
    assert arun(talk(srv.port, "echo-protocol-2", ["two"])) == ["two"]
    # the application's own protocol stays p[0], for HTTP and for upgrades
    # naming no protocol
    assert http_status(srv.port, "/x") == 200
    assert refused(srv.port, "broken-protocol")
    srv.assert_alive()
    srv.shutdown()
    lines = srv.log()
    assert_lifecycle(lines, ["dumb_increment", "echo"])
    # the last loaded plugin's protocols come first, each plugin's in order
    inits = [l for l in lines if l.startswith("PROTOCOL_INIT")]
    assert inits == ["PROTOCOL_INIT echo-protocol opts=",
                     "PROTOCOL_INIT echo-protocol-2 opts=",
                     "PROTOCOL_INIT dumb-increment-protocol opts="], lines
    assert sorted(l for l in lines if l.startswith("PROTOCOL_DESTROY")) == sorted(
        l.replace("INIT", "DESTROY") for l in inits)


def test_broken_plugins_are_skipped(start_plugins, mixed_dir):
    srv = start_plugins("-P", mixed_dir)
    assert arun(talk(srv.port, "dumb-increment-protocol", ["a", "b"])) == ["0", "1"]
    assert arun(talk(srv.port, "echo-protocol", ["hi"])) == ["hi"]
    assert refused(srv.port, "broken-protocol")
    assert http_status(srv.port) == 200
    srv.assert_alive()
    srv.shutdown()
    lines = srv.log()
    assert_lifecycle(lines, ["dumb_increment", "echo"])
    # the broken ones' inits ran (but for the one without an init symbol),
    # and none was destroyed
    assert lines.count("init badmagic") == 1 and lines.count("init fails") == 1, lines
    assert not any(l in ("init nosym", "destroy nosym", "destroy badmagic", "destroy fails")
                   for l in lines), lines
    assert not any("broken-protocol" in l for l in lines), lines
    err = srv.stderr()
    for name in ("libgarbage.so", "libprotocol_nosym.so", "libprotocol_badmagic.so",
                 "libprotocol_fails.so"):
        assert name in err, err[-4000:]
    # files that are no plugins are not even opened
    for name in ("notes.txt", "x.so", "libother.so.1"):
        assert name not in err, err[-4000:]


def test_several_plugin_dirs(start_plugins, plugin_builds, tmp_path):
    one, two, missing = tmp_path / "one", tmp_path / "two", tmp_path / "missing"
    one.mkdir()
    two.mkdir()
    shutil.copy(plugin_builds["protocol_echo.so"], one / "protocol_echo.so")
    shutil.copy(plugin_builds["libprotocol_dumb_increment.so"],
                two / "libprotocol_dumb_increment.so")
    srv = start_plugins("-P", one, "-P", missing, "-P", two)
    assert arun(talk(srv.port, "echo-protocol", ["e"])) == ["e"]
    assert arun(talk(srv.port, "dumb-increment-protocol", ["d"])) == ["0"]
    srv.shutdown()
    assert_lifecycle(srv.log(), ["dumb_increment", "echo"])


def test_null_protocols_means_plugins_only(start_plugins, good_dir):
    """info.protocols = NULL: the built-in HTTP protocol, then the plugins'."""
    srv = start_plugins("-n", "-P", good_dir)
    assert arun(talk(srv.port, "dumb-increment-protocol", ["a", "b"])) == ["0", "1"]
    assert arun(talk(srv.port, "echo-protocol-2", ["x"])) == ["x"]
    assert http_status(srv.port) == 404          # lws_callback_http_dummy
    srv.shutdown()
    assert_lifecycle(srv.log(), ["dumb_increment", "echo"])


def test_pvo_enables_only_the_named_plugin_protocols(start_plugins, good_dir):
    srv = start_plugins("-o", "-P", good_dir)
    assert arun(talk(srv.port, "echo-protocol", ["x", "who"])) == [
        "x", "echo-protocol opts=greeting=hello-o; inits=1"]
    assert refused(srv.port, "echo-protocol-2")
    assert refused(srv.port, "dumb-increment-protocol")
    srv.assert_alive()
    srv.shutdown()
    lines = srv.log()
    assert [l for l in lines if l.startswith("PROTOCOL_")] == [
        "PROTOCOL_INIT echo-protocol opts=greeting=hello-o;",
        "PROTOCOL_DESTROY echo-protocol opts=greeting=hello-o;"], lines
    # the plugins are loaded (and destroyed) all the same
    assert_lifecycle(lines, ["dumb_increment", "echo"])


def test_explicit_vhosts_with_different_pvo(start_plugins, mixed_dir):
    """Three vhosts made with lws_create_vhost: a enables dumb-increment as
    its default, b enables echo and dumb-increment with other options, c
    (no pvo) none. Per-vhost data (lws_protocol_vh_priv_*) keeps each
    vhost's options apart for the same plugin protocol."""
    srv = start_plugins("-x", "-P", mixed_dir)
    a, b, c = srv.port, srv.labelled_port("port-b"), srv.labelled_port("port-c")
    # no Sec-WebSocket-Protocol on a: its pvo "default"
    async def no_protocol():
        async with connect(f"ws://127.0.0.1:{a}/", compression=None, ping_interval=None,
                           open_timeout=20) as ws:
            out = []
            for m in ("x", "y", "who"):
                await ws.send(m)
                out.append(await ws.recv())
            return out

    assert arun(no_protocol()) == [
        "0", "1", "dumb-increment-protocol opts=default=1;greeting=hello-a; inits=1"]
    assert arun(talk(a, "dumb-increment-protocol", ["who"])) == [
        "dumb-increment-protocol opts=default=1;greeting=hello-a; inits=1"]
    assert refused(a, "echo-protocol")
    assert arun(talk(b, "echo-protocol", ["who", "e"])) == [
        "echo-protocol opts=greeting=hello-b; inits=1", "e"]
    assert arun(talk(b, "dumb-increment-protocol", ["who", "n"])) == [
        "dumb-increment-protocol opts=greeting=hello-b2; inits=1", "0"]
    assert refused(b, "echo-protocol-2")
    for p in ("echo-protocol", "echo-protocol-2", "dumb-increment-protocol"):
        assert refused(c, p)
    for port in (a, b, c):
        assert http_status(port) == 200
    srv.assert_alive()
    srv.shutdown()
    lines = srv.log()
    # vhosts in creation order, each vhost's protocols in list order
    assert [l for l in lines if l.startswith("PROTOCOL_INIT")] == [
        "PROTOCOL_INIT dumb-increment-protocol opts=default=1;greeting=hello-a;",
        "PROTOCOL_INIT echo-protocol opts=greeting=hello-b;",
        "PROTOCOL_INIT dumb-increment-protocol opts=greeting=hello-b2;"], lines
    assert len([l for l in lines if l.startswith("PROTOCOL_DESTROY")]) == 3, lines
    assert_lifecycle(lines, ["dumb_increment", "echo"])


@pytest.mark.skipif(not have("pkg-config"), reason="pkg-config missing")
def test_plugins_on_a_libuv_loop(start_plugins, good_dir):
    srv = start_plugins("-u", "-P", good_dir)
    assert arun(talk(srv.port, "dumb-increment-protocol", ["a", "b"])) == ["0", "1"]
    assert arun(talk(srv.port, "echo-protocol", ["u"])) == ["u"]
    srv.shutdown()
    assert_lifecycle(srv.log(), ["dumb_increment", "echo"])


@pytest.mark.skipif(not have("valgrind"), reason="valgrind not installed")
@pytest.mark.parametrize("mode", [[], ["-x"]], ids=["default-vhost", "explicit-vhosts"])
def test_plugins_under_valgrind(start_plugins, mixed_dir, tmp_path, mode):
    log = tmp_path / "valgrind.log"
    srv = start_plugins(*mode, "-P", mixed_dir, wrapper=[
        "valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
        "--error-exitcode=99", "--num-callers=30", f"--log-file={log}"],
        start_timeout=60)
    assert arun(talk(srv.port, "dumb-increment-protocol", ["a", "b", "who"]), 60)[:2] == [
        "0", "1"]
    if not mode:
        assert arun(talk(srv.port, "echo-protocol", ["v"]), 60) == ["v"]
    assert refused(srv.port, "broken-protocol")
    rc = srv.terminate(timeout=60)
    text = log.read_text(errors="replace")
    assert "Memcheck" in text and "LEAK SUMMARY" in text, text[-4000:]
    problems = valgrind_problems(text)
    assert not problems, "\n\n".join(problems)[:8000]
    assert "destroyed" in srv.stdout(), srv.stderr()[-4000:]
    assert rc in (0, 99), text[-4000:]
    assert_lifecycle(srv.log(), ["dumb_increment", "echo"])
