#!/usr/bin/env bash
# Installs everything QuMRI's tests need on a fresh Debian 12 machine with Node 20:
# Debian packages (Chromium for e2e, PyTorch & co. for the training pipeline) and npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(chromium python3-torch python3-torchvision python3-onnx python3-nibabel python3-scipy
      python3-sklearn python3-optuna python3-matplotlib python3-pytest mricron-data black)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
# onnxruntime-node's installer would try to download CUDA libraries (QuMRI uses its CPU build only, and
# there is no network for that). The variable, not an .npmrc key: npm warns about unknown .npmrc keys
# on every `npx qumri`.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
