import Foundation
import GRDB
import ProvisoCore
import Testing

@Suite struct CLIContractTests {
    func fixture() throws -> Workspace {
        let w = Workspace()
        let m = try w.run(["members", "import", w.file("members.jsonl", fixtureMembers)])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(m.stdout.contains("imported 8 members: 8 registered"))
        let s = try w.run(["settings", "import", w.file("choices.jsonl", fixtureChoices)])
        #expect(s.status == 0, "\(s.stderr)")
        return w
    }

    /// (request line, expected reasons): together they cover every reason code the CLI can reach.
    static let batch: [(String, [String], Bool)] = [
        (#"{"member":"eu","purpose":"genai-training","category":"profile","at":"2025-11-05T00:00:00Z"}"#, ["opted-out"], false),
        (#"{"member":"eu","purpose":"genai-training","category":"profile","at":"2025-10-15T00:00:00Z"}"#, ["region-not-in-scope", "opted-out"], false),
        (#"{"member":"us","purpose":"genai-training","category":"post","visibility":"public","at":"2026-01-01T00:00:00Z"}"#, ["default-on"], true),
        (#"{"member":"us","purpose":"ads-measurement","category":"activity","at":"2026-01-01T00:00:00Z"}"#, ["member-choice"], true),
        (#"{"member":"nobody","purpose":"genai-training","category":"profile"}"#, ["unknown-member"], false),
        (#"{"member":"us","purpose":"genai-inference","category":"profile"}"#, ["unknown-purpose"], false),
        (#"{"member":"us","purpose":"genai-training","category":"selfie"}"#, ["unknown-category"], false),
        (#"{"member":"closed","purpose":"ads-offsite","category":"profile","at":"2026-02-01T00:00:00Z"}"#, ["account-closed"], false),
        (#"{"member":"us","purpose":"genai-training","category":"message"}"#, ["category-never-eligible"], false),
        (#"{"member":"us","purpose":"ads-offsite","category":"post"}"#, ["category-not-for-purpose"], false),
        (#"{"member":"us","purpose":"genai-training","category":"comment"}"#, ["not-public"], false),
        (#"{"member":"us","purpose":"ads-retargeting","category":"profile","sensitive":true}"#, ["sensitive"], false),
        (#"{"member":"kid","purpose":"genai-training","category":"profile"}"#, ["minor"], false),
        (#"{"member":"flagged","purpose":"genai-training","category":"profile"}"#, ["minor"], false),
        (#"{"member":"us","purpose":"affiliate-sharing","category":"profile","gpc":true}"#, ["gpc"], false),
        (#"{"member":"us-gpc","purpose":"ads-offsite","category":"profile"}"#, ["gpc"], false),
        (#"{"member":"us-noads","purpose":"affiliate-sharing","category":"profile"}"#, ["depends-on:ads-off-platform"], false),
        (#"{"member":"eu","purpose":"affiliate-sharing","category":"profile"}"#, ["region-not-in-scope"], false),
        (#"{"member":"gb","purpose":"affiliate-sharing","category":"activity"}"#, ["default-on"], true),
    ]

    @Test func batchDecisionsAnswerTheContractLineByLineInOrder() throws {
        let w = try fixture()
        var input = Self.batch.map(\.0)
        input.insert("{not json", at: 3)
        input.insert(#"{"member":"us","purpose":"genai-training","category":"profile","sensitve":true}"#, at: 5)
        let r = try w.run(["decide", "--batch", "-"], stdin: input.joined(separator: "\n") + "\n")
        #expect(r.status == 0, "\(r.stderr)")
        var lines = r.lines
        #expect(lines.count == Self.batch.count + 2)
        let sensitve = lines.remove(at: 5)
        let broken = lines.remove(at: 3)
        for text in [broken, sensitve] {
            let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            #expect(obj["allowed"] as? Bool == false)
            #expect(obj["reasons"] as? [String] == ["invalid-request"])
            #expect((obj["error"] as? String)?.isEmpty == false)
        }
        #expect(sensitve.contains("sensitve"))
        for (line, expected) in zip(lines, Self.batch) {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(obj["reasons"] as? [String] == expected.1, "\(expected.0) → \(line)")
            #expect(obj["allowed"] as? Bool == expected.2)
            #expect(obj["policy_version"] as? String == "seed-2025-11-03")
            #expect(obj["ledger_seq"] as? Int == 13)
        }
    }

    @Test func singleDecisionsPrintOneContractObject() throws {
        let w = try fixture()
        let d = try w.decide(["--member", "us", "--purpose", "genai-training", "--category", "post", "--visibility", "connections",
                              "--sensitive", "--created-at", "2025-01-01T00:00:00Z", "--at", "2026-01-01T00:00:00Z"])
        #expect(d["allowed"] as? Bool == false)
        #expect(d["reasons"] as? [String] == ["not-public", "sensitive"])
        #expect(Set(d.keys) == ["allowed", "reasons", "policy_version", "ledger_seq"])
        let gpc = try w.decide(["--member", "us", "--purpose", "ads-offsite", "--category", "profile", "--gpc"])
        #expect(gpc["reasons"] as? [String] == ["gpc"])
        let bad = try w.run(["decide", "--member", "us", "--purpose", "genai-training", "--category", "post", "--visibility", "friends"])
        #expect(bad.status != 0 && bad.stderr.contains("visibility"))
    }

    @Test func anUnreadableStoreDeniesWithStateUnavailable() throws {
        let w = Workspace()
        let garbage = w.file("broken.sqlite", String(repeating: "not a database ", count: 400))
        let r = try w.run(["decide", "--member", "us", "--purpose", "ads-offsite", "--category", "profile", "--database", garbage], database: false)
        #expect(r.status == 1)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(obj["allowed"] as? Bool == false)
        #expect((obj["reasons"] as? [String])?.first == "state-unavailable")
        #expect(r.stderr.contains("state unavailable"))
    }

    @Test func globalOptionsWorkBeforeOrAfterTheSubcommandAndFromTheEnvironment() throws {
        let w = try fixture()
        let before = try w.run(["--database", w.database, "decide", "--member", "us", "--purpose", "ads-offsite", "--category", "profile"], database: false)
        let after = try w.run(["decide", "--member", "us", "--purpose", "ads-offsite", "--category", "profile", "--database", w.database], database: false)
        let env = try w.run(["decide", "--member", "us", "--purpose", "ads-offsite", "--category", "profile"], env: ["PROVISO_DATABASE": w.database], database: false)
        for r in [before, after, env] {
            #expect(r.status == 0)
            #expect(r.stdout.contains(#""reasons":["default-on"]"#), "\(r.stdout) \(r.stderr)")
        }
        // The default is ./proviso.sqlite in the working directory.
        let local = try w.run(["decide", "--member", "us", "--purpose", "ads-offsite", "--category", "profile"], database: false)
        #expect(local.stdout.contains(#""reasons":["default-on"]"#))
    }

    @Test func aPolicyFileReplacesTheSeed() throws {
        let w = try fixture()
        let seed = try w.run(["policy", "show", "--json"])
        let custom = w.file("p.json", seed.stdout.replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "custom-7""#)
            .replacingOccurrences(of: #"{"regions": ["US", "ROW"], "in_scope_from": "2024-09-18", "default": "on", "legal_basis": "opt-out"}"#,
                                  with: #"{"regions": ["US", "ROW"], "in_scope_from": "2024-09-18", "default": "off", "legal_basis": "consent"}"#))
        #expect(try w.run(["policy", "validate", custom]).status == 0)
        let d = try w.run(["decide", "--policy", custom, "--member", "us", "--purpose", "genai-training", "--category", "profile"])
        #expect(d.stdout.contains(#""reasons":["default-off"]"#) && d.stdout.contains("custom-7"), "\(d.stdout) \(d.stderr)")
    }
}

@Suite struct CLIImportTests {
    @Test func oneBadMemberLineRejectsTheWholeFileAndListsEveryBadLine() throws {
        let w = Workspace()
        let file = w.file("m.jsonl", """
            {"id":"a","country":"DE","birth_date":"1990-01-01"}
            {"id":"b","country":"UK","birth_date":"1990-01-01"}
            {"id":"c","country":"US","birth_date":"1990-01-01"}

            {"id":"d","country":"US"}
            not json
            """)
        let r = try w.run(["members", "import", file])
        #expect(r.status == 1)
        #expect(r.stderr.contains("m.jsonl:2:") && r.stderr.contains("GB"))
        #expect(r.stderr.contains("m.jsonl:5:") && r.stderr.contains("birth_date is required"))
        #expect(r.stderr.contains("m.jsonl:6:") && r.stderr.contains("invalid JSON"))
        #expect(!r.stderr.contains("m.jsonl:1:") && !r.stderr.contains("m.jsonl:3:"))
        #expect(r.stderr.contains("nothing was imported"))
        let v = try w.run(["ledger", "verify"])
        #expect(v.stdout.contains("ledger intact: 0 events"))
        let d = try w.run(["decide", "--member", "a", "--purpose", "ads-offsite", "--category", "profile"])
        #expect(d.stdout.contains("unknown-member"))
    }

    @Test func membersImportUpsertsAndRecordsChanges() throws {
        let w = Workspace()
        #expect(try w.run(["members", "import", w.file("a.jsonl", #"{"id":"a","country":"DE","birth_date":"1990-01-01"}"# + "\n")]).status == 0)
        let again = try w.run(["members", "import", w.file("b.jsonl", """
            {"id":"a","country":"DE","birth_date":"1990-01-01","closed_at":"2026-01-01T00:00:00Z"}
            {"id":"b","country":"US","birth_date":"1990-01-01"}
            """)])
        #expect(again.stdout.contains("1 registered, 1 changed, 0 unchanged"), "\(again.stdout)")
        let show = try w.run(["ledger", "show", "a", "--json"])
        let kinds = try show.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.map { $0["kind"] as? String }
        #expect(kinds == ["member-registered", "member-changed"])
    }

    @Test func oneBadChoiceLineRejectsTheWholeFile() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        let file = w.file("c.jsonl", """
            {"member":"us","setting":"genai-improvement","value":"off","at":"2026-01-01T00:00:00Z"}
            {"member":"ghost","setting":"genai-improvement","value":"off","at":"2026-01-01T00:00:00Z"}
            {"member":"us","setting":"genai-improvement","value":"maybe","at":"2026-01-01T00:00:00Z"}
            {"member":"us","setting":"ai-everything","value":"off","at":"2026-01-01T00:00:00Z"}
            {"member":"us","setting":"genai-improvement","value":"off","at":"2026-01-01T00:00:00Z","channel":"fax"}
            {"member":"us","setting":"genai-improvement","value":"off"}
            """)
        let before = try w.run(["ledger", "verify"]).stdout
        let r = try w.run(["settings", "import", file])
        #expect(r.status == 1)
        for n in 2...6 { #expect(r.stderr.contains("c.jsonl:\(n):"), "line \(n) not listed: \(r.stderr)") }
        #expect(try w.run(["ledger", "verify"]).stdout == before)
        let d = try w.decide(["--member", "us", "--purpose", "genai-training", "--category", "profile"])
        #expect(d["reasons"] as? [String] == ["default-on"])
    }

    @Test func settingsSetRecordsAChoiceAndShowExplainsIt() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        let set = try w.run(["settings", "set", "us", "ads-off-platform", "off", "--at", "2026-01-05T10:00:00Z", "--channel", "web"])
        #expect(set.status == 0 && set.stdout.contains("recorded seq"), "\(set.stderr)")
        let show = try w.run(["settings", "show", "us", "--at", "2026-02-01T00:00:00Z"])
        #expect(show.stdout.contains("Off since you turned it off on 5 Jan 2026"))
        #expect(show.stdout.contains("Off because Ads off LinkedIn is off"))
        #expect(show.stdout.contains("On by default in your region since 18 Sep 2024"))
        let json = try w.run(["settings", "show", "us", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let settings = obj["settings"] as! [[String: Any]]
        let share = settings.first { $0["setting"] as? String == "ads-share-affiliates" }!
        #expect(share["value"] as? String == "off" && share["source"] as? String == "dependency")
        #expect(try w.run(["settings", "set", "ghost", "ads-off-platform", "off"]).stderr.contains("unknown member"))
        #expect(try w.run(["settings", "set", "us", "ads-off-platform", "maybe"]).status != 0)
        #expect(try w.run(["settings", "set", "us", "ads-off-platform", "on", "--at", "2999-01-01T00:00:00Z"]).stderr.contains("future"))
    }

    @Test func policyValidateNamesEveryProblem() throws {
        let w = Workspace()
        let bad = w.file("bad.json", #"{"format":"proviso-policy/1","version":"v1","settings":[{"id":"genai-improvement","label":"x","section":"y"}],"purposes":[{"id":"genai-training","gated_by":"genai-improvement","categories":["profile","salary"],"notice_period_days":30,"rules":[{"regions":["EEA"],"in_scope_from":"2025-02-30","default":"on","legal_basis":"legitimate-interest"}]}]}"#)
        let r = try w.run(["policy", "validate", bad])
        #expect(r.status == 1)
        #expect(r.stderr.contains("purposes[0].categories[1]") && r.stderr.contains("never eligible"))
        #expect(r.stderr.contains("purposes[0].rules[0].in_scope_from"))
        let ok = try w.run(["policy", "show", "--json"])
        let good = w.file("good.json", ok.stdout)
        let v = try w.run(["policy", "validate", good])
        #expect(v.status == 0 && v.stdout.contains("valid policy seed-2025-11-03"))
    }
}

@Suite struct LedgerCLITests {
    @Test func verifyExitsOneNamingTheFirstBadSequence() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        _ = try w.run(["settings", "import", w.file("c.jsonl", fixtureChoices)])
        let ok = try w.run(["ledger", "verify"])
        #expect(ok.status == 0 && ok.stdout.contains("ledger intact: 13 events"))
        let queue = try DatabaseQueue(path: w.database)
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_update")
            try db.execute(sql: "UPDATE ledger SET value = 1 WHERE seq = 11")
        }
        let bad = try w.run(["ledger", "verify"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("ledger broken at sequence 11"), "\(bad.stdout)")
    }

    @Test func anAcknowledgedWriteSurvivesKillDashNine() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: provisoBinary)
        p.arguments = ["settings", "stream", "--database", w.database]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Feed events continuously from another thread: the writer is killed mid-stream.
        let writer = Thread {
            let settings = ["genai-improvement", "ads-off-platform", "ads-measure-success"]
            for k in 0..<100_000 {
                let line = #"{"member":"us","setting":"\#(settings[k % 3])","value":"\#(k % 2 == 0 ? "off" : "on")","at":"2026-01-01T00:00:\#(String(format: "%02d", k % 60))Z"}"# + "\n"
                do { try input.fileHandleForWriting.write(contentsOf: Data(line.utf8)) } catch { return }
            }
        }
        writer.start()
        var acked: [(seq: Int, hash: String)] = []
        var pending = ""
        while acked.count < 150 {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            pending += String(decoding: data, as: UTF8.self)
            while let nl = pending.firstIndex(of: "\n") {
                let parts = pending[..<nl].split(separator: " ")
                pending = String(pending[pending.index(after: nl)...])
                if parts.first == "ok", parts.count == 4 { acked.append((Int(parts[2])!, String(parts[3]))) }
            }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        #expect(acked.count >= 150)
        let verify = try w.run(["ledger", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)")
        let shown = try w.run(["ledger", "show", "us", "--json"])
        var stored: [Int: String] = [:]
        for line in shown.lines {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            stored[obj["seq"] as! Int] = obj["hash"] as? String
        }
        for a in acked { #expect(stored[a.seq] == a.hash, "acknowledged event \(a.seq) is missing or different") }
    }
}

@Suite struct ReceiptCLITests {
    @Test func aChangeReturnsAReceiptThatVerifiesOfflineAndDetectsTampering() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        let set = try w.run(["settings", "set", "eu", "genai-improvement", "off", "--channel", "web"])
        #expect(set.status == 0, "\(set.stderr)")
        let line = try #require(set.lines.first { $0.hasPrefix("receipt: ") })
        let receipt = w.file("r.jws", String(line.dropFirst("receipt: ".count)))
        let local = try w.run(["receipt", "verify", receipt])
        #expect(local.status == 0 && local.stdout.contains("valid receipt") && local.stdout.contains("genai-improvement off"), "\(local.stdout)")
        // A third party with only the published key set, and no database.
        let jwks = w.file("jwks.json", try w.run(["receipt", "jwks"]).stdout)
        let other = Workspace()
        let offline = try other.run(["receipt", "verify", receipt, "--jwks", jwks])
        #expect(offline.status == 0, "\(offline.stdout)")
        // The receipt names the ledger event it proves.
        let seq = try #require(set.lines.first?.split(separator: " ").dropFirst(2).first.map { String($0.dropLast()) })
        let shown = try w.run(["ledger", "show", "eu", "--json"]).stdout
        #expect(local.stdout.contains("ledger seq \(seq)") && shown.contains(#""seq":\#(seq)"#))
        // Flip one character in the middle of the signature (the last base64url character
        // carries only two bits, which a decoder may ignore).
        var chars = Array(String(line.dropFirst("receipt: ".count)))
        let i = chars.count - 20
        chars[i] = chars[i] == "A" ? "B" : "A"
        let jws = String(chars)
        let bad = try w.run(["receipt", "verify", w.file("bad.jws", jws)])
        #expect(bad.status == 1 && bad.stdout.contains("invalid receipt"))
        let strange = try other.run(["receipt", "verify", receipt, "--jwks", other.file("empty.json", #"{"keys":[]}"#)])
        #expect(strange.status == 1 && strange.stdout.contains("unknown key"))
    }
}

@Suite struct ImportCheckpointTests {
    /// A bulk import leaves the projection checkpoint at the ledger's head, so the next command
    /// loads it instead of replaying the import; a small import leaves it alone.
    @Test func aBulkImportRenewsTheProjectionCheckpointAndASmallOneDoesNot() throws {
        let w = Workspace()
        let many = (0..<20_000).map { #"{"id":"m\#($0)","country":"DE","birth_date":"1980-01-01"}"# }.joined(separator: "\n")
        let bulk = try w.run(["members", "import", w.file("many.jsonl", many)])
        #expect(bulk.status == 0, "\(bulk.stderr)")
        let db = try DatabaseQueue(path: w.database)
        let head = { try db.read { try Int64.fetchOne($0, sql: "SELECT max(seq) FROM ledger") } }
        let stored = { try db.read { try Int64.fetchOne($0, sql: "SELECT ledger_seq FROM state_checkpoint") } }
        let afterBulk = try head()
        let storedAfterBulk = try stored()
        #expect(afterBulk == 20_001 && storedAfterBulk == afterBulk)
        let few = try w.run(["settings", "import", w.file("few.jsonl", #"{"member":"m7","setting":"genai-improvement","value":"off","at":"2026-01-01T00:00:00Z"}"#)])
        #expect(few.status == 0, "\(few.stderr)")
        let afterFew = try head()
        let storedAfterFew = try stored()
        #expect(afterFew == afterBulk.map { $0 + 1 } && storedAfterFew == afterBulk)
        // The next load starts from the checkpoint and replays the one choice after it.
        let d = try w.run(["decide", "--member", "m7", "--purpose", "genai-training", "--category", "profile", "--at", "2026-02-01T00:00:00Z"])
        #expect(d.status == 0 && d.stdout.contains("opted-out"), "\(d.stdout)\(d.stderr)")
    }

    /// `ledger verify` proves the checkpoint equals a rebuild from the ledger, and catches one
    /// that does not (here: rewritten by hand, digest and all, to flag a member as a minor) —
    /// dropping it, so that decisions come from the ledger again.
    @Test func ledgerVerifyComparesTheCheckpointWithARebuildAndDropsOneThatDiffers() throws {
        let w = Workspace()
        let many = (0..<20_000).map { #"{"id":"m\#($0)","country":"US","birth_date":"1980-01-01"}"# }.joined(separator: "\n")
        #expect(try w.run(["members", "import", w.file("many.jsonl", many)]).status == 0)
        let ok = try w.run(["ledger", "verify"])
        #expect(ok.status == 0 && ok.stdout.contains("projection intact: as loaded, it equals a rebuild from the ledger at seq 20001 (20000 members)"),
                "\(ok.stdout)\(ok.stderr)")
        let decide = ["decide", "--member", "m3", "--purpose", "genai-training", "--category", "profile", "--at", "2026-02-01T00:00:00Z"]
        #expect(try w.run(decide).stdout.contains(#""allowed":true"#))

        let db = try DatabaseQueue(path: w.database)
        try db.write { db in
            let blob = try #require(try Data.fetchOne(db, sql: "SELECT state FROM state_checkpoint"))
            var state = try #require(blob.withUnsafeBytes { ConsentState(checkpoint: $0) })
            state.upsert(Member(id: "m3", country: "US", birthDay: Time.parseDate("1980-01-01")!, suspectedMinor: true))
            try db.execute(sql: "UPDATE state_checkpoint SET state = ?", arguments: [Data(state.checkpoint())])
        }
        #expect(try w.run(decide).stdout.contains(#""minor""#), "the forged checkpoint is what loads")
        let caught = try w.run(["ledger", "verify"])
        #expect(caught.status == 1 && caught.stdout.contains("projection checkpoint differs from a rebuild from the ledger (member m3 has different attributes); it was dropped"),
                "\(caught.stdout)\(caught.stderr)")
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM state_checkpoint") } == 0)
        #expect(try w.run(decide).stdout.contains(#""allowed":true"#))
    }
}
