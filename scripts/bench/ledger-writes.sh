#!/usr/bin/env bash
# Durable ledger writes, one choice per transaction, acknowledged (`proviso settings stream`),
# on SQLite and on PostgreSQL, beside pgbench inserting rows of the same shape and size, one per
# transaction, into the same PostgreSQL server in the same run.
#   scripts/bench/ledger-writes.sh            # WRITES=20000
set -euo pipefail
cd "$(dirname "$0")/../.."
WRITES=${WRITES:-20000}
DATA=${DATA:-bench-data/ledger-writes}
mkdir -p "$DATA"
swift build -c release --product proviso >&2
BIN="$(swift build -c release --show-bin-path)/proviso"
eval "$(scripts/pg-cluster.sh start)"
trap 'scripts/pg-cluster.sh stop "$PROVISO_PG_DIR"' EXIT
python3 - "$DATA" "$WRITES" <<'PY'
import json, sys, random
d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
with open(d + "/members.jsonl", "w") as f:
    for k in range(1000):
        f.write(json.dumps({"id": "m%d" % k, "country": r.choice(["DE", "US", "GB"]), "birth_date": "1980-01-01"}) + "\n")
with open(d + "/choices.jsonl", "w") as f:
    for k in range(n):
        f.write(json.dumps({"member": "m%d" % r.randrange(1000), "setting": r.choice(["genai-improvement", "ads-off-platform"]),
                            "value": r.choice(["on", "off"]), "at": "2026-01-01T00:00:00Z", "channel": "web"}) + "\n")
PY
rate() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$1" "$2"; }
run_stream() {  # $1 database
  "$BIN" --database "$1" members import "$DATA/members.jsonl" >/dev/null
  local start end
  start=$(date +%s.%N)
  "$BIN" --database "$1" settings stream < "$DATA/choices.jsonl" > "$DATA/acks.txt"
  end=$(date +%s.%N)
  [ "$(grep -c '^ok ' "$DATA/acks.txt")" -eq "$WRITES" ] || { echo "not every write was acknowledged" >&2; exit 1; }
  python3 -c "print($end - $start)"
}
rm -f "$DATA/ledger.sqlite"*
SQLITE_S=$(run_stream "$DATA/ledger.sqlite")
psql -q "$PROVISO_TEST_POSTGRES_URL" -c "CREATE DATABASE bench"
PG_URL="${PROVISO_TEST_POSTGRES_URL%/postgres}/bench"
PG_S=$(run_stream "$PG_URL")
# The anchor: the same row shape (13 columns, two 32-byte hashes, a JSON payload), one insert
# per transaction, synchronous commit as for Proviso.
psql -q "$PG_URL" -c "CREATE TABLE anchor (seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, member_id TEXT, setting TEXT, value BOOLEAN,
  effective_at BIGINT, recorded_at BIGINT NOT NULL, channel TEXT, actor TEXT NOT NULL, policy_version TEXT, payload TEXT,
  prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL)"
cat > "$DATA/anchor.sql" <<'SQL'
\set m random(0, 999)
INSERT INTO anchor (kind, member_id, setting, value, effective_at, recorded_at, channel, actor, policy_version, payload, prev_hash, hash)
VALUES ('setting-changed', 'm' || :m, 'genai-improvement', (:m % 2 = 0), 1767225600000000, 1767225600000000, 'web', 'cli:bench',
        'seed-2025-11-03', NULL, sha256(('p' || :m)::bytea), sha256(('h' || :m)::bytea));
SQL
PGB=$(pgbench -n -c 1 -t "$WRITES" -f "$DATA/anchor.sql" "$PG_URL" 2>/dev/null | awk '/^tps/ {print $3; exit}')
python3 - "$WRITES" "$SQLITE_S" "$PG_S" "$PGB" <<'PY'
import sys
n, s, p, anchor = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"{n:,} choices, each its own durable transaction, acknowledged one by one (settings stream)")
print(f"proviso on SQLite (WAL, synchronous=FULL):  {n / s:,.0f} writes/s")
print(f"proviso on PostgreSQL (same server):        {n / p:,.0f} writes/s")
print(f"pgbench, one INSERT of the same row shape per transaction: {anchor:,.0f} tps")
print(f"PostgreSQL ratio: {n / p / anchor:.2f}x pgbench (target >= 0.5x)")
PY
