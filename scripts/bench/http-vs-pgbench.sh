#!/usr/bin/env bash
# Decisions over HTTP (wrk against `proviso serve`, loopback) beside `pgbench -S` (primary-key
# SELECTs on a throwaway local PostgreSQL), same machine, same run, same client concurrency.
#   scripts/bench/http-vs-pgbench.sh            # 100k members, 16 connections, 10 s each
set -euo pipefail
cd "$(dirname "$0")/../.."
MEMBERS=${MEMBERS:-100000}
CONNS=${CONNS:-16}
SECS=${SECS:-10}
BATCH=${BATCH:-1000}
for pkg in wrk postgresql; do dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }; done
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DATA=bench-data/http-$MEMBERS
[ -s "$DATA/members.jsonl" ] || python3 scripts/bench/gen_data.py "$DATA" --members "$MEMBERS" --requests 1
swift build -c release --product proviso >&2
P="$(swift build -c release --show-bin-path)/proviso"
W=$(mktemp -d); chmod 755 "$W"
cleanup() {
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    [ -d "$W/pg" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -m fast stop >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT

"$P" members import "$DATA/members.jsonl" --database "$W/p.sqlite" >&2
"$P" settings import "$DATA/choices.jsonl" --database "$W/p.sqlite" >&2
TOKEN=$("$P" tokens create --name bench --scope decisions:read --database "$W/p.sqlite" 2>/dev/null)
PORT=18080
"$P" serve --port $PORT --database "$W/p.sqlite" >"$W/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 200); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/readyz')" 2>/dev/null && break; sleep 0.05; done

cat > "$W/single.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local purposes = {"genai-training", "ads-offsite", "ads-retargeting", "ads-measurement", "affiliate-sharing"}
request = function()
  local body = string.format('{"member":"m%d","purpose":"%s","category":"profile"}', math.random(0, $MEMBERS - 1), purposes[math.random(1, 5)])
  return wrk.format(nil, "/v1/decisions", nil, body)
end
LUA
python3 - "$W/batch.json" "$MEMBERS" "$BATCH" <<'PY'
import json, random, sys
random.seed(7)
purposes = ["genai-training", "ads-offsite", "ads-retargeting", "ads-measurement", "affiliate-sharing"]
reqs = [{"member": "m%d" % random.randrange(int(sys.argv[2])), "purpose": random.choice(purposes), "category": "profile"} for _ in range(int(sys.argv[3]))]
open(sys.argv[1], "w").write(json.dumps({"requests": reqs}))
PY
cat > "$W/batch.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local f = io.open("$W/batch.json"); wrk.body = f:read("*a"); f:close()
LUA

echo "wrk: single decisions…" >&2
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$W/single.lua" "http://127.0.0.1:$PORT" > "$W/single.txt"
echo "wrk: batches of $BATCH…" >&2
wrk -t2 -c4 -d"${SECS}s" --latency -s "$W/batch.lua" "http://127.0.0.1:$PORT/v1/decisions/batch" > "$W/batch.txt"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

echo "pgbench -S on a throwaway PostgreSQL…" >&2
mkdir -p "$W/pg" "$W/sock"; chown postgres "$W/pg" "$W/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -o "-c listen_addresses=127.0.0.1 -p 15432 -k $W/sock" -w start >/dev/null
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p 15432 -U postgres -i -s 10 postgres >/dev/null 2>&1
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p 15432 -U postgres -S -c "$CONNS" -j 2 -T "$SECS" postgres > "$W/pgbench.txt" 2>/dev/null

python3 - "$W" "$BATCH" "$CONNS" <<'PY'
import re, sys
w, batch, conns = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def wrk(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p = dict(re.findall(r"\s(50|99)%\s+([\d.]+\w+)", t))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return rps, p.get("50"), p.get("99"), int(errors.group(1)) if errors else 0
s_rps, s50, s99, s_err = wrk(w + "/single.txt")
b_rps, b50, b99, b_err = wrk(w + "/batch.txt")
tps = float(re.search(r"tps = ([\d.]+)", open(w + "/pgbench.txt").read()).group(1))
if s_err or b_err:
    sys.exit(f"refusing to report: {s_err} single and {b_err} batch responses were not 2xx")
print(f"POST /v1/decisions: {s_rps:,.0f} requests/s, p50 {s50}, p99 {s99}, non-2xx {s_err} ({conns} connections)")
print(f"POST /v1/decisions/batch ({batch} per call): {b_rps * batch:,.0f} decisions/s ({b_rps:,.1f} calls/s), p50 {b50}, p99 {b99}, non-2xx {b_err}")
print(f"pgbench -S: {tps:,.0f} transactions/s ({conns} clients)")
print(f"single decisions / pgbench -S: {s_rps / tps:.2f}x (target >= 1x); batch: {b_rps * batch / 1e6:.2f}M decisions/s (target >= 1M)")
PY
