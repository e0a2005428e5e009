#!/usr/bin/env bash
# Installs the Debian packages ember needs to build, test and benchmark, only those that are absent.
# Non-interactive; safe to run repeatedly. Used by `make run`, `make test` and CI.
set -euo pipefail

PACKAGES=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev clang-format
  libzydis-dev liburing-dev libseccomp-dev libslirp-dev libglib2.0-dev libjansson-dev
  libmicrohttpd-dev zlib1g-dev libzstd-dev libcmocka-dev
  qemu-utils qemu-system-x86 busybox-static cpio xz-utils zstd kmod python3 acpica-tools
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "ember: installing missing packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
