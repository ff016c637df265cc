#!/usr/bin/env bash
# Measures what the snapshot-safety audit costs an invoke after the snapshot
# (build/bin/anysnap-bench-audit: the Python fixture runtime under the wrapper,
# ANYSNAP_AUDIT off vs log in one run) and records it in the audit-latency
# section of bench/RESULTS.md.
#
# Usage: bench/run_audit_bench.sh [--rounds N] [--invokes N] [--no-record]
# Needs: cmake, a C++20 compiler, python3. About half a minute on 2 vCPUs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
rounds=5
invokes=400
record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --invokes) invokes=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "run_audit_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target anysnap-bench-audit anysnap-wrapper >/dev/null

command=(bench/run_audit_bench.sh --rounds "$rounds" --invokes "$invokes")
table=$("$build/bin/anysnap-bench-audit" --wrapper "$build/bin/anysnap-wrapper" \
  --runtime "python3 $root/tests/fixtures/python/runtime.py" --rounds "$rounds" --invokes "$invokes")
echo "$table"
[ "$record" = 1 ] || exit 0

section="<!-- audit-latency -->
## Snapshot-safety audit: invoke latency after the snapshot, audit off vs on

Budget: after the snapshot the audit adds as little as possible to each call.
An invoke that makes no watched call should cost the same; each watched call
(here an open(2)) costs one seccomp notification answered at once, without
decoding. Same function, same run, configurations alternating round by round.

$("$root/bench/machine.sh")
- Commit: $(git -C "$root" rev-parse --short HEAD)
- Command: \`${command[*]}\`

$table
<!-- /audit-latency -->"
"$root/bench/record_section.sh" "$root/bench/RESULTS.md" audit-latency "$section"
