#!/usr/bin/env bash
# The dataset gate vs DuckDB doing the same join-and-filter to JSONL, with `grep -c` over the
# same file as the floor; one run, same machine, file in the page cache for all three.
#   scripts/bench/gate-vs-duckdb.sh                    # 1M members, 3M records (~650 MB)
#   MEMBERS=100000 RECORDS=300000 scripts/bench/gate-vs-duckdb.sh
# Checks that the gate's records.jsonl and DuckDB's output are identical, line for line.
# Each timed run starts after an untimed `sync`, so none pays for writing back another's output.
set -euo pipefail
cd "$(dirname "$0")/../.."
MEMBERS=${MEMBERS:-1000000}
RECORDS=${RECORDS:-3000000}
REPEATS=${REPEATS:-3}
AT=${AT:-2026-06-01T00:00:00Z}
DATA=${DATA:-bench-data/gate-$MEMBERS-$RECORDS}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import duckdb" 2>/dev/null || .venv/bin/pip install -q "duckdb==2.0.1"
[ -s "$DATA/records.jsonl" ] || python3 scripts/bench/gen_data.py "$DATA" --members "$MEMBERS" --requests 0 --records "$RECORDS"
swift build -c release --product proviso >&2
BIN="$(swift build -c release --show-bin-path)/proviso"
DB="$DATA/proviso.sqlite"
if [ ! -s "$DB" ]; then
  echo "loading $MEMBERS members and their choices into $DB…" >&2
  "$BIN" --database "$DB" members import "$DATA/members.jsonl" >&2
  "$BIN" --database "$DB" settings import "$DATA/choices.jsonl" >&2
fi
# Each script run registers its snapshots in a fresh copy of the loaded store, so that the
# registry does not grow from run to run (and with it the figures).
RUNDB="$DATA/run.sqlite"
rm -f "$RUNDB" "$RUNDB-wal" "$RUNDB-shm"
cp "$DB" "$RUNDB"
cat "$DATA/records.jsonl" > /dev/null   # page cache, for everyone
BYTES=$(stat -c %s "$DATA/records.jsonl")

best() { sort -g | head -1; }

echo "grep -c…" >&2
GREP=$(for _ in $(seq "$REPEATS"); do
  /usr/bin/time -f '%e' -o "$DATA/grep.time" grep -c member_id "$DATA/records.jsonl" > "$DATA/grep.out"; cat "$DATA/grep.time"  # not /dev/null: GNU grep stops at the first match then
done | best)

echo "duckdb…" >&2
DUCK=$(/usr/bin/time -f '%M' -o "$DATA/duck.maxrss" .venv/bin/python scripts/bench/gate_duckdb.py \
  "$DATA/members.jsonl" "$DATA/choices.jsonl" "$DATA/records.jsonl" "$DATA/duck.jsonl" "$AT" "$REPEATS")

echo "proviso gate run…" >&2
GATE=""
PASS=""
for i in $(seq "$REPEATS"); do
  rm -rf "$DATA/gate-out"
  sync   # untimed: no dirty pages left from the run before (DuckDB's runs get the same)
  /usr/bin/time -f '%e %M' -o "$DATA/gate.time" "$BIN" --database "$RUNDB" gate run --purpose genai-training --at "$AT" \
    --input "$DATA/records.jsonl" --out "$DATA/gate-out" --name "bench-$i" > "$DATA/gate.log"
  GATE="$GATE$(cat "$DATA/gate.time")"$'\n'
  PASS="$PASS$(awk '/^pass /{print $2}' "$DATA/gate.log")"$'\n'
done
GATE_S=$(echo "$GATE" | awk 'NF{print $1}' | best)
GATE_RSS=$(echo "$GATE" | awk 'NF{print $2}' | sort -g | tail -1)
PASS_S=$(echo "$PASS" | awk 'NF' | best)
cat "$DATA/gate.log" >&2

if cmp -s "$DATA/gate-out/records.jsonl" "$DATA/duck.jsonl"; then SAME=yes; else SAME=no; fi
python3 - "$BYTES" "$GREP" "$DUCK" "$GATE_S" "$GATE_RSS" "$(cat "$DATA/duck.maxrss")" "$SAME" "$DATA" "$PASS_S" <<'PY'
import json, sys
size, grep, duck, gate, gate_rss, duck_rss, same, data, pass_s = sys.argv[1:10]
size, grep, gate, pass_s = int(size), float(grep), float(gate), float(pass_s)
duck = json.loads(duck)
m = json.load(open(data + "/gate-out/manifest.json"))
mb = size / 1e6
c = m["counts"]
print(f"input: {mb:,.0f} MB, {c['read']:,} records ({c['eligible']:,} eligible, {c['malformed']:,} malformed), "
      f"{m['members_count']:,} members included")
print(f"grep -c:        {grep:.2f} s  {mb / grep:,.0f} MB/s")
print(f"duckdb {duck['version']} ({duck['threads']} threads): {duck['seconds']:.2f} s  {mb / duck['seconds']:,.0f} MB/s  "
      f"{c['read'] / duck['seconds'] / 1e6:.2f}M records/s  max RSS {int(duck_rss) / 1024:,.0f} MiB")
print(f"proviso gate:   {gate:.2f} s  {mb / gate:,.0f} MB/s  {c['read'] / gate / 1e6:.2f}M records/s  "
      f"max RSS {int(gate_rss) / 1024:,.0f} MiB (whole command: state load, pass, member set, registration)")
print(f"  of which the streaming pass (read, decide, write, hash; what grows with the input): {pass_s:.2f} s  "
      f"{mb / pass_s:,.0f} MB/s  {c['read'] / pass_s / 1e6:.2f}M records/s")
print(f"gate vs duckdb: {duck['seconds'] / gate:.2f}x throughput, whole command (target >= 3x)")
print(f"gate vs grep -c: {gate / grep:.1f}x the time, whole command; {pass_s / grep:.1f}x, pass alone (target <= 3x)")
print(f"outputs identical line for line: {same} ({duck['eligible']:,} lines from duckdb)")
sys.exit(0 if same == "yes" else 1)
PY
