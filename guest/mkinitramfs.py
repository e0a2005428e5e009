#!/usr/bin/env python3
"""Builds ember's default-guest initramfs: a gzip-compressed cpio (newc) archive with a static
busybox, its applet links, /init, /dev/console and /dev/ttyS0 nodes (written directly into the
archive, so no root privileges are needed) and the requested kernel modules plus everything they
depend on (per modules.dep), with a load-order file for /init.

Usage: mkinitramfs.py [--bin PROGRAM]... OUT.cpio.gz BUSYBOX INIT MODULES_DIR MODULE...
  --bin adds a (static) program as /bin/<its file name>.
"""
import gzip
import os
import stat
import subprocess
import sys


class Cpio:
    """Writer for the "newc" format (see the kernel's Documentation/driver-api/early-userspace/
    buffer-format.rst)."""

    def __init__(self, out):
        self.out = out
        self.ino = 1
        self.names = set()

    def _pad(self, n):
        if n % 4:
            self.out.write(b"\0" * (4 - n % 4))

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        if name in self.names:
            return
        self.names.add(name)
        nameb = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nameb), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out.write(hdr + nameb)
        self._pad(len(hdr) + len(nameb))
        self.out.write(data)
        self._pad(len(data))

    def dir(self, name):
        self.entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, perm=0o644):
        self.entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name, target):
        self.entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self.entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def trailer(self):
        self.entry("TRAILER!!!", 0)


def module_deps(modules_dir):
    deps = {}
    with open(os.path.join(modules_dir, "modules.dep")) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod.strip()] = rest.split()
    return deps


def resolve(wanted, deps):
    """Paths of the wanted modules and their dependencies, dependencies first."""
    by_name = {}
    for path in deps:
        base = os.path.basename(path).split(".ko")[0]
        by_name[base] = path
        by_name[base.replace("-", "_")] = path
    order, seen = [], set()

    def visit(path, chain):
        if path in seen:
            return
        if path in chain:
            raise SystemExit("mkinitramfs: dependency cycle at " + path)
        for d in deps.get(path, []):
            visit(d, chain | {path})
        seen.add(path)
        order.append(path)

    for name in wanted:
        path = by_name.get(name) or by_name.get(name.replace("-", "_"))
        if path is None:
            raise SystemExit("mkinitramfs: module %s not found in modules.dep" % name)
        visit(path, frozenset())
    return order


def applets(busybox):
    out = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True).stdout
    return [a for a in out.split() if a and "/" not in a]


def main(argv):
    extra_bins = []
    while len(argv) >= 2 and argv[0] == "--bin":
        extra_bins.append(argv[1])
        argv = argv[2:]
    if len(argv) < 5:
        raise SystemExit(__doc__)
    out_path, busybox, init, modules_dir, wanted = argv[0], argv[1], argv[2], argv[3], argv[4:]
    order = resolve(wanted, module_deps(modules_dir))
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
            c = Cpio(gz)
            for d in ["bin", "sbin", "dev", "proc", "sys", "tmp", "run", "root", "etc",
                      "lib", "lib/modules"]:
                c.dir(d)
            c.chardev("dev/console", 5, 1)
            c.chardev("dev/ttyS0", 4, 64)
            c.chardev("dev/null", 1, 3, 0o666)
            with open(busybox, "rb") as f:
                c.file("bin/busybox", f.read(), 0o755)
            for a in applets(busybox):
                if a != "busybox":
                    c.symlink("bin/" + a, "busybox")
            for path in extra_bins:
                with open(path, "rb") as f:
                    c.file("bin/" + os.path.basename(path), f.read(), 0o755)
            with open(init, "rb") as f:
                c.file("init", f.read(), 0o755)
            c.file("etc/profile", b"export PATH=/bin:/sbin\nexport PS1='ember# '\n")
            names = []
            for path in order:
                name = os.path.basename(path)
                with open(os.path.join(modules_dir, path), "rb") as f:
                    c.file("lib/modules/" + name, f.read())
                names.append(name)
            c.file("lib/modules/load-order", ("\n".join(names) + "\n").encode())
            c.trailer()
    os.replace(tmp, out_path)
    print("mkinitramfs: %s: busybox, %d modules (%s)" % (out_path, len(names), " ".join(names)))


if __name__ == "__main__":
    main(sys.argv[1:])
