#!/usr/bin/env bash
# One-time setup on a fresh Debian machine: system packages, npm packages, contracts, guest programs,
# the WebAssembly kernels and the native Merkle hasher.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v clang >/dev/null || need_apt+=(clang)
command -v cc >/dev/null || need_apt+=(gcc)
command -v ld.lld >/dev/null || need_apt+=(lld)
command -v qemu-riscv32 >/dev/null || need_apt+=(qemu-user)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

echo "setup: npm install"
npm install --no-fund --no-audit

npm run build:contracts
if [ -f scripts/build-guest.ts ]; then npm run build:guest; fi
npm run build:wasm
npm run build:native
echo "setup: done"
