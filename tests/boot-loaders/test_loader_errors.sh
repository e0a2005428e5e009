#!/bin/bash
# System test: `ember run` refuses broken kernel images with a message naming the problem and a
# non-zero status, and never crashes or hangs. Usage: test_loader_errors.sh EMBER GOOD_ELF
set -u
ember=$1 good=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

# expect NAME IMAGE TEXT: ember must fail on IMAGE and print TEXT.
expect() {
    local name=$1 image=$2 text=$3
    timeout 30 "$ember" run --accel kvm --kernel "$image" </dev/null >"$dir/out" 2>&1
    local status=$?
    if grep -q -e "accelerator is unavailable" "$dir/out"; then
        echo "SKIP: kvm unavailable"
        exit 77
    fi
    if [ "$status" -eq 0 ] || [ "$status" -ge 124 ]; then
        echo "FAIL $name: status $status"
        fail=1
    elif ! grep -qF -- "$text" "$dir/out"; then
        echo "FAIL $name: message lacks \"$text\":"
        cat "$dir/out"
        fail=1
    else
        echo "ok $name: $(grep -F -- "$text" "$dir/out" | head -1)"
    fi
}

# patch FILE OFFSET HEXBYTES: overwrite bytes in place.
patch() {
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

: >"$dir/empty"
expect empty "$dir/empty" "empty"

cp "$good" "$dir/machine"
patch "$dir/machine" 18 '\x03\x00' # e_machine = EM_386
expect machine "$dir/machine" "EM_X86_64"

cp "$good" "$dir/class"
patch "$dir/class" 4 '\x01' # ELFCLASS32
expect class "$dir/class" "ELFCLASS64"

cp "$good" "$dir/phoff"
patch "$dir/phoff" 32 '\xff\xff\xff\x7f' # e_phoff far past the end
expect phoff "$dir/phoff" "extend past"

head -c 100 "$good" >"$dir/truncated"
expect truncated "$dir/truncated" "extend past"

cp "$good" "$dir/entry"
patch "$dir/entry" 24 '\x00\x00\x00\x40' # e_entry outside every segment
expect entry "$dir/entry" "entry point"

expect missing "$dir/does-not-exist" "does-not-exist"
exit $fail
