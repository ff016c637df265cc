#!/bin/sh
# Sets up, builds and runs every anysnap test (the README's test command).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/test-deps.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
# Each libFuzzer target for a bounded time (scripts/fuzz.sh --seconds N for longer).
scripts/fuzz.sh --seconds 15
