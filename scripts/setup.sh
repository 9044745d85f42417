#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine (as root) to build, run and test bpf-recipes:
# system packages from apt, JS packages from npm, tracefs mounted, everything built.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t PACKAGES < <(grep -Ev '^\s*(#|$)' scripts/packages.txt)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing
fi

if ! command -v node >/dev/null; then
  echo "setup: Node.js 20 or newer is needed (apt-get install nodejs npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund
npm run build
# the VM lane's kernel (Debian 12's current one): fetched and unpacked once, under ~/.cache
node scripts/vm/run.mjs --fetch >/dev/null
