#!/usr/bin/env python3
"""Summarises bench/guest_bench.py results for bench/virtio-blk.sh and bench/virtio-net.sh:
reads OUTDIR/{ember,qemu}-N.json (N = 1..RUNS; a run that failed holds {"failed": 1}) and prints,
for every figure, the median per VMM, the range, and the ember/QEMU ratio (higher is better for
ember on every figure except "shell" and "clock", which are informational).

  guest_bench_table.py OUTDIR RUNS [--markdown]
"""
import json
import os
import statistics
import sys


def unit(key):
    if key.endswith("_guest"):
        return "MiB/s"
    if "mibps" in key or key.endswith("_1m"):
        return "MiB/s"
    if "_4k_" in key:
        return "IOPS"
    if key == "shell":
        return "s"
    return ""


def num(v):
    """A figure with about three significant digits."""
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def main(argv):
    out, runs, md = argv[0], int(argv[1]), "--markdown" in argv[2:]
    res = {}
    keys = []
    for vmm in ("ember", "qemu"):
        rows = []
        for i in range(1, runs + 1):
            try:
                with open(os.path.join(out, f"{vmm}-{i}.json")) as f:
                    rows.append(json.load(f))
            except (OSError, ValueError):
                rows.append({"failed": 1})
        ok = [r for r in rows if "failed" not in r]
        res[vmm] = {"ok": len(ok), "vals": {}}
        for r in ok:
            for k, v in r.items():
                res[vmm]["vals"].setdefault(k, []).append(v)
                if k not in keys:
                    keys.append(k)
    print(f"runs ok: ember {res['ember']['ok']}/{runs}, qemu {res['qemu']['ok']}/{runs} "
          "(medians; [min-max])")
    if md:
        print("| figure | unit | ember | QEMU TCG | ember/QEMU |")
        print("| --- | --- | ---: | ---: | ---: |")
    else:
        print(f"{'figure':26} {'unit':6} {'ember':>22} {'qemu':>22} {'ember/qemu':>10}")
    for k in keys:
        cells = []
        meds = []
        for vmm in ("ember", "qemu"):
            v = res[vmm]["vals"].get(k)
            if not v:
                cells.append("-")
                meds.append(None)
                continue
            m = statistics.median(v)
            meds.append(m)
            cells.append(num(m) if md else f"{num(m)} [{num(min(v))}-{num(max(v))}]")
        ratio = f"{meds[0] / meds[1]:.2f}" if meds[0] and meds[1] else "-"
        if md:
            print(f"| {k} | {unit(k)} | {cells[0]} | {cells[1]} | {ratio} |")
        else:
            print(f"{k:26} {unit(k):6} {cells[0]:>22} {cells[1]:>22} {ratio:>10}")


if __name__ == "__main__":
    main(sys.argv[1:])
