#!/bin/sh
# Builds anysnap's Lambda layer zip: a Release build of the programs (tests and
# benchmarks off) packed by `anysnap-layer build`, which checks the zip against
# the target (architecture, glibc) before keeping it.
#
# The one build script of every path: the native one (scripts/run-sample.sh,
# templates/Makefile for SAM) and templates/Dockerfile on Amazon Linux 2023 run
# exactly this.
#
# Usage: scripts/build-layer.sh [-o ZIP] [--build-dir DIR] [--glibc X.Y] [--arch ARCH]
#                               [--runtime NAME]
#   -o, --output ZIP  the layer zip to write (default: anysnap-layer.zip)
#   --runtime NAME    build a runtime layer instead (nodejs22, nodejs24, bun,
#                     deno): `anysnap-layer build --runtime`, its npm packages
#                     cached in build/runtime-cache of the source tree
#                     ($ANYSNAP_CACHE_DIR when set)
#   --build-dir DIR   where to configure and build (default: build-layer/ in the
#                     source tree)
#   --glibc X.Y       the newest glibc the layer's programs may need (default
#                     2.34: Amazon Linux 2023, the OS of Lambda's java21). A
#                     newer one makes a layer for local use only.
#   --arch ARCH       x86_64 or arm64 (default: this machine's)
# Environment: SOURCE_DATE_EPOCH sets the zip's entry timestamps (default
# 1980-01-01); CMAKE_GENERATOR picks the generator as usual.
set -eu

lambda_glibc=2.34
root=$(cd "$(dirname "$0")/.." && pwd)
output=anysnap-layer.zip
build_dir=$root/build-layer
glibc=$lambda_glibc
runtime=
case "$(uname -m)" in
  aarch64 | arm64) arch=arm64 ;;
  *) arch=x86_64 ;;
esac

# Prints the usage text above and exits with status $1.
usage() {
  sed -n '/^# Usage:/,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "$1"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -o | --output) [ $# -ge 2 ] || usage 2; output=$2; shift 2 ;;
    --build-dir) [ $# -ge 2 ] || usage 2; build_dir=$2; shift 2 ;;
    --glibc) [ $# -ge 2 ] || usage 2; glibc=$2; shift 2 ;;
    --arch) [ $# -ge 2 ] || usage 2; arch=$2; shift 2 ;;
    --runtime) [ $# -ge 2 ] || usage 2; runtime=$2; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "build-layer: unknown argument: $1" >&2; usage 2 ;;
  esac
done

# Returns success when version $1 is newer than version $2 (both X.Y).
version_newer() {
  a_major=${1%%.*} a_minor=${1#*.} b_major=${2%%.*} b_minor=${2#*.}
  [ "$a_major" -gt "$b_major" ] || { [ "$a_major" -eq "$b_major" ] && [ "$a_minor" -gt "$b_minor" ]; }
}

if ! printf '%s\n' "$glibc" | grep -Eq '^[0-9]+\.[0-9]+$'; then
  echo "build-layer: --glibc $glibc: expected a version like 2.34" >&2
  exit 2
fi

echo "build-layer: building anysnap (Release) in $build_dir" >&2
# -O2 rather than Release's -O3: smaller programs for a size-capped layer, and
# GCC 12's -O3 inlining of std::string concatenation raises a false
# -Wrestrict (GCC bug 105329) that -Werror would turn into a failed build.
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DANYSNAP_BUILD_TESTS=OFF -DANYSNAP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"

if [ -n "$runtime" ]; then
  echo "build-layer: packing the $runtime runtime layer $output for $arch, glibc <= $glibc" >&2
  "$build_dir/bin/anysnap-layer" build --runtime "$runtime" -o "$output" --arch "$arch" \
    --glibc "$glibc" --cache-dir "${ANYSNAP_CACHE_DIR:-$root/build/runtime-cache}"
else
  echo "build-layer: packing $output for $arch, glibc <= $glibc" >&2
  "$build_dir/bin/anysnap-layer" build -o "$output" --bin-dir "$build_dir/bin" \
    --hooks-dir "$root/samples/hooks" --reseed-dir "$build_dir/reseed" --arch "$arch" \
    --glibc "$glibc"
fi

if version_newer "$glibc" "$lambda_glibc"; then
  cat >&2 <<EOF
build-layer: NOTE: $output may need glibc $glibc, newer than Lambda's $lambda_glibc
  (Amazon Linux 2023, the OS of java21). It is for local use only (anysnap-local):
  its programs will not start on Lambda. Build the layer to deploy with
    docker build --output . --target copytohost -f templates/Dockerfile .
  or on any machine whose glibc is $lambda_glibc or older.
EOF
fi
