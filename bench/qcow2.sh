#!/bin/bash
# qcow2 host-side benchmark: sequential and 4 KiB random read/write throughput through ember's
# block layer (tests/block/qcow2-bench, asynchronous API, queue depth 64) side by side with
# `qemu-img bench` on the same image. Usage: bench/qcow2.sh BUILD_DIR [SIZE_MIB]
# Writes to a fresh image per write run; reads use a fully allocated image.
set -eu
BUILD=${1:-build}
SIZE=${2:-1024}
B="$BUILD/tests/block/qcow2-bench"
[ -x "$B" ] || { echo "qcow2.sh: $B not built (ninja -C $BUILD)"; exit 1; }
command -v qemu-img >/dev/null || { echo "qcow2.sh: qemu-img not installed"; exit 1; }
D=$(mktemp -d "${TMPDIR:-/tmp}/qcow2-bench.XXXXXX"); trap 'rm -rf "$D"' EXIT
RUNS=${RUNS:-3}

qemu-img create -q -f qcow2 "$D/read.qcow2" "${SIZE}M"
qemu-io -c "write -P 0x5a 0 ${SIZE}M" "$D/read.qcow2" >/dev/null

# median of RUNS: prints the median elapsed seconds of a command that prints "in X s" /
# "in X seconds" (both tools' run-to-run spread here is wide, up to 3x for qemu-img bench)
median() {
  local times=()
  for _ in $(seq "$RUNS"); do
    if [ "$1" = write ]; then qemu-img create -q -f qcow2 "$D/w.qcow2" "${SIZE}M"; fi
    times+=("$("${@:2}" 2>&1 | sed -n 's/.* in \([0-9.]*\) s.*/\1/p; s/Run completed in \([0-9.]*\) seconds./\1/p')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR]=$1} END{print NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

row() { # name count size kind(read|write) ember-args qemu-args
  local name=$1 count=$2 size=$3 kind=$4 img="$D/read.qcow2" w=""
  [ "$kind" = write ] && img="$D/w.qcow2" && w="-w"
  te=$(median "$kind" "$B" $w $5 -c "$count" -d 64 -s "$size" "$img")
  tq=$(median "$kind" qemu-img bench $w $6 -c "$count" -d 64 -s "$size" "$img")
  mb=$(awk "BEGIN{print $count * $(numfmt --from=iec "$size") / 1048576}")
  printf "| %-34s | %8.1f | %8.1f |\n" "$name" "$(awk "BEGIN{print $mb/$te}")" "$(awk "BEGIN{print $mb/$tq}")"
}

echo "| qcow2, ${SIZE} MiB image, depth 64 (MiB/s, median of $RUNS) | ember | qemu-img bench |"
echo "|---|---:|---:|"
row "sequential read 64 KiB" 16000 64K read "" ""
row "sequential write 64 KiB (allocating)" 16000 64K write "" ""
row "sequential read 4 KiB" 100000 4K read "" ""
row "sequential write 4 KiB (allocating)" 100000 4K write "" ""
# qemu-img bench has no random mode: a large prime stride (-S) scatters the requests instead,
# the same offsets for both tools (qcow2-bench's -r, random aligned offsets, is not used here).
row "4 KiB scattered read (prime stride)" 100000 4K read "-S 1000003k" "-S 1000003k"
row "4 KiB scattered write (prime stride)" 100000 4K write "-S 1000003k" "-S 1000003k"
