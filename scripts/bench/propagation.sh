#!/usr/bin/env bash
# Cross-instance propagation: two `proviso serve` instances on one PostgreSQL. A choice is
# changed through instance A (PUT, acknowledged once durable); instance B is asked for the
# decision in a tight loop until it reflects the change. Latency = from A's acknowledgement to
# B's first answer reflecting it. Run with LISTEN/NOTIFY (the default) and with --no-listen
# (reading the ledger every 0.25 s only), in one run.
#   scripts/bench/propagation.sh            # FLIPS=300
set -euo pipefail
cd "$(dirname "$0")/../.."
FLIPS=${FLIPS:-300}
DATA=${DATA:-bench-data/propagation}
mkdir -p "$DATA"
swift build -c release --product proviso >&2
BIN="$(swift build -c release --show-bin-path)/proviso"
eval "$(scripts/pg-cluster.sh start)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; scripts/pg-cluster.sh stop "$PROVISO_PG_DIR"; }
trap cleanup EXIT
URL="$PROVISO_TEST_POSTGRES_URL"
python3 - "$DATA" <<'PY'
import json, sys
with open(sys.argv[1] + "/members.jsonl", "w") as f:
    for k in range(100):
        f.write(json.dumps({"id": "m%d" % k, "country": "DE", "birth_date": "1980-01-01"}) + "\n")
PY
"$BIN" --database "$URL" members import "$DATA/members.jsonl" >/dev/null
TOKEN=$("$BIN" --database "$URL" tokens create --name bench --scope decisions:read members:admin 2>/dev/null)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
measure() {  # $1 label, $2 extra serve flag
    local pa pb
    pa=$(port); pb=$(port)
    "$BIN" --database "$URL" serve --port "$pa" $2 >"$DATA/a.log" 2>&1 & pids+=($!)
    "$BIN" --database "$URL" serve --port "$pb" $2 >"$DATA/b.log" 2>&1 & pids+=($!)
    python3 - "$1" "$pa" "$pb" "$TOKEN" "$FLIPS" <<'PY'
import http.client, json, sys, time
label, pa, pb, token, flips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
H = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
def conn(port):
    for _ in range(400):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/readyz"); r = c.getresponse(); r.read()
            if r.status == 200: return c
        except OSError: time.sleep(0.05)
    raise SystemExit("server did not start")
a, b = conn(pa), conn(pb)
def allowed(member):
    b.request("POST", "/v1/decisions", json.dumps({"member": member, "purpose": "genai-training", "category": "profile"}), H)
    r = b.getresponse(); return json.loads(r.read())["allowed"]
lat = []
for k in range(flips):
    member = "m%d" % (k % 100)
    want = allowed(member) is False   # flip: allowed now -> turn off, and back
    a.request("PUT", "/v1/members/%s/settings/genai-improvement" % member, json.dumps({"value": "on" if want else "off"}), H)
    r = a.getresponse(); r.read(); assert r.status == 200, r.status
    t0 = time.perf_counter()
    polls = 0
    while allowed(member) != want:
        polls += 1
        if time.perf_counter() - t0 > 5: raise SystemExit("not propagated within 5 s")
    lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{label}: {flips} changes, p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {lat[-1]:.1f} ms")
PY
    kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=()
}
measure "LISTEN/NOTIFY + 0.25 s reads" ""
measure "0.25 s reads only (--no-listen)" "--no-listen"
