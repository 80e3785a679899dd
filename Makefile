# Builds libwebsockets.so.8 / libwebsockets.a from the Rust crate, installs
# them with the headers, pkg-config file and CMake package, and runs the tests.
#
#   make                  build target/release/libwebsockets.so.8 and .a
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make test             the whole test suite (what .ci/run runs)
#   make demo             build and run the demo program
#   make bench            compare with Debian's C libwebsockets (bench/run, slow)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CARGO ?= cargo
CC ?= cc
VERSION := 2.0.0
SONAME := libwebsockets.so.8

OUT := target/release
STATIC := $(OUT)/libwebsockets.a
SHARED := $(OUT)/$(SONAME)
# What Rust's standard library needs from the system (rustc
# --print native-static-libs), plus the libraries the API is built on.
SYSLIBS := -lssl -lcrypto -luv -lev -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
PC_LIBS_PRIVATE := $(SYSLIBS)

.PHONY: all cargo install test demo bench clean

all: $(SHARED) $(OUT)/libwebsockets.so

# cargo decides what is stale; relinking the shared object takes a moment.
cargo:
	$(CARGO) build --release --lib

$(SHARED): cargo capi/libwebsockets.map
	$(CC) -shared -o $@ -Wl,-soname,$(SONAME) \
		-Wl,--version-script=capi/libwebsockets.map -Wl,--gc-sections \
		-Wl,--whole-archive $(STATIC) -Wl,--no-whole-archive \
		$(SYSLIBS)

$(OUT)/libwebsockets.so: $(SHARED)
	ln -sf $(SONAME) $@

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/libwebsockets \
		$(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(SHARED) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libwebsockets.so
	install -m 0644 $(STATIC) $(DESTDIR)$(LIBDIR)/libwebsockets.a
	install -m 0644 include/libwebsockets.h include/lws_config.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		-e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|g' \
		capi/libwebsockets.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libwebsockets.pc
	sed -e 's|@VERSION@|$(VERSION)|g' cmake/LibwebsocketsConfigVersion.cmake.in \
		> $(DESTDIR)$(LIBDIR)/cmake/libwebsockets/LibwebsocketsConfigVersion.cmake
	install -m 0644 cmake/LibwebsocketsConfig.cmake cmake/LibwebsocketsTargets.cmake \
		cmake/libwebsockets-config.cmake cmake/libwebsockets-config-version.cmake \
		$(DESTDIR)$(LIBDIR)/cmake/libwebsockets/

test:
	scripts/test.sh

demo:
	scripts/demo.sh

# Not part of test: minutes long. BENCH_ARGS=--smoke for the quick check.
bench:
	bench/run $(BENCH_ARGS)

clean:
	$(CARGO) clean
