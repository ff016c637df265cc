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
# The nodejs sample needs aws-lambda-ric in samples/nodejs/node_modules: it is
# installed there with npm when missing. The nodejs and python samples find
# their hook client in the layer (the wrapper puts nodejs/node_modules and
# python on NODE_PATH and PYTHONPATH).
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

if [ "$sample" = nodejs ] && [ ! -f "$task_root/node_modules/aws-lambda-ric/index.mjs" ]; then
  echo "run-sample: installing aws-lambda-ric into $task_root/node_modules (npm)" >&2
  npm install --prefix "$task_root" --no-audit --no-fund --no-package-lock --loglevel=error >&2
fi

chart=$root/build-layer/compare-$sample.svg
set -- --layer "$work/opt" --task-root "$task_root" --event "$task_root/event.json" -n 5 \
  --chart "$chart" "$@"
echo "run-sample: anysnap-local compare $*" >&2
"$root/build-layer/bin/anysnap-local" compare "$@"
