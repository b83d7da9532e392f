#!/usr/bin/env bash
# `proviso members import` and `settings import` into PostgreSQL (COPY inside one transaction,
# with the hash chain computed per event) vs psql's \copy loading exactly the resulting rows
# into the same schema on the same server, in one run.
#   scripts/bench/import-postgres.sh          # N = 1,000,000 members
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
DATA=${DATA:-bench-data/import-postgres-$N}
[ -s "$DATA/choices.jsonl" ] || python3 scripts/bench/gen_data.py "$DATA" --members "$N" --requests 1 >&2
swift build -c release --product proviso >&2
P="$(swift build -c release --show-bin-path)/proviso"
eval "$(scripts/pg-cluster.sh start)"
trap 'scripts/pg-cluster.sh stop "$PROVISO_PG_DIR"' EXIT
BASE="${PROVISO_TEST_POSTGRES_URL%/postgres}"
psql -q "$PROVISO_TEST_POSTGRES_URL" -c "CREATE DATABASE ours" -c "CREATE DATABASE anchor"
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); python3 -c "print(f'{$e - $s:.2f}')"; }
M=$(secs "$P" --database "$BASE/ours" members import "$DATA/members.jsonl")
C=$(secs "$P" --database "$BASE/ours" settings import "$DATA/choices.jsonl")
EVENTS=$(psql -tA "$BASE/ours" -c "SELECT count(*) FROM ledger")
# The anchor: the same rows, dumped, loaded by psql into the same (migrated) schema.
psql -q "$BASE/ours" -c "\copy ledger TO '$DATA/ledger.tsv'" -c "\copy members TO '$DATA/members.tsv'"
"$P" --database "$BASE/anchor" ledger verify >/dev/null
A=$(secs psql -q "$BASE/anchor" -c "BEGIN" -c "\copy ledger FROM '$DATA/ledger.tsv'" -c "\copy members FROM '$DATA/members.tsv'" -c "COMMIT")
python3 - "$N" "$EVENTS" "$M" "$C" "$A" <<'PY'
import sys
n, events, m, c, a = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"{n:,} members, {events:,} ledger events")
print(f"proviso members import + settings import: {m:.2f} s + {c:.2f} s = {m + c:.2f} s ({events / (m + c):,.0f} events/s)")
print(f"psql \\copy of the same rows (anchor):      {a:.2f} s ({events / a:,.0f} events/s)")
print(f"ratio: {a / (m + c):.2f}x the anchor's throughput")
PY
