#!/usr/bin/env bash
# The run command (README): builds proviso, loads the example members and choices into the
# embedded SQLite default (./proviso.sqlite) and walks through the consent core.
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg -s libsqlite3-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libsqlite3-dev >/dev/null; }
swift build -c release --product proviso >&2
P="$(swift build -c release --show-bin-path)/proviso"
export PROVISO_DATABASE="${PROVISO_DATABASE:-./proviso.sqlite}"
show() { printf '\n$ proviso %s\n' "$*"; "$P" "$@"; }
show members import examples/members.jsonl
show settings import examples/choices.jsonl
show decide --member 1001 --purpose genai-training --category post --visibility public
show decide --member 1001 --purpose genai-training --category post --visibility public --at 2025-10-01T00:00:00Z
show decide --member 1003 --purpose genai-training --category post --visibility public
show decide --member 1008 --purpose genai-training --category profile
show decide --member 1007 --purpose affiliate-sharing --category activity
show decide --member 1006 --purpose genai-training --category message
show settings show 1007
show ledger verify
printf '\nDatabase: %s. Try: %s --help\n' "$PROVISO_DATABASE" "$P"
