// proviso-bench: in-process decision throughput and projection memory, on the data files the
// side-by-side scripts give the anchors (scripts/bench/decisions-vs-cedar.sh).
//
//   proviso-bench MEMBERS.jsonl CHOICES.jsonl REQUESTS.jsonl OUT.tsv [repeats]
//
// Prints one JSON object: counts, decisions/s (best of the repeats), ns per decision, and the
// projection's bytes per member (array capacities × element sizes, counted exactly).
import Foundation
import Glibc
import ProvisoCore

func lines(_ path: String) -> [Substring] {
    guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self).split(separator: "\n")
}

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let args = CommandLine.arguments
guard args.count >= 5 else {
    FileHandle.standardError.write(Data("usage: proviso-bench MEMBERS CHOICES REQUESTS OUT.tsv [repeats]\n".utf8))
    exit(2)
}
let repeats = args.count > 5 ? Int(args[5]) ?? 5 : 5

// Parse members first (outside the measured region), then measure the projection alone.
var members: [Member] = []
for line in lines(args[1]) {
    members.append(try Member.from(json: try JSON.parse(String(line)), now: .max))
}
var state = ConsentState(capacity: members.count)
for m in members { state.upsert(m) }
let countedMembers = state.byteCount
let memberCount = members.count
members = []

var seq: Int64 = 0
for line in lines(args[2]) {
    let j = try JSON.parse(String(line))
    guard case let .string(id)? = j["member"], case let .string(s)? = j["setting"], case let .string(v)? = j["value"],
          case let .string(t)? = j["at"], let setting = SettingID(code: s), let at = Time.parseRFC3339(t) else { fatalError("bad choice \(line)") }
    var channel = Channel.import
    if case let .string(c)? = j["channel"], let ch = Channel(code: c) { channel = ch }
    seq += 1
    state.apply(Choice(effectiveAt: at, seq: seq, setting: setting, on: v == "on", channel: channel), member: state.memberIndex(id))
}
state.ledgerSeq = seq

let engine = DecisionEngine(policy: .seed)
var queries: [DecisionQuery] = []
for line in lines(args[3]) {
    queries.append(try DecisionRequest.from(json: try JSON.parse(String(line))).query(in: state, now: 0))
}

// The measured loop: decisions only, folded into a checksum so nothing is optimised away.
// A function parameter borrows the state, as a server handler does (a top-level `var` would be
// copied on every call).
func measure(_ engine: DecisionEngine, _ state: ConsentState, _ queries: [DecisionQuery], repeats: Int) -> (Double, UInt64) {
    var best = Double.infinity
    var checksum: UInt64 = 0
    for _ in 0..<repeats {
        let start = seconds()
        var sum: UInt64 = 0
        for q in queries {
            let d = engine.decide(q, in: state)
            sum = sum &+ UInt64(d.reasons.bits) &+ (d.allowed ? 1 : 0)
        }
        best = min(best, seconds() - start)
        checksum ^= sum
    }
    return (best, checksum)
}
let frozen = state
let (best, checksum) = measure(engine, frozen, queries, repeats: repeats)

/// Member lookups from raw id bytes (what the dataset gate does per line), best of the repeats.
func measureLookups(_ index: MemberIndex, _ ids: [[UInt8]], repeats: Int) -> (Double, Int) {
    var best = Double.infinity
    var found = 0
    for _ in 0..<repeats {
        let start = seconds()
        var hits = 0
        for id in ids { hits &+= id.withUnsafeBytes { index.find($0) >= 0 ? 1 : 0 } }
        best = min(best, seconds() - start)
        found = hits
    }
    return (best, found)
}
let lookupIDs: [[UInt8]] = lines(args[3]).compactMap { line in
    guard case let .string(id)? = try? JSON.parse(String(line))["member"] else { return nil }
    return Array(id.utf8)
}
let (lookupBest, lookupHits) = measureLookups(frozen.index, lookupIDs, repeats: repeats)

// The answers, for the agreement check against the anchor.
var out = ""
out.reserveCapacity(queries.count * 40)
for q in queries {
    let d = engine.decide(q, in: frozen)
    out += (d.allowed ? "allow" : "deny") + "\t" + d.reasons.codes.joined(separator: ",") + "\n"
}
FileManager.default.createFile(atPath: args[4], contents: Data(out.utf8))

let summary: [String: Any] = [
    "members": memberCount,
    "members_with_history": state.membersWithHistory,
    "requests": queries.count,
    "repeats": repeats,
    "best_seconds": best,
    "decisions_per_second": Double(queries.count) / best,
    "ns_per_decision": best / Double(queries.count) * 1e9,
    "counted_bytes_per_member_without_history": Double(countedMembers) / Double(memberCount),
    "counted_bytes_per_member_all": Double(state.byteCount) / Double(memberCount),
    "checksum": checksum,
    "ns_per_lookup_by_bytes": lookupBest / Double(lookupIDs.count) * 1e9,
    "lookup_hits": lookupHits,
]
let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
