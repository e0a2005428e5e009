#!/usr/bin/env bash
# In-guest network benchmark (issue 4): TCP throughput guest->host ("tx") and host->guest ("rx")
# over user-mode networking (libslirp on ember, QEMU's -netdev user), the guest's netbench
# (guest/tools/netbench.c) talking to a host-side peer on 127.0.0.1 that bench/guest_bench.py
# runs and the guest reaches at the slirp gateway 10.0.2.2. ember's soft CPU and QEMU TCG, same
# virtio-net device (modern-only PCI, one queue pair), interleaved, RUNS boots each, medians,
# MiB/s timed on the host (from accept to the end of the connection), SECONDS per direction.
#   bench/virtio-net.sh [BUILD] [RUNS] [SECONDS]      (default build, 3, 5)
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-3}
SECS=${3:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL="$BUILD/guest/vmlinuz"
INITRD="$BUILD/guest/initramfs.cpio.gz"
CMDLINE="console=ttyS0 panic=-1 quiet"
MEM=512M

for f in "$KERNEL" "$INITRD" "$BUILD/ember"; do
    [ -f "$f" ] || { echo "bench/virtio-net.sh: $f is missing (ninja -C $BUILD; guest/build-default-guest.sh $BUILD/guest)" >&2; exit 1; }
done
command -v qemu-system-x86_64 > /dev/null || { echo "bench/virtio-net.sh: qemu-system-x86_64 missing" >&2; exit 1; }
OUT=$(mktemp -d "${TMPDIR:-/tmp}/vbench-net.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

ember_cmd=("$BUILD/ember" run --accel soft --memory "$MEM" --kernel "$KERNEL" --initrd "$INITRD"
           --cmdline "$CMDLINE" --net user)
qemu_cmd=(qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m "$MEM" -nodefaults -display none
          -serial stdio -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
          -netdev user,id=n0 -device virtio-net-pci,netdev=n0,disable-legacy=on)

echo "virtio-net in-guest benchmark: $RUNS runs x ${SECS}s per direction; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ember: ${ember_cmd[*]}"
echo "qemu:  ${qemu_cmd[*]}"
for i in $(seq 1 "$RUNS"); do
    order="ember qemu"
    [ $((i % 2)) -eq 0 ] && order="qemu ember"
    for vmm in $order; do
        if [ "$vmm" = ember ]; then cmd=("${ember_cmd[@]}"); else cmd=("${qemu_cmd[@]}"); fi
        if ! python3 "$HERE/guest_bench.py" --script net --seconds "$SECS" \
                --log "$OUT/$vmm-$i.log" -- "${cmd[@]}" > "$OUT/$vmm-$i.json"; then
            echo "run $i of $vmm failed or hung (transcript follows)" >&2
            tail -20 "$OUT/$vmm-$i.log" >&2
            echo '{"failed": 1}' > "$OUT/$vmm-$i.json"
        fi
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$HERE/guest_bench_table.py" "$OUT" "$RUNS" ${MARKDOWN:+--markdown}
