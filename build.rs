//! Generates the public C headers and compiles the C shim.
//!
//! `include/libwebsockets.h` is cbindgen's rendering of `src/ffi` framed by the
//! hand-written fragments in `capi/`; `include/lws_config.h` comes from its
//! template. Both are committed: they are rewritten only when their content
//! changes, and the test suite fails if a build leaves them modified.

use std::env;
use std::fs;
use std::path::Path;

fn write_if_changed(path: &Path, content: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(content) {
        fs::write(path, content).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

fn read(path: &str) -> String {
    println!("cargo:rerun-if-changed={path}");
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn lws_config() -> String {
    read("capi/lws_config.h.in")
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"))
        .replace("@MAJOR@", env!("CARGO_PKG_VERSION_MAJOR"))
        .replace("@MINOR@", env!("CARGO_PKG_VERSION_MINOR"))
        .replace("@PATCH@", env!("CARGO_PKG_VERSION_PATCH"))
}

fn libwebsockets_h(crate_dir: &str) -> String {
    let mut config = cbindgen::Config::from_file(format!("{crate_dir}/capi/cbindgen.toml"))
        .expect("capi/cbindgen.toml");
    println!("cargo:rerun-if-changed=capi/cbindgen.toml");
    config.header = Some(read("capi/header-pre.h"));
    config.trailer = Some(read("capi/header-post.h"));
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not render src/ffi")
        .write(&mut out);
    String::from_utf8(out).expect("cbindgen output is UTF-8")
}

fn main() {
    let crate_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=src");
    let include = Path::new(&crate_dir).join("include");
    fs::create_dir_all(&include).expect("create include/");
    write_if_changed(&include.join("lws_config.h"), &lws_config());
    write_if_changed(
        &include.join("libwebsockets.h"),
        &libwebsockets_h(&crate_dir),
    );

    println!("cargo:rerun-if-changed=capi/log_shim.c");
    println!("cargo:rerun-if-changed=capi/evloop_shim.c");
    cc::Build::new()
        .file("capi/log_shim.c")
        .file("capi/evloop_shim.c")
        .warnings(true)
        .extra_warnings(true)
        .flag("-Werror")
        .compile("lwsshim");
    // the system libuv and libev, which the libuv / libev backends drive
    println!("cargo:rustc-link-lib=uv");
    println!("cargo:rustc-link-lib=ev");
}
