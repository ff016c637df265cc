#!/bin/sh
# Sets up, builds and runs every anysnap test (the README's test command).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/test-deps.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
