#!/usr/bin/env bash
# `make demo`: builds and installs the library and lwsws under build/prefix
# and runs lwsws with the example configuration (lwsws/etc, its paths set to
# that install) on http://localhost:7681/ (-p PORT changes the port). The
# demo page's protocols come from the example plugins; /formtest is the POST
# demo and /server-status the status plugins' page. Ctrl-C stops it.
# scripts/demo.sh runs the same page from the stand-alone c-tests/demo-server.c.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

port=7681
if [ "${1:-}" = "-p" ] && [ -n "${2:-}" ]; then
	port=$2
	shift 2
fi

[ "${LWS_SKIP_DEPS:-}" = 1 ] || scripts/install-deps.sh

prefix="$PWD/build/prefix"
make --no-print-directory install PREFIX="$prefix" >/dev/null
conf="$PWD/build/lwsws-demo-conf"
mkdir -p "$conf/conf.d"
for f in conf conf.d/localhost; do
	sed -e "s|@DATADIR@|$prefix/share|g" -e "s|@PLUGINDIR@|$prefix/lib/lwsws/plugins|g" \
		-e "s|\"port\": \"7681\"|\"port\": \"$port\"|" lwsws/etc/$f > "$conf/$f"
done
echo "lwsws demo: http://localhost:$port/ (Ctrl-C stops it)"
exec "$prefix/bin/lwsws" -c "$conf" "$@"
