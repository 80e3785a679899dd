#!/usr/bin/env bash
# Builds the library, installs it under build/prefix, builds the demo server
# (c-tests/demo-server.c) against that install through pkg-config and runs
# it on http://localhost:7681/ (pass -p PORT to change; --ssl first serves
# https:// and wss:// with a self-signed certificate).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

[ "${LWS_SKIP_DEPS:-}" = 1 ] || scripts/install-deps.sh

prefix="$PWD/build/prefix"
make --no-print-directory install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=gnu99 -Wall -Wextra -Werror c-tests/demo-server.c -o build/demo-server \
	$(pkg-config --cflags --libs libwebsockets) -Wl,-rpath,"$prefix/lib"
if [ "${1:-}" = "--ssl" ]; then
	# HTTPS/WSS with a self-signed certificate made for this run
	shift
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
		-keyout build/demo-key.pem -out build/demo-cert.pem 2>/dev/null
	set -- -c build/demo-cert.pem -k build/demo-key.pem "$@"
fi
exec build/demo-server -r c-tests/demo "$@"
