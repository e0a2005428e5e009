#!/usr/bin/env bash
# `make run`: builds (or reuses) the default guest — Debian's cloud kernel and a busybox
# initramfs, see guest/ — and boots it to a shell on the serial console. The accelerator is
# kvm when the host CPU has vmx/svm and /dev/kvm works, else ember's soft CPU (ember's own
# --accel auto rule). Ctrl-A x quits; `exit` in the shell powers the VM off.
# Extra arguments go to `ember run` (e.g. --disk path=disk.img, --net user).
set -euo pipefail
BUILD=${1:-build}
shift || true
EMBER="$BUILD/ember"
GUEST="$BUILD/guest"

bash "$(dirname "$0")/../guest/build-default-guest.sh" "$GUEST"
exec "$EMBER" run --accel auto --memory 1G --kernel "$GUEST/vmlinuz" \
    --initrd "$GUEST/initramfs.cpio.gz" --cmdline "console=ttyS0 panic=-1 quiet" "$@"
