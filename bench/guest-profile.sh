#!/usr/bin/env bash
# Guest instructions per request, per guest function, for one iobench workload on ember's soft
# CPU (the per-function figures of docs/performance.md). Boots the default guest with
# `ember run --profile` and a 256 MiB raw disk of random data (/dev/vda) plus a 32 MiB raw
# disk (/dev/vdb) that carries the guest's /proc/kallsyms out; bench/guest_profile.py runs a
# 2-second warm-up, snapshots the profile (SIGUSR1), runs the workload SECONDS seconds,
# snapshots it again and powers off; scripts/guest-profile.py subtracts the first snapshot from
# the second and divides by iobench's ops.
#   bench/guest-profile.sh [BUILD] [SECONDS] [-- IOBENCH_ARGS...]  (default build, 10, randread 4096)
#   e.g. bench/guest-profile.sh build 10 -- randread 4096
#        bench/guest-profile.sh build 10 -- -q 8 randwrite 4096
# KEEP=1 keeps the temporary directory (profiles, symbols, console log) and names it.
set -euo pipefail
ME=bench/guest-profile.sh
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

usage() {
    echo "usage: $ME [BUILD] [SECONDS] [-- IOBENCH_ARGS...]   (e.g. $ME build 10 -- randread 4096)" >&2
    exit 2
}
pos=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    pos+=("$1")
    shift
done
if [ $# -gt 0 ]; then
    shift
    [ $# -ge 2 ] || usage
    WORKLOAD="$*"
else
    WORKLOAD="randread 4096" # the default (make bench passes only BUILD)
fi
[ ${#pos[@]} -le 2 ] || usage
BUILD=${pos[0]:-build}
SECS=${pos[1]:-10}
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "$ME: SECONDS must be a whole number above 0, not '$SECS'" >&2; exit 2; }

KERNEL="$BUILD/guest/vmlinuz"
INITRD="$BUILD/guest/initramfs.cpio.gz"
CMDLINE="console=ttyS0 panic=-1 quiet"
for f in "$BUILD/ember" "$KERNEL" "$INITRD"; do
    [ -f "$f" ] || { echo "$ME: $f is missing (ninja -C $BUILD; guest/build-default-guest.sh $BUILD/guest)" >&2; exit 1; }
done
"$BUILD/ember" run --help 2>&1 | grep -q -- '--profile' ||
    { echo "$ME: $BUILD/ember run has no --profile option (build it from a tree with the soft-CPU profiler)" >&2; exit 1; }

OUT=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then
    trap 'echo "$ME: kept $OUT" >&2' EXIT
else
    trap 'rm -rf "$OUT"' EXIT
fi
DATA="$OUT/data.raw"
KS="$OUT/kallsyms.raw"
PROF="$OUT/guest.prof"
head -c 256M /dev/urandom > "$DATA"
head -c 32M /dev/zero > "$KS"

ember_cmd=("$BUILD/ember" run --accel soft --memory 512M --kernel "$KERNEL" --initrd "$INITRD"
           --cmdline "$CMDLINE" --disk "path=$DATA,format=raw" --disk "path=$KS,format=raw"
           --profile "$PROF")

if ! line=$(python3 "$HERE/guest_profile.py" --profile "$PROF" --base-out "$OUT/base.prof" --end-out "$OUT/end.prof" \
        --kallsyms-disk "$KS" --kallsyms-out "$OUT/kallsyms.txt" --seconds "$SECS" \
        --workload "$WORKLOAD" --log "$OUT/console.log" -- "${ember_cmd[@]}"); then
    echo "$ME: the guest run failed (bench/guest_profile.py's FAIL line above)" >&2
    if [ -s "$OUT/console.log" ]; then
        echo "last console lines:" >&2
        tail -25 "$OUT/console.log" | sed 's/^/    /' >&2
    fi
    exit 1
fi
ops=$(sed -n 's/.* ops=\([0-9][0-9]*\).*/\1/p' <<< "$line")
if [ -z "$ops" ] || [ "$ops" = 0 ]; then
    echo "$ME: iobench completed no requests: $line" >&2
    exit 1
fi

echo "guest-profile: iobench $WORKLOAD on /dev/vda for $SECS s (after a 2 s warm-up): ops=$ops; guest instructions per request"
printf 'ember command:'
printf ' %q' "${ember_cmd[@]}"
printf '\n%s\n' "$line"
python3 "$ROOT/scripts/guest-profile.py" "$OUT/end.prof" --base "$OUT/base.prof" \
    --kallsyms "$OUT/kallsyms.txt" --per "$ops" --top 40
