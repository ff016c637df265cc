#!/bin/sh
# The main job, for now: installs what the build needs, builds the layer with
# scripts/build-layer.sh, unpacks it into a scratch folder standing in for
# /opt, and runs a sample (by default samples/bash, a custom runtime with a
# ~2 s init) through that layer's anysnap-local: five invokes, on-demand,
# through anysnap-wrapper as Lambda's java21 runtime would start it. Ends with
# the REPORT lines: Init Duration on the first shows what SnapStart is to save.
#
# Usage: scripts/run-sample.sh [--sample bash|nodejs|python] [anysnap-local run flags...]
#   e.g. scripts/run-sample.sh --count 10
#        scripts/run-sample.sh --sample nodejs
# The nodejs sample needs aws-lambda-ric in samples/nodejs/node_modules: it is
# installed there with npm when missing. The nodejs and python samples find
# their hook client in the layer (nodejs/node_modules, python), through
# NODE_PATH and PYTHONPATH as their template.yaml sets them.
# Exit status: anysnap-local's (0 when every invoke succeeded).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
lambda_glibc=2.34

sample=bash
case "${1-}" in
  --sample) [ $# -ge 2 ] || { echo "run-sample: --sample needs a name" >&2; exit 2; }; sample=$2; shift 2 ;;
  --sample=*) sample=${1#--sample=}; shift ;;
esac
case "$sample" in
  bash | nodejs | python) ;;
  *) echo "run-sample: --sample $sample: expected bash, nodejs or python" >&2; exit 2 ;;
esac
task_root=$root/samples/$sample

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

# Each sample's own settings go first, so that flags given to this script win.
case "$sample" in
  nodejs)
    if [ ! -f "$task_root/node_modules/aws-lambda-ric/index.mjs" ]; then
      echo "run-sample: installing aws-lambda-ric into $task_root/node_modules (npm)" >&2
      npm install --prefix "$task_root" --no-audit --no-fund --no-package-lock --loglevel=error >&2
    fi
    set -- --env "NODE_PATH=$work/opt/nodejs/node_modules" "$@"
    ;;
  python) set -- --env "PYTHONPATH=$work/opt/python" --env PYTHONDONTWRITEBYTECODE=1 "$@" ;;
esac
set -- --layer "$work/opt" --task-root "$task_root" --event "$task_root/event.json" --count 5 "$@"
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
