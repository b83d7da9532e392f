#!/usr/bin/env bash
# In-process decisions vs the Cedar policy engine (cedarpy batch API), same requests, one run.
#   scripts/bench/decisions-vs-cedar.sh            # 1M members (10% with history), 200k requests
#   MEMBERS=100000 REQUESTS=50000 scripts/bench/decisions-vs-cedar.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
MEMBERS=${MEMBERS:-1000000}
REQUESTS=${REQUESTS:-200000}
DATA=${DATA:-bench-data/decisions-$MEMBERS-$REQUESTS}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import cedarpy" 2>/dev/null || .venv/bin/pip install -q "cedarpy==4.12.2"
[ -s "$DATA/requests.jsonl" ] || python3 scripts/bench/gen_data.py "$DATA" --members "$MEMBERS" --requests "$REQUESTS"
(cd Benchmarks && swift build -c release --product proviso-bench >&2)
BIN="$(cd Benchmarks && swift build -c release --show-bin-path)/proviso-bench"
echo "proviso (in-process)…" >&2
OURS=$(/usr/bin/time -f '%M' -o "$DATA/ours.maxrss" "$BIN" "$DATA/members.jsonl" "$DATA/choices.jsonl" "$DATA/requests.jsonl" "$DATA/ours.tsv" 5)
echo "cedar (cedarpy $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("cedarpy"))'))…" >&2
CEDAR=$(.venv/bin/python scripts/bench/cedar_decide.py policies/seed-policy.json "$DATA/members.jsonl" "$DATA/choices.jsonl" "$DATA/requests.jsonl" "$DATA/cedar.tsv" 3)
python3 - "$DATA" "$OURS" "$CEDAR" <<'PY'
import json, sys
data, ours, cedar = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
reqs = [json.loads(l) for l in open(data + "/requests.jsonl")]
a = [l.rstrip("\n").split("\t") for l in open(data + "/ours.tsv")]
b = [l.rstrip("\n").split("\t") for l in open(data + "/cedar.tsv")]
known = {json.loads(l)["id"] for l in open(data + "/members.jsonl")}
assert len(a) == len(b) == len(reqs)
allow_diff = sum(1 for x, y in zip(a, b) if x[0] != y[0])
reason_diff = 0
for r, x, y in zip(reqs, a, b):
    if r["member"] in known and r["purpose"] != "genai-inference":
        if sorted(filter(None, x[1].split(","))) != sorted(filter(None, y[1].split(","))) and x[0] == "deny":
            reason_diff += 1
allowed = sum(1 for x in a if x[0] == "allow")
ratio = ours["decisions_per_second"] / cedar["decisions_per_second"]
print(f"members: {ours['members']} ({ours['members_with_history']} with history); requests: {len(reqs)} ({allowed} allowed)")
print(f"proviso in-process: {ours['decisions_per_second']:,.0f} decisions/s ({ours['ns_per_decision']:.1f} ns each, best of {ours['repeats']})")
print(f"cedar (cedarpy batch): {cedar['decisions_per_second']:,.0f} decisions/s (best of {cedar['repeats']})")
print(f"ratio: {ratio:,.0f}x (target >= 300x)")
print(f"agreement: allow/deny differs on {allow_diff} of {len(reqs)}; deny reasons differ on {reason_diff}")
print(f"projection memory: {ours['counted_bytes_per_member_without_history']:.1f} bytes/member without history (target <= 64); "
      f"{ours['counted_bytes_per_member_all']:.1f} bytes/member with the histories of the {ours['members_with_history']:,} members who have one")
sys.exit(1 if allow_diff or reason_diff else 0)
PY
