#!/usr/bin/env bash
# Installs Debian's `chromium` package for the browser tests (test/support/browser.ts
# launches /usr/bin/chromium through playwright-core). Idempotent: does nothing when
# /usr/bin/chromium is already there, and runs `apt-get update` only when the
# package lists are missing or apt cannot find the package.
#
#   scripts/install-chromium.sh
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "[install-chromium] $(/usr/bin/chromium --version 2>/dev/null || echo chromium) is already installed"
  exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "[install-chromium] needs root or sudo to run apt-get" >&2; exit 1; }
  as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
  "${as_root[@]}" apt-get update
fi
"${as_root[@]}" apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
