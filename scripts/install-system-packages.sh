#!/usr/bin/env bash
# Installs the Debian packages the tests need and the machine may lack:
#   chromium   the browser tests (test/support/browser.ts launches /usr/bin/chromium)
#   iproute2   the sandbox's network namespaces and veth pairs (`ip`)
#   nftables   kube-proxy's nftables mode in the sandbox (`nft`)
#   openssl    the sandbox's certificates
# Idempotent: installs only what is missing, and runs `apt-get update` only
# when the package lists are missing or apt cannot find a package.
#
#   scripts/install-system-packages.sh
set -euo pipefail

declare -A wanted=([chromium]=/usr/bin/chromium [iproute2]=ip [nftables]=nft [openssl]=openssl)
missing=()
for package in "${!wanted[@]}"; do
  command -v "${wanted[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "[install-system-packages] all present: ${!wanted[*]}"
  exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "[install-system-packages] needs root or sudo to install ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
for package in "${missing[@]}"; do
  if ! apt-cache show "$package" >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update
    break
  fi
done
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
echo "[install-system-packages] installed ${missing[*]}"
