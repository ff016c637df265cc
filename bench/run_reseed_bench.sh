#!/usr/bin/env bash
# Measures what the reseed after restore adds between the restore and the
# runtime's first forwarded invocation/next (build/bin/anysnap-bench-reseed:
# Node.js on aws-lambda-ric and Python on awslambdaric under the wrapper,
# ANYSNAP_RESEED=auto vs off in one run) and records it in the reseed-latency
# section of bench/RESULTS.md.
#
# Usage: bench/run_reseed_bench.sh [--rounds N] [--no-record]
# Needs: cmake, a C++20 compiler, node, python3, scripts/test-deps.sh's
# packages. About a minute on 2 vCPUs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
rounds=15
record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run_reseed_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target anysnap-bench-reseed anysnap-wrapper \
  anysnap_reseed_node >/dev/null
"$root/scripts/test-deps.sh"

command=(bench/run_reseed_bench.sh --rounds "$rounds")
table=$("$build/bin/anysnap-bench-reseed" --wrapper "$build/bin/anysnap-wrapper" \
  --source "$root" --build "$build" --rounds "$rounds")
echo "$table"
[ "$record" = 1 ] || exit 0

section="<!-- reseed-latency -->
## Reseed after restore: restore to the first forwarded next, reseed auto vs off

Budget (design.md §4): the reseed adds ≤ 1 ms between the restore and the
forwarded \`next\` for Node.js and Python (median, against the same function
with \`ANYSNAP_RESEED=off\`, same run). Each sample is one environment: init,
restore/next answered at once, one invoke; the time is the Runtime API
server's own, from its answer to restore/next to the arrival of the first
\`invocation/next\`. The Node.js function registers in-process hooks, so its
\`next\` is held in both configurations; the Python one runs on awslambdaric,
which calls \`restore/next\` itself. Configurations alternate round by round.

$("$root/bench/machine.sh")
- Commit: $(git -C "$root" rev-parse --short HEAD)
- Versions: node $(node --version), $(python3 --version), aws-lambda-ric 4, awslambdaric 3.1.1
- Command: \`${command[*]}\`

$table
<!-- /reseed-latency -->"
"$root/bench/record_section.sh" "$root/bench/RESULTS.md" reseed-latency "$section"
