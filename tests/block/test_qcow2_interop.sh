#!/bin/bash
# Interoperability with Debian's qemu-img (the yardstick): images made by qemu-img are read by
# ember byte for byte; images written by ember pass `qemu-img check` and `qemu-img compare`;
# qemu-img reads ember's snapshots. Usage: test_qcow2_interop.sh EMBER
set -u
E=$(realpath "$1")
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || { echo "SKIP: no qemu-img"; exit 77; }
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
cd "$D"
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
ember() { "$E" img "$@"; }

# Reads IMG with ember (convert to raw) and compares with qemu-img's raw conversion.
same_as_qemu() {
  local img=$1
  qemu-img convert -O raw "$img" "$img.qref" && ember convert -O raw "$img" "$img.eout" >/dev/null &&
    cmp -s "$img.qref" "$img.eout"
}

populate() { # IMAGE: data, a zero cluster, unaligned writes
  qemu-io -c "write -P 0x11 0 1M" -c "write -P 0x22 3M 100k" -c "write -z 5M 1M" \
          -c "write -P 0x33 7777 5000" -c "write -P 0x44 15M 1M" "$1" >/dev/null
}

# 1. qemu-img images at several cluster sizes, versions and refcount widths.
for o in cluster_size=512 cluster_size=4k cluster_size=64k cluster_size=2M compat=0.10 \
         refcount_bits=1 refcount_bits=64 extended_l2=on,cluster_size=64k; do
  f="q-${o//[=,]/_}.qcow2"
  qemu-img create -q -f qcow2 -o "$o" "$f" 16M && populate "$f"
  if same_as_qemu "$f"; then ok "qemu image $o read byte for byte"; else bad "qemu image $o"; fi
done

# 2. Compressed clusters (zlib and zstd).
qemu-img create -q -f qcow2 src.qcow2 16M && populate src.qcow2
qemu-img convert -c -O qcow2 src.qcow2 zlib.qcow2
qemu-img convert -c -O qcow2 -o compression_type=zstd src.qcow2 zstd.qcow2
for f in zlib zstd; do
  if same_as_qemu $f.qcow2; then ok "$f compressed clusters"; else bad "$f compressed"; fi
done

# 3. Backing chain: raw base <- qcow2 <- qcow2 (4k clusters).
head -c 16M /dev/urandom >base.raw
qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2
qemu-io -c "write -P 0x55 1M 2M" -c "write -z 4M 64k" mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 -o cluster_size=4k top.qcow2
qemu-io -c "write -P 0x66 1500k 10k" -c "write -P 0x77 15M 1M" top.qcow2 >/dev/null
if same_as_qemu top.qcow2; then ok "backing chain"; else bad "backing chain"; fi

# 4. Internal snapshots made by qemu-img: active layer and applied snapshot.
cp src.qcow2 sn.qcow2
qemu-img snapshot -c s1 sn.qcow2
qemu-io -c "write -P 0x88 0 2M" sn.qcow2 >/dev/null
if same_as_qemu sn.qcow2; then ok "active layer over a snapshot"; else bad "snapshot active"; fi
cp sn.qcow2 snq.qcow2; cp sn.qcow2 sne.qcow2
qemu-img snapshot -a s1 snq.qcow2
ember snapshot -a s1 sne.qcow2
if qemu-img compare -q snq.qcow2 sne.qcow2 && qemu-img check -q sne.qcow2; then
  ok "ember applies a qemu snapshot"; else bad "apply qemu snapshot"; fi

# 5. Images written by ember: create, convert, snapshots, resize, commit.
ember create -o cluster_size=4k e.qcow2 16M >/dev/null
ember convert -O qcow2 -o cluster_size=64k zlib.qcow2 e2.qcow2 >/dev/null
if qemu-img check -q e2.qcow2 && qemu-img compare -q src.qcow2 e2.qcow2; then
  ok "ember convert qcow2 -> qcow2 passes check and compare"; else bad "ember convert"; fi
ember convert -O qcow2 -o compat=0.10 top.qcow2 e3.qcow2 >/dev/null
if qemu-img check -q e3.qcow2 && qemu-img compare -q top.qcow2 e3.qcow2; then
  ok "ember convert of a chain into a v2 image"; else bad "ember v2 convert"; fi
ember convert -O raw e2.qcow2 e2.raw >/dev/null
if cmp -s e2.raw src.qcow2.qref 2>/dev/null || qemu-img compare -q -f raw -F qcow2 e2.raw src.qcow2; then
  ok "ember convert qcow2 -> raw"; else bad "convert to raw"; fi
ember snapshot -c first e2.qcow2 && ember snapshot -c second e2.qcow2
if qemu-img snapshot -l e2.qcow2 | grep -q second && qemu-img info e2.qcow2 | grep -q first &&
   qemu-img check -q e2.qcow2; then ok "qemu-img lists ember snapshots"; else bad "ember snapshots"; fi
ember snapshot -d first e2.qcow2
if qemu-img check -q e2.qcow2 && ! qemu-img snapshot -l e2.qcow2 | grep -q first; then
  ok "ember deletes a snapshot"; else bad "snapshot delete"; fi
ember resize e2.qcow2 +1G >/dev/null
if qemu-img check -q e2.qcow2 && qemu-img info e2.qcow2 | grep -q "1.02 GiB"; then
  ok "ember resize"; else bad "resize"; fi
cp base.raw cbase.raw
ember create -b cbase.raw -F raw over.qcow2 >/dev/null
qemu-io -c "write -P 0x99 64k 1M" -c "write -z 2M 128k" over.qcow2 >/dev/null
qemu-img convert -O raw over.qcow2 over.ref
ember commit over.qcow2 >/dev/null
if cmp -s over.ref cbase.raw && qemu-img check -q over.qcow2 && qemu-img compare -q over.qcow2 cbase.raw; then
  ok "ember commit"; else bad "commit"; fi
if qemu-img info over.qcow2 | grep -q "backing file format: raw"; then
  ok "backing format recorded"; else bad "backing format"; fi

# 6. ember img check agrees with qemu-img on a leaky image, and repairs it.
qemu-img create -q -f qcow2 leak.qcow2 1M
qemu-io -c "write 0 64k" leak.qcow2 >/dev/null
python3 - leak.qcow2 <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b'); h = f.read(104)
rt = struct.unpack('>Q', h[48:56])[0]
f.seek(rt); rb = struct.unpack('>Q', f.read(8))[0]
f.truncate(8 * 65536)
f.seek(rb + 2 * 7); f.write(struct.pack('>H', 1))   # cluster 7: refcount 1, unused
PY
ember check leak.qcow2 >/dev/null 2>&1; rc=$?
qemu-img check leak.qcow2 >/dev/null 2>&1; qrc=$?
if [ $rc -eq 3 ] && [ $qrc -eq 3 ]; then ok "check reports the leak (exit 3)"; else bad "leak check rc=$rc qemu=$qrc"; fi
ember check -r leaks leak.qcow2 >/dev/null 2>&1
if qemu-img check -q leak.qcow2; then ok "check -r leaks repairs"; else bad "leak repair"; fi

# 7. info JSON and help.
if ember info --output=json zstd.qcow2 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["format-specific"]["data"]["compression-type"]=="zstd"; assert d["virtual-size"]==16777216'; then
  ok "info --output=json"; else bad "info json"; fi
if ember --help | grep -q commit && ember convert --help | grep -q progress; then ok "help"; else bad "help"; fi
if ember create x.qcow2 2>/dev/null; then bad "create without size accepted"; else ok "usage error"; fi
if ember info nonexistent.qcow2 2>&1 | grep -q "No such file"; then ok "clear open error"; else bad "open error"; fi

echo "$fails failure(s)"
[ $fails -eq 0 ]
