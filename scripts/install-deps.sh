#!/usr/bin/env bash
# Installs what LockValidator needs beyond the Swift toolchain: libunwind's headers (libunwind-dev).
set -euo pipefail

if [ -f /usr/include/libunwind.h ] || [ -f "/usr/include/$(uname -m)-linux-gnu/libunwind.h" ]; then
    exit 0
fi
echo "install-deps: libunwind-dev is missing; installing it with apt-get" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq libunwind-dev >/dev/null
