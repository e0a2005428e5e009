#!/usr/bin/env bash
# System test (suite 'slow'): boots the default Debian guest ROUNDS times on ACCEL, types a
# command into its serial shell, and checks that the shell answered and that `exit` powered the
# VM off through ACPI S5 (ember exits 0). Skips (77) when the guest has not been built
# (guest/build-default-guest.sh OUTDIR, with EMBER_GUEST_DIR=OUTDIR) or the accelerator is
# unavailable.
# Usage: linux_boot_system.sh EMBER ACCEL [ROUNDS]
set -u
EMBER=$1
ACCEL=$2
ROUNDS=${3:-1}
DIR=${EMBER_GUEST_DIR:-}
TIMEOUT=${EMBER_LINUX_BOOT_TIMEOUT:-600}

if [ -z "$DIR" ] || [ ! -f "$DIR/vmlinuz" ] || [ ! -f "$DIR/initramfs.cpio.gz" ]; then
    echo "skip: default guest not built (EMBER_GUEST_DIR=$DIR)"
    exit 77
fi
if [ "$ACCEL" = kvm ] && ! [ -r /dev/kvm -a -w /dev/kvm ]; then
    echo "skip: /dev/kvm not usable"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    fifo="$tmp/in.$round"
    out="$tmp/out.$round"
    mkfifo "$fifo"
    timeout "$TIMEOUT" "$EMBER" run --accel "$ACCEL" --memory 512M \
        --kernel "$DIR/vmlinuz" --initrd "$DIR/initramfs.cpio.gz" \
        --cmdline "console=ttyS0 panic=-1" <"$fifo" >"$out" 2>&1 &
    pid=$!
    exec 3>"$fifo"
    # Wait for the shell, then talk to it.
    for _ in $(seq 1 "$TIMEOUT"); do
        grep -q "starting a shell" "$out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    sleep 1
    echo 'echo "answer: $((6 * 7))"' >&3
    sleep 2
    echo 'exit' >&3
    wait "$pid"
    rc=$?
    exec 3>&-
    if ! grep -q "answer: 42" "$out" || [ "$rc" -ne 0 ]; then
        echo "round $round: FAILED (exit status $rc); console output:"
        tail -n 60 "$out"
        exit 1
    fi
    echo "round $round: booted, shell answered, powered off (exit 0)"
done
