#!/bin/sh
# Sets up, builds and runs every anysnap test (the README's test command).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/test-deps.sh
# Every C++ file clang-format clean.
scripts/format.sh
# Unit, black-box, fault, security tests and the bounded soak run (10 000
# invocations; scripts/soak.sh --invocations 100000 for the full one).
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The suite again under ASan+UBSan (build-asan/) and its threaded parts under
# TSan (build-tsan/); docs/reliability.md.
scripts/sanitize.sh asan tsan
# Each libFuzzer target for a bounded time (scripts/fuzz.sh --seconds N for longer).
scripts/fuzz.sh --seconds 15
