#!/bin/bash
# System test: boots the "virtio" test guest with a virtio-blk disk (and the always-present
# virtio-rng) on ACCEL, then checks the guest's verdict and what it wrote to the disk file.
# Usage: run_virtio_guest.sh EMBER ACCEL GUEST_ELF. Exits 77 if the accelerator is unusable.
set -u
ember=$1 accel=$2 image=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
disk=$dir/disk.img
head -c 8192 /dev/zero >"$disk"
printf 'EMBER-DISK-SECTOR0' | dd of="$disk" conv=notrunc status=none

timeout 60 "$ember" run --accel "$accel" --kernel "$image" --console stdio \
    --disk "path=$disk,id=guestdisk,format=raw" </dev/null >"$dir/out" 2>&1
status=$?
if grep -q -e "accelerator is unavailable" -e "unknown accelerator" "$dir/out"; then
    echo "SKIP: accelerator $accel is not usable here:"
    cat "$dir/out"
    exit 77
fi
cat "$dir/out"
fail=0
if [ "$status" -ne 0 ]; then
    echo "FAIL: ember exited with $status"
    fail=1
fi
if ! grep -q "virtio: PASS" "$dir/out"; then
    echo "FAIL: the guest did not report virtio: PASS"
    fail=1
fi
if [ "$(dd if="$disk" bs=512 skip=1 count=1 status=none | head -c 16)" != "WRITTEN-BY-GUEST" ]; then
    echo "FAIL: sector 1 of the disk does not hold what the guest wrote"
    fail=1
fi
exit $fail
