#!/bin/sh
# Configures and builds anysnap into build/ (binaries in build/bin/).
# Usage: scripts/build.sh [extra cmake arguments...]
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j "$(nproc)"
