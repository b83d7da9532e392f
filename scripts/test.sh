#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the build and tests need (GRDB links the system SQLite).
need=()
for pkg in libsqlite3-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PyPI packages the tests need go into .venv (none yet for the consent core).
if [ -s scripts/test-requirements.txt ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q -r scripts/test-requirements.txt
fi

swift build --product proviso
swift test
