"""Logging: masks, emitters, the stderr format, and the _DEBUG macros."""

import re

import pytest

from conftest import run

STAMP = r"\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d:\d{4}\] "


@pytest.mark.parametrize("debug", [False, True], ids=["release", "debug"])
def test_log_checks(build_c, pkg_env, debug):
    flags = ["-std=gnu99", "-Wall", "-Wextra", "-Werror"] + (["-D_DEBUG"] if debug else [])
    exe = build_c("log_test.c", name="log_test_debug" if debug else "log_test", flags=flags)
    r = run([str(exe), "checks"], env=pkg_env)
    assert "log checks ok" in r.stdout
    expect = "debug macros compiled in" if debug else "debug macros compiled out"
    assert expect in r.stdout


def test_default_stderr_sink(build_c, pkg_env):
    exe = build_c("log_test.c")
    r = run([str(exe), "stderr"], env=pkg_env)
    lines = r.stderr.splitlines()
    assert len(lines) == 3, r.stderr
    assert re.fullmatch(STAMP + "NOTICE: notice to stderr 1", lines[0])
    assert re.fullmatch(STAMP + "ERR: error to stderr", lines[1])
    assert re.fullmatch(STAMP + "INFO: info after enabling", lines[2])
