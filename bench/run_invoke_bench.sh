#!/usr/bin/env bash
# Measures the latency anysnap-delegator adds per invoke, side by side in one
# run with the runtime talking to the Runtime API directly and through nginx as
# a reverse proxy (build/bin/anysnap-bench-invoke), and records the result in
# the delegator-latency section of bench/RESULTS.md.
#
# Usage: bench/run_invoke_bench.sh [--rounds N] [--scale F] [--quiet-wait S] [--no-record]
#                                  [-- more anysnap-bench-invoke arguments]
# Needs: cmake, a C++20 compiler, nginx, python3. Builds what is missing. The
# defaults take about 1.5 minutes on 2 vCPUs. Exits 1 when a row is over budget.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
driver="$build/bin/anysnap-bench-invoke"
results="$root/bench/RESULTS.md"
rounds=10
scale=1
quiet_wait=180
record=1
extra=()

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --quiet-wait) quiet_wait=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run_invoke_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in cmake python3; do
  command -v "$tool" >/dev/null || { echo "run_invoke_bench: $tool is needed" >&2; exit 2; }
done
nginx_bin=$(command -v nginx || true)
for candidate in /usr/sbin/nginx /usr/local/sbin/nginx; do
  if [ -z "$nginx_bin" ] && [ -x "$candidate" ]; then nginx_bin=$candidate; fi
done
[ -n "$nginx_bin" ] || { echo "run_invoke_bench: nginx is needed (apt-get install nginx-light)" >&2; exit 2; }

# Incremental: quick when everything is up to date.
if [ ! -f "$build/CMakeCache.txt" ]; then cmake -S "$root" -B "$build" >&2; fi
cmake --build "$build" -j2 --target anysnap-bench-invoke anysnap-delegator >&2

# Latencies of tens of µs mean nothing next to a compiler on the other vCPU:
# wait (a while) for the machine to settle, and record how quiet it was.
load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load1)" 'BEGIN { exit !(l >= 0.5) }' && [ "$waited" -lt "$quiet_wait" ]; do
  [ "$waited" -eq 0 ] && echo "run_invoke_bench: waiting for the load average ($(load1)) to fall below 0.5..." >&2
  sleep 5
  waited=$((waited + 5))
done
cpu_times() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; print busy + $5 + $6 + $9, $9 }' /proc/stat; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r total_before steal_before < <(cpu_times)

work=$(mktemp -d "${TMPDIR:-/tmp}/invoke-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
args=(--rounds "$rounds" --scale "$scale" --nginx "$nginx_bin" "${extra[@]}")
echo "run_invoke_bench: build/bin/anysnap-bench-invoke ${args[*]}" >&2
"$driver" "${args[@]}" >"$work/table.md"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
read -r total_after steal_after < <(cpu_times)
steal=$(awk -v t=$((total_after - total_before)) -v s=$((steal_after - steal_before)) \
  'BEGIN { printf "%.1f%%", (t > 0 ? 100 * s / t : 0) }')

nginx_version=$("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //')
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain -- . ':!bench/RESULTS.md' 2>/dev/null)" ]; then
  commit="$commit (with local changes)"
fi
script_args="--rounds $rounds --scale $scale"
[ ${#extra[@]} -gt 0 ] && script_args="$script_args -- ${extra[*]}"

section=$(cat <<EOF
<!-- delegator-latency -->
## Delegator latency per invoke: \`anysnap-delegator\` vs direct vs nginx

Budget (design.md §4): the latency the delegator adds per invoke is no more than
nginx's as a reverse proxy on the same loop, same run (1 KB event + 1 KB response;
and 6 MB). Added = target median - direct median; ratio = target median / direct
median; "budget" compares the added medians. "Rounds delegator ≤ nginx" pairs the
two per round: the three targets of a round run back to back, so that count is
immune to drift between rounds.

$("$root/bench/machine.sh")
- Quiet: load average $load_before before the run, $load_after after it (the run itself keeps both vCPUs busy); hypervisor steal $steal of CPU time during the run
- Commit: $commit; nginx $nginx_version
- Command: \`bench/run_invoke_bench.sh $script_args\`, which runs
  \`build/bin/anysnap-bench-invoke ${args[*]}\`

$(cat "$work/table.md")

### How it is measured

- Three kinds of process, as on Lambda: the Runtime API server (a RuntimeApiServer
  in a process of its own, \`anysnap-bench-invoke --serve\`), the proxy
  (\`anysnap-delegator --listen A --upstream B\`, or nginx), and the runtime (threads
  of the driver: plain blocking clients on one keep-alive connection each,
  \`GET next\` then \`POST invocation/{id}/response\`). All on loopback ephemeral
  ports; every configuration gets fresh processes.
- The clock runs in the server process, from \`Invoke()\` to its result being ready
  (next answered, event relayed, response posted and accepted). Both ends are in one
  process, so no cross-process clock and no pipe wake-up sits inside the interval;
  timings go back to the driver over a pipe after each round.
- 1 runtime: parked, like an idle sandbox. The runtime writes a byte on a pipe when
  it has sent its next; the invoker waits for it, then 1 ms more so the next has
  crossed the proxy, then invokes. The server's call log then proves, invoke by
  invoke, that the next had arrived before \`Invoke()\`; the few that had not (a
  scheduling stall on the runtime's way back) are dropped and counted under Samples.
  Throughput comes from a back-to-back burst after the parked invokes of each round.
- 16 runtimes (\`max_concurrency=16\`, managed-instances mode): closed loop, 16
  invoker threads each invoking again as soon as their result is in; latency then
  includes waiting for a free runtime; throughput is invokes over the round's wall time.
- Targets interleave round by round (direct, delegator, nginx, order rotated each
  round), after one discarded warm-up round each. Each round ends with one stop event
  per runtime, so no runtime is left polling into the next round's target.
- Proxy CPU: the run time (schedstat, user + kernel) of every thread of the proxy
  during its rounds, over all invokes of those rounds. On loopback the kernel's
  receive path runs in the sender's context, so this counts the proxy's sends in full.
- CPU placement: the proxy's threads (delegator, or nginx master and worker) and the
  runtime thread get CPU masks as \`taskset -a -p\` sets them (sched_setaffinity on
  every thread), changed between rounds so the three placements interleave too.
- nginx: \`worker_processes 1\`, \`proxy_http_version 1.1\`, upstream \`keepalive 32\`,
  \`proxy_buffering off\`, \`proxy_request_buffering off\`, \`proxy_read_timeout 1d\`,
  \`client_max_body_size 0\`, keep-alive limits raised; buffer sizes left at their
  defaults (4/8 KB), which is what makes nginx slow on large bodies: with buffering
  off it moves them a few KB per system call.
<!-- /delegator-latency -->
EOF
)
printf '%s\n' "$section"

if [ "$record" -eq 1 ]; then
  "$(dirname "$0")/record_section.sh" "$results" delegator-latency "$section"
  echo "run_invoke_bench: recorded in $results" >&2
fi
! grep -q 'FAIL' "$work/table.md"
