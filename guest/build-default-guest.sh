#!/usr/bin/env bash
# Builds ember's default guest into OUTDIR (cached; rebuilt only when the Debian kernel package
# or these scripts change): Debian's linux-image-cloud-amd64 kernel fetched with
# `apt-get download` (never installed on the host), unpacked with dpkg-deb, and an initramfs
# with busybox-static, a small /init and the kernel's virtio modules.
# Usage: guest/build-default-guest.sh OUTDIR      -> OUTDIR/vmlinuz, OUTDIR/initramfs.cpio.gz
set -euo pipefail

OUT=${1:?usage: build-default-guest.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
META=linux-image-cloud-amd64
MODULES=(virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_blk virtio_net net_failover
         failover virtio_console virtio-rng)
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { echo "build-default-guest: $*" >&2; exit 1; }

command -v apt-cache >/dev/null || die "apt-cache not found (a Debian host is needed)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
command -v depmod >/dev/null || die "depmod not found (install kmod)"
command -v python3 >/dev/null || die "python3 not found"
command -v gcc >/dev/null || die "gcc not found (it builds the guest tools)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (install busybox-static)"

# The metapackage depends on the real, versioned image package.
PKG=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$PKG" ] || die "cannot resolve $META to a kernel package (apt-get update needed?)"
VERSION=$(apt-cache policy "$PKG" | awk '/Candidate:/ {print $2}')
KREL=${PKG#linux-image-}

STAMP="$PKG $VERSION $(cat "$HERE/init" "$HERE/mkinitramfs.py" "$0" "$HERE"/tools/*.c | sha256sum | cut -c1-16)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] &&
   [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.cpio.gz" ]; then
    exit 0
fi

echo "build-default-guest: building the default guest ($PKG $VERSION) in $OUT" >&2
mkdir -p "$OUT/deb"
rm -rf "$OUT/root"
DEB=$(ls "$OUT/deb/${PKG}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$DEB" ]; then
    (cd "$OUT/deb" && apt-get download "$PKG" >&2) || die "apt-get download $PKG failed"
    DEB=$(ls "$OUT/deb/${PKG}_"*.deb | head -n1)
fi
dpkg-deb -x "$DEB" "$OUT/root" || die "dpkg-deb -x $DEB failed"
# Debian generates modules.dep at install time; do it for the unpacked tree.
depmod -b "$OUT/root" "$KREL" || die "depmod failed"

cp "$OUT/root/boot/vmlinuz-$KREL" "$OUT/vmlinuz.tmp"
# Guest-side benchmark tools (guest/tools/*.c, used by bench/): static binaries in /bin.
TOOLS=()
mkdir -p "$OUT/tools"
for src in "$HERE"/tools/*.c; do
    bin="$OUT/tools/$(basename "$src" .c)"
    gcc -static -O2 -std=gnu17 -Wall -Wextra -Werror -o "$bin" "$src" || die "cannot build $src"
    TOOLS+=(--bin "$bin")
done
python3 "$HERE/mkinitramfs.py" "${TOOLS[@]}" "$OUT/initramfs.cpio.gz" "$BUSYBOX" "$HERE/init" \
    "$OUT/root/lib/modules/$KREL" "${MODULES[@]}"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
rm -rf "$OUT/root"
echo "$STAMP" > "$OUT/stamp"
echo "build-default-guest: $OUT/vmlinuz and $OUT/initramfs.cpio.gz ready" >&2
