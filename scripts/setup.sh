#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine (as root) to build, run and test bpf-recipes: system packages
# from apt (scripts/packages.txt, and Node.js with npm if missing), JS packages from npm, tracefs
# mounted, everything built. The first command of README.md's Quick start, and of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t PACKAGES < <(grep -Ev '^\s*(#|$)' scripts/packages.txt)
# the arm64 VM lane's kernel is an arm64 package: apt must know that architecture
update=
if [ "$(dpkg --print-architecture)" != arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  update=1
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm: the distribution's when missing (a Node.js installed otherwise is kept)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ] || [ -n "$update" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing
fi

npm ci --no-audit --no-fund
npm run build
# the oldest Node.js the packages support, from the npm registry: tests run the packaged tools on it
node scripts/node18.mjs >/dev/null
# the VM lanes' kernels (Debian 12's current one, amd64 and arm64), fetched and unpacked once under
# ~/.cache; for arm64 also its Debian root (mmdebstrap through qemu-user-static's binfmt handler,
# which run.mjs registers; ~2 minutes the first time on a quiet machine) with Node.js and npm for it
node scripts/vm/run.mjs --fetch >/dev/null
node scripts/vm/run.mjs --arch arm64 --fetch >/dev/null
