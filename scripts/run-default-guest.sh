#!/usr/bin/env bash
# `make run`: boots the default guest. Until the soft CPU boots the Debian Linux guest, this is
# the demo test guest (tests/guests/hello.c) on the best available accelerator: kvm when
# /dev/kvm answers, soft otherwise. Extra arguments go to `ember run`.
set -euo pipefail
BUILD=${1:-build}
shift || true
EMBER="$BUILD/ember"

pick_accel() {
    if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        echo kvm
    else
        echo soft
    fi
}

accel=$(pick_accel)
guest="$BUILD/tests/guests/hello.elf"
echo "ember: booting the demo test guest ($guest) on the $accel accelerator" >&2
exec "$EMBER" run --accel "$accel" --kernel "$guest" "$@"
