#!/bin/sh
# The soak run (tests/soak_test.cc): invocations through the built
# anysnap-wrapper and its delegator, with the wrapper's resident memory and
# open descriptors sampled and required to stay flat after a warm-up. The
# test command runs it with 10 000 invocations through ctest; this script
# runs it as long as asked, outside ctest's per-test time limit.
#
# Usage: scripts/soak.sh [--invocations N] [--build-dir DIR]
#   --invocations N  for the connection-per-request runtime (default 100000;
#                    the keep-alive runtime gets a tenth)
#   --build-dir DIR  build/ by default; build-asan/ adds LeakSanitizer's
#                    check of the wrapper at its exit
set -eu
cd "$(dirname "$0")/.."
invocations=100000
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --invocations) invocations=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
cmake --build "$build" -j 2 --target soak_test >/dev/null
ANYSNAP_SOAK_INVOCATIONS=$invocations "$build"/tests/soak_test
