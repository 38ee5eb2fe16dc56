#!/usr/bin/env bash
# Runs the addon's entry points (scripts/valgrind/workload.js: send, sendToFd, the syscall
# queue, the CRC32C functions) under valgrind memcheck and fails on any invalid read or write,
# use of uninitialised memory, or definite leak. Needs root (loopback btrfs), valgrind
# (scripts/setup.sh installs it), `npm run build` and `npm run build:gyp`. VALGRIND_ROUNDS sets
# how many rounds of each the workload does (default 3: a short run, minutes under valgrind).
# scripts/valgrind/node.supp holds the only suppressions: Node's and V8's own, never the addon's.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/btrfs-stream-valgrind.XXXXXX)
export VALGRIND_ROUNDS=${VALGRIND_ROUNDS:-3}
status=0
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --track-origins=no --error-exitcode=99 --suppressions=scripts/valgrind/node.supp --log-file="$log" \
  node --expose-gc scripts/valgrind/workload.js || status=$?
grep -E "ERROR SUMMARY|definitely lost|Invalid (read|write)|uninitialised" "$log" | sed 's/^==[0-9]*== //' | sort | uniq -c || true
if [ "$status" -ne 0 ]; then
  echo "valgrind: failed (exit $status); full log in $log" >&2
  exit 1
fi
rm -f "$log"
echo "valgrind: no invalid reads or writes, no definite leaks"
