import Foundation
import Testing
import ProvisoCore

@Suite struct PolicyPublishCLITests {
    func file(_ w: Workspace, _ version: String, effective: String) -> String {
        let text = Policy.seed.source
            .replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "\#(version)", "effective_from": "\#(effective)""#)
            .replacingOccurrences(of: #""exclude_minors": true"#, with: #""exclude_minors": false"#)
        return w.file("\(version).json", text)
    }

    @Test func aPublicationWithoutEnoughNoticeIsRefusedAndWithItIsRecordedAndDecides() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        let today = Time.now() / Time.microsPerDay
        let short = Time.formatDate(dayNumber: Int(today) + 30)  // publication is later than 00:00 today: one day short
        let enough = Time.formatDate(dayNumber: Int(today) + 31)
        let refused = try w.run(["policy", "publish", file(w, "v2", effective: short)])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("minors-no-longer-excluded") && refused.stderr.contains("earliest effective date is \(enough)"),
                "\(refused.stderr)")
        #expect(try w.run(["policy", "list"]).lines.isEmpty)
        let ok = try w.run(["policy", "publish", file(w, "v3", effective: enough)])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("published v3"))
        // Lifting the minor exclusion widens every purpose everywhere: each open account gets a
        // notice per purpose in scope in its region (EEA 4: no affiliate sharing there; GB 5;
        // 5 US members × 5), the closed account none.
        #expect(ok.stdout.contains("notices delivered: 34"), "\(ok.stdout)")
        let report = try w.run(["notices", "report", "--json"]).lines
        #expect(report.count == 14, "\(report)")
        #expect(report.allSatisfy { $0.contains(#""policy_version":"v3""#) && $0.contains(#""lead_days":30"#) })
        #expect(try w.run(["policy", "list"]).stdout.contains("v3"))
        #expect(try w.run(["ledger", "verify"]).status == 0)
        // The minor is excluded until the date, and not after it under v3.
        let before = try w.decide(["--member", "kid", "--purpose", "genai-training", "--category", "profile"])
        #expect(before["reasons"] as? [String] == ["minor"])
        let after = try w.decide(["--member", "kid", "--purpose", "genai-training", "--category", "profile", "--at", enough + "T12:00:00Z"])
        #expect(after["policy_version"] as? String == "v3")
        #expect(after["allowed"] as? Bool == true)
        #expect(try w.run(["policy", "publish", file(w, "v3", effective: enough)]).stderr.contains("already published"))
        #expect(try w.run(["policy", "publish", file(w, "v4", effective: enough), "--at", "2020-01-01"]).status != 0)
    }
}
