#!/bin/sh
# The main job, for now: installs what the build needs, builds the layer with
# scripts/build-layer.sh, unpacks it into a scratch folder standing in for
# /opt, and runs the bash sample (samples/bash, a custom runtime with a ~2 s
# init) through that layer's anysnap-local: five invokes, on-demand, through
# anysnap-wrapper as Lambda's java21 runtime would start it. Ends with the
# REPORT lines: Init Duration on the first shows what SnapStart is to save.
#
# Usage: scripts/run-sample.sh [anysnap-local run flags...]
#   e.g. scripts/run-sample.sh --count 10
# Exit status: anysnap-local's (0 when every invoke succeeded).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
lambda_glibc=2.34

"$root/scripts/setup.sh"

# A layer for Lambda needs glibc 2.34 at most. This machine's libstdc++ may
# need a newer one: then build for this machine's glibc, which build-layer.sh
# flags as a layer for local use only.
host_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
[ -n "$host_glibc" ] || host_glibc=$(ldd --version 2>/dev/null | awk 'NR == 1 {print $NF}')
glibc=$lambda_glibc
if [ -n "$host_glibc" ] &&
  [ "$(printf '%s\n%s\n' "$lambda_glibc" "$host_glibc" | sort -t. -k1,1n -k2,2n | tail -n 1)" != "$lambda_glibc" ]; then
  glibc=$host_glibc
  echo "run-sample: this machine has glibc $host_glibc (Lambda: $lambda_glibc): building the layer for local use" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/anysnap-sample-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$root/scripts/build-layer.sh" -o "$work/anysnap-layer.zip" --glibc "$glibc"
mkdir "$work/opt"
unzip -q "$work/anysnap-layer.zip" -d "$work/opt"

set -- --layer "$work/opt" --task-root "$root/samples/bash" \
  --event "$root/samples/bash/event.json" --count 5 "$@"
if [ ! -x "$work/opt/anysnap/bin/anysnap-wrapper" ]; then
  echo "run-sample: this layer has no anysnap-wrapper yet: running the sample without it (--no-wrapper)" >&2
  set -- "$@" --no-wrapper
fi

# anysnap-local writes the log stream (the function's output and START/END/
# REPORT) to stderr and the responses to stdout: show both as they come, and
# keep the log to list the REPORT lines at the end.
echo "run-sample: $work/opt/anysnap/bin/anysnap-local run $*" >&2
# fd 3 is this script's stdout; the pipe carries anysnap-local's stderr.
{
  {
    if "$work/opt/anysnap/bin/anysnap-local" run "$@" 2>&1 1>&3 3>&-; then
      echo 0 >"$work/status"
    else
      echo $? >"$work/status"
    fi
  } | tee "$work/log" >&2
} 3>&1

echo >&2
echo "run-sample: REPORT lines" >&2
grep '^REPORT' "$work/log" >&2 || true
exit "$(cat "$work/status")"
