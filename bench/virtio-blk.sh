#!/usr/bin/env bash
# In-guest disk benchmark (issues 4 and 5): the default guest's iobench (guest/tools/iobench.c:
# O_DIRECT, Linux AIO) on a virtio-blk raw disk (/dev/vda) and a fully allocated qcow2 disk
# (/dev/vdb, 64 KiB clusters), on ember's soft CPU and on QEMU TCG with the same virtio device,
# interleaved, RUNS boots each, medians: sequential 1 MiB reads and writes (MiB/s) and 4 KiB
# random reads and writes at queue depth 1 and 8 (IOPS), SECONDS each. A third disk (/dev/vdc,
# "qcow2new") is an empty 4 GiB qcow2 made afresh for every boot: its writes allocate clusters.
#   bench/virtio-blk.sh [BUILD] [RUNS] [SECONDS]      (default build, 3, 3)
# RESULTS=DIR keeps every run's JSON and console log there; MARKDOWN=1 prints a Markdown table.
# Host side, both VMMs use the host page cache (no O_DIRECT) and turn a guest flush into
# fdatasync: ember always opens images that way; QEMU gets cache=writeback (its default, and
# the same write-back cache advertised to the guest, VIRTIO_BLK_F_FLUSH) and aio=io_uring
# (ember submits through io_uring too). One request queue each (ember has no multiqueue),
# modern-only virtio PCI (as ember). The guest writes with O_DIRECT and never flushes, so writes
# land in the host page cache: this measures the virtio and block-layer path, not the host disk.
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-3}
SECS=${3:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL="$BUILD/guest/vmlinuz"
INITRD="$BUILD/guest/initramfs.cpio.gz"
CMDLINE="console=ttyS0 panic=-1 quiet"
MEM=512M
SIZE_MIB=256

for f in "$KERNEL" "$INITRD" "$BUILD/ember"; do
    [ -f "$f" ] || { echo "bench/virtio-blk.sh: $f is missing (ninja -C $BUILD; guest/build-default-guest.sh $BUILD/guest)" >&2; exit 1; }
done
for t in qemu-system-x86_64 qemu-img; do
    command -v $t > /dev/null || { echo "bench/virtio-blk.sh: $t missing" >&2; exit 1; }
done
OUT=$(mktemp -d "${TMPDIR:-/tmp}/vbench-blk.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

# Images with data everywhere (random bytes), so reads never hit holes and writes overwrite.
head -c "${SIZE_MIB}M" /dev/urandom > "$OUT/disk.raw"
qemu-img convert -f raw -O qcow2 "$OUT/disk.raw" "$OUT/disk.qcow2"

ember_cmd=("$BUILD/ember" run --accel soft --memory "$MEM" --kernel "$KERNEL" --initrd "$INITRD"
           --cmdline "$CMDLINE" --disk "path=$OUT/disk.raw,format=raw"
           --disk "path=$OUT/disk.qcow2,format=qcow2" --disk "path=$OUT/new.qcow2,format=qcow2")
drive() { # FILE FORMAT ID
    echo "-drive file=$1,if=none,id=$3,format=$2,cache=writeback,aio=io_uring"
    echo "-device virtio-blk-pci,drive=$3,num-queues=1,disable-legacy=on"
}
# shellcheck disable=SC2207
qemu_cmd=(qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m "$MEM" -nodefaults -display none
          -serial stdio -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
          $(drive "$OUT/disk.raw" raw d0) $(drive "$OUT/disk.qcow2" qcow2 d1)
          $(drive "$OUT/new.qcow2" qcow2 d2))

echo "virtio-blk in-guest benchmark: $RUNS runs x ${SECS}s per test, ${SIZE_MIB} MiB disks; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ember: ${ember_cmd[*]}"
echo "qemu:  ${qemu_cmd[*]}"
for i in $(seq 1 "$RUNS"); do
    order="ember qemu"
    [ $((i % 2)) -eq 0 ] && order="qemu ember"
    for vmm in $order; do
        if [ "$vmm" = ember ]; then cmd=("${ember_cmd[@]}"); else cmd=("${qemu_cmd[@]}"); fi
        rm -f "$OUT/new.qcow2"
        qemu-img create -q -f qcow2 "$OUT/new.qcow2" 4G
        if ! python3 "$HERE/guest_bench.py" --script disk --disk raw=vda --disk qcow2=vdb \
                --disk qcow2new=vdc:seqwrite_1m,randwrite_4k_qd1,randwrite_4k_qd8 \
                --seconds "$SECS" --log "$OUT/$vmm-$i.log" -- "${cmd[@]}" > "$OUT/$vmm-$i.json"; then
            echo "run $i of $vmm failed or hung (transcript follows)" >&2
            tail -20 "$OUT/$vmm-$i.log" >&2
            echo '{"failed": 1}' > "$OUT/$vmm-$i.json"
        fi
    done
done
rm -f "$OUT/new.qcow2"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${RESULTS:-}" ]; then mkdir -p "$RESULTS" && cp "$OUT"/*.json "$OUT"/*.log "$RESULTS"/; fi
python3 "$HERE/guest_bench_table.py" "$OUT" "$RUNS" ${MARKDOWN:+--markdown}
