#!/usr/bin/env bash
# In-guest network benchmark (issue 4): TCP throughput guest->host ("tx") and host->guest ("rx")
# over user-mode networking (libslirp on ember, QEMU's -netdev user), the guest's netbench
# (guest/tools/netbench.c) talking to a host-side peer on 127.0.0.1 that bench/guest_bench.py
# runs and the guest reaches at the slirp gateway 10.0.2.2. ember's soft CPU and QEMU TCG, same
# virtio-net device (modern-only PCI, one queue pair), interleaved, RUNS boots each, medians,
# MiB/s timed on the host (from accept to the end of the connection), SECONDS per direction.
# MODE tap (root only) uses a tap device instead, in a network namespace of its own (the host
# side 10.0.3.1/24 there, the guest 10.0.3.2): ember --net tap=, QEMU -netdev tap with
# vhost=off (ember has no in-kernel data path either), both with the tap's virtio-net header
# (checksum and segmentation offloads).
#   bench/virtio-net.sh [BUILD] [RUNS] [SECONDS] [MODE]   (default build, 3, 5, user)
# RESULTS=DIR keeps every run's JSON and console log there; MARKDOWN=1 prints a Markdown table.
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-3}
SECS=${3:-5}
MODE=${4:-user}
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
NS=""
cleanup() {
    if [ -n "$NS" ]; then ip netns del "$NS" || true; fi
    rm -rf "$OUT"
}
trap cleanup EXIT

case "$MODE" in
user)
    ember_net=(--net user)
    qemu_net=(-netdev user,id=n0)
    in_ns=()
    peer=() ;;
tap)
    [ "$(id -u)" = 0 ] || { echo "bench/virtio-net.sh: tap mode needs root" >&2; exit 1; }
    NS="vbench-net-$$"
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add dev vbtap0 mode tap
    ip -n "$NS" addr add 10.0.3.1/24 dev vbtap0
    ip -n "$NS" link set vbtap0 up
    ember_net=(--net tap=vbtap0)
    qemu_net=(-netdev tap,id=n0,ifname=vbtap0,script=no,downscript=no,vhost=off)
    in_ns=(ip netns exec "$NS")
    peer=(--peer 10.0.3.1 --listen 10.0.3.1 --guest-ip 10.0.3.2/24) ;;
*)
    echo "bench/virtio-net.sh: MODE is user or tap, not '$MODE'" >&2; exit 2 ;;
esac

ember_cmd=("$BUILD/ember" run --accel soft --memory "$MEM" --kernel "$KERNEL" --initrd "$INITRD"
           --cmdline "$CMDLINE" "${ember_net[@]}")
qemu_cmd=(qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m "$MEM" -nodefaults -display none
          -serial stdio -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
          "${qemu_net[@]}" -device virtio-net-pci,netdev=n0,disable-legacy=on)

echo "virtio-net in-guest benchmark ($MODE): $RUNS runs x ${SECS}s per direction; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ember: ${ember_cmd[*]}"
echo "qemu:  ${qemu_cmd[*]}"
for i in $(seq 1 "$RUNS"); do
    order="ember qemu"
    [ $((i % 2)) -eq 0 ] && order="qemu ember"
    for vmm in $order; do
        if [ "$vmm" = ember ]; then cmd=("${ember_cmd[@]}"); else cmd=("${qemu_cmd[@]}"); fi
        if ! "${in_ns[@]}" python3 "$HERE/guest_bench.py" --script net --seconds "$SECS" "${peer[@]}" \
                --log "$OUT/$vmm-$i.log" -- "${cmd[@]}" > "$OUT/$vmm-$i.json"; then
            echo "run $i of $vmm failed or hung (transcript follows)" >&2
            tail -20 "$OUT/$vmm-$i.log" >&2
            echo '{"failed": 1}' > "$OUT/$vmm-$i.json"
        fi
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${RESULTS:-}" ]; then mkdir -p "$RESULTS" && cp "$OUT"/*.json "$OUT"/*.log "$RESULTS"/; fi
python3 "$HERE/guest_bench_table.py" "$OUT" "$RUNS" ${MARKDOWN:+--markdown}
