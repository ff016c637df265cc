#!/bin/sh
# Configures and builds anysnap into build/ (binaries in build/bin/).
# Usage: scripts/build.sh [extra cmake arguments...]
set -eu
cd "$(dirname "$0")/.."
# ccache, when installed, keeps rebuilds of unchanged files cheap.
launcher=""
command -v ccache >/dev/null 2>&1 && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
# shellcheck disable=SC2086 # $launcher is two words or none
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANYSNAP_WERROR=ON $launcher "$@" >/dev/null
cmake --build build -j "$(nproc)"
