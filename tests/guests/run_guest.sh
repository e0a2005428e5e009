#!/bin/bash
# System test: boots one test guest with `ember run --accel ACCEL --kernel IMAGE [extra args]`
# and checks ember's exit status and the guest's console output.
# Usage: run_guest.sh EMBER ACCEL IMAGE EXPECTED_STATUS EXPECTED_TEXT [FORBIDDEN_TEXT|-] [ARGS...]
# Exits 77 (skipped) when the accelerator is unavailable on this host.
set -u
ember=$1 accel=$2 image=$3 want_status=$4 want_text=$5
forbidden=${6:--}
shift 5
[ $# -gt 0 ] && shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT

timeout 60 "$ember" run --accel "$accel" --kernel "$image" --console stdio "$@" </dev/null >"$out" 2>&1
status=$?

if grep -q -e "accelerator is unavailable" -e "unknown accelerator" "$out"; then
    echo "SKIP: accelerator $accel is not usable here:"
    cat "$out"
    exit 77
fi
fail=0
if [ "$status" -eq 124 ]; then
    echo "FAIL: ember did not finish within 60 s (guest hung?)"
    fail=1
elif [ "$status" -ne "$want_status" ]; then
    echo "FAIL: ember exited with $status, expected $want_status"
    fail=1
fi
if ! grep -qF -- "$want_text" "$out"; then
    echo "FAIL: output lacks \"$want_text\""
    fail=1
fi
if [ "$forbidden" != "-" ] && grep -qF -- "$forbidden" "$out"; then
    echo "FAIL: output contains \"$forbidden\""
    fail=1
fi
echo "--- output of $(basename "$image") on $accel (status $status):"
cat "$out"
exit $fail
