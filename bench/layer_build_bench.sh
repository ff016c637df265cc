#!/usr/bin/env bash
# Measures `anysnap-layer build` against `zip -r -X` at the same compression level,
# side by side in one run, on a generated runtime-like tree (about 100 MiB: many
# files, compressible text mixed with random bytes), and records the result in
# the layer-build section of bench/RESULTS.md.
#
# Usage: bench/layer_build_bench.sh [--size-mb N] [--runs N] [--level N] [--no-record]
# Needs: build/bin/anysnap-layer, zip, python3. Uses hyperfine when installed,
# else times repeated runs itself, alternating the two tools.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
layer_bin="$root/build/bin/anysnap-layer"
results="$root/bench/RESULTS.md"
size_mb=100
runs=5
level=6
record=1

while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) size_mb=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --level) level=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "layer_build_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in zip python3; do
  command -v "$tool" >/dev/null || { echo "layer_build_bench: $tool is needed" >&2; exit 2; }
done
[ -x "$layer_bin" ] || { echo "layer_build_bench: build $layer_bin first" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/layer-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The tree: the same bytes on every run (fixed seed). Text files compress about
# 3:1, the binary ones not at all, as in a real runtime tree (sources and .node
# or .so files).
python3 - "$work/stage/tree" "$size_mb" <<'EOF'
import os, random, sys
root, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240229)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 12)))
         for _ in range(4000)]
total, n, target = 0, 0, size_mb * 1024 * 1024
while total < target:
    d = os.path.join(root, "pkg%03d" % (n // 50), "lib%d" % (n % 5))
    os.makedirs(d, exist_ok=True)
    if rng.random() < 0.65:
        size = int(rng.expovariate(1 / 30000)) + 64
        out, length = [], 0
        while length < size:
            w = rng.choice(words)
            out.append(w)
            length += len(w) + 1
        data, name = " ".join(out).encode()[:size], "m%05d.js" % n
    else:
        size = int(rng.expovariate(1 / 80000)) + 64
        data, name = rng.randbytes(size), "b%05d.node" % n
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    total += len(data)
    n += 1
EOF

# Both tools zip the same content: one anysnap-* program plus the tree.
mkdir -p "$work/bin" "$work/stage/anysnap/bin"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/anysnap-bench"
chmod 755 "$work/bin/anysnap-bench"
cp -p "$work/bin/anysnap-bench" "$work/stage/anysnap/bin/"
files=$(find "$work/stage" -type f | wc -l)
tree_bytes=$(find "$work/stage" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')

ours_args=("$layer_bin" build -o "$work/ours.zip" --bin-dir "$work/bin" --hooks-dir "$work/none"
  --add "$work/stage/tree=tree" --level "$level")
zip_args=(zip -q -r -X "-$level" "$work/zip.zip" anysnap tree)
# Its findings (the zip is over the 50 MiB direct-upload limit) only matter on failure.
ours_run() {
  "${ours_args[@]}" >/dev/null 2>"$work/ours.err" || { cat "$work/ours.err" >&2; return 1; }
}
# zip adds to an existing archive: each run starts without one.
zip_run() { rm -f "$work/zip.zip"; (cd "$work/stage" && "${zip_args[@]}"); }

# Prints "mean min max" in seconds of `runs` timed runs of each, alternating.
declare -A samples
time_runs() {
  local i name start end
  for name in ours zip; do "${name}_run"; done  # warm the page cache
  for ((i = 0; i < runs; i++)); do
    for name in ours zip; do
      start=$(date +%s.%N)
      "${name}_run"
      end=$(date +%s.%N)
      samples[$name]+="$(echo "$start $end" | awk '{printf "%.4f ", $2 - $1}')"
    done
  done
}

stats() {  # mean min max of the samples given as arguments
  printf '%s\n' "$@" | awk 'NF { s += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1; n++ }
    END { printf "%.3f %.3f %.3f\n", s / n, min, max }'
}

method=""
if command -v hyperfine >/dev/null; then
  method="hyperfine $(hyperfine --version | cut -d' ' -f2), $runs runs after 1 warm-up"
  hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/hf.json" \
    --prepare "rm -f $(printf '%q' "$work/zip.zip")" \
    --command-name anysnap-layer "$(printf '%q ' "${ours_args[@]}") 2>/dev/null" \
    --command-name "zip -r -X" "cd $(printf '%q' "$work/stage") && $(printf '%q ' "${zip_args[@]}")" >&2
  read -r ours_mean ours_min ours_max zip_mean zip_min zip_max < <(python3 - "$work/hf.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(" ".join("%.3f %.3f %.3f" % (x["mean"], x["min"], x["max"]) for x in r))
EOF
  )
else
  method="$runs alternating runs each after 1 warm-up (hyperfine not installed)"
  time_runs
  # shellcheck disable=SC2086 # the samples are space-separated on purpose
  read -r ours_mean ours_min ours_max < <(stats ${samples[ours]})
  # shellcheck disable=SC2086
  read -r zip_mean zip_min zip_max < <(stats ${samples[zip]})
fi

# Peak memory of one run each, when GNU time is there.
ours_rss="n/a"
zip_rss="n/a"
if [ -x /usr/bin/time ]; then
  ours_rss="$(/usr/bin/time -f %M "${ours_args[@]}" 2>&1 >/dev/null | tail -1) KiB"
  rm -f "$work/zip.zip"
  zip_rss="$(cd "$work/stage" && /usr/bin/time -f %M "${zip_args[@]}" 2>&1 | tail -1) KiB"
fi

ours_size=$(stat -c %s "$work/ours.zip")
zip_size=$(stat -c %s "$work/zip.zip")
cp "$work/ours.zip" "$work/first.zip"
ours_run
if cmp -s "$work/first.zip" "$work/ours.zip"; then identical=yes; else identical=NO; fi
speedup=$(awk -v a="$zip_mean" -v b="$ours_mean" 'BEGIN { printf "%.2f", a / b }')

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain -- . ':!bench/RESULTS.md' 2>/dev/null)" ]; then commit="$commit (with local changes)"; fi

section=$(cat <<EOF
<!-- layer-build -->
## Layer build: \`anysnap-layer build\` vs \`zip -r -X\`

Budget: no slower than \`zip -r -X\` at the same level; byte-identical on rebuild.

$("$root/bench/machine.sh")
- Commit: $commit
- Tree: $files files, $tree_bytes bytes (about 65% of the files text, the rest random bytes), deflate level $level
- Timing: $method; the tree is in the page cache
- Command (ours): \`anysnap-layer build -o ours.zip --bin-dir BIN --hooks-dir NONE --add stage/tree=tree --level $level\`
- Command (zip): \`cd stage && zip -q -r -X -$level zip.zip anysnap tree\`
- Script: \`bench/layer_build_bench.sh --size-mb $size_mb --runs $runs --level $level\`

| tool | mean s | min s | max s | zip bytes | peak RSS |
|---|---:|---:|---:|---:|---:|
| anysnap-layer build | $ours_mean | $ours_min | $ours_max | $ours_size | $ours_rss |
| zip -r -X -$level | $zip_mean | $zip_min | $zip_max | $zip_size | $zip_rss |

anysnap-layer is ${speedup}x the speed of zip; rebuild byte-identical: $identical.
anysnap-layer's time includes the checks it runs on the written zip.
<!-- /layer-build -->
EOF
)
printf '%s\n' "$section"

if [ "$record" -eq 1 ]; then
  "$(dirname "$0")/record_section.sh" "$results" layer-build "$section"
  echo "layer_build_bench: recorded in $results" >&2
fi
[ "$identical" = yes ]
