#!/usr/bin/env bash
# Runs the LockValidator demo on a fresh machine: installs libunwind-dev when missing, builds, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift run Demo
