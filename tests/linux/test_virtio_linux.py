#!/usr/bin/env python3
"""System test: the virtio devices seen from the default Debian guest on the soft accelerator,
in two boots driven through the serial console (console_session.Session).

Boot 1 (user networking, hostfwd, hvc0 on a pty):
  block    make an ext2 file system on a qcow2 disk (vda), write files, sync; write random
           data at an offset of a raw disk (vdb) and read it back past the page cache; a
           read-only raw disk (vdc) reads back the host's data, is read-only in the guest
           and a write to it fails
  network  the init's DHCP client configured eth0 (10.0.2.15, router, DNS) whose MTU is
           user networking's 65520 (VIRTIO_NET_F_MTU); wget an 8 MiB file from an HTTP server
           this test runs on host loopback; the host fetches files (one of 8 MiB) from busybox
           httpd in the guest through hostfwd and pushes 8 MiB into nc in the guest through
           another hostfwd rule; all compared by sha256
  console  data both ways through hvc0 (virtio-console on a pty), compared by sha256
  entropy  /dev/hwrng is virtio_rng and yields incompressible, non-repeating data
Host, after boot 1: qemu-img check of the qcow2, the files read with debugfs from a raw
conversion (same sha256 as in the guest), e2fsck clean, the raw disk's bytes at the offset,
the read-only image unchanged.
Boot 2 (in a network namespace made by this test, virtio-net on a tap with mtu=9000 in it,
when root and /dev/net/tun allow; otherwise without a NIC and the tap checks are reported as
skipped): the files and the raw disk's data read back with the same sha256; eth0 and the tap
have MTU 9000; guest and namespace ping each other over the tap, also with 8000-byte pings;
4 MiB each way over TCP (the host's segmentation and receive offloads) with the same sha256.
Every check compares real values; prints 'N passed, M failed, K skipped'.

  test_virtio_linux.py EMBER GUEST_DIR [--timeout S] [--keep DIR]
"""
import argparse
import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_session import Session, wait_for_shell  # noqa: E402

MiB = 1 << 20
FS_SIZE = 64 * MiB         # vda: qcow2, ext2 made in the guest
DATA_SIZE = 16 * MiB       # vdb: raw, data written at DATA_OFFSET
DATA_OFFSET = 2 * MiB
DATA_LEN = 256 * 1024
RO_SIZE = 1 * MiB          # vdc: raw, read-only, random data from the host
DOWNLOAD_LEN = 8 * MiB     # host -> guest over slirp (wget)
SERVE_LEN = 8 * MiB        # guest -> host over hostfwd (httpd)
PUSH_LEN = 8 * MiB         # host -> guest over hostfwd (nc in the guest)
TAP_LEN = 4 * MiB          # each way over the tap
TAP_MTU = 9000
HVC_LEN = 32 * 1024        # each way through hvc0
GUEST_HTTP_PORT = 8080
GUEST_NC_PORT = 8081
TAP_HOST_IP, TAP_GUEST_IP = "192.168.77.1", "192.168.77.2"
SHA_RX = re.compile(r"\b([0-9a-f]{64})\b")


class Checks:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.t0 = time.monotonic()

    def check(self, name, ok, detail=""):
        t = f"[{time.monotonic() - self.t0:4.0f}s]"
        if ok:
            self.passed += 1
            print(f"ok: {name} {t}")
        else:
            self.failed += 1
            print(f"FAIL: {name} {t}" + (f": {detail}" if detail else ""))
        sys.stdout.flush()
        return ok

    def skip(self, name, why):
        self.skipped += 1
        print(f"skipped: {name}: {why}")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path, offset=0, length=None):
    with open(path, "rb") as f:
        f.seek(offset)
        return sha256(f.read() if length is None else f.read(length))


def hashes(text):
    """{path: sha256} from sha256sum output (other lines ignored)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]{64})\s+(\S+)\s*$", line.strip())
        if m:
            out[m.group(2)] = m.group(1)
    return out


def tail_log(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            text = f.read().splitlines()[-lines:]
    except OSError:
        return
    print(f"last console lines of {os.path.basename(path)}:")
    for line in text:
        print("    " + line)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_host(argv, **kw):
    return subprocess.run(argv, capture_output=True, **kw)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, fmt, *args):
        QuietHandler.requests.append(self.path)


def start_http_server(root):
    handler = lambda *a, **kw: QuietHandler(*a, directory=root, **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class PtyReader:
    """Reads the host end of hvc0 (the pty slave ember names) into a buffer on a thread."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)  # no echo, no newline translation: the bytes as they are
        self.buf = bytearray()
        self.lock = threading.Condition()
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            with self.lock:
                if not chunk:
                    self.closed = True
                    self.lock.notify_all()
                    return
                self.buf += chunk
                self.lock.notify_all()

    def wait_for(self, pred, timeout):
        """Waits until pred(buf) is true; returns the buffer's bytes, or None on timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not pred(self.buf):
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.lock.wait(left)
            return bytes(self.buf)

    def take(self, n):
        with self.lock:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data

    def write(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self):
        os.close(self.fd)


class Test:
    def __init__(self, args):
        self.args = args
        self.c = Checks()
        self.dir = args.keep or tempfile.mkdtemp(prefix="ember-vlinux-")
        os.makedirs(self.dir, exist_ok=True)
        self.fs = os.path.join(self.dir, "fs.qcow2")
        self.data = os.path.join(self.dir, "data.raw")
        self.ro = os.path.join(self.dir, "ro.raw")
        self.token = os.urandom(8).hex()
        self.file_hashes = {}  # guest path -> sha256 seen in boot 1
        self.data_hash = None
        self.netns = None

    def path(self, name):
        return os.path.join(self.dir, name)

    # ---- host-side preparation and inspection ----

    def make_images(self):
        r = run_host(["qemu-img", "create", "-q", "-f", "qcow2", self.fs, str(FS_SIZE)])
        if r.returncode != 0:
            raise SystemExit(f"FAIL: qemu-img create: {r.stderr.decode().strip()}")
        with open(self.data, "wb") as f:
            f.truncate(DATA_SIZE)
        with open(self.ro, "wb") as f:
            f.write(os.urandom(RO_SIZE))
        self.ro_hash = sha256_file(self.ro)
        www = self.path("www")
        os.makedirs(www, exist_ok=True)
        self.download = os.urandom(DOWNLOAD_LEN)
        with open(os.path.join(www, "blob.bin"), "wb") as f:
            f.write(self.download)

    def ember_argv(self, extra):
        g = self.args.guest
        return [self.args.ember, "run", "--accel", "soft", "--memory", "512M",
                "--kernel", os.path.join(g, "vmlinuz"),
                "--initrd", os.path.join(g, "initramfs.cpio.gz"),
                "--cmdline", "console=ttyS0 panic=-1 quiet",
                "--disk", f"path={self.fs}",
                "--disk", f"path={self.data},format=raw",
                "--disk", f"path={self.ro},readonly=on"] + extra

    def boot(self, name, extra, prefix=()):
        log = open(self.path(f"console-{name}.log"), "w")
        s = Session(list(prefix) + self.ember_argv(extra), self.args.timeout, log)
        s.logfile = log.name
        return s

    def poweroff(self, s, name):
        s.send("sync; poweroff -f")
        status = s.wait_exit(120)
        self.c.check(f"{name}: powers off with exit status 0", status == 0, f"status {status}")
        print(f"{name}: shell after {s.marks.get('shell', -1):.0f}s, exit after "
              f"{s.marks['exit']:.0f}s")

    def gsh(self, s, cmd, what):
        """Runs cmd in the guest; returns (output, status)."""
        return s.run(cmd, what)

    # ---- boot 1 ----

    def guest_disks(self, s):
        out, st = self.gsh(s, "for d in vda vdb vdc; do echo \"disk $d size=$(cat "
                           "/sys/block/$d/size) ro=$(cat /sys/block/$d/ro)\"; done", "disks")
        got = re.findall(r"disk (vd[a-c]) size=(\d+) ro=(\d)", out)
        want = [("vda", str(FS_SIZE // 512), "0"), ("vdb", str(DATA_SIZE // 512), "0"),
                ("vdc", str(RO_SIZE // 512), "1")]
        self.c.check("disks: vda/vdb/vdc sizes and read-only flags", got == want and st == 0,
                     f"got {got}, want {want}")

    def guest_filesystem(self, s):
        out, st = self.gsh(s, "mke2fs -q -L emberfs /dev/vda && mount -t ext2 /dev/vda /mnt "
                           "&& mount | grep -c '^/dev/vda on /mnt'", "mke2fs + mount")
        self.c.check("block: mke2fs and mount on the qcow2 disk", st == 0 and "1" in out, out)
        cmd = (f"mkdir /mnt/dir && echo hello-{self.token} > /mnt/hello.txt && "
               f"yes line-{self.token} | head -n 20000 > /mnt/dir/lines.txt && "
               "head -c 262144 /dev/urandom > /mnt/dir/random.bin && sync && "
               "sha256sum /mnt/hello.txt /mnt/dir/lines.txt /mnt/dir/random.bin")
        out, st = self.gsh(s, cmd, "write files")
        got = hashes(out)
        self.file_hashes = {k[len("/mnt"):]: v for k, v in got.items()}
        want_hello = sha256(f"hello-{self.token}\n".encode())
        want_lines = sha256(f"line-{self.token}\n".encode() * 20000)
        ok = (st == 0 and self.file_hashes.get("/hello.txt") == want_hello
              and self.file_hashes.get("/dir/lines.txt") == want_lines
              and "/dir/random.bin" in self.file_hashes)
        self.c.check("block: files written on ext2 with the expected sha256", ok,
                     f"status {st}, {self.file_hashes}")
        out, st = self.gsh(s, "umount /mnt && echo 3 > /proc/sys/vm/drop_caches && "
                           "mount -t ext2 -o ro /dev/vda /mnt && "
                           "sha256sum /mnt/hello.txt /mnt/dir/lines.txt /mnt/dir/random.bin && "
                           "umount /mnt", "reread files")
        again = {k[len("/mnt"):]: v for k, v in hashes(out).items()}
        self.c.check("block: files read back from the disk after remount, same sha256",
                     st == 0 and again == self.file_hashes and len(again) == 3,
                     f"status {st}, {again}")

    def guest_raw_disk(self, s):
        seek = DATA_OFFSET // 65536
        count = DATA_LEN // 65536
        out, st = self.gsh(s, f"head -c {DATA_LEN} /dev/urandom > /tmp/data.bin && "
                           "sha256sum /tmp/data.bin && "
                           f"dd if=/tmp/data.bin of=/dev/vdb bs=65536 seek={seek} conv=fsync "
                           "2>/dev/null && echo 3 > /proc/sys/vm/drop_caches && "
                           f"dd if=/dev/vdb bs=65536 skip={seek} count={count} 2>/dev/null "
                           "| sha256sum", "raw disk write")
        hs = SHA_RX.findall(out)
        self.data_hash = hs[0] if hs else None
        self.c.check("block: raw disk (vdb) reads back what was written at an offset",
                     st == 0 and len(hs) == 2 and hs[0] == hs[1], f"status {st}: {out!r}")

    def guest_readonly_disk(self, s):
        out, st = self.gsh(s, "sha256sum /dev/vdc", "read-only disk read")
        self.c.check("block: read-only disk (vdc) reads the host's data",
                     st == 0 and self.ro_hash in out, f"status {st}: {out.strip()!r}")
        out, st = self.gsh(s, "echo getro=$(blockdev --getro /dev/vdc)", "getro")
        self.c.check("block: the guest sees vdc read-only", st == 0 and "getro=1" in out, out)
        out, st = self.gsh(s, "dd if=/dev/zero of=/dev/vdc bs=4096 count=1 conv=fsync; "
                           "echo dd-status=$?", "write to read-only disk")
        m = re.search(r"dd-status=(\d+)", out)
        self.c.check("block: writing to vdc fails", m is not None and m.group(1) != "0"
                     and "Operation not permitted" in out, out.strip())
        # (Linux keeps a disk whose device offers VIRTIO_BLK_F_RO read-only even after
        # blockdev --setrw, so the device's own refusal is covered by tests/virtio's unit tests.)

    def guest_network(self, s, http_port, fwd_port, nc_port):
        out, st = self.gsh(s, "for i in $(seq 1 120); do ip -4 addr show dev eth0 | "
                           "grep -q 'inet ' && break; sleep 1; done; "
                           "ip -4 addr show dev eth0; ip route; cat /etc/resolv.conf; "
                           "echo mtu=$(cat /sys/class/net/eth0/mtu)",
                           "DHCP lease")
        self.c.check("net: the init's DHCP gave eth0 10.0.2.15/24",
                     "inet 10.0.2.15/24" in out, out)
        self.c.check("net: default route via 10.0.2.2 and DNS 10.0.2.3",
                     "default via 10.0.2.2" in out and "nameserver 10.0.2.3" in out, out)
        self.c.check("net: eth0 has user networking's MTU 65520", "mtu=65520" in out,
                     out.strip())
        QuietHandler.requests.clear()
        t = time.monotonic()
        out, st = self.gsh(s, f"wget -q -O /tmp/blob http://10.0.2.2:{http_port}/blob.bin && "
                           "sha256sum /tmp/blob && rm /tmp/blob", "wget")
        print(f"net: wget of {DOWNLOAD_LEN // MiB} MiB over slirp took "
              f"{time.monotonic() - t:.1f}s")
        self.c.check(f"net: wget of {DOWNLOAD_LEN // MiB} MiB from the host's HTTP server, "
                     "same sha256", st == 0 and sha256(self.download) in out,
                     f"status {st}: {out.strip()!r}, requests {QuietHandler.requests}")
        out, st = self.gsh(s, f"mkdir -p /www && echo served-{self.token} > /www/token.txt && "
                           f"head -c {SERVE_LEN} /dev/urandom > /www/big.bin && "
                           f"sha256sum /www/big.bin && httpd -p {GUEST_HTTP_PORT} -h /www",
                           "httpd")
        hs = SHA_RX.findall(out)
        try:
            base = f"http://127.0.0.1:{fwd_port}"
            with urllib.request.urlopen(base + "/token.txt", timeout=120) as r:
                token = r.read().decode()
            t = time.monotonic()
            with urllib.request.urlopen(base + "/big.bin", timeout=300) as r:
                big = r.read()
            print(f"net: fetch of {SERVE_LEN // MiB} MiB through hostfwd took "
                  f"{time.monotonic() - t:.1f}s")
            err = ""
        except OSError as e:
            token, big, err = "", b"", str(e)
        self.c.check("net: host fetches a file from the guest's httpd through hostfwd",
                     token == f"served-{self.token}\n", f"got {token!r} {err}")
        self.c.check(f"net: a {SERVE_LEN // MiB} MiB file through hostfwd has the guest's sha256",
                     st == 0 and len(hs) == 1 and sha256(big) == hs[0],
                     f"{len(big)} bytes, guest said {out.strip()!r} {err}")
        self.gsh(s, "www_pid=$(pidof httpd); kill $www_pid; rm -f /www/big.bin", "stop httpd")
        # host -> guest through hostfwd: nc in the guest hashes what arrives.
        push = os.urandom(PUSH_LEN)
        self.gsh(s, f"(nc -l -p {GUEST_NC_PORT} </dev/null | sha256sum > /tmp/push.sha) & "
                 "sleep 1", "nc listener")
        err = ""
        t = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", nc_port), timeout=300) as c:
                c.sendall(push)
        except OSError as e:
            err = str(e)
        out, st = self.gsh(s, "for i in $(seq 1 300); do [ -s /tmp/push.sha ] && break; "
                           "sleep 1; done; cat /tmp/push.sha", "pushed data")
        print(f"net: push of {PUSH_LEN // MiB} MiB through hostfwd took "
              f"{time.monotonic() - t:.1f}s")
        self.c.check(f"net: {PUSH_LEN // MiB} MiB pushed into the guest through hostfwd, same "
                     "sha256", st == 0 and sha256(push) in out, f"{out.strip()!r} {err}")

    def guest_hvc(self, s, pty):
        # host -> guest: the guest puts hvc0 in raw mode, says READY on it, then reads.
        data = os.urandom(HVC_LEN)
        self.gsh(s, "(stty raw -echo && printf @READY@ && head -c "
                 f"{HVC_LEN} > /tmp/hvc-in.bin) <>/dev/hvc0 >&0 & true", "hvc0 reader")
        ready = pty.wait_for(lambda b: b"@READY@" in b, 120)
        if not self.c.check("console: the guest opened hvc0 and wrote through it",
                            ready is not None, f"pty got {bytes(pty.buf[:80])!r}"):
            return
        pty.take(ready.index(b"@READY@") + len(b"@READY@"))
        pty.write(data)
        out, st = self.gsh(s, "for i in $(seq 1 120); do [ $(wc -c < /tmp/hvc-in.bin) "
                           f"-ge {HVC_LEN} ] && break; sleep 1; done; wait; "
                           "sha256sum /tmp/hvc-in.bin", "hvc0 input")
        self.c.check(f"console: {HVC_LEN} bytes host -> guest through hvc0, same sha256",
                     st == 0 and sha256(data) in out, out.strip())
        # guest -> host
        out, st = self.gsh(s, f"head -c {HVC_LEN} /dev/urandom > /tmp/hvc-out.bin && "
                           "sha256sum /tmp/hvc-out.bin && (stty raw -echo && "
                           "cat /tmp/hvc-out.bin) <>/dev/hvc0 >&0",
                           "hvc0 output")
        hs = SHA_RX.findall(out)
        got = pty.wait_for(lambda b: len(b) >= HVC_LEN, 120) or bytes(pty.buf)
        self.c.check(f"console: {HVC_LEN} bytes guest -> host through hvc0, same sha256",
                     st == 0 and len(hs) == 1 and sha256(got[:HVC_LEN]) == hs[0]
                     and len(got) == HVC_LEN, f"{len(got)} bytes; guest: {out.strip()!r}")

    def guest_rng(self, s):
        out, st = self.gsh(s, "cat /sys/class/misc/hw_random/rng_current; "
                           "head -c 4096 /dev/hwrng > /tmp/r1 && head -c 4096 /dev/hwrng > /tmp/r2"
                           " && echo size=$(wc -c < /tmp/r1) gz=$(gzip -c /tmp/r1 | wc -c) && "
                           "if cmp -s /tmp/r1 /tmp/r2; then echo same; else echo differ; fi",
                           "hwrng")
        self.c.check("entropy: /dev/hwrng is served by virtio_rng",
                     "virtio_rng" in out, out.strip())
        m = re.search(r"size=(\d+) gz=(\d+)", out)
        self.c.check("entropy: 4096 bytes from /dev/hwrng, incompressible, two reads differ",
                     st == 0 and m is not None and m.group(1) == "4096"
                     and int(m.group(2)) >= 4000 and "differ" in out, out.strip())

    def boot1(self):
        http = start_http_server(self.path("www"))
        http_port = http.server_address[1]
        fwd_port, nc_port = free_port(), free_port()
        s = self.boot("boot1", ["-v", "--net", f"user,hostfwd=tcp::{fwd_port}-:{GUEST_HTTP_PORT}"
                                f",hostfwd=tcp::{nc_port}-:{GUEST_NC_PORT}",
                                "--virtio-console", "pty"])
        pty = None
        try:
            m = s.expect(rb"hvc0 is on (/dev/pts/\d+)", "the hvc0 pty name", timeout=120)
            pty = PtyReader(m.group(1).decode())
            wait_for_shell(s)
            print(f"boot1: shell after {s.elapsed():.0f}s")
            self.guest_disks(s)
            self.guest_filesystem(s)
            self.guest_raw_disk(s)
            self.guest_readonly_disk(s)
            self.guest_network(s, http_port, fwd_port, nc_port)
            self.guest_hvc(s, pty)
            self.guest_rng(s)
            self.poweroff(s, "boot1")
        finally:
            s.kill_if_running()
            if pty:
                pty.close()
            http.shutdown()

    # ---- host checks between the boots ----

    def host_checks(self):
        r = run_host(["qemu-img", "check", self.fs])
        self.c.check("host: qemu-img check of the qcow2 disk finds no errors", r.returncode == 0,
                     (r.stdout + r.stderr).decode().strip())
        raw = self.path("fs.raw")
        r = run_host(["qemu-img", "convert", "-O", "raw", self.fs, raw])
        if not self.c.check("host: qemu-img converts the qcow2 disk to raw", r.returncode == 0,
                            r.stderr.decode().strip()):
            return
        r = run_host(["e2fsck", "-fn", raw])
        self.c.check("host: e2fsck finds the guest's ext2 clean", r.returncode == 0,
                     (r.stdout + r.stderr).decode().strip()[-600:])
        got = {}
        for p in ("/hello.txt", "/dir/lines.txt", "/dir/random.bin"):
            r = run_host(["debugfs", "-R", f"cat {p}", raw])
            got[p] = sha256(r.stdout) if r.returncode == 0 else f"debugfs failed: {r.stderr!r}"
        self.c.check("host: debugfs reads the guest's files with the guest's sha256",
                     got == self.file_hashes and len(got) == 3,
                     f"host {got}, guest {self.file_hashes}")
        self.c.check("host: the raw disk holds the guest's data at the offset",
                     self.data_hash is not None
                     and sha256_file(self.data, DATA_OFFSET, DATA_LEN) == self.data_hash,
                     f"guest {self.data_hash}")
        self.c.check("host: the read-only image is unchanged", sha256_file(self.ro) == self.ro_hash)

    # ---- boot 2 ----

    def tap_unavailable(self):
        if os.geteuid() != 0:
            return "not root (a network namespace and a tap need root)"
        if not os.path.exists("/dev/net/tun"):
            return "no /dev/net/tun"
        if shutil.which("ip") is None:
            return "no 'ip' command (iproute2)"
        if shutil.which("ping") is None and shutil.which("busybox") is None:
            return "neither ping nor busybox on the host"
        return None

    def make_netns(self):
        name = f"ember-vlinux-{os.getpid()}"
        cmds = [["ip", "netns", "add", name]]
        self.netns = name
        ns = ["ip", "netns", "exec", name]
        cmds += [ns + ["ip", "link", "set", "lo", "up"],
                 ns + ["ip", "tuntap", "add", "dev", "tapv0", "mode", "tap"],
                 ns + ["ip", "addr", "add", f"{TAP_HOST_IP}/24", "dev", "tapv0"],
                 ns + ["ip", "link", "set", "tapv0", "up"]]
        for c in cmds:
            r = run_host(c)
            if r.returncode != 0:
                return f"{' '.join(c)}: {r.stderr.decode().strip()}"
        return None

    def remove_netns(self):
        if self.netns:
            run_host(["ip", "netns", "delete", self.netns])
            self.netns = None

    def boot2(self):
        why = self.tap_unavailable()
        if why is None:
            why = self.make_netns()
            if why is not None:
                self.remove_netns()
        prefix, extra = (), []
        if why is None:
            prefix = ("ip", "netns", "exec", self.netns)
            extra = ["--net", f"tap=tapv0,mtu={TAP_MTU}"]
        s = self.boot("boot2", extra, prefix)
        try:
            wait_for_shell(s)
            print(f"boot2: shell after {s.elapsed():.0f}s")
            out, st = self.gsh(s, "mount -t ext2 /dev/vda /mnt && sha256sum /mnt/hello.txt "
                               "/mnt/dir/lines.txt /mnt/dir/random.bin && umount /mnt",
                               "read back files")
            again = {k[len("/mnt"):]: v for k, v in hashes(out).items()}
            self.c.check("block: after a reboot the files read back with the same sha256",
                         st == 0 and again == self.file_hashes and len(again) == 3,
                         f"status {st}, {again}, boot 1 {self.file_hashes}")
            seek, count = DATA_OFFSET // 65536, DATA_LEN // 65536
            out, st = self.gsh(s, f"dd if=/dev/vdb bs=65536 skip={seek} count={count} "
                               "2>/dev/null | sha256sum", "read back raw")
            self.c.check("block: after a reboot the raw disk's data reads back the same",
                         st == 0 and self.data_hash is not None and self.data_hash in out,
                         out.strip())
            if why is None:
                self.tap_ping(s)
                self.tap_tcp(s)
            else:
                self.c.skip("net: tap MTU, ping both ways and TCP both ways", why)
            self.poweroff(s, "boot2")
        finally:
            s.kill_if_running()

    def tap_ping(self, s):
        out, st = self.gsh(s, "killall udhcpc 2>/dev/null; ip -4 addr flush dev eth0; "
                           f"ip addr add {TAP_GUEST_IP}/24 dev eth0 && ip link set eth0 up && "
                           "echo mtu=$(cat /sys/class/net/eth0/mtu) && "
                           f"ping -c 3 -W 10 {TAP_HOST_IP} && "
                           f"ping -c 2 -W 10 -s 8000 {TAP_HOST_IP}", "ping over tap")
        self.c.check("net: the guest pings the namespace over tap (also 8000-byte pings)",
                     st == 0, out.strip())
        r = run_host(["ip", "netns", "exec", self.netns, "cat", "/sys/class/net/tapv0/mtu"])
        self.c.check(f"net: eth0 and the tap have mtu={TAP_MTU} (VIRTIO_NET_F_MTU, SIOCSIFMTU)",
                     f"mtu={TAP_MTU}" in out and r.stdout.decode().strip() == str(TAP_MTU),
                     f"guest {out.strip()!r}, tap {r.stdout.decode().strip()!r}")
        ping = [shutil.which("ping")] if shutil.which("ping") else ["busybox", "ping"]
        r = run_host(["ip", "netns", "exec", self.netns] + ping + ["-c", "3", "-W", "10",
                                                                  TAP_GUEST_IP], timeout=120)
        self.c.check("net: the namespace pings the guest over tap", r.returncode == 0,
                     (r.stdout + r.stderr).decode().strip())

    def tap_tcp(self, s):
        """TAP_LEN bytes each way over TCP on the tap: the host hands the guest unsegmented
        frames (GUEST_TSO, merged over receive buffers) and takes the guest's TSO frames."""
        www = self.path("tapwww")
        os.makedirs(www, exist_ok=True)
        blob = os.urandom(TAP_LEN)
        with open(os.path.join(www, "tap.bin"), "wb") as f:
            f.write(blob)
        port = free_port()
        ns = ["ip", "netns", "exec", self.netns]
        server = subprocess.Popen(ns + [sys.executable, "-m", "http.server", "--bind",
                                        TAP_HOST_IP, "--directory", www, str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            out, st = self.gsh(s, f"for i in $(seq 1 30); do wget -q -O /tmp/tap.bin "
                               f"http://{TAP_HOST_IP}:{port}/tap.bin && break; sleep 1; done; "
                               "sha256sum /tmp/tap.bin; rm -f /tmp/tap.bin", "wget over tap")
            self.c.check(f"net: wget of {TAP_LEN // MiB} MiB from the namespace over tap, same "
                         "sha256", sha256(blob) in out, out.strip())
        finally:
            server.kill()
            server.wait()
        out, st = self.gsh(s, f"mkdir -p /www && head -c {TAP_LEN} /dev/urandom > /www/t.bin && "
                           f"sha256sum /www/t.bin && httpd -p {GUEST_HTTP_PORT} -h /www",
                           "httpd on tap")
        hs = SHA_RX.findall(out)
        fetch = ("import hashlib, sys, urllib.request; "
                 "print(hashlib.sha256(urllib.request.urlopen(sys.argv[1], timeout=300)"
                 ".read()).hexdigest())")
        r = run_host(ns + [sys.executable, "-c", fetch,
                           f"http://{TAP_GUEST_IP}:{GUEST_HTTP_PORT}/t.bin"], timeout=600)
        got = r.stdout.decode().strip()
        self.c.check(f"net: the namespace fetches {TAP_LEN // MiB} MiB from the guest over tap, "
                     "same sha256", st == 0 and len(hs) == 1 and got == hs[0],
                     f"host {got!r} {r.stderr.decode().strip()[-300:]}, guest {out.strip()!r}")

    def run(self):
        t0 = time.monotonic()
        try:
            self.make_images()
            self.boot1()
            self.host_checks()
            self.boot2()
        except SystemExit as e:
            self.c.check("the test ran to the end", False, str(e))
        finally:
            self.remove_netns()
            if self.c.failed:
                for name in ("boot1", "boot2"):
                    tail_log(self.path(f"console-{name}.log"))
            if self.c.failed or self.args.keep:
                print(f"console logs and images kept in {self.dir}")
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        print(f"took {time.monotonic() - t0:.0f}s")
        print(f"{self.c.passed} passed, {self.c.failed} failed, {self.c.skipped} skipped")
        return 1 if self.c.failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ember")
    ap.add_argument("guest")
    ap.add_argument("--timeout", type=float, default=900, help="seconds to reach the shell")
    ap.add_argument("--keep", help="work in this directory and keep it")
    args = ap.parse_args()
    if not (os.path.isfile(os.path.join(args.guest, "vmlinuz"))
            and os.path.isfile(os.path.join(args.guest, "initramfs.cpio.gz"))):
        print(f"skipped: no default guest in {args.guest} (make test builds it: "
              "guest/build-default-guest.sh)")
        return 77
    for tool in ("qemu-img", "debugfs", "e2fsck"):
        if shutil.which(tool) is None:
            print(f"skipped: {tool} not found (scripts/install-deps.sh installs it)")
            return 77
    return Test(args).run()


if __name__ == "__main__":
    sys.exit(main())
