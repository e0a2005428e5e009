#!/bin/bash
# Soft CPU speed: guest instructions per CPU-second on a simple integer loop (tests/soft/bench_mips.c),
# five runs, median. Usage: bench/softcpu-mips.sh [BUILD_DIR] (a release build gives real numbers).
set -eu
build=${1:-build}
exe="$build/tests/soft/softcpu-mips"
if [ ! -x "$exe" ]; then
    echo "softcpu-mips: $exe not built (ninja -C $build)" >&2
    exit 1
fi
runs=()
for i in 1 2 3 4 5; do
    out=$("$exe" 20000000)
    echo "  run $i: $out"
    runs+=("$(echo "$out" | awk '{print $1}')")
done
median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
echo "softcpu-mips: median $median MIPS per CPU-second over 5 runs"
