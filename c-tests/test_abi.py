"""The header and library against the recorded libwebsockets.so.8 ABI."""

import re
import subprocess

from conftest import ABI_DIR, REPO, run


def test_check_abi_strict(built):
    r = run([str(ABI_DIR / "check-abi"), str(REPO / "include"), str(built)], check=False)
    summary = r.stdout.strip().splitlines()[-1]
    print(summary)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.match(r"ABI: (\d+)/(\d+) items match", summary)
    assert m and m.group(1) == m.group(2), summary


def test_generated_headers_are_committed(built):
    """The build regenerates include/; a difference means the committed
    headers are stale."""
    inside = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--is-inside-work-tree"],
                            capture_output=True, text=True)
    assert inside.returncode == 0, "the test suite runs in a git checkout"
    r = run(["git", "-C", str(REPO), "status", "--porcelain", "--", "include"])
    assert r.stdout == "", "regenerating the headers changed them:\n" + r.stdout


def test_exports_are_exactly_the_api(built):
    """The .so exports the API of the map and nothing of the Rust runtime."""
    mapped = set(re.findall(r"^\s+(\w+);", (REPO / "capi" / "libwebsockets.map").read_text(), re.M))
    out = run(["nm", "-D", "--defined-only", str(built)]).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.split()[1] in "TtWi"}
    assert exported == mapped


def test_soname(built):
    out = run(["readelf", "-d", str(built)]).stdout
    assert "Library soname: [libwebsockets.so.8]" in out


def test_compatibility_table_matches_code():
    """README lists as "not yet" exactly the exports that report not_yet!
    (none since every function is implemented), and every export as "yes"."""
    stubs, done = set(), set()
    for src in (REPO / "src" / "ffi").glob("*.rs"):
        exports = re.findall(r'#\[no_mangle\]\s*pub (?:unsafe )?extern "C" fn (\w+)\((.*?)\n\}\n',
                             src.read_text(), re.S)
        for name, body in exports:
            (stubs if "not_yet!(" in body else done).add(name)
    rows = dict(re.findall(r"^\| `(\w+)` \| (yes|not yet) \|", (REPO / "README.md").read_text(), re.M))
    assert {n for n, s in rows.items() if s == "not yet"} == stubs
    # lws_rs_*: entry points of the C shims, not API
    api = {n for n in done if not n.startswith("lws_rs_")} - {"lwsl_emit_stderr"}
    assert {n for n, s in rows.items() if s == "yes"} >= api
