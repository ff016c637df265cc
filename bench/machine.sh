#!/bin/sh
# Prints the "Date" and "Machine" lines every section of bench/RESULTS.md
# opens with: when, and on what (kernel, architecture, CPU model, vCPUs,
# memory, and the load average as the run starts, so a busy machine shows).
# Usage: bench/machine.sh
set -eu
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "- Machine: $(uname -sr), $(uname -m), ${cpu:-unknown CPU}, $(nproc) vCPUs, $mem, load average $(cut -d' ' -f1-3 /proc/loadavg)"
