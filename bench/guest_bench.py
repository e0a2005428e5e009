#!/usr/bin/env python3
"""In-guest I/O benchmark driver for bench/virtio-blk.sh and bench/virtio-net.sh: boots the
default guest under a VMM given after `--` (ember or QEMU), waits for its shell on the serial
console (tests/linux/console_session.py's Session), runs the guest tools from guest/tools/ and
prints the results as one JSON object on stdout.

  guest_bench.py --script disk --disk raw=vda --disk qcow2=vdb [--seconds S] -- VMM ARGS...
  guest_bench.py --script net [--seconds S] [--peer IP --listen IP --guest-ip IP/LEN] -- VMM...

disk: on each named disk, iobench (O_DIRECT, Linux AIO) runs sequential 1 MiB reads and
writes (MiB/s) and 4 KiB random reads and writes at queue depth 1 and 8 (IOPS), S seconds each.
net: the guest configures eth0 for user-mode networking (10.0.2.15/24, gateway 10.0.2.2) and
netbench moves data to and from a TCP peer this script runs on the host's loopback (which the
slirp gateway 10.0.2.2 reaches; for a tap device, --peer/--listen/--guest-ip give the
addresses), S seconds per direction; MiB/s timed on the host, from accept
to the end of the connection. The guest's own timing is kept too (keys ending in "_guest"); the
JSON's "clock" is the guest's seconds per host second over the whole script (from /proc/uptime;
about 1 when the guest's clock is right, which the guest-timed disk figures rely on).
"""
import argparse
import json
import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep __pycache__ out of tests/linux
sys.path.insert(0, os.path.join(HERE, "..", "tests", "linux"))
from console_session import Session, vmm_argv, wait_for_shell  # noqa: E402

# (key, iobench arguments, figure): figure is "mibps" or "iops".
DISK_TESTS = [
    ("seqread_1m", "read 1048576", "mibps"),
    ("seqwrite_1m", "write 1048576", "mibps"),
    ("randread_4k_qd1", "randread 4096", "iops"),
    ("randwrite_4k_qd1", "randwrite 4096", "iops"),
    ("randread_4k_qd8", "-q 8 randread 4096", "iops"),
    ("randwrite_4k_qd8", "-q 8 randwrite 4096", "iops"),
]


def parse_fields(line, tag):
    """'TAG a=1 b=x' -> {'a': '1', 'b': 'x'}"""
    fields = {}
    for word in line.split()[1:]:
        k, _, v = word.partition("=")
        fields[k] = v
    return fields


def tool_line(out, tag, what):
    for line in out.splitlines():
        if line.startswith(tag + " "):
            return parse_fields(line, tag)
    raise SystemExit(f"FAIL: {what} printed no {tag} line: {out.strip()!r}")


def timed_run(s, command, what, timeout):
    t0 = time.monotonic()
    out, status = s.run(command, what, timeout)
    if status != 0:
        raise SystemExit(f"FAIL: {what} exited with status {status}: {out.strip()!r}")
    return out, time.monotonic() - t0


def guest_uptime(s):
    """The guest's CLOCK_BOOTTIME in seconds and the host's monotonic time when it answered."""
    out, _ = timed_run(s, "cat /proc/uptime", "uptime", 60)
    # Other console messages (the init's, the kernel's) may land between the markers.
    m = re.search(r"^(\d+\.\d+) \d+\.\d+\s*$", out, re.M)
    if not m:
        raise SystemExit(f"FAIL: /proc/uptime answered {out.strip()!r}")
    return float(m.group(1)), time.monotonic()


def script_disk(s, disks, seconds, res):
    for name, dev, only in disks:
        for key, args, figure in DISK_TESTS:
            if only and key not in only:
                continue
            *opts, mode, bs = args.split()
            cmd = " ".join(["iobench", "-t", str(seconds), "-S", "42", *opts, f"/dev/{dev}", mode, bs])
            out, _ = timed_run(s, cmd, f"{name} {key}", seconds * 4 + 120)
            f = tool_line(out, "IOBENCH", cmd)
            res[f"{name}_{key}"] = float(f[figure])


class Peer(threading.Thread):
    """The host end of one transfer: 'sink' reads until the guest half-closes, 'source' sends
    for the given time and half-closes, then waits for the guest's close. Times from accept."""

    def __init__(self, role, seconds, listen):
        super().__init__(daemon=True)
        self.role, self.seconds = role, seconds
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind((listen, 0))
        self.lsock.listen(1)
        self.lsock.settimeout(120)
        self.port = self.lsock.getsockname()[1]
        self.bytes, self.secs, self.error = 0, None, None

    def run(self):
        try:
            conn, _ = self.lsock.accept()
            conn.settimeout(self.seconds * 4 + 60)
            t0 = time.monotonic()
            if self.role == "source":
                chunk = bytes(range(256)) * 256
                end = t0 + self.seconds
                while time.monotonic() < end:
                    conn.sendall(chunk)
                    self.bytes += len(chunk)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(65536):
                    pass
            else:
                while True:
                    b = conn.recv(262144)
                    if not b:
                        break
                    self.bytes += len(b)
                conn.shutdown(socket.SHUT_WR)
            self.secs = time.monotonic() - t0
            conn.close()
        except OSError as e:
            self.error = e
        finally:
            self.lsock.close()


def script_net(s, args, res):
    seconds = args.seconds
    # A DHCP client the init may have started must not reconfigure eth0 under the benchmark.
    setup = ("{ killall udhcpc 2>/dev/null; true; } && "
             f"ip link set eth0 up && {{ ip addr add {args.guest_ip} dev eth0 2>/dev/null; true; }}"
             f" && {{ ip route add default via {args.peer} 2>/dev/null; true; }}")
    timed_run(s, setup, "network setup", 60)
    # guest->host: the guest sends (host sink); host->guest: the guest receives (host source).
    for key, guest_dir, role in (("tx", "send", "sink"), ("rx", "recv", "source")):
        peer = Peer(role, seconds, args.listen)
        peer.start()
        cmd = f"netbench {guest_dir} {args.peer} {peer.port}"
        if guest_dir == "send":
            cmd += f" {seconds}"
        out, _ = timed_run(s, cmd, f"netbench {guest_dir}", seconds * 4 + 120)
        peer.join(60)
        if peer.error or peer.secs is None:
            raise SystemExit(f"FAIL: host {role} for {cmd}: {peer.error or 'did not finish'}")
        f = tool_line(out, "NETBENCH", cmd)
        res[f"{key}_mibps"] = round(peer.bytes / peer.secs / 1048576, 2)
        res[f"{key}_mibps_guest"] = float(f["mibps"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", choices=["disk", "net"], required=True)
    ap.add_argument("--disk", action="append", default=[], metavar="NAME=DEV[:TEST,...]",
                    help="a disk to test, e.g. raw=vda, optionally only some tests (disk script)")
    ap.add_argument("--peer", default="10.0.2.2",
                    help="host address the guest connects to (net script; default: slirp's gateway)")
    ap.add_argument("--listen", default="127.0.0.1", help="host address the peer listens on")
    ap.add_argument("--guest-ip", default="10.0.2.15/24", help="the guest's eth0 address")
    ap.add_argument("--seconds", type=int, default=4, help="seconds per test")
    ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for the shell")
    ap.add_argument("--log", help="write the console transcript here (default: stderr)")
    ap.add_argument("vmm", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    argv = vmm_argv(ap, args)
    disks = []
    for d in args.disk:
        name, _, rest = d.partition("=")
        dev, _, only = rest.partition(":")
        only = [t for t in only.split(",") if t]
        if not name or not dev or any(t not in [k for k, _, _ in DISK_TESTS] for t in only):
            ap.error(f"bad --disk {d!r}: want NAME=DEV[:TEST,...], tests "
                     + ", ".join(k for k, _, _ in DISK_TESTS))
        disks.append((name, dev, only))
    if args.script == "disk" and not disks:
        ap.error("the disk script needs --disk NAME=DEV")
    log = open(args.log, "w") if args.log else sys.stderr
    s = Session(argv, args.timeout, log)
    res = {}
    try:
        wait_for_shell(s)
        res["shell"] = round(s.marks["shell"], 2)
        g0, h0 = guest_uptime(s)
        if args.script == "disk":
            script_disk(s, disks, args.seconds, res)
        else:
            script_net(s, args, res)
        g1, h1 = guest_uptime(s)
        res["clock"] = round((g1 - g0) / (h1 - h0), 3)
        status = s.poweroff()
    finally:
        s.kill_if_running()
    if status != 0:
        raise SystemExit(f"FAIL: the VMM exited with status {status} after poweroff, want 0")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
