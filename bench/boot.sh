#!/usr/bin/env bash
# Boot benchmark: the default Debian guest (kernel + initramfs) on ember's soft CPU and on
# QEMU TCG, side by side in one run, RUNS times each, interleaved. Prints the medians of the
# time to /init, to the shell and to power-off, the peak RSS, and ember/QEMU ratios.
#   bench/boot.sh [BUILD] [RUNS]      (default build, 5)
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KERNEL="$BUILD/guest/vmlinuz"
INITRD="$BUILD/guest/initramfs.cpio.gz"
CMDLINE="console=ttyS0 panic=-1 quiet"
MEM=512M
SESSION="$ROOT/tests/linux/console_session.py"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for f in "$KERNEL" "$INITRD"; do
    [ -f "$f" ] || { echo "bench/boot.sh: $f is missing (build the default guest first: make run)" >&2; exit 1; }
done
command -v qemu-system-x86_64 > /dev/null || { echo "bench/boot.sh: qemu-system-x86_64 missing" >&2; exit 1; }

ember_cmd=("$BUILD/ember" run --accel soft --memory "$MEM" --kernel "$KERNEL" --initrd "$INITRD"
           --cmdline "$CMDLINE")
qemu_cmd=(qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m "$MEM" -nodefaults -display none
          -serial stdio -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE")

for i in $(seq 1 "$RUNS"); do
    for vmm in ember qemu; do
        if [ "$vmm" = ember ]; then cmd=("${ember_cmd[@]}"); else cmd=("${qemu_cmd[@]}"); fi
        if ! python3 "$SESSION" --timeout 300 --script poweroff --json --log "$OUT/$vmm-$i.log" \
                -- "${cmd[@]}" > "$OUT/$vmm-$i.json"; then
            echo "run $i of $vmm failed or hung (transcript follows)" >&2
            tail -20 "$OUT/$vmm-$i.log" >&2
            echo '{"failed": 1}' > "$OUT/$vmm-$i.json"
        fi
    done
done

python3 - "$OUT" "$RUNS" <<'PY'
import json, statistics, sys, os
out, runs = sys.argv[1], int(sys.argv[2])
res = {}
for vmm in ("ember", "qemu"):
    rows = [json.load(open(os.path.join(out, f"{vmm}-{i}.json"))) for i in range(1, runs + 1)]
    ok = [r for r in rows if "failed" not in r]
    res[vmm] = {"ok": len(ok), "runs": runs}
    for k in ("init", "shell", "exit", "peak_rss_kib"):
        vals = [r[k] for r in ok if k in r]
        res[vmm][k] = statistics.median(vals) if vals else None
print(f"{'':8} {'ok':>6} {'to /init s':>11} {'to shell s':>11} {'to poweroff s':>14} {'peak RSS MiB':>13}")
for vmm in ("ember", "qemu"):
    r = res[vmm]
    f = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"
    rss = None if r["peak_rss_kib"] is None else r["peak_rss_kib"] / 1024
    print(f"{vmm:8} {r['ok']:>3}/{r['runs']:<2} {f(r['init']):>11} {f(r['shell']):>11} {f(r['exit']):>14} {f(rss, 1):>13}")
e, q = res["ember"], res["qemu"]
for k in ("init", "exit", "peak_rss_kib"):
    if e[k] and q[k]:
        print(f"ratio ember/qemu {k}: {e[k] / q[k]:.2f}")
PY
