# Builds libwebsockets.so.8 / libwebsockets.a from the Rust crate, installs
# them with the headers, pkg-config file and CMake package, and runs the tests.
#
#   make                  build target/release/libwebsockets.so.8 and .a
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make test             the whole test suite (what .ci/run runs)
#   make demo             build and run the demo (lwsws with the example config)
#   make lwsws            the lwsws server and its example plugins (build/lwsws/)
#   make bench            compare with Debian's C libwebsockets (bench/run, slow)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
SYSCONFDIR ?= $(PREFIX)/etc
DATADIR ?= $(PREFIX)/share
BINDIR ?= $(PREFIX)/bin
# lwsws: its default configuration directory, the plugins it always loads
# and the demo page the example configuration serves
LWSWS_CONFDIR ?= $(SYSCONFDIR)/lwsws
LWSWS_PLUGINDIR ?= $(LIBDIR)/lwsws/plugins
LWSWS_DATADIR ?= $(DATADIR)/lwsws
CARGO ?= cargo
CC ?= cc
VERSION := 2.0.0
SONAME := libwebsockets.so.8

OUT := target/release
STATIC := $(OUT)/libwebsockets.a
SHARED := $(OUT)/$(SONAME)
# What Rust's standard library needs from the system (rustc
# --print native-static-libs), plus the libraries the API is built on.
SYSLIBS := -lssl -lcrypto -luv -lev -lz -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
PC_LIBS_PRIVATE := $(SYSLIBS)

.PHONY: all cargo install install-lwsws lwsws test demo bench clean FORCE

all: $(SHARED) $(OUT)/libwebsockets.so lwsws

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

# ---- lwsws and its example plugins, built against the library above
LWSWS_BUILD := build/lwsws
LWSWS_CFLAGS := -std=gnu99 -O2 -g -Wall -Wextra -Werror -Iinclude
LWSWS_LIBS := -L$(OUT) -lwebsockets -luv
PLUGINS := dumb_increment lws_mirror lws_echo lws_status lws_server_status post_demo
PLUGIN_SOS := $(PLUGINS:%=$(LWSWS_BUILD)/plugins/libprotocol_%.so)

lwsws: $(LWSWS_BUILD)/lwsws $(PLUGIN_SOS)

# the compiled-in paths follow PREFIX: a change rebuilds lwsws
$(LWSWS_BUILD)/paths: FORCE
	@mkdir -p $(@D)
	@echo '$(LWSWS_CONFDIR) $(LWSWS_PLUGINDIR) $(LIBDIR)' | cmp -s - $@ || \
		echo '$(LWSWS_CONFDIR) $(LWSWS_PLUGINDIR) $(LIBDIR)' > $@

$(LWSWS_BUILD)/lwsws: lwsws/lwsws.c $(LWSWS_BUILD)/paths include/libwebsockets.h | $(SHARED) $(OUT)/libwebsockets.so
	$(CC) $(LWSWS_CFLAGS) -DLWSWS_CONFIG_DIR='"$(LWSWS_CONFDIR)"' \
		-DLWSWS_PLUGIN_DIR='"$(LWSWS_PLUGINDIR)"' $< -o $@ \
		$(LWSWS_LIBS) -Wl,-rpath,$(LIBDIR)

$(LWSWS_BUILD)/plugins/libprotocol_%.so: plugins/protocol_%.c plugins/plugin_common.h \
		include/libwebsockets.h | $(SHARED) $(OUT)/libwebsockets.so
	@mkdir -p $(@D)
	$(CC) $(LWSWS_CFLAGS) -shared -fPIC $< -o $@ $(LWSWS_LIBS)

# bin/lwsws, the plugins, the demo page and (unless there already is one)
# the example configuration with this install's paths in it
install-lwsws: lwsws
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LWSWS_PLUGINDIR) \
		$(DESTDIR)$(LWSWS_DATADIR)/demo $(DESTDIR)$(LWSWS_DATADIR)/server-status \
		$(DESTDIR)$(LWSWS_CONFDIR)/conf.d
	install -m 0755 $(LWSWS_BUILD)/lwsws $(DESTDIR)$(BINDIR)/lwsws
	install -m 0755 $(PLUGIN_SOS) $(DESTDIR)$(LWSWS_PLUGINDIR)/
	install -m 0644 c-tests/demo/* $(DESTDIR)$(LWSWS_DATADIR)/demo/
	install -m 0644 lwsws/www/server-status.html $(DESTDIR)$(LWSWS_DATADIR)/server-status/
	for f in conf conf.d/localhost; do \
		[ -e $(DESTDIR)$(LWSWS_CONFDIR)/$$f ] || \
		sed -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@PLUGINDIR@|$(LWSWS_PLUGINDIR)|g' \
			lwsws/etc/$$f > $(DESTDIR)$(LWSWS_CONFDIR)/$$f || exit 1; \
	done

install: all install-lwsws
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
	scripts/lwsws-demo.sh

# Not part of test: minutes long. BENCH_ARGS=--smoke for the quick check.
bench:
	bench/run $(BENCH_ARGS)

clean:
	$(CARGO) clean
	rm -rf $(LWSWS_BUILD)

FORCE:
