#!/bin/sh
# Replaces the section between "<!-- NAME -->" and "<!-- /NAME -->" in a
# results file with SECTION (which carries both markers), or appends it when the
# file has no such section yet. Creates the file with its header if missing.
# Usage: bench/record_section.sh RESULTS_FILE NAME SECTION
set -eu
results=$1 name=$2 section=$3
if [ ! -f "$results" ]; then
  printf '# Benchmark results\n\nRecorded by the scripts in bench/, each in its own marked section.\n' >"$results"
fi
python3 - "$results" "$name" "$section" <<'PY'
import re, sys
path, name, section = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
pattern = re.compile(r"<!-- %s -->.*?<!-- /%s -->" % (re.escape(name), re.escape(name)), re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
