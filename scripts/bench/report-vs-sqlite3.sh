#!/usr/bin/env bash
# `proviso report` over N members vs the sqlite3 shell answering a slice of the same question in
# SQL on the same database, in one run. The anchor computes, for one purpose (AI training) at
# one time, each country's open accounts and how many have an "off" latest choice (window function
# over the ledger); the report computes that for every region group × purpose, with sources,
# minors, channels, notices, snapshots and the month-by-month series.
#   scripts/bench/report-vs-sqlite3.sh          # N = 1,000,000
#   N=100000 scripts/bench/report-vs-sqlite3.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
DATA=${DATA:-bench-data/report-$N}
for pkg in sqlite3 time; do dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null; }; done
[ -s "$DATA/choices.jsonl" ] || python3 scripts/bench/gen_data.py "$DATA" --members "$N" --requests 1
swift build -c release --product proviso >&2
P="$(swift build -c release --show-bin-path)/proviso"
DB="$DATA/report.sqlite"
if [ ! -s "$DB" ]; then
    "$P" members import "$DATA/members.jsonl" --database "$DB" >&2
    "$P" settings import "$DATA/choices.jsonl" --database "$DB" >&2
fi
AT=2026-06-01T00:00:00Z
T_US=$(date -d "$AT" +%s)000000
timed() { # label, command...: prints seconds and max RSS (KiB)
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$DATA/$label.time" "$@" >"$DATA/$label.out"
    cat "$DATA/$label.time"
}
read -r anchor_s anchor_kb < <(timed anchor sqlite3 "$DB" "
WITH latest AS (
  SELECT member_id, value, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY effective_at DESC, seq DESC) AS rn
  FROM ledger WHERE kind = 'setting-changed' AND setting = 'genai-improvement' AND effective_at <= $T_US)
SELECT m.country, count(*), sum(CASE WHEN l.value = 0 THEN 1 ELSE 0 END)
FROM members m LEFT JOIN latest l ON l.member_id = m.id AND l.rn = 1
WHERE m.closed_at IS NULL OR m.closed_at > $T_US
GROUP BY m.country;")
read -r one_s one_kb < <(timed report1 "$P" report --at "$AT" --months 1 --database "$DB")
read -r twelve_s twelve_kb < <(timed report12 "$P" report --at "$AT" --months 12 --database "$DB")
echo "members: $N"
echo "sqlite3, one purpose at one time:               ${anchor_s} s, ${anchor_kb} KiB"
echo "proviso report --months 1 (2 points, all):      ${one_s} s, ${one_kb} KiB"
echo "proviso report --months 12 (13 points, all):    ${twelve_s} s, ${twelve_kb} KiB"
# The same figure both ways: EEA members choosing off for AI training, summed from the anchor's countries.
python3 - "$DATA/anchor.out" "$DATA/report1.out" <<'PY'
import sys
EEA = set("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split())
anchor = sum(int(l.split("|")[2]) for l in open(sys.argv[1]) if l.split("|")[0] in EEA)
ours = [l.strip().split(",") for l in open(sys.argv[2])]
member_off = sum(int(r[4]) for r in ours if r[0] == "source" and r[1] == "EEA" and r[2] == "genai-training"
                 and r[3] in ("member-choice-off", "gpc"))
print(f"EEA AI-training choices off: sqlite3 {anchor}, report {member_off}", "(agree)" if anchor == member_off else "(DIFFER)")
PY
