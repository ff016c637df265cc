#!/bin/sh
# Builds the libFuzzer targets of fuzz/ with clang (build-fuzz/, ASan+UBSan)
# and runs each for a bounded time from its seed corpus in fuzz/corpus/. New
# inputs a run finds go to a scratch corpus, never into the repository; a
# crash leaves its input in build-fuzz/findings/ and fails the script.
#
# Usage: scripts/fuzz.sh [--seconds N] [TARGET...]
#   --seconds N  per target (default 20, the bounded run of the test command;
#                use e.g. 3600 for a real campaign)
set -eu
cd "$(dirname "$0")/.."
seconds=20
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
targets=${*:-"fuzz_http_request fuzz_config fuzz_shell_words fuzz_prime_events fuzz_hook_channel fuzz_delegator_forward fuzz_zip_inspect"}

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DANYSNAP_FUZZ=ON -DANYSNAP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null

mkdir -p build-fuzz/findings
status=0
for target in $targets; do
  scratch=$(mktemp -d)
  cp fuzz/corpus/"$target"/* "$scratch"/
  log=build-fuzz/findings/$target.log
  if build-fuzz/fuzz/"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build-fuzz/findings/"$target"- -print_final_stats=1 "$scratch" \
      >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $target: no finding in ${seconds} s ($runs inputs)"
  else
    echo "fuzz: $target: FOUND A PROBLEM, see $log and build-fuzz/findings/$target-*" >&2
    tail -30 "$log" >&2
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
