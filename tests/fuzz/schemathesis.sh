#!/usr/bin/env bash
# API fuzz run: schemathesis generates requests from openapi.yaml against the real server
# (loopback, throwaway database) and fails on any 5xx. Bounded: fixed seed, 40 examples per
# operation.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${PROVISO_BIN:-.build/debug/proviso}
work=$(mktemp -d)
db="$work/proviso.sqlite"
"$BIN" members import examples/members.jsonl --database "$db" >/dev/null
"$BIN" settings import examples/choices.jsonl --database "$db" >/dev/null
"$BIN" orgs create northwind --name "Northwind Traders" --database "$db" >/dev/null
token=$("$BIN" tokens create --name fuzz --scope decisions:read members:admin policy:admin gate:run reports:read --database "$db" 2>/dev/null)
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --port "$port" --database "$db" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do
    .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/readyz', timeout=1)" 2>/dev/null && break
    kill -0 $pid 2>/dev/null || { cat "$work/serve.log"; exit 1; }
    sleep 0.05
done
.venv/bin/schemathesis run Sources/ProvisoAPI/openapi.yaml --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $token" --checks not_a_server_error --max-examples 40 --seed 20251103
