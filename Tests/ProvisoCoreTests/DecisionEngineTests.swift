import Testing
import ProvisoCore

/// A small custom policy exercising what the seed does not: default off, content dates,
/// GPC in the EEA, minors allowed for one purpose.
let customPolicyText = #"""
{"format":"proviso-policy/1","version":"test-1",
 "settings":[{"id":"genai-improvement","label":"AI","section":"Data privacy"},
             {"id":"ads-off-platform","label":"Ads off here","section":"Ads"},
             {"id":"ads-share-affiliates","label":"Share","section":"Ads","depends_on":["ads-off-platform"]}],
 "purposes":[
  {"id":"genai-training","gated_by":"genai-improvement","categories":["profile","post"],"public_only":true,"notice_period_days":30,
   "rules":[{"regions":["EEA"],"in_scope_from":"2025-01-01","content_from":"2025-01-01","default":"off","legal_basis":"consent"},
            {"regions":["US"],"in_scope_from":"2024-01-01","default":"on","legal_basis":"opt-out"}]},
  {"id":"ads-offsite","gated_by":"ads-off-platform","categories":["profile"],"notice_period_days":0,"exclude_minors":false,
   "rules":[{"regions":["US","EEA"],"in_scope_from":"2020-01-01","default":"on","legal_basis":"opt-out","gpc":true}]},
  {"id":"affiliate-sharing","gated_by":"ads-share-affiliates","categories":["profile"],"notice_period_days":0,
   "rules":[{"regions":["US"],"in_scope_from":"2020-01-01","default":"on","legal_basis":"opt-out"}]}]}
"""#

/// One row of the contract table.
struct ContractCase: CustomStringConvertible, Sendable {
    var name: String
    var custom = false
    var member: String
    var purpose: String
    var category: String
    var at: String
    var createdAt: String? = nil
    var visibility: Visibility? = nil
    var sensitive = false
    var gpc = false
    var allowed: Bool
    var reasons: [String]
    var description: String { name }
}

enum Fixture {
    static let members: [Member] = [
        adult("eu", "DE"), adult("us", "US"), adult("ca", "CA"), adult("gb", "GB"), adult("ch", "CH"), adult("in", "IN"),
        adult("eu-out", "FR"), adult("us-out", "US"), adult("us-gpc", "US"), adult("us-on", "US"), adult("us-noads", "US"),
        Member(id: "kid", country: "US", birthDay: day("2010-06-01")),
        Member(id: "teen", country: "DE", birthDay: day("2008-03-01")),
        Member(id: "flagged", country: "US", birthDay: day("1990-01-01"), suspectedMinor: true),
        Member(id: "closed", country: "FR", birthDay: day("1980-01-01"), closedAt: at("2026-01-01T00:00:00Z")),
        Member(id: "everything", country: "DE", birthDay: day("2010-01-01"), closedAt: at("2025-01-01T00:00:00Z")),
    ]

    static let state = makeState(members, [
        ("eu-out", .genaiImprovement, false, "2025-10-01T00:00:00Z", .web),
        ("us-out", .genaiImprovement, false, "2026-02-01T00:00:00Z", .web),
        ("us-gpc", .adsOffPlatform, false, "2026-01-10T00:00:00Z", .gpc),
        ("us-on", .genaiImprovement, true, "2025-01-01T00:00:00Z", .web),
        ("us-noads", .adsOffPlatform, false, "2026-01-10T00:00:00Z", .web),
        ("everything", .genaiImprovement, false, "2025-06-01T00:00:00Z", .web),
    ])

    static let seed = DecisionEngine(policy: .seed)
    static let custom = DecisionEngine(policy: try! Policy.parse(customPolicyText))
}

@Suite struct DecisionContractTests {
    static let cases: [ContractCase] = [
        .init(name: "EEA default on from 3 Nov 2025", member: "eu", purpose: "genai-training", category: "profile", at: "2025-11-03T00:00:00Z", allowed: true, reasons: ["default-on"]),
        .init(name: "EEA not in scope the instant before", member: "eu", purpose: "genai-training", category: "profile", at: "2025-11-02T23:59:59.999999Z", allowed: false, reasons: ["region-not-in-scope"]),
        .init(name: "US in scope since 18 Sep 2024", member: "us", purpose: "genai-training", category: "profile", at: "2024-09-18T00:00:00Z", allowed: true, reasons: ["default-on"]),
        .init(name: "US not in scope the day before", member: "us", purpose: "genai-training", category: "profile", at: "2024-09-17T12:00:00Z", allowed: false, reasons: ["region-not-in-scope"]),
        .init(name: "CA, GB, CH from 3 Nov 2025", member: "ca", purpose: "genai-training", category: "article", at: "2025-12-01T00:00:00Z", visibility: .public, allowed: true, reasons: ["default-on"]),
        .init(name: "ROW since 2024", member: "in", purpose: "genai-training", category: "activity", at: "2025-01-01T00:00:00Z", allowed: true, reasons: ["default-on"]),
        .init(name: "opt-out before the start date is honoured after it", member: "eu-out", purpose: "genai-training", category: "profile", at: "2025-11-05T00:00:00Z", allowed: false, reasons: ["opted-out"]),
        .init(name: "before start both out of scope and opted out", member: "eu-out", purpose: "genai-training", category: "profile", at: "2025-10-15T00:00:00Z", allowed: false, reasons: ["region-not-in-scope", "opted-out"]),
        .init(name: "as of T ignores a later opt-out", member: "us-out", purpose: "genai-training", category: "profile", at: "2026-01-31T23:59:59Z", allowed: true, reasons: ["default-on"]),
        .init(name: "opt-out applies from its effective time", member: "us-out", purpose: "genai-training", category: "profile", at: "2026-02-01T00:00:00Z", allowed: false, reasons: ["opted-out"]),
        .init(name: "member's own on", member: "us-on", purpose: "genai-training", category: "profile", at: "2025-06-01T00:00:00Z", allowed: true, reasons: ["member-choice"]),
        .init(name: "never-eligible category", member: "us", purpose: "genai-training", category: "message", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["category-never-eligible"]),
        .init(name: "category not for purpose", member: "us", purpose: "ads-offsite", category: "post", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["category-not-for-purpose"]),
        .init(name: "public post", member: "us", purpose: "genai-training", category: "post", at: "2026-01-01T00:00:00Z", visibility: .public, allowed: true, reasons: ["default-on"]),
        .init(name: "connections-only post", member: "us", purpose: "genai-training", category: "post", at: "2026-01-01T00:00:00Z", visibility: .connections, allowed: false, reasons: ["not-public"]),
        .init(name: "comment without visibility fails closed", member: "us", purpose: "genai-training", category: "comment", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["not-public"]),
        .init(name: "group record without visibility fails closed", member: "us", purpose: "genai-training", category: "group", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["not-public"]),
        .init(name: "private profile data is not public", member: "us", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", visibility: .private, allowed: false, reasons: ["not-public"]),
        .init(name: "ads do not need public content", member: "us", purpose: "ads-measurement", category: "activity", at: "2026-01-01T00:00:00Z", visibility: .private, allowed: true, reasons: ["default-on"]),
        .init(name: "sensitive is excluded for every purpose", member: "us", purpose: "ads-retargeting", category: "profile", at: "2026-01-01T00:00:00Z", sensitive: true, allowed: false, reasons: ["sensitive"]),
        .init(name: "minor by birth date", member: "kid", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["minor"]),
        .init(name: "the day before the 18th birthday", member: "teen", purpose: "genai-training", category: "profile", at: "2026-02-28T23:59:59Z", allowed: false, reasons: ["minor"]),
        .init(name: "from the 18th birthday", member: "teen", purpose: "genai-training", category: "profile", at: "2026-03-01T00:00:00Z", allowed: true, reasons: ["default-on"]),
        .init(name: "suspected minor", member: "flagged", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["minor"]),
        .init(name: "closed account", member: "closed", purpose: "ads-measurement", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["account-closed"]),
        .init(name: "before the account closed", member: "closed", purpose: "ads-measurement", category: "profile", at: "2025-12-31T23:59:59Z", allowed: true, reasons: ["default-on"]),
        .init(name: "unknown member", member: "nobody", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["unknown-member"]),
        .init(name: "unknown purpose", member: "us", purpose: "genai-inference", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["unknown-purpose"]),
        .init(name: "unknown category", member: "us", purpose: "genai-training", category: "selfie", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["unknown-category"]),
        .init(name: "all unknown, in contract order", member: "nobody", purpose: "x", category: "y", at: "2026-01-01T00:00:00Z", sensitive: true, allowed: false, reasons: ["unknown-member", "unknown-purpose", "unknown-category", "sensitive"]),
        .init(name: "GPC on the request where the policy applies it", member: "us", purpose: "affiliate-sharing", category: "profile", at: "2026-01-01T00:00:00Z", gpc: true, allowed: false, reasons: ["gpc"]),
        .init(name: "GPC where the policy does not apply it", member: "eu", purpose: "ads-offsite", category: "profile", at: "2026-01-01T00:00:00Z", gpc: true, allowed: true, reasons: ["default-on"]),
        .init(name: "GPC for a purpose it does not cover", member: "us", purpose: "ads-measurement", category: "profile", at: "2026-01-01T00:00:00Z", gpc: true, allowed: true, reasons: ["default-on"]),
        .init(name: "an off recorded through GPC reports gpc", member: "us-gpc", purpose: "ads-offsite", category: "profile", at: "2026-02-01T00:00:00Z", allowed: false, reasons: ["gpc"]),
        .init(name: "affiliate sharing needs ads off platform", member: "us-noads", purpose: "affiliate-sharing", category: "profile", at: "2026-02-01T00:00:00Z", allowed: false, reasons: ["depends-on:ads-off-platform"]),
        .init(name: "a GPC off also breaks the dependency", member: "us-gpc", purpose: "affiliate-sharing", category: "profile", at: "2026-02-01T00:00:00Z", allowed: false, reasons: ["depends-on:ads-off-platform"]),
        .init(name: "opted out and GPC on the request", member: "us-noads", purpose: "ads-offsite", category: "activity", at: "2026-02-01T00:00:00Z", gpc: true, allowed: false, reasons: ["opted-out", "gpc"]),
        .init(name: "affiliate sharing not in scope in the EEA", member: "eu", purpose: "affiliate-sharing", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["region-not-in-scope"]),
        .init(name: "nor in Switzerland", member: "ch", purpose: "affiliate-sharing", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["region-not-in-scope"]),
        .init(name: "but in GB", member: "gb", purpose: "affiliate-sharing", category: "profile", at: "2026-01-01T00:00:00Z", allowed: true, reasons: ["default-on"]),
        .init(name: "every applicable reason, primary first", member: "everything", purpose: "genai-training", category: "post", at: "2025-10-01T00:00:00Z", visibility: .connections, sensitive: true, allowed: false,
              reasons: ["account-closed", "not-public", "sensitive", "minor", "region-not-in-scope", "opted-out"]),
        .init(name: "default off with no choice", custom: true, member: "eu", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", createdAt: "2025-06-01T00:00:00Z", allowed: false, reasons: ["default-off"]),
        .init(name: "no content date in a rule means no content check", custom: true, member: "us", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", createdAt: "2019-01-01T00:00:00Z", allowed: true, reasons: ["default-on"]),
        .init(name: "content before scope in the EEA", custom: true, member: "eu", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", createdAt: "2024-12-31T23:59:59Z", allowed: false, reasons: ["content-before-scope", "default-off"]),
        .init(name: "content without a creation date fails closed", custom: true, member: "eu", purpose: "genai-training", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["content-before-scope", "default-off"]),
        .init(name: "a purpose the policy does not define is unknown", custom: true, member: "us", purpose: "ads-measurement", category: "profile", at: "2026-01-01T00:00:00Z", allowed: false, reasons: ["unknown-purpose"]),
        .init(name: "GPC in a custom region", custom: true, member: "eu", purpose: "ads-offsite", category: "profile", at: "2026-01-01T00:00:00Z", gpc: true, allowed: false, reasons: ["gpc"]),
        .init(name: "minors allowed where the policy says so", custom: true, member: "kid", purpose: "ads-offsite", category: "profile", at: "2026-01-01T00:00:00Z", allowed: true, reasons: ["default-on"]),
    ]

    @Test(arguments: cases)
    func decisionFollowsTheContract(_ c: ContractCase) {
        let engine = c.custom ? Fixture.custom : Fixture.seed
        let request = DecisionRequest(member: c.member, purpose: c.purpose, category: c.category, at: at(c.at),
                                      createdAt: c.createdAt.map(at), visibility: c.visibility, sensitive: c.sensitive, gpc: c.gpc)
        let d = engine.decide(request.query(in: Fixture.state, now: 0), in: Fixture.state)
        #expect(d.allowed == c.allowed)
        #expect(d.reasons.codes == c.reasons)
        #expect(d.policyVersion == (c.custom ? "test-1" : Policy.seed.version))
        #expect(d.ledgerSeq == Fixture.state.ledgerSeq)
    }

    @Test func everyReasonCodeIsExercisedByTheTable() {
        var seen = Set(Self.cases.flatMap(\.reasons))
        seen.insert("state-unavailable")  // covered by its own test below
        let all = Set(Reason.all.map(\.code))
        let missing = all.subtracting(seen).filter { !$0.hasPrefix("depends-on:") || $0 == "depends-on:ads-off-platform" }
        #expect(missing.isEmpty, "reasons without a contract case: \(missing.sorted())")
    }

    @Test func anUncertainViewOfTheLedgerDeniesFirst() {
        var s = Fixture.state
        s.isCurrent = false
        let d = Fixture.seed.decide(DecisionQuery(member: s.memberIndex("us"), purpose: .adsMeasurement, category: .profile, at: at("2026-01-01")), in: s)
        #expect(!d.allowed)
        #expect(d.reasons.codes == ["state-unavailable"])
    }

    @Test func theJSONAnswerHasTheContractShape() throws {
        let d = Fixture.seed.decide(DecisionQuery(member: -1, purpose: .genaiTraining, category: .message, at: 0), in: Fixture.state)
        let json = try JSON.parse(d.json)
        #expect(json["allowed"] == .bool(false))
        #expect(json["reasons"] == .array([.string("unknown-member"), .string("category-never-eligible")]))
        #expect(json["policy_version"] == .string(Policy.seed.version))
        #expect(json["ledger_seq"] == .number(String(Fixture.state.ledgerSeq)))
    }
}

@Suite struct ChoiceOrderingTests {
    let engine = DecisionEngine(policy: .seed)

    @Test func aBackfilledEventCountsAtItsEffectiveTimeNotWhenRecorded() {
        // Recorded first: off from February. Recorded second (a backfill): on from January.
        let s = makeState([adult("m", "US")], [
            ("m", .genaiImprovement, false, "2026-02-01T00:00:00Z", .import),
            ("m", .genaiImprovement, true, "2026-01-01T00:00:00Z", .import),
        ])
        let q = { (t: String) in DecisionQuery(member: 0, purpose: .genaiTraining, category: .profile, at: at(t)) }
        #expect(engine.decide(q("2026-03-01T00:00:00Z"), in: s).reasons.codes == ["opted-out"])
        #expect(engine.decide(q("2026-01-15T00:00:00Z"), in: s).reasons.codes == ["member-choice"])
        #expect(engine.decide(q("2025-12-31T00:00:00Z"), in: s).reasons.codes == ["default-on"])
    }

    @Test func betweenEqualEffectiveTimesTheOneRecordedLastWins() {
        let s = makeState([adult("m", "US")], [
            ("m", .genaiImprovement, false, "2026-01-01T00:00:00Z", .web),
            ("m", .genaiImprovement, true, "2026-01-01T00:00:00Z", .web),
        ])
        let d = engine.decide(DecisionQuery(member: 0, purpose: .genaiTraining, category: .profile, at: at("2026-01-01T00:00:00Z")), in: s)
        #expect(d.reasons.codes == ["member-choice"])
        let s2 = makeState([adult("m", "US")], [
            ("m", .genaiImprovement, true, "2026-01-01T00:00:00Z", .web),
            ("m", .genaiImprovement, false, "2026-01-01T00:00:00Z", .web),
        ])
        #expect(engine.decide(DecisionQuery(member: 0, purpose: .genaiTraining, category: .profile, at: at("2026-01-02")), in: s2).reasons.codes == ["opted-out"])
    }

    @Test func turningADependencyBackOnRestoresTheDependentPurpose() {
        let s = makeState([adult("m", "US")], [
            ("m", .adsOffPlatform, false, "2026-01-01T00:00:00Z", .web),
            ("m", .adsOffPlatform, true, "2026-02-01T00:00:00Z", .web),
        ])
        let q = { (t: String) in DecisionQuery(member: 0, purpose: .affiliateSharing, category: .profile, at: at(t)) }
        #expect(engine.decide(q("2026-01-15"), in: s).reasons.codes == ["depends-on:ads-off-platform"])
        #expect(engine.decide(q("2026-02-15"), in: s).reasons.codes == ["default-on"])
    }

    @Test func aLaterMemberChoiceOverridesAnEarlierGPCOff() {
        let s = makeState([adult("m", "US")], [
            ("m", .adsOffPlatform, false, "2026-01-01T00:00:00Z", .gpc),
            ("m", .adsOffPlatform, true, "2026-02-01T00:00:00Z", .web),
        ])
        let d = engine.decide(DecisionQuery(member: 0, purpose: .adsOffsite, category: .profile, at: at("2026-03-01")), in: s)
        #expect(d.reasons.codes == ["member-choice"])
    }
}

@Suite struct PolicyTimelineTests {
    @Test func asOfTUsesTheVersionInForceAtT() throws {
        let v2 = try Policy.parse(seedVariant {
            $0.replacingOccurrences(of: #""version": "seed-2025-11-03","#, with: #""version": "v2", "effective_from": "2026-06-01","#)
              .replacingOccurrences(of: #""in_scope_from": "2025-11-03", "default": "on", "legal_basis": "legitimate-interest""#,
                                    with: #""in_scope_from": "2025-11-03", "default": "off", "legal_basis": "legitimate-interest""#)
        })
        let engine = DecisionEngine(policies: [v2, .seed])
        let s = makeState([adult("m", "DE")])
        let before = engine.decide(DecisionQuery(member: 0, purpose: .genaiTraining, category: .profile, at: at("2026-05-31T23:59:59Z")), in: s)
        let after = engine.decide(DecisionQuery(member: 0, purpose: .genaiTraining, category: .profile, at: at("2026-06-01T00:00:00Z")), in: s)
        #expect(before.policyVersion == Policy.seed.version && before.allowed)
        #expect(after.policyVersion == "v2" && after.reasons.codes == ["default-off"])
    }
}

@Suite struct SettingStatusTests {
    let engine = DecisionEngine(policy: .seed)

    @Test func eachSettingSaysItsValueSourceAndWhy() {
        let s = makeState([adult("m", "US")], [
            ("m", .genaiImprovement, false, "2026-01-05T10:00:00Z", .web),
            ("m", .adsOffPlatform, false, "2026-01-06T00:00:00Z", .gpc),
        ])
        let statuses = engine.settings(member: 0, at: at("2026-02-01"), in: s)
        let byID = Dictionary(uniqueKeysWithValues: statuses.map { ($0.setting, $0) })
        #expect(byID[.genaiImprovement]?.on == false)
        #expect(byID[.genaiImprovement]?.source.code == "member-choice")
        #expect(byID[.genaiImprovement]?.explanation == "Off since you turned it off on 5 Jan 2026")
        #expect(byID[.adsOffPlatform]?.source.code == "gpc")
        #expect(byID[.adsOffPlatform]?.explanation.contains("opt-out preference signal") == true)
        #expect(byID[.adsMeasureSuccess]?.explanation == "On by default in your region since 5 May 2003")
        #expect(byID[.adsShareAffiliates]?.on == false)
        #expect(byID[.adsShareAffiliates]?.explanation == "Off because Ads off LinkedIn is off")
    }

    @Test func theEEADefaultNamesItsStartDate() {
        let s = makeState([adult("m", "DE")])
        let st = engine.status(member: 0, setting: .genaiImprovement, at: at("2026-01-01"), in: s, policy: .seed)
        #expect(st.on && st.explanation == "On by default in your region since 3 Nov 2025")
        let early = engine.status(member: 0, setting: .genaiImprovement, at: at("2025-10-01"), in: s, policy: .seed)
        #expect(!early.on && early.source.code == "not-in-scope")
    }
}
