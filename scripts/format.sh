#!/bin/sh
# Checks that every C++ file of the project is clang-format clean (.clang-format),
# naming each file that is not. `scripts/format.sh --fix` rewrites them instead.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h')
if [ "${1:-}" = "--fix" ]; then
  # shellcheck disable=SC2086 # one word per file name (none has a space)
  clang-format -i $files
  exit 0
fi
bad=""
for f in $files; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
  echo "format: not clang-format clean (scripts/format.sh --fix rewrites them):$bad" >&2
  exit 1
fi
