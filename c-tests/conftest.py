"""Shared fixtures: the built library, an installed copy, and compilers that
use it the way applications do (through pkg-config)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "target" / "release"
SHARED_SO = BUILD / "libwebsockets.so.8"
ABI_DIR = Path(os.environ.get("LWS_ABI_DIR", REPO.parent / "shared" / "abi"))
TIMEOUT = 120


LWS_FRAME = re.compile(r"libwebsockets|lws_|websockets::")


def valgrind_problems(log):
    """Memcheck errors in a valgrind log other than leaks, and definite
    leaks with a libwebsockets frame in their stack."""
    bad = []
    for b in re.split(r"\n==\d+== \n", log):
        if re.search(r"Invalid (read|write|free)|uninitialised|Mismatched free|"
                     r"overlap|Syscall param .* points to unaddressable", b):
            bad.append(b)
        elif "definitely lost" in b and "LEAK SUMMARY" not in b and LWS_FRAME.search(b):
            bad.append(b)
    return bad


def run(cmd, timeout=TIMEOUT, check=True, **kw):
    """Runs cmd with a time bound, capturing text output."""
    kw.setdefault("capture_output", True)
    r = subprocess.run(cmd, timeout=timeout, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(
            f"{cmd} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


@pytest.fixture(scope="session")
def built():
    """The shared library `make` produced (the test command builds first)."""
    assert SHARED_SO.exists(), f"{SHARED_SO} missing: run `make` first"
    return SHARED_SO


@pytest.fixture(scope="session")
def prefix(built, tmp_path_factory):
    """A `make install PREFIX=...` tree."""
    dest = tmp_path_factory.mktemp("prefix")
    run(["make", "-C", str(REPO), "install", f"PREFIX={dest}"], timeout=600)
    return dest


@pytest.fixture(scope="session")
def pkg_env(prefix):
    """Environment in which pkg-config finds only the installed package and
    programs load the installed library."""
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = str(prefix / "lib" / "pkgconfig")
    env["LD_LIBRARY_PATH"] = str(prefix / "lib")
    return env


def pkg_config(env, *args):
    return run(["pkg-config", *args, "libwebsockets"], env=env).stdout.split()


@pytest.fixture(scope="session")
def build_c(pkg_env, tmp_path_factory):
    """Compiles a c-tests/ source through pkg-config; returns the binary."""
    out = tmp_path_factory.mktemp("bin")

    def build(source, name=None, compiler="gcc", flags=("-std=gnu99", "-Wall", "-Wextra", "-Werror")):
        exe = out / (name or Path(source).stem)
        cmd = [compiler, *flags, str(REPO / "c-tests" / source), "-o", str(exe),
               *pkg_config(pkg_env, "--cflags", "--libs")]
        run(cmd, env=pkg_env)
        return exe

    return build


def have(tool):
    return shutil.which(tool) is not None
