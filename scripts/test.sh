#!/usr/bin/env bash
# The whole test suite: Rust unit tests, then the built library against the
# recorded ABI and as C, C++ and CMake applications use it (c-tests/).
# Set LWS_SKIP_DEPS=1 to skip installing dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

[ "${LWS_SKIP_DEPS:-}" = 1 ] || scripts/install-deps.sh

echo "== Rust format and lints"
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings

echo "== Rust unit tests"
cargo test --release --lib

echo "== libwebsockets.so.8"
make --no-print-directory

echo "== C, C++ and CMake tests (c-tests/)"
python3 -m pytest c-tests -q -p no:cacheprovider
