#!/usr/bin/env python3
"""Drives a Linux guest through its serial console (the VMM's stdio) and checks what it answers.

Used by the Linux system tests and by bench/boot.sh; the VMM command is given after `--`, so
the same session runs on ember and, for the benchmarks, on QEMU.

  console_session.py [--timeout S] [--script check|poweroff] [--json] -- VMM ARGS...

Script 'check': wait for the shell, run `uname -r`, count processors in /proc/cpuinfo, compare
the sha256 of generated data with the host's, then power off and expect a clean exit (0).
Script 'poweroff': wait for the shell and power off at once (for boot timing).
Prints timings (seconds since start): init (the init's banner), shell (first answer) and exit,
and the VMM's peak RSS.
"""
import argparse
import hashlib
import json
import os
import re
import resource
import select
import subprocess
import sys
import time

INIT_BANNER = re.compile(rb"ember-init: ")  # printed by the default guest's /init
KERNEL_BANNER = re.compile(rb"Linux version (\S+)")


class Session:
    def __init__(self, argv, timeout, log):
        self.t0 = time.monotonic()
        self.timeout = timeout
        self.log = log
        self.buf = b""
        self.marks = {}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0)

    def elapsed(self):
        return time.monotonic() - self.t0

    def _note(self, chunk):
        if "init" not in self.marks and INIT_BANNER.search(self.buf):
            self.marks["init"] = self.elapsed()
        self.log.write(chunk.decode("utf-8", "replace"))
        self.log.flush()

    def read_some(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        r, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
        if not r:
            return False
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            raise EOFError
        self.buf += chunk
        self._note(chunk)
        return True

    def expect(self, pattern, what, timeout=None):
        """Waits for pattern in the output after the current position; returns the match."""
        deadline = time.monotonic() + (timeout or self.timeout)
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            try:
                self.read_some(deadline)
            except TimeoutError:
                raise SystemExit(f"FAIL: timed out after {self.elapsed():.1f}s waiting for {what}")
            except EOFError:
                raise SystemExit(f"FAIL: the VMM exited while waiting for {what}")

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def run(self, command, what, timeout=None):
        """Runs a shell command and returns its output and exit status, framed by unique
        markers; each marker is waited for up to timeout seconds (default: the session's)."""
        tag = f"{len(self.marks)}{int(self.elapsed() * 1000)}"
        self.send(f"echo BEGIN-{tag}; {command}; echo END-{tag}-$?")
        self.expect(rb"\nBEGIN-" + tag.encode() + rb"\r?\n", f"start of {what}", timeout)
        m = self.expect(rb"(?s)(.*?)END-" + tag.encode() + rb"-(\d+)", f"end of {what}", timeout)
        return m.group(1).decode("utf-8", "replace").replace("\r", ""), int(m.group(2))

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            try:
                self.read_some(deadline)
            except EOFError:
                break
            except TimeoutError:
                self.proc.kill()
                raise SystemExit(f"FAIL: the VMM did not exit within {timeout}s of poweroff")
        status = self.proc.wait()
        self.marks["exit"] = self.elapsed()
        return status

    def poweroff(self, timeout=60):
        """Powers the guest off from its shell; returns the VMM's exit status."""
        self.send("poweroff -f")
        return self.wait_exit(timeout)

    def kill_if_running(self):
        """For a `finally`: a VMM still running (a check failed half-way) is killed and reaped."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def vmm_argv(ap, args):
    """The VMM command line given after `--` (args.vmm, an argparse.REMAINDER argument named
    vmm); ends the program through ap.error when there is none."""
    argv = args.vmm[1:] if args.vmm and args.vmm[0] == "--" else args.vmm
    if not argv:
        ap.error("give the VMM command after --")
    return argv


def wait_for_shell(s):
    # Wait for the default guest's /init to announce the shell (input typed while the kernel
    # boots is lost or garbled), then poke the shell until an echo comes back. The poke period
    # bounds how late "shell" is measured, so it is short.
    s.expect(rb"init: starting a shell", "the init's shell banner")
    deadline = time.monotonic() + s.timeout
    while time.monotonic() < deadline:
        s.send("echo SHELL-$((40+2))")
        try:
            s.expect(rb"SHELL-42", "the shell", timeout=0.5)
            s.marks["shell"] = s.elapsed()
            return
        except SystemExit:
            if s.proc.poll() is not None:
                raise
    raise SystemExit(f"FAIL: no shell within {s.timeout}s")


def script_check(s, failures):
    out, st = s.run("uname -r", "uname -r")
    release = out.strip().splitlines()[-1] if out.strip() else ""
    if st != 0 or not re.match(r"6\.1\.", release):
        failures.append(f"uname -r answered {release!r} (status {st}), want a 6.1 kernel")
    out, st = s.run("grep -c ^processor /proc/cpuinfo", "cpuinfo")
    if st != 0 or not out.strip().isdigit() or int(out.strip()) < 1:
        failures.append(f"/proc/cpuinfo lists no processor: {out!r}")
    out, st = s.run("grep -m1 '^flags' /proc/cpuinfo", "cpu flags")
    if "fpu" not in out or "sse2" not in out:
        failures.append(f"/proc/cpuinfo flags lack fpu/sse2: {out.strip()!r}")
    data_cmd = "seq 1 30000"
    host = hashlib.sha256("".join(f"{i}\n" for i in range(1, 30001)).encode()).hexdigest()
    out, st = s.run(f"{data_cmd} | sha256sum", "sha256sum")
    if st != 0 or host not in out:
        failures.append(f"sha256sum in the guest {out.strip()!r} differs from the host's {host}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--script", choices=["check", "poweroff"], default="check")
    ap.add_argument("--json", action="store_true", help="print timings as JSON on stdout")
    ap.add_argument("--log", help="write the console transcript here (default: stderr)")
    ap.add_argument("vmm", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    argv = vmm_argv(ap, args)
    log = open(args.log, "w") if args.log else sys.stderr
    s = Session(argv, args.timeout, log)
    failures = []
    try:
        wait_for_shell(s)
        if args.script == "check":
            script_check(s, failures)
        status = s.poweroff()
    finally:
        s.kill_if_running()
    if status != 0:
        failures.append(f"the VMM exited with status {status} after poweroff, want 0")
    # The VMM is this process's only child: its peak resident set, in KiB.
    s.marks["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in s.marks.items()}))
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    if not args.json:
        print(f"timings: {json.dumps({k: round(v, 3) for k, v in s.marks.items()})}")
        checks = 5 if args.script == "check" else 1
        print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
