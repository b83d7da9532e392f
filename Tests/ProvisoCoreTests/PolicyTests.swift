import Foundation
import Testing
import ProvisoCore

@Suite struct PolicyTests {
    @Test func theSeedPolicyMatchesTheProductDescription() throws {
        let p = Policy.seed
        let genai = try #require(p.purpose(.genaiTraining))
        #expect(genai.gatedBy == .genaiImprovement && genai.publicOnly && genai.excludeMinors && genai.noticePeriodDays == 30)
        #expect(Set(genai.categories.map(\.code)) == ["profile", "post", "comment", "article", "activity", "ai-prompt", "job-seeker", "group", "feedback"])
        for g in [RegionGroup.us, .row] { #expect(p.rule(.genaiTraining, g)?.inScopeFrom == day("2024-09-18")) }
        for g in [RegionGroup.eea, .gb, .ch, .ca, .hk] {
            let r = try #require(p.rule(.genaiTraining, g))
            #expect(r.inScopeFrom == day("2025-11-03") && r.defaultOn)
        }
        #expect(p.rule(.genaiTraining, .eea)?.legalBasis == .legitimateInterest)
        #expect(p.rule(.genaiTraining, .ca)?.legalBasis == .optOut)
        for purpose in [Purpose.adsOffsite, .adsRetargeting, .adsMeasurement, .affiliateSharing] {
            #expect(Set(p.purpose(purpose)!.categories) == [.profile, .activity])
        }
        #expect(p.rule(.affiliateSharing, .eea) == nil && p.rule(.affiliateSharing, .ch) == nil)
        #expect(p.rule(.affiliateSharing, .gb) != nil)
        #expect(p.rule(.affiliateSharing, .us)?.gpc == true && p.rule(.adsOffsite, .us)?.gpc == true)
        #expect(p.rule(.adsOffsite, .eea)?.gpc == false && p.rule(.adsMeasurement, .us)?.gpc == false)
        #expect(p.setting(.adsShareAffiliates)?.dependsOn == [.adsOffPlatform])
    }

    @Test func theShippedSeedFileIsTheBuiltInPolicy() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("policies/seed-policy.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == Policy.seed.source)
    }

    func problems(_ text: String) -> [PolicyProblem] {
        do {
            _ = try Policy.parse(text)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func unknownIdsAreRefusedNamingTheField() {
        let p = problems(seedVariant { $0.replacingOccurrences(of: #""id": "ads-measurement""#, with: #""id": "ads-magic""#) })
        #expect(p.contains { $0.field == "purposes[3].id" && $0.message.contains("ads-magic") })
        let c = problems(seedVariant { $0.replacingOccurrences(of: #""ai-prompt""#, with: #""ai-promptz""#) })
        #expect(c.contains { $0.field == "purposes[0].categories[5]" })
        let r = problems(seedVariant { $0.replacingOccurrences(of: #"["CA", "HK"]"#, with: #"["CA", "EU"]"#) })
        #expect(r.contains { $0.field == "purposes[0].rules[2].regions[1]" && $0.message.contains("EU") })
        let s = problems(seedVariant { $0.replacingOccurrences(of: #""depends_on": ["ads-off-platform"]"#, with: #""depends_on": ["ads-everything"]"#) })
        #expect(s.contains { $0.field == "settings[4].depends_on[0]" })
    }

    @Test(arguments: ["message", "login-security", "payment", "salary", "job-application"])
    func aNeverEligibleCategoryCannotBeMadeUsable(_ category: String) {
        let p = problems(seedVariant { $0.replacingOccurrences(of: #""ai-prompt","#, with: #""ai-prompt", "\#(category)","#) })
        #expect(p.contains { $0.field == "purposes[0].categories[6]" && $0.message.contains("never eligible") })
    }

    @Test func overlappingRegionRulesAreRefused() {
        let p = problems(seedVariant { $0.replacingOccurrences(of: #"["CA", "HK"]"#, with: #"["CA", "HK", "US"]"#) })
        #expect(p.contains { $0.field == "purposes[0].rules[2].regions[2]" && $0.message.contains("overlaps purposes[0].rules[0]") })
    }

    @Test func consentWithADefaultOfOnIsContradictory() {
        let p = problems(seedVariant {
            $0.replacingOccurrences(of: #""in_scope_from": "2025-11-03", "default": "on", "legal_basis": "legitimate-interest""#,
                                    with: #""in_scope_from": "2025-11-03", "default": "on", "legal_basis": "consent""#)
        })
        #expect(p.contains { $0.field == "purposes[0].rules[1].default" && $0.message.contains("consent") })
    }

    @Test func dependencyCyclesAreRefused() {
        let p = problems(seedVariant {
            $0.replacingOccurrences(of: #""description": "Use your data to show you relevant ads on other sites and apps.""#,
                                    with: #""description": "x", "depends_on": ["ads-share-affiliates"]"#)
        })
        #expect(p.contains { $0.field.hasPrefix("settings[") && $0.message.contains("cycle") })
    }

    @Test func impossibleAndNonMidnightDatesAreRefused() {
        let p = problems(seedVariant { $0.replacingOccurrences(of: #""2024-09-18""#, with: #""2024-09-31""#) })
        #expect(p.contains { $0.field == "purposes[0].rules[0].in_scope_from" && $0.message.contains("not a real calendar date") })
        let t = problems(seedVariant { $0.replacingOccurrences(of: #""2024-09-18""#, with: #""2024-09-18T06:00:00Z""#) })
        #expect(t.contains { $0.field == "purposes[0].rules[0].in_scope_from" && $0.message.contains("UTC midnights") })
        let old = problems(seedVariant { $0.replacingOccurrences(of: #""2024-09-18""#, with: #""1900-01-01""#) })
        #expect(old.contains { $0.field == "purposes[0].rules[0].in_scope_from" })
    }

    @Test func unknownFieldsAndMissingRequiredFieldsAreNamed() {
        let p = problems(seedVariant { $0.replacingOccurrences(of: #""in_scope_from": "2024-09-18""#, with: #""in_scope_form": "2024-09-18""#) })
        #expect(p.contains { $0.field == "purposes[0].rules[0].in_scope_form" && $0.message.contains("unknown field") })
        #expect(p.contains { $0.field == "purposes[0].rules[0].in_scope_from" && $0.message.contains("required") })
        let v = problems(seedVariant { $0.replacingOccurrences(of: #""format": "proviso-policy/1""#, with: #""format": "proviso-policy/9""#) })
        #expect(v.contains { $0.field == "format" })
    }

    @Test func purposesSharingASwitchMustAgreeOnItsDefault() {
        let src = Policy.seed.source
        let start = src.range(of: #""id": "ads-measurement""#)!.lowerBound
        let end = src.range(of: #""id": "affiliate-sharing""#)!.lowerBound
        let block = String(src[start..<end])
            .replacingOccurrences(of: #""gated_by": "ads-measure-success""#, with: #""gated_by": "ads-data-from-others""#)
            .replacingOccurrences(of: #""default": "on""#, with: #""default": "off""#)
        let p = problems(src.replacingCharacters(in: start..<end, with: block))
        #expect(p.contains { $0.field == "purposes[3].rules" && $0.message.contains("contradicts purposes[2]") })
    }

    @Test func everyProblemIsReportedAtOnce() {
        let p = problems(#"{"format":"proviso-policy/1","version":"bad version!","settings":[{"id":"nope"}],"purposes":[{"id":"genai-training"}]}"#)
        #expect(p.count >= 4)
        #expect(p.contains { $0.field == "version" })
        #expect(p.contains { $0.field == "settings[0].id" })
        #expect(p.contains { $0.field == "purposes[0].gated_by" })
        #expect(p.contains { $0.field == "purposes[0].rules" })
    }

    @Test func malformedJSONIsReportedWithItsPosition() {
        let p = problems("{\"format\": ")
        #expect(p.first?.message.contains("invalid JSON") == true)
    }
}
