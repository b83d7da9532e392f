#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: SQLite headers for GRDB; Chromium and its driver for the browser test;
# PostgreSQL for the store conformance suite against a real server; OpenSSL to check that an
# evidence archive verifies without Proviso.
need=()
for pkg in libsqlite3-dev chromium chromium-driver postgresql openssl; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PyPI packages for the browser test and the API fuzz run go into .venv.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r scripts/test-requirements.txt

# A throwaway PostgreSQL cluster on loopback for this run, stopped whatever happens.
eval "$(scripts/pg-cluster.sh start)"
trap 'scripts/pg-cluster.sh stop "$PROVISO_PG_DIR"' EXIT
# A second one that a live test stops and starts again under a running server (outage test).
eval "$(scripts/pg-cluster.sh start OUTAGE)"
trap 'scripts/pg-cluster.sh stop "$PROVISO_PG_DIR"; scripts/pg-cluster.sh stop "$PROVISO_OUTAGE_PG_DIR"' EXIT

# One build with testability serves both the tests and the binary the live tests run.
swift build --build-tests
swift test --skip-build
# The suites that run on a store (server, gate, reports: on memory above) again on SQLite and on
# PostgreSQL, a fresh database for each test; one test at a time on PostgreSQL, whose CREATE
# DATABASE is serialised. Store conformance, CLI and multi-instance tests run on both above.
store_suites="ProvisoServerTests|ProvisoGateTests|ProvisoReportsTests"
PROVISO_TEST_STORE=sqlite swift test --skip-build --filter "$store_suites"
PROVISO_TEST_STORE=postgres swift test --skip-build --no-parallel --filter "$store_suites"
# API fuzzing from openapi.yaml against the real server: no 5xx allowed.
tests/fuzz/schemathesis.sh
# A real browser on the real pages, against the binary built above.
.venv/bin/python -m pytest -q tests/browser
