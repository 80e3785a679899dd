#!/usr/bin/env bash
# Installs what building and testing need on a Debian machine: the C
# toolchain, CMake, pkg-config, the headers libwebsockets.h includes (OpenSSL,
# libuv, libev), a Rust toolchain and pytest. Does nothing that is already there.
set -euo pipefail

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

packages=(build-essential pkg-config cmake git curl ca-certificates
          libssl-dev libuv1-dev libev-dev zlib1g-dev python3 python3-pip valgrind)
missing=()
for p in "${packages[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: apt-get install ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Headless Chromium drives the demo page's browser test (skipped without it).
if ! command -v chromium >/dev/null 2>&1; then
	echo "install-deps: apt-get install chromium"
	{ $SUDO apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; } ||
		echo "install-deps: chromium could not be installed; the browser test will be skipped"
fi

# Debian's own rustc is too old for the crates we use: use rustup's stable.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
	echo "install-deps: installing the Rust toolchain with rustup"
	curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi

# pytest drives the tests; websockets is the peer of the WebSocket tests.
for module in pytest websockets; do
	if ! python3 -c "import $module" 2>/dev/null; then
		echo "install-deps: installing $module"
		python3 -m pip install -q "$module" 2>/dev/null ||
			python3 -m pip install -q --break-system-packages "$module" 2>/dev/null ||
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "python3-$module" >/dev/null
	fi
done

if command -v rustup >/dev/null 2>&1; then
	rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
	rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
