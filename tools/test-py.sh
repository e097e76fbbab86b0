#!/usr/bin/env bash
# The Python side (training pipeline, synthetic cohorts) with Debian's interpreter and apt packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
exec /usr/bin/python3 -m pytest -q training/tests synth/tests experiments/tests
