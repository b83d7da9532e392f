import Foundation
import Testing
import ProvisoCore

/// The seed policy with edits applied to its JSON text, and a version and effective date.
func seedVariant(version: String, effective: String?, _ edits: [(String, String)] = []) throws -> Policy {
    var text = Policy.seed.source
    for (from, to) in edits {
        #expect(text.contains(from), "the seed no longer contains \(from)")
        text = text.replacingOccurrences(of: from, with: to)
    }
    text = text.replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "\#(version)""#
        + (effective.map { #", "effective_from": "\#($0)""# } ?? ""))
    return try Policy.parse(text)
}

@Suite struct PolicyChangeTests {
    let publication = Time.parseRFC3339("2026-12-01T00:00:00Z")!

    @Test func theSameRulesWidenNothing() throws {
        let same = try seedVariant(version: "v2", effective: "2026-12-02")
        #expect(PolicyChange.widenings(from: .seed, to: same).isEmpty)
    }

    @Test(arguments: [
        // (edit of the seed text, the widening it must produce, for which purpose/region)
        (#""categories": ["profile", "activity"]"#, #""categories": ["profile", "activity", "post"]"#, "category-added:post"),
        (#""public_only": true"#, #""public_only": false"#, "public-only-dropped"),
        (#""exclude_minors": true"#, #""exclude_minors": false"#, "minors-no-longer-excluded"),
        (#""in_scope_from": "2025-11-03""#, #""in_scope_from": "2025-06-01""#, "scope-starts-earlier"),
        (#""legal_basis": "opt-out", "gpc": true"#, #""legal_basis": "opt-out", "gpc": false"#, "gpc-no-longer-honoured"),
        (#""depends_on": ["ads-off-platform"]"#, #""depends_on": []"#, "dependency-dropped:ads-off-platform"),
    ])
    func eachKindOfWideningIsFound(_ from: String, _ to: String, _ code: String) throws {
        let v2 = try seedVariant(version: "v2", effective: "2027-02-01", [(from, to)])
        let found = Set(PolicyChange.widenings(from: .seed, to: v2).map(\.kind.code))
        #expect(found.contains(code), "\(found)")
    }

    @Test func aPurposeGatedByAnotherSwitchIsAWidening() throws {
        // Gating AI training by the ads switch: the members' choices for the AI switch would no longer count.
        let v2 = try seedVariant(version: "v2", effective: "2027-02-01", [(#""gated_by": "genai-improvement""#, #""gated_by": "ads-measure-success""#)])
        let kinds = Set(PolicyChange.widenings(from: .seed, to: v2).filter { $0.purpose == .genaiTraining }.map(\.kind))
        #expect(kinds == [.gateChanged])
    }

    @Test func aNewRegionDefaultOnAndEarlierContentAreWidenings() throws {
        let narrow = try seedVariant(version: "v1", effective: "2026-12-02", [
            (#"{"regions": ["CA", "HK"], "in_scope_from": "2025-11-03", "default": "on", "legal_basis": "opt-out"}"#,
             #"{"regions": ["CA"], "in_scope_from": "2025-11-03", "default": "off", "legal_basis": "opt-out", "content_from": "2025-11-03"}"#),
        ])
        let kinds = PolicyChange.widenings(from: narrow, to: .seed).filter { $0.purpose == .genaiTraining }.map { "\($0.region.code) \($0.kind.code)" }
        #expect(kinds.contains("HK newly-in-scope"))
        #expect(kinds.contains("CA default-turned-on"))
        #expect(kinds.contains("CA content-starts-earlier"))
        // The other way round, everything is a narrowing: no notice needed.
        #expect(PolicyChange.widenings(from: .seed, to: narrow).isEmpty)
    }

    @Test func noticeOneDayShortIsRefusedNamingTheEarliestDateAndExactlyEnoughIsAccepted() throws {
        let edit = [(#""public_only": true"#, #""public_only": false"#)]
        let short = try seedVariant(version: "v2", effective: "2026-12-30", edit)   // 29 days after 1 Dec
        let exact = try seedVariant(version: "v2", effective: "2026-12-31", edit)   // 30 days
        let refused = PolicyChange.shortfalls(publishing: short, over: .seed, at: publication)
        #expect(!refused.isEmpty)
        #expect(refused.allSatisfy { Time.formatDate(dayNumber: $0.earliestDay) == "2026-12-31" })
        #expect(refused.allSatisfy { $0.widening.purpose == .genaiTraining && $0.widening.kind == .publicOnlyDropped })
        #expect(Set(refused.map(\.widening.region)) == Set(RegionGroup.allCases))
        #expect(PolicyChange.shortfalls(publishing: exact, over: .seed, at: publication).isEmpty)
        // Published later the same day, the same date is a little short: the next day is the earliest.
        let noon = publication + 12 * 3_600_000_000
        let late = PolicyChange.shortfalls(publishing: exact, over: .seed, at: noon)
        #expect(late.first.map { Time.formatDate(dayNumber: $0.earliestDay) } == "2027-01-01")
    }

    @Test func aVersionCannotShortenItsOwnNotice() throws {
        let v2 = try seedVariant(version: "v2", effective: "2026-12-03", [
            (#""public_only": true"#, #""public_only": false"#), (#""notice_period_days": 30"#, #""notice_period_days": 1"#),
        ])
        let shortfalls = PolicyChange.shortfalls(publishing: v2, over: .seed, at: publication)
        #expect(!shortfalls.isEmpty)
        #expect(shortfalls.allSatisfy { $0.widening.noticeDays == 30 })
    }
}
