#!/usr/bin/env bash
# Every QuMRI test, in the order a failure is cheapest to find: types, kernel build,
# unit tests (vitest), the Python pipeline (pytest), then real-browser e2e (Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE

npm run typecheck
npm run build:kernel
npm run test:unit
npm run test:py
npm run test:e2e
