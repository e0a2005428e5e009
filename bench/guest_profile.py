#!/usr/bin/env python3
"""Guest driver of bench/guest-profile.sh: boots the default guest under an `ember run
--profile PROF` command given after `--`, on its serial console (tests/linux/console_session.py's
Session), and takes the two profile snapshots around one iobench workload on /dev/vda.

  guest_profile.py --profile PROF --base-out BASE --end-out END --kallsyms-disk KS --kallsyms-out TXT
                   --seconds S --workload 'IOBENCH ARGS' [--timeout T] [--log LOG] -- VMM ARGS...

In the guest: the text symbols of /proc/kallsyms go to the raw disk /dev/vdb (KS on the host),
a 2-second iobench warm-up runs; then SIGUSR1 makes ember rewrite PROF, which is copied to BASE
once rewritten; then iobench runs S seconds and a second SIGUSR1 snapshot goes to END (so that
END minus BASE is the measured run and little else); the guest powers off and ember writes PROF
a last time as it exits. Writes the symbols (KS up to its first NUL byte) to TXT and prints iobench's
IOBENCH line (with ops=N) on stdout. Any misbehaviour ends it with a 'FAIL: ...' message.
"""
import argparse
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep __pycache__ out of tests/linux
sys.path.insert(0, os.path.join(HERE, "..", "tests", "linux"))
from console_session import Session, vmm_argv, wait_for_shell  # noqa: E402

WARMUP_SECONDS = 2
SNAPSHOT_TIMEOUT = 10.0  # seconds for ember to rewrite PROF after SIGUSR1
SETTLE_SECONDS = 0.3     # PROF must stay unchanged this long before it is copied
KALLSYMS_CMD = ("grep ' [tTwW] ' /proc/kallsyms > /tmp/k && "
                "dd if=/tmp/k of=/dev/vdb bs=1M conv=fsync")


def fail(message):
    raise SystemExit(f"FAIL: {message}")


def iobench_command(seconds, workload):
    """iobench's options before the device, mode and block size after it (iobench's usage)."""
    words = workload.split()
    if len(words) < 2:
        fail(f"workload {workload!r}: want [OPTIONS] MODE BLOCKSIZE, e.g. '-q 8 randwrite 4096'")
    opts, mode_bs = words[:-2], words[-2:]
    if "-t" in opts:
        fail(f"workload {workload!r}: give the seconds as SECONDS, not -t")
    return " ".join(["iobench", "-t", str(seconds), *opts, "/dev/vda", *mode_bs])


def guest_run(s, command, what, timeout):
    out, status = s.run(command, what, timeout)
    if status != 0:
        fail(f"{what} exited with status {status} in the guest: {out.strip()!r}")
    return out


def iobench_line(out, command):
    for line in out.splitlines():
        if line.startswith("IOBENCH "):
            return line.strip()
    fail(f"{command} printed no IOBENCH line: {out.strip()!r}")


def file_state(path):
    """(mtime_ns, size) of path, or None while it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def snapshot(s, profile, base_out):
    """SIGUSR1 to ember, wait until it has rewritten the profile, copy it to base_out."""
    before = file_state(profile)
    os.kill(s.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + SNAPSHOT_TIMEOUT
    state, since = before, None
    while True:
        if s.proc.poll() is not None:
            fail(f"ember exited (status {s.proc.returncode}) on SIGUSR1 instead of writing {profile}")
        now_state = file_state(profile)
        if now_state != state:
            state, since = now_state, time.monotonic()
        elif state is not None and state != before and time.monotonic() - since >= SETTLE_SECONDS:
            break
        if time.monotonic() > deadline:
            fail(f"ember did not rewrite {profile} within {SNAPSHOT_TIMEOUT:.0f}s of SIGUSR1")
        time.sleep(0.05)
    shutil.copyfile(profile, base_out)
    return state


def extract_kallsyms(disk, out):
    with open(disk, "rb") as f:
        text = f.read().split(b"\0", 1)[0]
    if not text.strip():
        fail(f"{disk} holds no kallsyms: the guest's dd to /dev/vdb wrote nothing")
    with open(out, "wb") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True, help="the file given to ember's --profile")
    ap.add_argument("--base-out", required=True, help="where the snapshot after warm-up goes")
    ap.add_argument("--end-out", required=True, help="where the snapshot after the run goes")
    ap.add_argument("--kallsyms-disk", required=True, help="the raw image that is /dev/vdb")
    ap.add_argument("--kallsyms-out", required=True, help="where the guest's symbols go")
    ap.add_argument("--seconds", type=int, required=True, help="seconds of measured iobench")
    ap.add_argument("--workload", required=True, help="iobench arguments, e.g. 'randread 4096'")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for the shell")
    ap.add_argument("--log", help="write the console transcript here (default: stderr)")
    ap.add_argument("vmm", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    argv = vmm_argv(ap, args)
    warmup = iobench_command(WARMUP_SECONDS, args.workload)
    measured = iobench_command(args.seconds, args.workload)
    log = open(args.log, "w") if args.log else sys.stderr
    s = Session(argv, args.timeout, log)
    try:
        wait_for_shell(s)
        guest_run(s, KALLSYMS_CMD, "copying /proc/kallsyms to /dev/vdb", 120)
        guest_run(s, warmup, "the warm-up iobench", WARMUP_SECONDS * 4 + 120)
        base_state = snapshot(s, args.profile, args.base_out)
        out = guest_run(s, measured, "the measured iobench", args.seconds * 4 + 120)
        line = iobench_line(out, measured)
        snapshot(s, args.profile, args.end_out)
        status = s.poweroff()
    finally:
        s.kill_if_running()
    if status != 0:
        fail(f"ember exited with status {status} after poweroff, want 0")
    if file_state(args.profile) == base_state:
        fail(f"ember did not rewrite {args.profile} when the VM stopped")
    extract_kallsyms(args.kallsyms_disk, args.kallsyms_out)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
