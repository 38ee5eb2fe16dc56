#!/usr/bin/env bash
# Prepares a fresh machine (Debian/Ubuntu, as root) for the demo and the tests: the system
# packages the tests call, then npm ci (which loads a prebuilt addon or compiles one) and the
# TypeScript build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2 (ip netns, tc, ss) and openssh make the two-host tests; bsdutils gives script(1),
# which gives the CLI tests a terminal; tar lists snapshots for the ls -l test;
# valgrind checks the addon (scripts/valgrind.sh).
packages=(btrfs-progs attr acl libcap2-bin util-linux kmod iproute2 openssh-server openssh-client bsdutils tar valgrind)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: please install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
modprobe btrfs 2>/dev/null || true

npm ci --no-audit --no-fund
npm run build
