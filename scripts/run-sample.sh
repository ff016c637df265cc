#!/bin/sh
# The main job: installs what the build needs, builds the layer with
# scripts/build-layer.sh, unpacks it into a scratch folder standing in for
# /opt, and runs a sample (by default samples/nodejs: AWS's aws-lambda-ric with
# a ~2 s init and in-process hooks) through that layer's anysnap-wrapper with
# `anysnap-local compare`: N cold starts (on-demand) against N restores from a
# snapshot (snap-start, criu when `criu check` passes, else freeze), printing
# the time to first response of each (median, p90, speed-up) and writing an
# SVG chart to build-layer/compare-SAMPLE.svg.
#
# Usage: scripts/run-sample.sh [--sample nodejs|python|bash] [anysnap-local compare flags...]
#   e.g. scripts/run-sample.sh -n 10
#        scripts/run-sample.sh --sample python --snapshot freeze
# The nodejs sample runs as on Lambda: on the Node.js 22 runtime layer
# (`scripts/build-layer.sh --runtime nodejs22`: node and AWS's aws-lambda-ric
# from the npm registry, cached in build/runtime-cache), merged with anysnap's
# layer into /opt by anysnap-local, started by the wrapper's `nodejs` preset,
# with PATH=/opt/bin, so never on this machine's node. The runtime layer is
# built for this machine's glibc (Debian 12's C++ runtime needs a newer one
# than Lambda's: the layer to deploy comes from templates/Dockerfile). The
# function's folder is checked first (`anysnap-layer inspect`: every program
# and native module against Lambda's glibc and architecture). The nodejs and
# python samples find their hook client in the layer (the wrapper puts
# nodejs/node_modules and python on NODE_PATH and PYTHONPATH).
# Exit status: anysnap-local's (0 when every run succeeded).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)

sample=nodejs
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

work=$(mktemp -d "${TMPDIR:-/tmp}/anysnap-sample-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$root/scripts/build-layer.sh" -o "$work/anysnap-layer.zip" >&2
mkdir "$work/opt"
unzip -q "$work/anysnap-layer.zip" -d "$work/opt"

layer_tool=$root/build-layer/bin/anysnap-layer
echo "run-sample: checking $task_root for Lambda (anysnap-layer inspect)" >&2
if ! report=$("$layer_tool" inspect "$task_root"); then
  printf '%s\n' "$report" >&2
  exit 1
fi

chart=$root/build-layer/compare-$sample.svg
if [ "$sample" = nodejs ]; then
  "$root/scripts/build-layer.sh" --runtime nodejs22 -o "$work/nodejs22.zip" \
    --glibc "$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)" >&2
  set -- --layer "$work/nodejs22.zip" --env ANYSNAP_RUNTIME=nodejs --env PATH=/opt/bin "$@"
fi
set -- --layer "$work/opt" --task-root "$task_root" --event "$task_root/event.json" -n 5 \
  --chart "$chart" "$@"
echo "run-sample: anysnap-local compare $*" >&2
"$root/build-layer/bin/anysnap-local" compare "$@"
