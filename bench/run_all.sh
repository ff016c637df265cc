#!/usr/bin/env bash
# Runs every benchmark of bench/ and records it in bench/RESULTS.md: each
# measurement in its own marked section (the scripts beside this one record
# theirs), then the summary at the top — every budget of design.md §4 with its
# measured value, its baseline from the same run and a verdict — and the chart
# bench/results.svg.
#
# Usage: bench/run_all.sh [--quick] [--skip NAME]...
#   --quick      fewer rounds everywhere: a smoke run, not numbers to keep
#   --skip NAME  leave one out: micro, invoke, stream, exec, rss, layer, audit, compare
# Needs: what scripts/setup.sh installs (nginx-light, zip, python3,
# libbenchmark-dev). About 10 minutes on 2 vCPUs, plus `anysnap-local compare`
# (a few minutes more). Exits 1 when a budget is missed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
bin="$build/bin"
results="$root/bench/RESULTS.md"
record="$root/bench/record_section.sh"
command="bench/run_all.sh${*:+ $*}"
quick=0
skip=" "
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --skip) skip="$skip$2 "; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run_all: unknown argument $1" >&2; exit 2 ;;
  esac
done
wanted() { [[ "$skip" != *" $1 "* ]]; }
say() { echo "run_all: $*" >&2; }

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
cmake --build "$build" -j2 --target anysnap-bench-micro anysnap-bench-system anysnap-bench-invoke \
  anysnap-bench-audit anysnap-delegator anysnap-wrapper anysnap-layer >&2

nginx_bin=$(command -v nginx || true)
for candidate in /usr/sbin/nginx /usr/local/sbin/nginx; do
  if [ -z "$nginx_bin" ] && [ -x "$candidate" ]; then nginx_bin=$candidate; fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-all.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain -- . ':!bench/RESULTS.md' ':!bench/results.svg' 2>/dev/null)" ]; then
  commit="$commit (with local changes)"
fi
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
machine="$(uname -sr), $(uname -m), $cpu, $(nproc) vCPUs, $mem"
# The header lines of the sections written here.
provenance() {
  # shellcheck disable=SC2016 # the backquotes are Markdown
  printf -- '- Date: %s\n- Machine: %s\n- Load average before: %s\n- Commit: %s\n- Command: `%s`, which runs `%s`\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$machine" "$(cut -d' ' -f1-3 /proc/loadavg)" "$commit" "$command" "$1"
}

# ---- Micro-benchmarks.
if wanted micro; then
  say "micro-benchmarks"
  min_time=0.5
  [ "$quick" -eq 1 ] && min_time=0.05
  micro_cmd="build/bin/anysnap-bench-micro --benchmark_min_time=$min_time --benchmark_repetitions=3 --benchmark_report_aggregates_only=true"
  head=$(provenance "$micro_cmd")
  "$bin/anysnap-bench-micro" --benchmark_min_time="$min_time" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_format=json >"$work/micro.json"
  "$record" "$results" micro "<!-- micro -->
## Micro-benchmarks of the hot paths (Google Benchmark)

What one request or one start costs in user space, without the kernel (except
the two \`Server…RoundTrip\` rows: a real HttpServer over loopback, one
keep-alive request and its answer per iteration, so two system calls each way
and a thread wake-up). Medians of 3 repetitions.

$head

$(python3 "$root/bench/report.py" micro "$work/micro.json")

- \`Parse…\`: a runtime's request head (and a 1 KB body) through http_parser with
  HttpServer's callbacks (HeaderAssembler, FindHeader, ParseContentLength).
- \`FilterHopByHop…\`: IsHopByHop over the 9 fields of a Runtime API \`next\` answer,
  as both directions of the proxy filter them; with a \`Connection\` header naming
  two more fields.
- \`AssembleHeaders\`: HeaderAssembler joining those fields from pieces split in two.
- \`LoadConfig\`: a java21 function's environment (28 variables, 3 of anysnap)
  plus an anysnap.json with 8 settings; and the environment alone.
- \`SplitShellWords\`: a Node.js ANYSNAP_RUNTIME with \`\${VAR:-default}\` and quotes.
<!-- /micro -->"
fi

# ---- Delegator latency per invoke (the existing script records its section).
if wanted invoke; then
  say "invoke latency (bench/run_invoke_bench.sh)"
  invoke_args=(--rounds 10 --scale 1)
  [ "$quick" -eq 1 ] && invoke_args=(--rounds 2 --scale 0.2 --quiet-wait 0)
  "$root/bench/run_invoke_bench.sh" "${invoke_args[@]}" >/dev/null || status=1
fi

# ---- 200 MB streamed response.
if wanted stream; then
  say "200 MB streamed response"
  stream_args=(--size-mb 200 --rounds 3)
  [ "$quick" -eq 1 ] && stream_args=(--size-mb 200 --rounds 1)
  [ -n "$nginx_bin" ] && stream_args+=(--nginx "$nginx_bin")
  head=$(provenance "build/bin/anysnap-bench-system stream ${stream_args[*]}")
  table=$("$bin/anysnap-bench-system" stream "${stream_args[@]}" --json "$work/stream.json")
  "$record" "$results" stream "<!-- stream -->
## 200 MB streamed response: delegator vs direct vs nginx

Budget (design.md §4): the delegator's RSS stays ≤ 16 MB while a 200 MB response
streams through it. One invoke whose runtime posts a 200 MiB streamed response
(\`Transfer-Encoding: chunked\`, \`Lambda-Runtime-Function-Response-Mode: streaming\`)
straight to the Runtime API (a RuntimeApiServer that counts the bytes), through
\`anysnap-delegator --listen A --upstream B\`, and through nginx (the reverse proxy
configuration of the latency section: buffering off both ways). A fresh proxy per
transfer, so its VmHWM is that transfer's peak; nginx's figures add master and
worker. Paths interleave round by round after one discarded warm-up round each;
MB/s counts MiB from the runtime's POST to the server holding the last byte.

$head

$table
<!-- data $(tr -d '\n' <"$work/stream.json") -->
<!-- /stream -->"
fi

# ---- Wrapper start to runtime exec.
if wanted exec; then
  say "wrapper start to runtime exec"
  runs=300
  [ "$quick" -eq 1 ] && runs=30
  head=$(provenance "build/bin/anysnap-bench-system exec --runs $runs")
  table=$("$bin/anysnap-bench-system" exec --runs "$runs" --json "$work/exec.json")
  "$record" "$results" wrapper-exec "<!-- wrapper-exec -->
## Wrapper start to runtime host exec: anysnap-wrapper vs a shell exec wrapper vs direct

Budget (design.md §4): anysnap-wrapper adds no more than a \`#!/bin/sh\` +
\`exec \"\$@\"\` wrapper does, same run. Each start is timed from just before
posix_spawn to the first instruction of the runtime host: \`anysnap-bench-probe\`,
a static binary whose \`main\` begins by writing CLOCK_MONOTONIC to its stdout.
anysnap-wrapper runs as Lambda runs it (java21's command line,
\`ANYSNAP_RUNTIME\` naming the probe, a Runtime API server to delegate to), so
its time includes reading the configuration and starting the delegator. With
\`ANYSNAP_DISABLE=1\` it execs its argv at once: that row is what loading the
binary costs. The variants interleave start by start, after three discarded
warm-up starts each.

$head

$table
<!-- data $(tr -d '\n' <"$work/exec.json") -->
<!-- /wrapper-exec -->"
fi

# ---- Wrapper + delegator RSS.
if wanted rss; then
  say "wrapper + delegator RSS"
  seconds=3
  [ "$quick" -eq 1 ] && seconds=0.5
  head=$(provenance "build/bin/anysnap-bench-system rss --seconds $seconds")
  table=$("$bin/anysnap-bench-system" rss --seconds "$seconds" --json "$work/rss.json")
  "$record" "$results" wrapper-rss "<!-- wrapper-rss -->
## anysnap-wrapper + delegator RSS, idle and under load

Budget (design.md §4): ≤ 4 MB while idle. The wrapper process holds the
delegator (threads of the same process), so its VmRSS is the pair's. The runtime
host is \`anysnap-bench-system runtime-echo\` (echoes each event through anysnap's UpstreamClient);
idle means it is parked in \`next\` through the delegator. Then invokes run back to
back for $seconds s each with 1 KB, 1 MB and 6 MB events (the response echoes the
event) while VmRSS is sampled every 2 ms; VmHWM is the kernel's peak.

$head

$table
<!-- data $(tr -d '\n' <"$work/rss.json") -->
<!-- /wrapper-rss -->"
fi

# ---- The other recorded benchmarks.
if wanted layer; then
  say "layer build (bench/layer_build_bench.sh)"
  if [ "$quick" -eq 1 ]; then
    "$root/bench/layer_build_bench.sh" --size-mb 20 --runs 1 >/dev/null || status=1
  else
    "$root/bench/layer_build_bench.sh" >/dev/null || status=1
  fi
fi
if wanted audit; then
  say "audit latency (bench/run_audit_bench.sh)"
  if [ "$quick" -eq 1 ]; then
    "$root/bench/run_audit_bench.sh" --rounds 1 --invokes 50 >/dev/null || status=1
  else
    "$root/bench/run_audit_bench.sh" >/dev/null || status=1
  fi
fi
if wanted compare; then
  if [ -x "$bin/anysnap-local" ] && "$bin/anysnap-local" compare --help >/dev/null 2>&1; then
    say "anysnap-local compare (bench/run_compare_bench.sh)"
    if [ "$quick" -eq 1 ]; then
      "$root/bench/run_compare_bench.sh" --runs 2 >/dev/null || status=1
    else
      "$root/bench/run_compare_bench.sh" >/dev/null || status=1
    fi
  else
    say "skipped anysnap-local compare: \`anysnap-local compare --help\` does not work in this build; the summary keeps the recorded section"
  fi
fi

# ---- Summary and chart, from everything RESULTS.md now holds.
summary=$(python3 "$root/bench/report.py" summary "$results" "$root/bench/results.svg")
"$record" "$results" summary "<!-- summary -->
## Summary: the budgets of design.md §4

Every budget with its measured value and the baseline measured in the same run,
from the sections below (each names its run). Chart: [results.svg](results.svg).
Reproduce everything with \`bench/run_all.sh\` (about 15 minutes on 2 vCPUs).

- Date: $(date -u +%Y-%m-%dT%H:%MZ)
- Machine: $machine
- Commit: $commit
- Command: \`$command\`

$summary
<!-- /summary -->"
say "recorded in $results and $root/bench/results.svg"
if grep -q 'FAIL' <<<"$summary"; then status=1; fi
exit "$status"
