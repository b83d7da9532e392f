import Foundation
import Testing

@Suite struct GateCLITests {
    static let records = """
        {"member_id":"us","category":"post","visibility":"public","text":"launch day"}
        {"member_id":"gb","category":"profile"}
        {"member_id":"kid","category":"profile"}
        {"member_id":"nobody","category":"profile"}
        {"member_id":"us","category":"message"}
        {"broken
        {"member_id":"gb","category":"activity","likes":3}

        """

    func workspace() throws -> Workspace {
        let w = Workspace()
        let m = try w.run(["members", "import", w.file("members.jsonl", fixtureMembers)])
        #expect(m.status == 0, "\(m.stderr)")
        return w
    }

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
    }

    /// A run killed mid-pass leaves its staging files; the next run for the same --out removes
    /// them, unless their snapshot was registered (then they are the only copy, and stay).
    @Test func aRunClearsTheFilesOfAnEarlierRunThatDiedButKeepsARegisteredOnes() throws {
        let w = try workspace()
        let fm = FileManager.default
        let dead = w.dir.appendingPathComponent("snap.partial-snap-20260101T000000Z-0badf00d").path
        try fm.createDirectory(atPath: dead, withIntermediateDirectories: false)
        _ = w.file("snap.partial-snap-20260101T000000Z-0badf00d/records.jsonl", "{}\n")
        _ = w.file("snap.partial-snap-20260101T000000Z-0badf00d.lock", "")
        let input = w.file("records.jsonl", Self.records)
        let first = try w.run(["gate", "run", "--purpose", "genai-training", "--at", "2026-03-01T00:00:00Z", "--input", input, "--out", "snap"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("removed the files of an earlier run that did not finish (snap.partial-snap-20260101T000000Z-0badf00d)"),
                "\(first.stderr)")
        #expect(!fm.fileExists(atPath: dead) && !fm.fileExists(atPath: dead + ".lock"))

        // A run that died after registering: its id is in the registry, its files must stay.
        let id = try #require(try json(w.dir.appendingPathComponent("snap/manifest.json").path)["snapshot_id"] as? String)
        let registered = w.dir.appendingPathComponent("snap2.partial-\(id)").path
        try fm.createDirectory(atPath: registered, withIntermediateDirectories: false)
        _ = w.file("snap2.partial-\(id)/records.jsonl", "{}\n")
        _ = w.file("snap2.partial-\(id).lock", "")
        let second = try w.run(["gate", "run", "--purpose", "genai-training", "--at", "2026-03-01T00:00:00Z", "--input", input, "--out", "snap2"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("snapshot \(id) is registered but its files were never moved into place"), "\(second.stderr)")
        #expect(fm.fileExists(atPath: registered + "/records.jsonl"))

        // A run that died after publishing left only its lock file: it goes, without a word.
        _ = w.file("snap3.partial-\(id).lock", "")
        let third = try w.run(["gate", "run", "--purpose", "genai-training", "--at", "2026-03-01T00:00:00Z", "--input", input, "--out", "snap3"])
        #expect(third.status == 0 && third.stderr.isEmpty, "\(third.stderr)")
        #expect(!fm.fileExists(atPath: w.dir.appendingPathComponent("snap3.partial-\(id).lock").path))
    }

    @Test func aSnapshotIsWrittenRegisteredAndLaterRetractedForAMemberWhoOptsOut() throws {
        let w = try workspace()
        let run = try w.run(["gate", "run", "--purpose", "genai-training", "--at", "2026-03-01T00:00:00Z", "--input",
                             w.file("records.jsonl", Self.records), "--out", "snap", "--name", "model-7", "--explain", "why.jsonl"])
        #expect(run.status == 0, "\(run.stderr)")
        let dir = w.dir.appendingPathComponent("snap").path
        let lines = Self.records.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(try String(contentsOfFile: dir + "/records.jsonl", encoding: .utf8) == [lines[0], lines[1], lines[6]].joined(separator: "\n") + "\n")
        #expect(try String(contentsOfFile: dir + "/members.csv", encoding: .utf8) == "member_id,records\ngb,2\nus,1\n")
        let manifest = try json(dir + "/manifest.json")
        #expect(manifest["counts"] as? [String: Int] == ["read": 7, "eligible": 3, "excluded": 4, "malformed": 1])
        #expect(manifest["name"] as? String == "model-7")
        let id = try #require(manifest["snapshot_id"] as? String)
        let why = try String(contentsOfFile: w.dir.appendingPathComponent("why.jsonl").path, encoding: .utf8).split(separator: "\n")
        #expect(why.count == 4)
        #expect(why.first == #"{"line":3,"reasons":["minor"],"member_id":"kid"}"#)

        let list = try w.run(["gate", "list", "--json"])
        #expect(list.lines.count == 1 && list.stdout.contains(#""snapshot_id":"\#(id)""#))
        #expect(try w.run(["gate", "retractions", id, "--json"]).lines.isEmpty)

        let optOut = try w.run(["settings", "set", "gb", "genai-improvement", "off", "--at", "2026-04-01T00:00:00Z"])
        #expect(optOut.status == 0, "\(optOut.stderr)")
        let after = try w.run(["gate", "retractions", id, "--at", "2026-05-01", "--json"])
        #expect(after.lines == [#"{"member_id":"gb","reasons":["opted-out"],"categories":["profile","activity"]}"#])
        #expect(try w.run(["gate", "retractions", id, "--at", "2026-03-15", "--json"]).lines.isEmpty)
        let report = try w.run(["gate", "report", "gb", "--json"])
        #expect(report.lines.count == 1)
        let use = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any]
        #expect(use?["snapshot_id"] as? String == id)
        #expect(use?["counts"] as? [String: Int] == ["profile": 1, "activity": 1])
        #expect(try w.run(["gate", "report", "kid", "--json"]).lines.isEmpty)
    }

    @Test func strictStopsAtTheFirstExclusionWritesNothingAndRegistersNothing() throws {
        let w = try workspace()
        let run = try w.run(["gate", "run", "--purpose", "genai-training", "--input", w.file("r.jsonl", Self.records), "--out", "snap", "--strict"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("line 3") && run.stderr.contains("minor"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.dir.appendingPathComponent("snap").path))
        #expect(try w.run(["gate", "list"]).lines.isEmpty)
    }

    @Test func standardInputWorksAndAnExistingOutputIsNeverOverwritten() throws {
        let w = try workspace()
        let first = try w.run(["gate", "run", "--purpose", "ads-measurement", "--input", "-", "--out", "s1"], stdin: Self.records)
        #expect(first.status == 0, "\(first.stderr)")
        let again = try w.run(["gate", "run", "--purpose", "ads-measurement", "--input", "-", "--out", "s1"], stdin: Self.records)
        #expect(again.status == 1 && again.stderr.contains("never overwritten"), "\(again.stderr)")
        #expect(try w.run(["gate", "list"]).lines.count == 1)
        let bad = try w.run(["gate", "run", "--purpose", "genai-inference", "--input", "-", "--out", "s2"], stdin: "")
        #expect(bad.status != 0 && bad.stderr.contains("--purpose"))
        let missing = try w.run(["gate", "retractions", "snap-nope"])
        #expect(missing.status == 1 && missing.stderr.contains("no snapshot"))
    }
}

@Suite struct EligibleCLITests {
    @Test(arguments: ["genai-training", "affiliate-sharing"])
    func theEligibleListIsExactlyTheMembersDecideAllowsForAMemberLevelRecord(_ purpose: String) throws {
        let w = Workspace()
        #expect(try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)]).status == 0)
        #expect(try w.run(["settings", "import", w.file("c.jsonl", fixtureChoices)]).status == 0)
        let at = "2026-03-01T00:00:00Z"
        let csv = try w.run(["eligible", "--purpose", purpose, "--at", at])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.lines.first == "member_id,region_group")
        let listed = csv.lines.dropFirst().map { String($0.split(separator: ",")[0]) }
        #expect(listed == listed.sorted(), "member id order")
        let all = fixtureMembers.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        for m in all {
            // A public profile record: member-level reasons only.
            let d = try w.decide(["--member", m, "--purpose", purpose, "--category", "profile", "--visibility", "public", "--at", at])
            #expect((d["allowed"] as? Bool == true) == listed.contains(m), "\(m): decide \(d) vs eligible \(listed)")
        }
        let jsonl = try w.run(["eligible", "--purpose", purpose, "--at", at, "--format", "jsonl"])
        #expect(jsonl.lines.count == listed.count)
        #expect(jsonl.lines.allSatisfy { $0.hasPrefix(#"{"member_id":""#) && $0.contains(#""region_group":""#) })
    }
}
