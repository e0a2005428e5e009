#!/bin/bash
# System test: boots the "virtio" test guest with a virtio-blk disk (and the always-present
# virtio-rng) on ACCEL, then checks the guest's verdict and what it wrote to the disk file.
# With FORMAT qcow2 the disk is a qcow2 image (made by `ember img convert`, its format probed
# from the header) and is checked with qemu-img afterwards.
# Usage: run_virtio_guest.sh EMBER ACCEL GUEST_ELF [raw|qcow2]. Exits 77 if the accelerator is
# unusable.
set -u
ember=$1 accel=$2 image=$3 format=${4:-raw}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
disk=$dir/disk.img
head -c 8192 /dev/zero >"$disk"
printf 'EMBER-DISK-SECTOR0' | dd of="$disk" conv=notrunc status=none
diskopt="path=$disk,id=guestdisk,format=raw"
if [ "$format" = qcow2 ]; then
    "$ember" img convert -f raw -O qcow2 "$disk" "$dir/disk.qcow2" || exit 1
    diskopt="path=$dir/disk.qcow2,id=guestdisk"
fi

timeout 60 "$ember" run --accel "$accel" --kernel "$image" --console stdio \
    --disk "$diskopt" </dev/null >"$dir/out" 2>&1
status=$?
if [ "$format" = qcow2 ]; then
    if ! qemu-img check -q "$dir/disk.qcow2"; then
        echo "FAIL: qemu-img check found problems in the image the guest wrote"
        exit 1
    fi
    qemu-img convert -f qcow2 -O raw "$dir/disk.qcow2" "$disk" || exit 1
fi
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
