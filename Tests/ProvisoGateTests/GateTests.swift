import Foundation
import PropertyBased
import Testing
import ProvisoCore
import ProvisoGate
import ProvisoStore
import ProvisoTestStores
import ProvisoTestSupport

/// Scans one line the way the gate does; the member id comes back as a `String`.
func scan(_ line: String) -> Result<(String, RecordFields), LineProblem> {
    var scanner = RecordScanner()
    var copy = line
    return copy.withUTF8 { u in
        Result { () throws(LineProblem) in
            try scanner.scan(UnsafeRawBufferPointer(u)) { id, f in (String(decoding: id, as: UTF8.self), f) }
        }
    }
}

func problem(_ line: String) -> LineProblem.Kind? {
    if case let .failure(p) = scan(line) { return p.kind }
    return nil
}

@Suite struct RecordScannerTests {
    @Test func readsTheDecisionFieldsAndIgnoresTheRest() throws {
        let r = try scan(#"{"text":"a \"quoted\" word","member_id":"m1","tags":[1,{"x":null}],"category":"post","visibility":"public","sensitive":false,"created_at":"2025-12-01T10:00:00Z"}"#).get()
        #expect(r.0 == "m1")
        #expect(r.1 == RecordFields(category: .post, visibility: .public, sensitive: false, createdAt: Time.parseRFC3339("2025-12-01T10:00:00Z")))
    }

    @Test func anIntegerMemberIdIsItsDigits() throws {
        #expect(try scan(#"{"member_id":12345,"category":"profile"}"#).get().0 == "12345")
        #expect(problem(#"{"member_id":12.5,"category":"profile"}"#) == .malformed)
        #expect(problem(#"{"member_id":1e3,"category":"profile"}"#) == .malformed)
        #expect(problem(#"{"member_id":true,"category":"profile"}"#) == .malformed)
    }

    @Test func escapedNamesAndValuesAreDecodedBeforeMatching() throws {
        let r = try scan(#"{"member\u005fid":"m\u0031","category":"p\u006fst","visibility":"publi\u0063"}"#).get()
        #expect(r.0 == "m1")
        #expect(r.1.category == .post)
        #expect(r.1.visibility == .public)
        #expect(try scan(#"{"member_id":"caf\u00e9 \ud83d\ude00","category":"post"}"#).get().0 == "café 😀")
    }

    @Test func anUnknownCategoryIsReadAsUnknownNotMalformed() throws {
        #expect(try scan(#"{"member_id":"m1","category":"selfie"}"#).get().1.category == nil)
    }

    @Test(arguments: [
        "", "   ", "[1,2]", "\"m1\"", "{", #"{"member_id":"m1","category":"post""#,
        #"{"member_id":"m1","category":"post"} x"#, #"{"member_id":"m1","category":"post",}"#,
        #"{"member_id":"m1","category":"post","x":tru}"#, #"{"member_id":"m1","category":"post","x":01}"#,
        "{\"member_id\":\"m1\",\"category\":\"post\",\"x\":\"tab\there\"}", #"{"member_id":"m1","category":"post","x":"\q"}"#,
        #"{"member_id":"m1","category":"post","x":"\u12"}"#, #"{"member_id":"m1","member_id":"m2","category":"post"}"#,
        #"{"member_id":"m1","category":"post","visibility":"friends"}"#, #"{"member_id":"m1","category":"post","sensitive":"yes"}"#,
        #"{"member_id":"m1","category":"post","created_at":"yesterday"}"#, #"{"member_id":"m1","category":7}"#,
        #"{"member_id":"\ud800","category":"post"}"#,
        "{\"member_id\":\"m1\",\"category\":\"post\",\"deep\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}",
    ])
    func aLineThatIsNotAValidRecordIsMalformed(line: String) {
        #expect(problem(line) == .malformed, "\(line)")
    }

    @Test func invalidUTF8AnywhereIsMalformed() {
        var scanner = RecordScanner()
        for bad in [[0xC3, 0x28], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] as [[UInt8]] {
            let line = Array(#"{"member_id":"m1","category":"post","text":"a"#.utf8) + bad + Array(#"b"}"#.utf8)
            let result = line.withUnsafeBytes { b in
                Result { () throws(LineProblem) in try scanner.scan(b) { _, _ in true } }
            }
            guard case let .failure(p) = result else { Issue.record("accepted invalid UTF-8 \(bad)"); continue }
            #expect(p.kind == .malformed)
        }
    }

    @Test func aMissingOrNullMemberOrCategoryIsAMissingField() {
        #expect(problem(#"{"category":"post"}"#) == .missingField)
        #expect(problem(#"{"member_id":null,"category":"post"}"#) == .missingField)
        #expect(problem(#"{"member_id":"m1"}"#) == .missingField)
        #expect(problem("{}") == .missingField)
    }
}

/// A temporary directory removed at the end of the test.
struct TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "proviso-gate-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String, _ text: String) -> String {
        let p = path + "/" + name
        #expect(FileManager.default.createFile(atPath: p, contents: Data(text.utf8)))
        return p
    }
    func read(_ name: String) -> String { (try? String(contentsOfFile: path + "/" + name, encoding: .utf8)) ?? "<missing>" }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

let asOf = Time.parseRFC3339("2026-06-01T00:00:00Z")!

func seedState() -> ConsentState {
    var s = ConsentState()
    let day = { (x: String) in Time.parseDate(x)! }
    s.upsert(Member(id: "eu", country: "DE", birthDay: day("1980-02-02")))
    s.upsert(Member(id: "us", country: "US", birthDay: day("1980-02-02")))
    s.upsert(Member(id: "kid", country: "FR", birthDay: day("2012-02-02")))
    s.upsert(Member(id: "out", country: "GB", birthDay: day("1980-02-02")))
    s.upsert(Member(id: "42", country: "CA", birthDay: day("1980-02-02")))
    s.apply(Choice(effectiveAt: Time.parseRFC3339("2026-01-01T00:00:00Z")!, seq: 9, setting: .genaiImprovement, on: false, channel: .web),
            member: s.memberIndex("out"))
    s.ledgerSeq = 9
    return s
}

@Suite struct GateRunTests {
    let input = """
        {"member_id":"eu","category":"post","visibility":"public","text":"hello"}
        {"member_id":"us","category":"profile","headline":"x"}
        {"member_id":"kid","category":"profile"}
        {"member_id":"out","category":"profile"}
        {"member_id":"ghost","category":"profile"}
        {"member_id":"eu","category":"message"}
        not json
        {"member_id":42,"category":"comment","visibility":"public"}
        {"category":"post"}
        {"member_id":"us",  "category":"post","visibility":"connections"}
        {"member_id":"eu","category":"activity","sensitive":true}
        {"member_id":"us","category":"activity"}
        """ + "\r\n" + #"{"member_id":"eu","category":"profile"}"#

    func run(_ dir: TempDir, strict: Bool = false, explain: Bool = true, out: String = "snap") throws(GateRunError) -> PreparedSnapshot {
        let path = dir.file("in.jsonl", input)
        let req = GateRequest(purpose: .genaiTraining, at: asOf, now: asOf + 1, name: "t", input: path, outDir: dir.path + "/" + out,
                              explain: explain ? dir.path + "/explain.jsonl" : nil, strict: strict)
        return try GateRunner.prepare(req, engine: DecisionEngine(policy: .seed), state: seedState())
    }

    @Test func eligibleLinesAreWrittenByteForByteInInputOrderWithAManifestAndMemberSet() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let prepared = try run(dir)
        try prepared.publish()
        // Bytes, not Characters: Swift reads "\r\n" as one Character.
        let lines = input.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        try #require(lines.count == 13)
        let expected = [lines[0], lines[1], lines[7], lines[11]].joined(separator: "\n") + "\n" + lines[12]
        #expect(dir.read("snap/records.jsonl") == expected)
        #expect(dir.read("snap/members.csv") == "member_id,records\n42,1\neu,2\nus,2\n")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(dir.read("snap/manifest.json").utf8)) as? [String: Any])
        #expect(manifest["snapshot_id"] as? String == prepared.snapshot.id)
        #expect(manifest["purpose"] as? String == "genai-training")
        #expect(manifest["as_of"] as? String == "2026-06-01T00:00:00Z")
        #expect(manifest["policy_version"] as? String == Policy.seed.version)
        #expect(manifest["ledger_seq"] as? Int == 9)
        let counts = try #require(manifest["counts"] as? [String: Int])
        #expect(counts == ["read": 13, "eligible": 5, "excluded": 8, "malformed": 1])
        let byReason = try #require(manifest["excluded_by_reason"] as? [String: Int])
        #expect(byReason["minor"] == 1 && byReason["opted-out"] == 1 && byReason["unknown-member"] == 1)
        #expect(byReason["category-never-eligible"] == 1 && byReason["malformed"] == 1 && byReason["missing-field"] == 1)
        #expect(byReason["not-public"] == 1 && byReason["sensitive"] == 1)
        let primary = try #require(manifest["excluded_by_primary_reason"] as? [String: Int])
        #expect(primary.values.reduce(0, +) == 8)
        let regions = try #require(manifest["excluded_by_region_group"] as? [String: Int])
        #expect(regions["unknown"] == 3 && regions["EEA"] == 3 && regions["GB"] == 1 && regions["US"] == 1)
        let sha = try #require(manifest["input_sha256"] as? String)
        #expect(sha == sha256Hex(Data(input.utf8)))
        #expect(manifest["output_sha256"] as? String == sha256Hex(Data(expected.utf8)))
        let members = try prepared.members.members()
        try #require(members.map(\.memberID) == ["42", "eu", "us"])
        #expect(members[1].counts == [CategoryCount(.profile, 1), CategoryCount(.post, 1)])
        let explain = dir.read("explain.jsonl").split(separator: "\n")
        try #require(explain.count == 8, "\(explain)")
        #expect(explain[0] == #"{"line":3,"reasons":["minor"],"member_id":"kid"}"#)
        #expect(explain[4].hasPrefix(#"{"line":7,"reasons":["malformed"],"detail":"#))
    }

    @Test func memberIdsAreQuotedInTheMemberSetOnlyWhenCSVNeedsIt() {
        #expect(CSV.field("m42") == "m42")
        #expect(CSV.field("a,b") == "\"a,b\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.field("two\nlines") == "\"two\nlines\"")
        #expect(CSV.field("ünï") == "ünï")
    }

    @Test func theInputDigestTakenAlongsideIsTheFilesSHA256() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("in.jsonl", input)
        let digest = try #require(InputDigest.start(path: path))
        let req = GateRequest(purpose: .genaiTraining, at: asOf, now: asOf + 1, input: path, outDir: dir.path + "/snap", digest: digest)
        let prepared = try GateRunner.prepare(req, engine: DecisionEngine(policy: .seed), state: seedState())
        #expect(prepared.snapshot.inputSHA256 == sha256Hex(Data(input.utf8)))
        #expect(InputDigest.start(path: "-") == nil, "standard input is hashed by the pass itself")
    }

    @Test func anInputChangedAfterItsDigestWasStartedFailsTheRunAndLeavesNothing() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("in.jsonl", input)
        let digest = try #require(InputDigest.start(path: path))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("\n{\"member_id\":\"us\",\"category\":\"profile\"}".utf8))
        handle.closeFile()
        let req = GateRequest(purpose: .genaiTraining, at: asOf, now: asOf + 1, input: path, outDir: dir.path + "/snap", digest: digest)
        #expect {
            _ = try GateRunner.prepare(req, engine: DecisionEngine(policy: .seed), state: seedState())
        } throws: { error in
            "\(error)".contains("the input file changed while the gate read it")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["in.jsonl"])
    }

    @Test func strictStopsAtTheFirstExclusionAndLeavesNothing() throws {
        let dir = TempDir()
        defer { dir.remove() }
        #expect {
            _ = try run(dir, strict: true)
        } throws: { error in
            guard case let .strict(stop) = error as? GateRunError else { return false }
            return stop.line == 3 && stop.reasons == ["minor"]
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["in.jsonl"])
    }

    @Test func anOutputDirectoryThatHoldsFilesIsNeverOverwritten() throws {
        let dir = TempDir()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/snap", withIntermediateDirectories: false)
        _ = dir.file("snap/keep.txt", "x")
        #expect(throws: GateRunError.self) { _ = try run(dir) }
        #expect(dir.read("snap/keep.txt") == "x")
    }

    @Test func aRunHoldsItsStagingLockUntilItsFilesArePublished() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let prepared = try run(dir)
        // A run still going is never taken for one that died.
        #expect(GateStaging.unfinished(outDir: dir.path + "/snap").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.hasSuffix(".lock") })
        try prepared.publish()
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["in.jsonl", "snap", "explain.jsonl"])
    }

    @Test func theFilesOfARunThatDiedAreFoundAndRemoved() throws {
        let dir = TempDir()
        defer { dir.remove() }
        // What a killed run leaves: its staging directory, --explain staging file and lock file
        // (nobody holds the lock: the kernel let it go with the process).
        let staging = dir.path + "/snap.partial-snap-20260101T000000Z-0badf00d"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        _ = dir.file("snap.partial-snap-20260101T000000Z-0badf00d/records.jsonl", "{}\n")
        _ = dir.file("explain.jsonl.partial-snap-20260101T000000Z-0badf00d", "{}\n")
        _ = dir.file("snap.partial-snap-20260101T000000Z-0badf00d.lock", dir.path + "/explain.jsonl.partial-snap-20260101T000000Z-0badf00d")
        _ = dir.file("other.partial-snap-20260101T000000Z-00000000.lock", "")  // another --out: not ours
        let found = GateStaging.unfinished(outDir: dir.path + "/snap/")
        try #require(found.count == 1)
        #expect(found[0].snapshotID == "snap-20260101T000000Z-0badf00d")
        #expect(found[0].staging == staging)
        // While one run holds a dead run's lock to clear it, no other run finds it.
        #expect(GateStaging.unfinished(outDir: dir.path + "/snap").isEmpty)
        found[0].leave()
        let again = GateStaging.unfinished(outDir: dir.path + "/snap")
        try #require(again.count == 1, "left files are found again by the next run")
        #expect(again[0].stagingExists)
        again[0].remove()
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["other.partial-snap-20260101T000000Z-00000000.lock"])
    }

    @Test func aLockFileLeftBeforeItWasInPlaceIsRemovedAndALoneLockCanBeDropped() throws {
        let dir = TempDir()
        defer { dir.remove() }
        _ = dir.file("snap.partial-snap-20260101T000000Z-11111111.lock-new", "")  // died while taking its lock
        _ = dir.file("snap.partial-snap-20260101T000000Z-22222222.lock", "")  // died after publishing
        let found = GateStaging.unfinished(outDir: dir.path + "/snap")
        try #require(found.count == 1)
        #expect(!found[0].stagingExists)
        found[0].dropLock()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func discardingAPreparedSnapshotLeavesNothing() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let prepared = try run(dir)
        prepared.discard()
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["in.jsonl"])
    }
}

func sha256Hex(_ d: Data) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    let inPipe = Pipe(), outPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    try? p.run()
    inPipe.fileHandleForWriting.write(d)
    try? inPipe.fileHandleForWriting.close()
    p.waitUntilExit()
    let out = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return String(out.prefix(64))
}

@Suite struct GateProperties {
    /// The gate's eligible set is exactly what `decide` answers for each record, whatever the
    /// policy, population, histories, time and records (including integer and escaped ids).
    @Test func theGateAllowsExactlyWhatDecideAllows() async {
        await propertyCheck(count: 60, input: Gen.int(in: 0...Int.max), Gen.int(in: 19000...21000)) { seed, dayNumber in
            var rng = SplitMix64(seed: UInt64(seed))
            let policy = (try? Policy.parse(randomPolicyText(&rng, allowForbidden: false).text)) ?? .seed
            let engine = DecisionEngine(policy: policy)
            var (state, _) = randomState(&rng, members: 30, events: 120)
            state.upsert(Member(id: "77", country: "US", birthDay: 3000))
            let t = Time.micros(dayNumber: dayNumber)
            let purpose = rng.pick(Purpose.allCases)
            var filter = GateFilter(engine: engine, state: state, purpose: purpose, at: t)
            for _ in 0..<150 {
                let member = rng.pick(["m\(rng.int(0...29))", "m\(rng.int(0...29))", "ghost", "77"])
                let category = rng.pick(Category.allCases.map(\.code) + ["selfie"])
                let visibility: Visibility? = rng.pick([nil, .public, .connections, .private])
                let sensitive = rng.int(0...9) == 0
                let created: Micros? = rng.bool() ? Time.micros(dayNumber: rng.int(16000...21000)) : nil
                var fields: [String] = []
                if member == "77", rng.bool() { fields.append(#""member_id":77"#) }
                else if rng.int(0...4) == 0 { fields.append(#""member\u005fid":"\#(member.replacingOccurrences(of: "m", with: "\\u006d"))""#) }
                else { fields.append(#""member_id":"\#(member)""#) }
                fields.append(#""category":"\#(category)""#)
                if let visibility { fields.append(#""visibility":"\#(visibility == .public ? "public" : visibility == .connections ? "connections" : "private")""#) }
                if sensitive || rng.bool() { fields.append(#""sensitive":\#(sensitive)"#) }
                if let created { fields.append(#""created_at":"\#(Time.formatRFC3339(created))""#) }
                fields.append(#""text":"x\"y\\z é","n":[1,2.5e3,{"k":null}]"#)
                var line = "{" + fields.shuffled(using: &rng).joined(separator: ",") + "}"
                let v = line.withUTF8 { filter.classify(UnsafeRawBufferPointer($0)) }
                let d = engine.decide(DecisionQuery(member: state.memberIndex(member), purpose: purpose, category: Category(code: category),
                                                    at: t, createdAt: created, visibility: visibility, sensitive: sensitive), in: state)
                #expect(v.eligible == d.allowed, "\(line): gate \(v.eligible) vs decide \(d.json)")
                if v.problem == nil { #expect(v.reasons == (d.allowed ? ReasonSet() : d.reasons), "\(line)") }
            }
        }
    }
}

@Suite struct RetractionTests {
    @Test func aMemberWhoOptsOutAfterASnapshotIsRetractedWithTheReason() async throws {
        let store = FlakyStore()
        var state = seedState()
        let engine = DecisionEngine(policy: .seed)
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("in.jsonl", #"{"member_id":"eu","category":"profile"}"# + "\n" + #"{"member_id":"us","category":"profile"}"# + "\n")
        let prepared = try GateRunner.prepare(GateRequest(purpose: .genaiTraining, at: asOf, now: asOf, input: path, outDir: dir.path + "/s"),
                                              engine: engine, state: state)
        try await store.registerSnapshot(prepared.snapshot, members: prepared.members)
        let later = asOf + 86_400_000_000
        state.apply(Choice(effectiveAt: asOf + 3_600_000_000, seq: 10, setting: .genaiImprovement, on: false, channel: .web),
                    member: state.memberIndex("eu"))
        let check = RetractionCheck(engine: engine, state: state, snapshot: prepared.snapshot, at: later)
        let found = try await check.all(in: store, snapshot: prepared.snapshot.id)
        #expect(found == [Retraction(memberID: "eu", reasons: { var r = ReasonSet(); r.insert(.optedOut); return r }(), categories: [.profile])])
        // Before the opt-out took effect there is nothing to retract.
        let before = try await RetractionCheck(engine: engine, state: state, snapshot: prepared.snapshot, at: asOf + 1).all(in: store, snapshot: prepared.snapshot.id)
        #expect(before.isEmpty)
        let uses = try await store.snapshotUses(member: "eu")
        #expect(uses.map(\.snapshot.id) == [prepared.snapshot.id])
    }

    @Test func aClosedAccountOrAMinorFlagIsRetractedAndAMemberTheStoreLostIsRetractedFailClosed() {
        var state = seedState()
        state.upsert(Member(id: "us", country: "US", birthDay: Time.parseDate("1980-02-02")!, closedAt: asOf + 10))
        state.upsert(Member(id: "eu", country: "DE", birthDay: Time.parseDate("1980-02-02")!, suspectedMinor: true))
        let s = Snapshot(id: "s", name: nil, purpose: "genai-training", asOf: asOf, createdAt: asOf, policyVersion: "v", ledgerSeq: 1,
                         inputSHA256: "", outputSHA256: "", read: 0, eligible: 0, excluded: 0, malformed: 0, memberCount: 3, manifest: "{}")
        let check = RetractionCheck(engine: DecisionEngine(policy: .seed), state: state, snapshot: s, at: asOf + 100)
        #expect(check.check(SnapshotMember(memberID: "us", counts: [CategoryCount(.post, 1)]))?.reasons.codes == ["account-closed"])
        #expect(check.check(SnapshotMember(memberID: "eu", counts: [CategoryCount(.post, 1)]))?.reasons.codes == ["minor"])
        #expect(check.check(SnapshotMember(memberID: "gone", counts: [CategoryCount(.post, 1)]))?.reasons.codes == ["unknown-member"])
        #expect(check.check(SnapshotMember(memberID: "42", counts: [CategoryCount(.post, 1)])) == nil)
    }
}

@Suite struct GateStreamTests {
    /// Tiny chunks, several lanes, an over-long line and no final newline: the pipelined,
    /// parallel pass must write exactly what deciding line by line writes, with the same
    /// counts and explain lines — read through the descriptor or in place from the mapping.
    @Test(arguments: [1, 2, 3], [false, true])
    func aParallelPassWithTinyChunksMatchesLineByLineDecisions(workers: Int, mapped: Bool) throws {
        var rng = SplitMix64(seed: UInt64(workers) * 7919)
        let state = seedState()
        let engine = DecisionEngine(policy: .seed)
        var lines: [String] = []
        for k in 0..<800 {
            if k == 333 { lines.append(#"{"member_id":"us","category":"profile","pad":""# + String(repeating: "x", count: 3000) + #""}"#); continue }
            if k % 97 == 5 { lines.append("{not json"); continue }
            let member = rng.pick(["eu", "us", "kid", "out", "42", "ghost"])
            let category = rng.pick(["profile", "post", "activity", "message"])
            let vis = rng.pick(["", #","visibility":"public""#, #","visibility":"private""#])
            lines.append(#"{"member_id":"\#(member)","category":"\#(category)"\#(vis),"n":\#(k)}"#)
        }
        let input = lines.joined(separator: "\n")  // no final newline
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("in.jsonl", input)
        var filter = GateFilter(engine: engine, state: state, purpose: .genaiTraining, at: asOf)
        var stream = GateStream(workers: workers)
        stream.chunk = 1024
        stream.maxLine = 2048
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let digest = mapped ? try #require(InputDigest.start(path: path)) : nil
        #expect((digest?.mapped != nil) == mapped)
        let summary = try stream.run(input: fd, mapped: digest?.mapped, filter: &filter, records: dir.path + "/out.jsonl",
                                     explain: dir.path + "/why.jsonl", strict: false)
        #expect(summary.inputSHA256 == sha256Hex(Data(input.utf8)))

        var reference = GateFilter(engine: engine, state: state, purpose: .genaiTraining, at: asOf)
        var expected: [String] = []
        var why: [Int] = []
        for (k, line) in lines.enumerated() {
            var copy = line
            let v = copy.withUTF8 { reference.classify(UnsafeRawBufferPointer($0)) }
            if k == 333 { #expect(v.eligible, "the long line itself is a valid record"); why.append(k + 1); continue }
            if v.eligible { expected.append(line) } else { why.append(k + 1) }
        }
        let written = dir.read("out.jsonl")
        let wanted = expected.joined(separator: "\n") + (lines.last.map { expected.last == $0 } == true ? "" : "\n")
        #expect(written == wanted)
        #expect(filter.tally.read == 800)
        #expect(filter.tally.eligible == expected.count)
        #expect(filter.tally.malformed == reference.tally.malformed + 1)
        #expect(summary.inputBytes == input.utf8.count)
        let explained = dir.read("why.jsonl").split(separator: "\n").compactMap { l -> Int? in
            (try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])?["line"] as? Int
        }
        #expect(explained == why)
    }
}

@Suite struct GateStrictStreamTests {
    /// A strict pass over many tiny chunks stops at the first exclusion, found while the lanes
    /// are already deciding the next chunk: it must name the right line and return only after
    /// they are done with the buffer (this once read freed memory) — also in place, where the
    /// lanes run a chunk ahead of the writing.
    @Test(arguments: [2, 3], [false, true])
    func aStrictParallelPassStopsAtTheFirstExclusionSafely(workers: Int, mapped: Bool) throws {
        let dir = TempDir()
        defer { dir.remove() }
        var lines = (0..<600).map { #"{"member_id":"us","category":"profile","n":\#($0)}"# }
        lines[421] = #"{"member_id":"kid","category":"profile"}"#
        let path = dir.file("in.jsonl", lines.joined(separator: "\n") + "\n")
        for round in 0..<60 {
            var filter = GateFilter(engine: DecisionEngine(policy: .seed), state: seedState(), purpose: .genaiTraining, at: asOf)
            var stream = GateStream(workers: workers)
            stream.chunk = 512
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            let digest = mapped ? InputDigest.start(path: path) : nil
            #expect((digest?.mapped != nil) == mapped)
            #expect {
                _ = try stream.run(input: fd, mapped: digest?.mapped, filter: &filter, records: dir.path + "/out-\(round).jsonl",
                                   explain: nil, strict: true)
            } throws: { error in
                guard case let .strict(stop) = error as? GateStreamError else { return false }
                return stop.line == 422 && stop.reasons == ["minor"]
            }
        }
    }
}

@Suite struct IncludedMembersTests {
    /// Big enough to be found on two threads: the members with an eligible record come back
    /// once each, in id order, whether the state holds them in id order or not.
    @Test(arguments: [false, true])
    func theIncludedMembersAreExactlyThoseWithAnEligibleRecordInIdOrder(shuffled: Bool) {
        var rng = SplitMix64(seed: shuffled ? 17 : 5)
        var ids = (0..<70_000).map { "m\($0)" }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if shuffled { ids.shuffle(using: &rng) }
        var state = ConsentState()
        for id in ids { state.upsert(Member(id: id, country: "US", birthDay: Time.parseDate("1980-02-02")!)) }
        var filter = GateFilter(engine: DecisionEngine(policy: .seed), state: state, purpose: .genaiTraining, at: asOf)
        var expected: [String] = []
        for (k, id) in ids.enumerated() where k % 3 == 0 || k == ids.count - 1 {
            var line = #"{"member_id":"\#(id)","category":"profile"}"#
            let v = line.withUTF8 { filter.classify(UnsafeRawBufferPointer($0)) }
            if v.eligible { expected.append(id) }
        }
        #expect(expected.count > 23_000)
        let included = filter.includedMembers().map { state.index.id(at: $0) }
        #expect(included == expected.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }
}
