#!/usr/bin/env bash
# `members import` and `settings import` of N lines vs the sqlite3 shell inserting the very same
# rows (dumped from our database afterwards) in one transaction, same schema, WAL and
# synchronous=FULL, in one run.
#   scripts/bench/import-vs-sqlite3.sh          # N = 1,000,000
#   N=100000 scripts/bench/import-vs-sqlite3.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
DATA=${DATA:-bench-data/import-$N}
for pkg in sqlite3 time; do dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null; }; done
[ -s "$DATA/choices.jsonl" ] || python3 scripts/bench/gen_data.py "$DATA" --members "$N" --choices-per-member 1 --requests 1
swift build -c release --product proviso >&2
P="$(swift build -c release --show-bin-path)/proviso"
W="$DATA/work"; rm -rf "$W"; mkdir -p "$W"
timed() { # label, command...: prints seconds and max RSS (KiB)
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$W/$label.time" "$@" >"$W/$label.out"
    cat "$W/$label.time"
}
echo "proviso members import…" >&2
read -r ours_m_s ours_m_kb < <(timed ours-members "$P" members import "$DATA/members.jsonl" --database "$W/ours.sqlite")
K=$(sqlite3 "$W/ours.sqlite" "SELECT max(seq) FROM ledger")
echo "proviso settings import…" >&2
read -r ours_s_s ours_s_kb < <(timed ours-settings "$P" settings import "$DATA/choices.jsonl" --database "$W/ours.sqlite")

# The anchor gets exactly our rows, as SQL, and our schema.
"$P" ledger verify --database "$W/schema.sqlite" >/dev/null
sqlite3 "$W/schema.sqlite" .schema > "$W/schema.sql"
{
    echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; BEGIN;"
    sqlite3 "$W/ours.sqlite" ".mode insert members" "SELECT * FROM members"
    sqlite3 "$W/ours.sqlite" ".mode insert ledger" "SELECT * FROM ledger WHERE seq <= $K"
    echo "COMMIT;"
} > "$W/members.sql"
{
    echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; BEGIN;"
    sqlite3 "$W/ours.sqlite" ".mode insert ledger" "SELECT * FROM ledger WHERE seq > $K"
    echo "COMMIT;"
} > "$W/settings.sql"
sqlite3 "$W/anchor.sqlite" < "$W/schema.sql"
echo "sqlite3 shell, same member rows…" >&2
read -r anc_m_s anc_m_kb < <(timed anchor-members sh -c "sqlite3 '$W/anchor.sqlite' < '$W/members.sql'")
echo "sqlite3 shell, same choice rows…" >&2
read -r anc_s_s anc_s_kb < <(timed anchor-settings sh -c "sqlite3 '$W/anchor.sqlite' < '$W/settings.sql'")
[ "$(sqlite3 "$W/anchor.sqlite" 'SELECT count(*) FROM ledger')" = "$(sqlite3 "$W/ours.sqlite" 'SELECT count(*) FROM ledger')" ]
"$P" ledger verify --database "$W/ours.sqlite" >&2
python3 - "$N" "$ours_m_s" "$anc_m_s" "$ours_s_s" "$anc_s_s" "$ours_m_kb" "$ours_s_kb" <<'PY'
import sys
n = int(sys.argv[1]); om, am, os_, as_ = map(float, sys.argv[2:6]); mkb, skb = map(int, sys.argv[6:8])
print(f"members import of {n:,} lines: proviso {n/om:,.0f} lines/s ({om:.2f} s, max RSS {mkb/1024:.0f} MiB); "
      f"sqlite3 shell {n/am:,.0f} rows-sets/s ({am:.2f} s); ratio {am/om:.2f}x (target >= 0.5x)")
print(f"settings import of {n:,} lines: proviso {n/os_:,.0f} lines/s ({os_:.2f} s, max RSS {skb/1024:.0f} MiB); "
      f"sqlite3 shell {n/as_:,.0f} rows/s ({as_:.2f} s); ratio {as_/os_:.2f}x (target >= 0.5x)")
PY
