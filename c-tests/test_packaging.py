"""The installed package as C, C++ and CMake projects consume it."""

import pytest

from conftest import REPO, have, pkg_config, run


def test_install_layout(prefix):
    for rel in ["lib/libwebsockets.so.8", "lib/libwebsockets.a", "include/libwebsockets.h",
                "include/lws_config.h", "lib/pkgconfig/libwebsockets.pc",
                "lib/cmake/libwebsockets/LibwebsocketsConfig.cmake",
                "lib/cmake/libwebsockets/LibwebsocketsConfigVersion.cmake"]:
        assert (prefix / rel).is_file(), rel
    link = prefix / "lib" / "libwebsockets.so"
    assert link.is_symlink() and link.resolve() == (prefix / "lib" / "libwebsockets.so.8").resolve()


def test_pkg_config(prefix, pkg_env):
    assert pkg_config(pkg_env, "--modversion") == ["2.0.0"]
    assert pkg_config(pkg_env, "--cflags") == [f"-I{prefix}/include"]
    assert pkg_config(pkg_env, "--libs") == [f"-L{prefix}/lib", "-lwebsockets"]


def test_c99_program(build_c, pkg_env):
    exe = build_c("api_c99.c", flags=("-std=c99", "-Wall", "-Wextra", "-Werror"))
    r = run([str(exe)], env=pkg_env)
    assert r.stdout.startswith("c99 consumer ok: 2.0.0")


def test_cxx_program(build_c, pkg_env):
    exe = build_c("api_cxx.cc", compiler="g++", flags=("-std=c++11", "-Wall", "-Werror"))
    r = run([str(exe)], env=pkg_env)
    assert r.stdout.startswith("c++ consumer ok: 2.0.0")


@pytest.mark.skipif(not have("cmake"), reason="cmake not installed")
def test_cmake_find_package(prefix, tmp_path):
    build = tmp_path / "build"
    r = run(["cmake", "-S", str(REPO / "c-tests" / "cmake-consumer"), "-B", str(build),
             f"-DCMAKE_PREFIX_PATH={prefix}"], timeout=300)
    assert f"libwebsockets 2.0.0 at {prefix}/include" in r.stdout
    run(["cmake", "--build", str(build)], timeout=300)
    shared = run([str(build / "consumer_shared")])
    static = run([str(build / "consumer_static")])
    assert shared.stdout.startswith("c99 consumer ok") and static.stdout.startswith("c99 consumer ok")
    assert "libwebsockets.so.8" in run(["ldd", str(build / "consumer_shared")]).stdout
    assert "libwebsockets" not in run(["ldd", str(build / "consumer_static")]).stdout
