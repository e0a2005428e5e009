#!/usr/bin/env bash
# System test: boots the default Debian guest on ember ROUNDS times and drives its console with
# console_session.py (SCRIPT 'check': uname, cpuinfo, sha256 against the host, poweroff;
# 'poweroff': boot to the shell and power off). Every round must reach the shell and power off
# with exit status 0 — a hang fails the round by timeout.
#   run_linux_test.sh EMBER ACCEL GUEST_DIR SCRIPT ROUNDS [TIMEOUT_S]
set -u
EMBER=$1 ACCEL=$2 GUEST=$3 SCRIPT=$4 ROUNDS=$5 TIMEOUT=${6:-900}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$GUEST/vmlinuz" ] || [ ! -f "$GUEST/initramfs.cpio.gz" ]; then
    echo "skipped: no default guest in $GUEST (make test builds it: guest/build-default-guest.sh)"
    exit 77
fi
pass=0 fail=0
for i in $(seq 1 "$ROUNDS"); do
    log=$(mktemp)
    if python3 "$HERE/console_session.py" --timeout "$TIMEOUT" --script "$SCRIPT" --log "$log" -- \
        "$EMBER" run --accel "$ACCEL" --memory 512M --kernel "$GUEST/vmlinuz" \
        --initrd "$GUEST/initramfs.cpio.gz" --cmdline "console=ttyS0 panic=-1 quiet"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "round $i failed; last console lines:"
        tail -25 "$log" | sed 's/^/    /'
    fi
    rm -f "$log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
