#!/bin/bash
# Crash test: a writer is SIGKILLed at random moments, ROUNDS times; after each kill
# `qemu-img check` must find no corruption (leaks allowed) and every write acknowledged after
# a flush must be intact. Usage: test_qcow2_crash.sh EMBER CRASHTOOL ROUNDS
# c.qcow2 has 4 KiB clusters (every write allocates whole clusters); o.qcow2 is an overlay with
# 64 KiB clusters on a 4 MiB raw base, so the 4 KiB writes are partial-cluster copy-on-writes
# from the backing file (and, past the base's end, from zeroes).
set -u
IMG_TOOL=$(realpath "$1") TOOL=$(realpath "$2") ROUNDS=${3:-30}
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img not installed"; exit 77; }
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
"$IMG_TOOL" img create -o cluster_size=4k "$D/c.qcow2" 8M >/dev/null || exit 1
qemu-img create -q -f raw "$D/base.raw" 4M
qemu-io -f raw -c "write -P 0x5a 0 4M" "$D/base.raw" >/dev/null
"$IMG_TOOL" img create -o cluster_size=64k -b base.raw -F raw "$D/o.qcow2" 8M >/dev/null || exit 1
for img in c o; do
  if [ $img = o ]; then cp "$D/base.raw" "$D/base-$img"; truncate -s 8M "$D/base-$img"; fi
  worked=0 # rounds whose writer completed a flush (under load a writer may die at startup)
  for r in $(seq 1 "$ROUNDS"); do
    rm -f "$D/log" # each round's writer starts from no log (records also carry the seed)
    "$TOOL" write "$D/$img.qcow2" $r "$D/log" 2>"$D/err" &
    pid=$!
    sleep 0.$((RANDOM % 25 + 2))
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    if [ -s "$D/err" ]; then echo "round $r: writer failed:"; cat "$D/err"; exit 1; fi
    qemu-img check "$D/$img.qcow2" >"$D/check" 2>&1; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then echo "round $r ($img): qemu-img check rc=$rc"; cat "$D/check"; exit 1; fi
    "$TOOL" verify "$D/$img.qcow2" $r "$D/log" "$D/base-$img" >"$D/v" 2>&1 || { echo "round $r ($img):"; cat "$D/v"; exit 1; }
    grep -q ' 0 ops flushed' "$D/v" || worked=$((worked + 1))
    if [ $r -eq 1 ]; then
      # A round whose writer is killed before it replaces the log leaves the image untouched
      # and the previous round's log in place: that log must not count for the new round.
      "$TOOL" verify "$D/$img.qcow2" 0 "$D/log" "$D/base-$img" >"$D/v0" 2>&1 ||
        { echo "stale log ($img): taken for another round's flushes:"; cat "$D/v0"; exit 1; }
    fi
    if [ $((r % 10)) -eq 0 ]; then
      "$IMG_TOOL" img check -r leaks "$D/$img.qcow2" >/dev/null 2>&1
      qemu-img check "$D/$img.qcow2" >"$D/check" 2>&1 || { echo "after repair:"; cat "$D/check"; exit 1; }
    fi
  done
  [ $worked -gt 0 ] || { echo "$img: no writer completed a flush in $ROUNDS rounds"; exit 1; }
  echo "$img: $ROUNDS kills survived, $worked after flushes; last: $(cat "$D/v")"
done
