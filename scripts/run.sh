#!/usr/bin/env bash
# The run command (README): builds proviso and serves the demo platform on the embedded
# SQLite default (./proviso.sqlite). Open the printed address and sign in as a demo member.
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg -s libsqlite3-dev >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev >/dev/null; }
swift build -c release --product proviso >&2
exec "$(swift build -c release --show-bin-path)/proviso" serve --demo "$@"
