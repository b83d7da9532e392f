#!/usr/bin/env python3
"""Reproducible synthetic data for the benchmarks (fixed seed, same files every run).

  gen_data.py DIR [--members N] [--history-share 0.1] [--requests R] [--choices-per-member K] [--records N]

Writes DIR/members.jsonl, DIR/choices.jsonl (10% of members with 1-4 choices each, or K per
member with --choices-per-member), DIR/requests.jsonl (decision requests at 2026-06-01), and with
--records N, DIR/records.jsonl: a dataset for the gate (~215 bytes a record: the fields the gate
reads, a record id, language, likes and a text body; 1% unknown members, 0.1% malformed lines).
"""
import argparse, json, os, random

EEA = ["AT","BE","BG","HR","CY","CZ","DK","EE","FI","FR","DE","GR","HU","IE","IT","LV","LT","LU","MT",
       "NL","PL","PT","RO","SK","SI","ES","SE","IS","LI","NO"]
ROW = ["IN","BR","JP","MX","NG","AU","ZA","SG","AE","TR","ID","KR"]
SETTINGS = ["genai-improvement","ads-off-platform","ads-data-from-others","ads-measure-success","ads-share-affiliates"]
PURPOSES = ["genai-training","ads-offsite","ads-retargeting","ads-measurement","affiliate-sharing"]
CATEGORIES = ["profile"]*6 + ["post"]*6 + ["comment"]*3 + ["article","activity","activity","activity","ai-prompt","job-seeker",
              "group","feedback","message","login-security","payment","salary","job-application"]
CONTENT = {"post","comment","article","group"}

def country(r):
    x = r.random()
    if x < 0.30: return "US"
    if x < 0.60: return r.choice(EEA)
    if x < 0.68: return "GB"
    if x < 0.73: return "CA"
    if x < 0.75: return "CH"
    if x < 0.77: return "HK"
    return r.choice(ROW)

def ts(r, start, end):
    t = r.randint(start, end)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (*divmod_date(t),)

def divmod_date(t):
    import datetime
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.year, d.month, d.day, d.hour, d.minute, d.second

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--history-share", type=float, default=0.10)
    ap.add_argument("--choices-per-member", type=int, default=0)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--records", type=int, default=0)
    ap.add_argument("--seed", type=int, default=20251103)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    r = random.Random(a.seed)
    t_hist0, t_hist1 = 1704067200, 1777593600  # 2024-01-01 .. 2026-05-01
    with open(os.path.join(a.dir, "members.jsonl"), "w") as f:
        for k in range(a.members):
            y = r.randint(1950, 2012)
            m = {"id": "m%d" % k, "country": country(r), "birth_date": "%04d-%02d-%02d" % (y, r.randint(1, 12), r.randint(1, 28)),
                 "handle": "member-%d" % k, "name": "Member %d" % k}
            if r.random() < 0.01: m["suspected_minor"] = True
            if r.random() < 0.01: m["closed_at"] = ts(r, t_hist0, t_hist1)
            f.write(json.dumps(m, separators=(",", ":")) + "\n")
    with open(os.path.join(a.dir, "choices.jsonl"), "w") as f:
        for k in range(a.members):
            if a.choices_per_member:
                n = a.choices_per_member
            elif r.random() < a.history_share:
                n = r.randint(1, 4)
            else:
                continue
            for _ in range(n):
                c = {"member": "m%d" % k, "setting": r.choice(SETTINGS), "value": r.choice(["on", "off"]),
                     "at": ts(r, t_hist0, t_hist1), "channel": "gpc" if r.random() < 0.05 else r.choice(["web", "api", "import"])}
                f.write(json.dumps(c, separators=(",", ":")) + "\n")
    with open(os.path.join(a.dir, "requests.jsonl"), "w") as f:
        for _ in range(a.requests):
            member = "m%d" % r.randrange(a.members) if r.random() < 0.99 else "ghost%d" % r.randrange(1000)
            q = {"member": member, "purpose": r.choice(PURPOSES) if r.random() < 0.995 else "genai-inference",
                 "category": r.choice(CATEGORIES), "at": "2026-06-01T00:00:00Z"}
            x = r.random()
            if q["category"] in CONTENT or x < 0.3:
                v = r.random()
                if v < 0.6: q["visibility"] = "public"
                elif v < 0.9: q["visibility"] = "connections"
            if r.random() < 0.02: q["sensitive"] = True
            if r.random() < 0.10: q["gpc"] = True
            f.write(json.dumps(q, separators=(",", ":")) + "\n")

    if a.records:
        write_records(a, random.Random(a.seed + 1))

WORDS = ("consent ledger policy member region model training advert signal notice privacy data post comment "
         "article network update career hiring launch team product design growth insight learning").split()
LANGS = ["en", "en", "en", "de", "fr", "es", "nl", "pt", "it", "pl"]

def write_records(a, r):
    t0, t1 = 1672531200, 1777593600  # 2023-01-01 .. 2026-05-01
    with open(os.path.join(a.dir, "records.jsonl"), "w") as f:
        for k in range(a.records):
            x = r.random()
            if x < 0.001:
                f.write('{"member_id":"m%d","category":"post","text":"truncated\n' % r.randrange(a.members))
                continue
            member = "m%d" % r.randrange(a.members) if x > 0.011 else "ghost%d" % r.randrange(1000)
            rec = {"record_id": "r%09d" % k, "member_id": member, "category": r.choice(CATEGORIES)}
            if rec["category"] in CONTENT or r.random() < 0.2:
                v = r.random()
                if v < 0.7: rec["visibility"] = "public"
                elif v < 0.9: rec["visibility"] = "connections"
                else: rec["visibility"] = "private"
            if r.random() < 0.02: rec["sensitive"] = True
            if r.random() < 0.9: rec["created_at"] = ts(r, t0, t1)
            rec["lang"] = r.choice(LANGS)
            rec["likes"] = r.randrange(500)
            rec["text"] = " ".join(r.choice(WORDS) for _ in range(r.randint(6, 17)))
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")

if __name__ == "__main__":
    main()
