"""Every export with each class of bad argument (c-tests/bad_args.c): NULL
pointers, impossible lengths, bad enums, out-of-range tsi, freed wsis, a
destroyed context, and test-echo's lws_write(..., (size_t)(unsigned)-1, ...)
closing only its own connection. Run plainly and under valgrind."""

import os

import pytest

from conftest import have, run


@pytest.fixture(scope="module")
def bad_args(build_c):
    return build_c("bad_args.c")


def test_bad_args_survive(bad_args, pkg_env):
    r = run([str(bad_args)], env=pkg_env, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    assert "failed 0" in r.stdout
    assert "impossible length 4294967295" in r.stderr
    assert "lws_write: wsi" in r.stderr and "is not a live connection" in r.stderr


@pytest.mark.skipif(not have("valgrind"), reason="valgrind not installed")
def test_bad_args_under_valgrind(bad_args, pkg_env):
    env = dict(pkg_env)
    # the one deliberate send past a buffer is the application's memcheck
    # error, not ours
    env["BAD_ARGS_NO_OVERREAD"] = "1"
    r = run(["valgrind", "-q", "--error-exitcode=99", "--leak-check=no", str(bad_args)],
            env=env, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr[-6000:]
    assert "failed 0" in r.stdout
