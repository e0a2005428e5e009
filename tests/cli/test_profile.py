#!/usr/bin/env python3
"""System test of `ember run --profile FILE` (guest profile, soft accelerator) with two flat
binary guests written here:
  - a counted loop that exits through the debug-exit port: the file written at exit holds the
    exact instruction counts of its blocks;
  - a guest that spins forever: each SIGUSR1 writes a snapshot whose count grows, and SIGTERM
    still writes the final profile;
  - errors: an unwritable FILE fails with a message naming it, and the kvm accelerator (when
    usable here) refuses --profile.
Usage: test_profile.py EMBER"""
import os
import signal
import subprocess
import sys
import tempfile
import time

EMBER = sys.argv[1]
passed, failed = 0, 0

# mov ecx, 1000; 1: dec ecx; jnz 1b; xor eax, eax; out 0xf4, al; jmp .   (loaded at 1 MiB)
LOOP = bytes.fromhex("b9e8030000" "ffc9" "75fc" "31c0" "e6f4" "ebfe")
SPIN = bytes.fromhex("ebfe")  # jmp .


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def read_profile(path):
    counts = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            addr, count = line.split()
            counts[int(addr, 16)] = int(count)
    return counts


def run(args, **kw):
    return subprocess.run([EMBER, "run", "--console", "none", *args], capture_output=True,
                          text=True, timeout=60, **kw)


def wait_for_change(path, old_mtime, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            st = os.stat(path)
            if st.st_mtime_ns != old_mtime:
                return st.st_mtime_ns
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return None


with tempfile.TemporaryDirectory() as tmp:
    loop, spin = os.path.join(tmp, "loop.bin"), os.path.join(tmp, "spin.bin")
    with open(loop, "wb") as f:
        f.write(LOOP)
    with open(spin, "wb") as f:
        f.write(SPIN)

    prof = os.path.join(tmp, "loop.prof")
    r = run(["--accel", "soft", "--kernel", loop, "--profile", prof])
    check(r.returncode == 0, f"loop guest: exit status {r.returncode}: {r.stderr}")
    counts = read_profile(prof) if os.path.exists(prof) else {}
    check(counts.get(0x100000) == 3, f"loop guest: first block (mov, dec, jnz): {counts}")
    check(counts.get(0x100005) == 999 * 2, f"loop guest: loop body (dec, jnz): {counts}")
    check(not os.path.exists(prof + ".tmp"), "loop guest: temporary file left behind")

    prof = os.path.join(tmp, "spin.prof")
    p = subprocess.Popen([EMBER, "run", "--console", "none", "--accel", "soft", "--kernel", spin,
                          "--profile", prof], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(0.5)
    snaps = []
    mtime = None
    for _ in range(2):
        p.send_signal(signal.SIGUSR1)
        mtime = wait_for_change(prof, mtime)
        check(mtime is not None, "spin guest: no snapshot after SIGUSR1")
        if mtime is None:
            break
        snaps.append(read_profile(prof).get(0x100000, 0))
        time.sleep(0.2)
    check(p.poll() is None, "spin guest: ember stopped after SIGUSR1")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    check(p.returncode == 128 + signal.SIGTERM, f"spin guest: exit status {p.returncode}: {err}")
    final = read_profile(prof).get(0x100000, 0)
    check(len(snaps) == 2 and 0 < snaps[0] < snaps[1] < final,
          f"spin guest: counts must grow across snapshots and exit: {snaps} then {final}")

    bad = os.path.join(tmp, "no-such-dir", "x.prof")
    r = run(["--accel", "soft", "--kernel", loop, "--profile", bad])
    check(r.returncode == 1 and "--profile " + bad in r.stderr,
          f"unwritable profile: status {r.returncode}, stderr {r.stderr!r}")

    r = run(["--accel", "kvm", "--kernel", loop, "--profile", os.path.join(tmp, "k.prof")])
    if "cannot count" in r.stderr or r.returncode == 0:
        check(r.returncode == 1 and "use --accel soft" in r.stderr,
              f"kvm: status {r.returncode}, stderr {r.stderr!r}")
    else:
        print(f"kvm unavailable here ({r.stderr.strip()}): its --profile check skipped")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
