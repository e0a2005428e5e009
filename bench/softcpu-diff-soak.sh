#!/usr/bin/env bash
# Differential soak of the soft CPU against the host CPU: runs soft-diff over every family with a
# fresh seed for a fixed time and reports the verdict and cases per second.
# Usage: bench/softcpu-diff-soak.sh [BUILD_DIR] [SECONDS]   (SECONDS also from SOFTCPU_DIFF_SECONDS)
set -euo pipefail

build=${1:-build}
secs=${2:-${SOFTCPU_DIFF_SECONDS:-60}}
root=$(cd "$(dirname "$0")/.." && pwd)
exe="$build/tests/soft-diff/soft-diff"
if [ ! -x "$exe" ]; then
  echo "softcpu-diff-soak: $exe is not built (run: ninja -C $build)" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$exe" --cases 100000000 --time-limit "$secs" --show 2 \
  --claimed "$root/tests/soft-diff/claimed.txt" >"$log" 2>&1 || status=$?
grep -E '^(soft-diff: seed|  FAIL|       |[a-z0-9-]+ +[0-9]+ ran|mismatched|skipped|[0-9]+ passed)' "$log" || true
line=$(grep -E '^soft-diff: seed [0-9]+, [0-9]+ cases in' "$log" | tail -1)
cases=$(echo "$line" | sed -E 's/.*, ([0-9]+) cases in ([0-9.]+) s/\1/')
elapsed=$(echo "$line" | sed -E 's/.*, ([0-9]+) cases in ([0-9.]+) s/\2/')
if [ -n "$cases" ] && [ -n "$elapsed" ]; then
  awk -v c="$cases" -v s="$elapsed" 'BEGIN { if (s > 0) printf "softcpu-diff-soak: %d cases, %.0f cases/s\n", c, c / s }'
fi
exit "$status"
