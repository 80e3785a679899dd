"""lws_daemonize: detaching, the pid lock file, stale locks, refusing a
second instance, and removing the lock when the daemon ends."""

import os
import signal
import subprocess
import time

import pytest

from conftest import run


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read_report(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.fixture
def daemon(build_c, pkg_env, tmp_path):
    """Starts daemons; kills whichever it started that still run."""
    exe = build_c("daemon_test.c")
    started = []

    def start(seconds=30, lock=None, report=None):
        lock = lock or tmp_path / "test.lock"
        report = report or tmp_path / f"report{len(started)}"
        r = run([str(exe), str(lock), str(report), str(seconds)], env=pkg_env,
                check=False, timeout=20)
        if r.returncode == 0:
            assert wait_for(report.exists), "the daemon never reported"
            assert wait_for(lambda: read_report(report).get("fd2")), "partial report"
            started.append(int(read_report(report)["pid"]))
        return r, lock, report

    yield start
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_detaches_and_writes_lock(daemon):
    t0 = time.monotonic()
    r, lock, report = daemon()
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 2.5
    info = read_report(report)
    pid = int(info["pid"])
    assert lock.read_text().strip() == str(pid)
    assert oct(lock.stat().st_mode & 0o777) == oct(0o640)
    assert alive(pid)
    assert info["sid"] == info["pid"], "the daemon leads a new session"
    assert info["cwd"] == "/tmp" and info["umask"] == "0"
    assert info["fd0"] == info["fd1"] == info["fd2"] == "/dev/null"


def test_second_instance_refused(daemon):
    r, lock, report = daemon()
    assert r.returncode == 0
    first = int(read_report(report)["pid"])
    r2, _, report2 = daemon(lock=lock)
    assert r2.returncode == 1
    assert f"already running from pid {first}" in r2.stderr
    assert not report2.exists()
    assert lock.read_text().strip() == str(first) and alive(first)


def test_sigterm_removes_lock(daemon):
    r, lock, report = daemon()
    pid = int(read_report(report)["pid"])
    os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not alive(pid))
    assert not lock.exists()


def test_normal_exit_removes_lock(daemon):
    r, lock, report = daemon(seconds=1)
    pid = int(read_report(report)["pid"])
    assert lock.exists()
    assert wait_for(lambda: not alive(pid))
    assert wait_for(lambda: not lock.exists())


def test_stale_lock_replaced(daemon, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = tmp_path / "stale.lock"
    lock.write_text(f"{dead.pid}\n")
    r, _, report = daemon(lock=lock)
    assert r.returncode == 0, r.stderr
    assert "Removing stale lock file" in r.stderr
    assert lock.read_text().strip() == read_report(report)["pid"]
