#!/usr/bin/env bash
# System test of ember's command line: help and version, and every bad input exits non-zero
# with one clear message naming the problem. Usage: test_cli_errors.sh EMBER
# (the checks fail before any guest boots, so any readable file serves as --kernel)
set -u
EMBER=$1
GUEST=$0
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME STATUS PATTERN -- CMD...: runs CMD, checks its exit status and that stderr+stdout
# match PATTERN (an extended regex).
expect() {
    local name=$1 want=$2 pattern=$3
    shift 4
    local out status
    out=$("$@" 2>&1 < /dev/null)
    status=$?
    if [ "$status" -eq "$want" ] && grep -Eq -- "$pattern" <<< "$out"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $name: status $status (want $want), output:"
        echo "$out" | sed 's/^/    /'
    fi
}

expect "no command" 2 "Usage: ember COMMAND" -- "$EMBER"
expect "--help" 0 "Commands:" -- "$EMBER" --help
expect "--version" 0 "^ember [0-9]+\.[0-9]+\.[0-9]+" -- "$EMBER" --version
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$EMBER" frobnicate
expect "run --help" 0 "--kernel FILE" -- "$EMBER" run --help
expect "run without kernel" 2 "--kernel FILE is required" -- "$EMBER" run
expect "missing kernel file" 1 "--kernel $tmp/nope: No such file or directory" -- \
    "$EMBER" run --kernel "$tmp/nope"
expect "kernel is a directory" 1 "not a regular file" -- "$EMBER" run --kernel "$tmp"
expect "missing initrd file" 1 "--initrd $tmp/nope: No such file" -- \
    "$EMBER" run --kernel "$GUEST" --initrd "$tmp/nope"
expect "unknown flag" 2 "unknown option '--frobnicate'" -- "$EMBER" run --frobnicate
expect "flag without value" 2 "option '--memory' needs a value" -- "$EMBER" run --memory
expect "bad memory size" 2 "--memory lots: not a size" -- \
    "$EMBER" run --kernel "$GUEST" --memory lots
expect "memory too small" 2 "--memory 1: must be between 2 MiB and 1 TiB" -- \
    "$EMBER" run --kernel "$GUEST" --memory 1
expect "memory too large" 2 "must be between 2 MiB and 1 TiB" -- \
    "$EMBER" run --kernel "$GUEST" --memory 2000G
expect "memory not page sized" 2 "multiple of 4 KiB" -- \
    "$EMBER" run --kernel "$GUEST" --memory 4097K
expect "zero cpus" 2 "--cpus 0: must be a number from 1 to" -- \
    "$EMBER" run --kernel "$GUEST" --cpus 0
expect "too many cpus" 2 "--cpus 65: must be a number from 1 to 64" -- \
    "$EMBER" run --kernel "$GUEST" --cpus 65
expect "cpus not a number" 2 "--cpus two" -- "$EMBER" run --kernel "$GUEST" --cpus two
expect "unknown accelerator" 2 "--accel warp: unknown accelerator" -- \
    "$EMBER" run --kernel "$GUEST" --accel warp
expect "stray argument" 2 "unexpected argument 'extra'" -- \
    "$EMBER" run --kernel "$GUEST" extra
expect "empty profile name" 2 "--profile needs a file name" -- \
    "$EMBER" run --kernel "$GUEST" --profile ""
expect "bad console" 1 "console 'serial0' is not one of" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --console serial0
expect "console file in missing dir" 1 "console file $tmp/no/such: No such file" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --console "file:$tmp/no/such"
expect "disk file missing" 1 "--disk $tmp/nope.raw: .*No such file or directory" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --disk "path=$tmp/nope.raw"
expect "disk without path" 1 "--disk: path=FILE is required" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --disk readonly=on
expect "disk unknown option" 1 "--disk: unknown option 'bogus'" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --disk "path=$GUEST,bogus=1"
expect "disk unknown format" 1 "format=vmdk: expected raw or qcow2" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --disk "path=$GUEST,format=vmdk"
expect "two consoles on stdin" 2 "--virtio-console stdio needs --console other than stdio" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --virtio-console stdio
expect "bad net spec" 1 "--net" -- "$EMBER" run --kernel "$GUEST" --accel kvm --net bogus
expect "bad virtio console" 1 "virtio-console: bad options 'bogus'" -- \
    "$EMBER" run --kernel "$GUEST" --accel kvm --virtio-console bogus
printf '\177ELF\002\001\001\000' > "$tmp/truncated.elf"
expect "truncated ELF kernel" 1 "$tmp/truncated.elf" -- \
    "$EMBER" run --kernel "$tmp/truncated.elf" --accel kvm

# /dev/kvm missing: hide /dev in a private mount namespace (needs root; skipped otherwise).
if unshare -m true 2> /dev/null; then
    expect "kvm unavailable" 1 "kvm accelerator is unavailable: .*/dev/kvm" -- \
        unshare -m bash -c 'mount -t tmpfs tmpfs /dev && exec "$0" run --accel kvm --kernel "$1"' \
        "$EMBER" "$GUEST"
else
    echo "skipped: kvm unavailable (cannot create a mount namespace)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
