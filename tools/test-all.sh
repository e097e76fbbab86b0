#!/usr/bin/env bash
# Every QuMRI test, in the order a failure is cheapest to find: formatting (Prettier, Black), types,
# kernel build, unit tests (vitest), the Python pipeline (pytest), then real-browser e2e (Chromium).
# Each stage runs even when an earlier one failed, so one red stage never hides another; the last
# line sums up.
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE

stage() {  # stage <name> <command…>: runs it, records "name ok|FAILED"
  local name=$1; shift
  echo "== $name: $*"
  if "$@"; then results+=("$name ok"); else results+=("$name FAILED"); failed=1; fi
}
results=(); failed=0

stage format npm run format:check
if npm run typecheck && npm run build:kernel; then
  stage unit npm run test:unit
else
  results+=("unit FAILED (type check or kernel build)"); failed=1
fi
stage python npm run test:py
stage e2e npm run test:e2e

summary=$(IFS=,; echo "${results[*]}")
echo "== tests: ${summary//,/, }"
exit $failed
