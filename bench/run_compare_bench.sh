#!/usr/bin/env bash
# Records `anysnap-local compare` for the Node.js and Python samples (cold
# on-demand starts vs restores from a snapshot, time to first response) in the
# local-compare section of bench/RESULTS.md, with each snapshot backend this
# machine can run: freeze always, criu when `criu check` passes.
#
# Usage: bench/run_compare_bench.sh [--runs N] [--no-record]
# Needs what scripts/run-sample.sh needs. A few minutes on 2 vCPUs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=10
record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "run_compare_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

backends=freeze
criu_version=""
if command -v criu >/dev/null 2>&1 && criu check >/dev/null 2>&1; then
  backends="criu freeze"
  criu_version=$(criu --version | head -n 1)
fi
tables=""
for sample in nodejs python; do
  for backend in $backends; do
    out=$("$root/scripts/run-sample.sh" --sample "$sample" -n "$runs" --snapshot "$backend" 2>/dev/null)
    out=$(printf '%s\n' "$out" | sed "s|$root/||g")  # paths relative to the repository
    echo "$out"
    tables="$tables
### samples/$sample, $backend

\`\`\`
$out
\`\`\`
"
  done
done
[ "$record" = 1 ] || exit 0

section="<!-- local-compare -->
## anysnap-local compare: cold start vs restore, for the samples

Time to first response of the same function, $runs times cold (on-demand: a new
execution environment, init, invoke) and $runs times restored (snap-start: a new
environment from the snapshot, invoke), through the built layer's wrapper. The
backend is named in each table: freeze models the lifecycle (hooks, restore/next,
the held next) and thaws a tree frozen in memory, so its restore time is a lower
bound that leaves out reading the snapshot's memory back; criu restores for real.

$("$root/bench/machine.sh")
- Commit: $(git -C "$root" rev-parse --short HEAD)
- Command: \`bench/run_compare_bench.sh --runs $runs\`
- CRIU: ${criu_version:-not usable here (criu check fails or criu is missing): freeze only}
$tables
<!-- /local-compare -->"
"$root/bench/record_section.sh" "$root/bench/RESULTS.md" local-compare "$section"
