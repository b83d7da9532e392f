#!/usr/bin/env python3
"""The Cedar anchor: the same requests, decided by the Cedar policy engine (cedarpy's batch API).

  cedar_decide.py POLICY.json MEMBERS.jsonl CHOICES.jsonl REQUESTS.jsonl OUT.tsv [repeats]

The seed policy is translated to Cedar: one `permit` per purpose plus one `forbid` per deny
reason, so Cedar's determining policies are the reasons. Cedar has no way to pick "the latest
event at or before T" from a history, so each member's latest choice per setting at the
requests' time is precomputed here into entity attributes: Cedar gets the easier problem.
Policies and entities are parsed once, outside the timing; only is_authorized_batch is timed.
"""
import json, sys, time, datetime
import cedarpy

NEVER = ["message", "login-security", "payment", "salary", "job-application"]
KNOWN = ["profile","post","comment","article","activity","ai-prompt","job-seeker","group","feedback"] + NEVER
CONTENT = ["post", "comment", "article", "group"]

def secs(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())

def day_secs(d):
    return int(datetime.datetime.fromisoformat(d + "T00:00:00+00:00").timestamp())

def attr(setting):
    return "s_" + setting.replace("-", "_")

def cedar_list(xs):
    return "[" + ",".join(json.dumps(x) for x in xs) + "]"

def translate(policy):
    out = []
    settings = {s["id"]: s for s in policy["settings"]}
    by_gate = {}
    for p in policy["purposes"]:
        by_gate.setdefault(p["gated_by"], []).append(p)
    def on_default(setting):
        # The setting's default is on and in scope at `now` in the member's region.
        terms = []
        for p in by_gate.get(setting, []):
            for r in p["rules"]:
                if r["default"] == "on":
                    terms.append("(%s.contains(principal.region) && context.now >= %d)" % (cedar_list(r["regions"]), day_secs(r["in_scope_from"])))
        return "(" + (" || ".join(terms) if terms else "false") + ")"
    def effective_off(setting):
        a = attr(setting)
        return "(principal.%s == \"off\" || principal.%s == \"gpc\" || (principal.%s == \"none\" && !%s))" % (a, a, a, on_default(setting))
    for p in policy["purposes"]:
        pid, gate = p["id"], attr(p["gated_by"])
        head = lambda reason: '@id("%s|%s")\nforbid(principal, action == Action::"%s", resource)\nwhen { ' % (pid, reason, pid)
        out.append('@id("%s|permit")\npermit(principal, action == Action::"%s", resource) when { principal has region };' % (pid, pid))
        out.append(head("unknown-category") + "!%s.contains(context.category) };" % cedar_list(KNOWN))
        out.append(head("account-closed") + "principal.closed_at <= context.now };")
        out.append(head("category-never-eligible") + "%s.contains(context.category) };" % cedar_list(NEVER))
        out.append(head("category-not-for-purpose") + "%s.contains(context.category) && !%s.contains(context.category) && !%s.contains(context.category) };"
                   % (cedar_list(KNOWN), cedar_list(p["categories"]), cedar_list(NEVER)))
        if p.get("public_only"):
            out.append(head("not-public") + 'context.visibility != "public" && (context.visibility != "" || %s.contains(context.category)) };' % cedar_list(CONTENT))
        out.append(head("sensitive") + "context.sensitive };")
        if p.get("exclude_minors", True):
            out.append(head("minor") + "context.now < principal.adult_at || principal.suspected_minor };")
        scope = " || ".join("(%s.contains(principal.region) && context.now >= %d)" % (cedar_list(r["regions"]), day_secs(r["in_scope_from"])) for r in p["rules"])
        out.append(head("region-not-in-scope") + "!(%s) };" % scope)
        out.append(head("opted-out") + 'principal.%s == "off" };' % gate)
        off_regions = [g for r in p["rules"] if r["default"] == "off" for g in r["regions"]]
        if off_regions:
            out.append(head("default-off") + 'principal.%s == "none" && %s.contains(principal.region) };' % (gate, cedar_list(off_regions)))
        gpc_regions = [g for r in p["rules"] if r.get("gpc") for g in r["regions"]]
        gpc_terms = ['principal.%s == "gpc"' % gate]
        if gpc_regions:
            gpc_terms.append("(context.gpc && %s.contains(principal.region))" % cedar_list(gpc_regions))
        out.append(head("gpc") + " || ".join(gpc_terms) + " };")
        for dep in settings[p["gated_by"]].get("depends_on", []):
            out.append(head("depends-on:" + dep) + effective_off(dep) + " };")
    return out

def adult_at(birth):
    y, m, d = map(int, birth.split("-"))
    try:
        return int(datetime.datetime(y + 18, m, d, tzinfo=datetime.timezone.utc).timestamp())
    except ValueError:  # 29 February
        return int(datetime.datetime(y + 18, 3, 1, tzinfo=datetime.timezone.utc).timestamp())

def main():
    policy_path, members_path, choices_path, requests_path, out_path = sys.argv[1:6]
    repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    policy = json.load(open(policy_path))
    requests = [json.loads(l) for l in open(requests_path)]
    now = secs(requests[0]["at"])
    assert all(r.get("at") == requests[0]["at"] for r in requests), "one request time expected"
    wanted = {r["member"] for r in requests}
    members = {}
    for line in open(members_path):
        m = json.loads(line)
        if m["id"] in wanted:
            members[m["id"]] = m
    latest = {}
    for seq, line in enumerate(open(choices_path)):
        c = json.loads(line)
        if c["member"] not in members:
            continue
        at = secs(c["at"])
        if at > now:
            continue
        key = (c["member"], c["setting"])
        if key not in latest or (at, seq) >= latest[key][0]:
            latest[key] = ((at, seq), c)
    entities = []
    for mid, m in members.items():
        a = {"region": region(m["country"]), "adult_at": adult_at(m["birth_date"]),
             "suspected_minor": bool(m.get("suspected_minor", False)),
             "closed_at": secs(m["closed_at"]) if m.get("closed_at") else 2**62}
        for s in ["genai-improvement","ads-off-platform","ads-data-from-others","ads-measure-success","ads-share-affiliates"]:
            hit = latest.get((mid, s))
            if hit is None:
                a[attr(s)] = "none"
            else:
                c = hit[1]
                a[attr(s)] = "on" if c["value"] == "on" else ("gpc" if c.get("channel") == "gpc" else "off")
        entities.append({"uid": {"type": "Member", "id": mid}, "attrs": a, "parents": []})
    cedar_requests = [{
        "principal": {"type": "Member", "id": r["member"]},
        "action": {"type": "Action", "id": r["purpose"]},
        "resource": {"type": "Record", "id": "r"},
        "context": {"category": r["category"], "visibility": r.get("visibility", ""), "sensitive": bool(r.get("sensitive", False)),
                    "gpc": bool(r.get("gpc", False)), "now": now},
    } for r in requests]
    texts = translate(policy)
    names = [t.split('"')[1] for t in texts]  # the @id of each policy, in order
    policies = cedarpy.PolicySet.from_str("\n\n".join(texts))
    ents = cedarpy.Entities.from_json_str(json.dumps(entities))
    best, results = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        results = cedarpy.is_authorized_batch(cedar_requests, policies, ents)
        best = min(best, time.perf_counter() - t0)
    with open(out_path, "w") as f:
        for res in results:
            ids = [names[int(p[len("policy"):])] if p.startswith("policy") else p for p in res.diagnostics.reasons]
            reasons = sorted(i.split("|", 1)[1] for i in ids if not i.endswith("|permit"))
            f.write(("allow" if res.allowed else "deny") + "\t" + ",".join(reasons) + "\n")
    print(json.dumps({"requests": len(requests), "entities": len(entities), "best_seconds": best,
                      "decisions_per_second": len(requests) / best, "repeats": repeats}, sort_keys=True))

GROUPS = {"GB": "GB", "CH": "CH", "CA": "CA", "HK": "HK", "US": "US"}
EEA = set("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO AX GF GP MQ RE YT MF".split())

def region(c):
    return "EEA" if c in EEA else GROUPS.get(c, "ROW")

if __name__ == "__main__":
    main()
