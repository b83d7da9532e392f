import Testing
import ProvisoCore
import ProvisoStore
import ProvisoTestStores
import ProvisoGate
import ProvisoReports

/// A small platform whose figures were worked out by hand (in the comments).
struct Fixture {
    static let t0 = Time.parseRFC3339("2026-01-01T00:00:00Z")!
    static let at = Time.parseRFC3339("2026-06-15T12:00:00Z")!
    let store: any ConsentStore
    var engine: DecisionEngine { DecisionEngine(policy: .seed) }

    /// On the store the run asked for (`PROVISO_TEST_STORE`), unless a test needs a particular one.
    init(store: any ConsentStore = FlakyStore()) { self.store = store }

    static func member(_ id: String, _ country: String, born: String = "1990-01-01", minor: Bool = false, closed: Micros? = nil) -> Member {
        Member(id: id, country: country, birthDay: Time.parseDate(born)!, suspectedMinor: minor, closedAt: closed, handle: id, name: id)
    }

    static func choice(_ id: String, _ s: SettingID, _ on: Bool, at: String, channel: Channel = .web) -> EventDraft {
        .choice(member: id, setting: s, on: on, at: Time.parseRFC3339(at)!, channel: channel, actor: "member:\(id)", policyVersion: Policy.seed.version)
    }

    /// EEA: e1 (no choice), e2 (AI off on 2026-03-10 by web), e3 (AI off by api on 2026-05-20, then on by web 2026-06-01),
    /// e4 (minor by birth date), e5 (closed in April). US: u1 (no choice), u2 (ads-off-platform off by gpc 2026-02-01).
    func seed() async throws {
        _ = try await store.append(WriteBatch(members: [
            Self.member("e1", "DE"), Self.member("e2", "FR"), Self.member("e3", "IE"), Self.member("e4", "DE", born: "2010-03-01"),
            Self.member("e5", "NL", closed: Time.parseRFC3339("2026-04-01T00:00:00Z")!),
            Self.member("u1", "US"), Self.member("u2", "US"),
        ], events: [
            Self.choice("e2", .genaiImprovement, false, at: "2026-03-10T09:00:00Z"),
            Self.choice("e3", .genaiImprovement, false, at: "2026-05-20T09:00:00Z", channel: .api),
            Self.choice("e3", .genaiImprovement, true, at: "2026-06-01T09:00:00Z"),
            Self.choice("u2", .adsOffPlatform, false, at: "2026-02-01T09:00:00Z", channel: .gpc),
        ], policy: .seed, actor: "test", recordedAt: Self.t0))
    }

    func report(months: Int = 6) async throws -> ComplianceReport {
        let state = try await store.loadState()
        return try await ComplianceReport.build(engine: engine, state: state, store: store, at: Self.at, months: months)
    }
}

@Suite struct ComplianceReportTests {
    @Test func figuresMatchTheHandComputedFixture() async throws {
        let f = Fixture()
        try await f.seed()
        let r = try await f.report()
        let eeaAI = try #require(r.scopes.first { $0.region == .eea && $0.purpose == .genaiTraining })
        // e5 is closed; e1, e2, e3, e4 are in scope. Off: e2 only (e3 turned back on). e4 is a minor.
        #expect(eeaAI.inScope == 4)
        #expect(eeaAI.on == 3 && eeaAI.off == 1)
        #expect(eeaAI.sources == ["default-on": 2, "member-choice-off": 1, "member-choice-on": 1])
        #expect(eeaAI.minorsExcluded == 1)
        #expect(eeaAI.choicesByChannel == ["web": 2, "api": 1])
        let usAffiliate = try #require(r.scopes.first { $0.region == .us && $0.purpose == .affiliateSharing })
        // u2's ads-off-platform is off (by GPC), which turns affiliate sharing off as a dependency.
        #expect(usAffiliate.inScope == 2 && usAffiliate.off == 1 && usAffiliate.sources["dependency"] == 1)
        let usOffsite = try #require(r.scopes.first { $0.region == .us && $0.purpose == .adsOffsite })
        #expect(usOffsite.sources["gpc"] == 1 && usOffsite.choicesByChannel == ["gpc": 1])
        #expect(!r.scopes.contains { $0.region == .eea && $0.purpose == .affiliateSharing }, "affiliate sharing is not in scope in the EEA")
        // Series: points 2026-01-01 … 2026-06-01 and the report time. EEA AI off share:
        // Jan, Feb, Mar: 0/5 (e5 still open); Apr 1: e5 closed that instant → e2 off of 4 = 0.25; May: 1/4; Jun 1 09:00 is after the
        // 1 June point (00:00), so e3 is still off then: 2/4; at the report time e3 is back on: 1/4.
        let series = try #require(r.series.first { $0.region == .eea && $0.purpose == .genaiTraining })
        #expect(r.points.count == 7)
        #expect(series.offShare == [0, 0, 0, 0.25, 0.25, 0.5, 0.25])
        // The chain: a policy activation, seven registrations, four choices.
        #expect(r.ledger.events == 12 && r.ledger.intact && r.ledger.firstBreak == nil)
    }

    @Test func theCSVCarriesTheSameFiguresAsTheJSONAndTheCharts() async throws {
        let f = Fixture()
        try await f.seed()
        let r = try await f.report()
        let csv = r.csv()
        #expect(csv.hasPrefix("section,region_group,purpose,key,value\n"))
        #expect(csv.contains("\nscope,EEA,genai-training,members_in_scope,4\n"))
        #expect(csv.contains("\nscope,EEA,genai-training,off_share,0.2500\n"))
        #expect(csv.contains("\nsource,US,affiliate-sharing,dependency,1\n"))
        #expect(csv.contains("\nseries,EEA,genai-training,2026-06-01T00:00:00Z,0.5000\n"))
        let json = r.json().serialized
        #expect(json.contains(#""members_in_scope":4"#))
        let html = r.htmlFragment(labels: .seed)
        #expect(html.contains(#"data-region="EEA" data-time="2026-06-01T00:00:00Z" data-share="0.5000""#))
        #expect(!html.contains("e2"), "no member id appears in the report")
    }

    @Test func aTamperedLedgerIsReportedBroken() async throws {
        let memory = MemoryStore()  // tampering needs a store that lets a test reach under its rules
        let f = Fixture(store: memory)
        try await f.seed()
        memory.tamper { $0[4].draft.value = true }
        let r = try await f.report()
        #expect(!r.ledger.intact)
        #expect(r.ledger.firstBreak?.contains("sequence 5") == true)
        #expect(r.csv().contains("\nledger,,,intact,false\n"))
        #expect(r.htmlFragment(labels: .seed).contains("Hash chain broken"))
    }

    @Test func openRetractionsCountMembersWhoOptedOutAfterASnapshot() async throws {
        let f = Fixture()
        try await f.seed()
        let snap = Snapshot(id: "s1", name: "run", purpose: "genai-training", asOf: Time.parseRFC3339("2026-03-01T00:00:00Z")!, createdAt: Fixture.t0,
                            policyVersion: Policy.seed.version, ledgerSeq: 1, inputSHA256: "", outputSHA256: "", read: 2, eligible: 2, excluded: 0,
                            malformed: 0, memberCount: 2, manifest: "{}")
        try await f.store.registerSnapshot(snap, members: [SnapshotMember(memberID: "e1", counts: [CategoryCount(.post, 1)]),
                                                           SnapshotMember(memberID: "e2", counts: [CategoryCount(.post, 1)])])
        let r = try await f.report()
        #expect(r.snapshots.map(\.openRetractions) == [1], "e2 opted out after the snapshot")
    }
}

@Suite struct OrgDashboardTests {
    static func platform(affiliated n: Int, off: Int) async throws -> (FlakyStore, ConsentState) {
        let store = FlakyStore()
        let ids = (0..<n).map { "m\($0)" }
        _ = try await store.append(WriteBatch(members: ids.map { Fixture.member($0, "GB") },
                                              events: ids.prefix(off).map { Fixture.choice($0, .genaiImprovement, false, at: "2026-02-01T00:00:00Z") },
                                              policy: .seed, actor: "test", recordedAt: Fixture.t0))
        try await store.createOrganisation(Organisation(id: "northwind", name: "Northwind", createdAt: Fixture.t0))
        for id in ids { try await store.setAffiliation(member: id, org: "northwind", at: Fixture.t0) }
        try await store.setProfileField(member: "m0", ProfileField(kind: .manager, value: "Dana", visibility: .public), at: Fixture.t0)
        return (store, try await store.loadState())
    }

    static func dashboard(_ store: any ConsentStore, _ state: ConsentState) async throws -> OrgDashboard {
        try await OrgDashboard.build(org: Organisation(id: "northwind", name: "Northwind", createdAt: Fixture.t0), store: store,
                                     engine: DecisionEngine(policy: .seed), state: state, k: .standard, at: Fixture.at)
    }

    @Test func withOneMemberFewerThanKNothingIsShown() async throws {
        let (store, state) = try await Self.platform(affiliated: 9, off: 3)
        let d = try await Self.dashboard(store, state)
        #expect(d.affiliated == 9)
        #expect(d.settings == .tooFewToShow)
        #expect(d.exposure == .tooFewToShow)
    }

    @Test func withKMembersTheSharesAppear() async throws {
        let (store, state) = try await Self.platform(affiliated: 10, off: 3)
        let d = try await Self.dashboard(store, state)
        let ai = try #require(d.settings.value?.first { $0.setting == .genaiImprovement })
        #expect(ai.offShare == 0.3)
        let affiliates = try #require(d.settings.value?.first { $0.setting == .adsShareAffiliates })
        #expect(affiliates.offShare == 0, "all ten GB members can share with affiliates, none turned it off")
        let manager = try #require(d.exposure.value?.first { $0.rule == "reporting-line" })
        #expect(manager.share == 0.1)
    }
}

@Suite struct ReportAgreesWithTheLedger {
    /// Random members and choices; the AI-training opt-out share per region is recomputed naively
    /// from the ledger events themselves (latest choice by effective time, then sequence) and
    /// must equal the report's figure, its CSV line and its chart's last point.
    @Test(arguments: [1, 2, 3, 4, 5])
    func theChartAndTheCSVAgreeWithANaiveReplayOfTheLedger(_ seed: Int) async throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let store = FlakyStore()
        let countries = ["DE", "FR", "GB", "CH", "CA", "HK", "US", "BR"]
        let members = (0..<60).map { Fixture.member("m\($0)", rng.pick(countries)) }
        var events: [EventDraft] = []
        for _ in 0..<150 {
            let m = rng.pick(members)
            let at = Time.micros(dayNumber: Time.parseDate("2025-01-01")! + rng.int(0...560)) + Int64(rng.int(0...86_399)) * Time.microsPerSecond
            events.append(.choice(member: m.id, setting: .genaiImprovement, on: rng.chance(0.4), at: at, channel: rng.chance(0.5) ? .web : .api,
                                  actor: "member:\(m.id)", policyVersion: Policy.seed.version))
        }
        _ = try await store.append(WriteBatch(members: members, events: events, policy: .seed, actor: "test", recordedAt: Fixture.t0))
        let at = Fixture.at
        let report = try await ComplianceReport.build(engine: DecisionEngine(policy: .seed), state: try await store.loadState(), store: store, at: at, months: 3)
        // The naive replay: every ledger event, in ledger order.
        var latest: [String: (effective: Micros, seq: Int64, on: Bool)] = [:]
        for e in try await store.events(after: 0, limit: 10_000) where e.kind == .settingChanged && e.draft.setting == .genaiImprovement {
            guard let m = e.memberID, let eff = e.draft.effectiveAt, eff <= at, let on = e.draft.value else { continue }
            if let l = latest[m], (l.effective, l.seq) > (eff, e.seq) { continue }
            latest[m] = (eff, e.seq, on)
        }
        let csv = report.csv()
        let html = report.htmlFragment(labels: .seed)
        // The first chart is AI training's.
        let chart = try #require(html.range(of: "<figure>").flatMap { start in html.range(of: "</figure>", range: start.upperBound..<html.endIndex).map { html[start.lowerBound..<$0.upperBound] } })
        #expect(chart.contains("Data for Generative AI Improvement"))
        for region in RegionGroup.allCases {
            let group = members.filter { $0.region == region }
            guard !group.isEmpty else { continue }
            let off = group.filter { latest[$0.id]?.on == false }.count
            let share = ComplianceReport.share(Double(off) / Double(group.count))
            let row = try #require(report.scopes.first { $0.region == region && $0.purpose == .genaiTraining })
            #expect(row.inScope == group.count && row.off == off, "\(region.code): \(row.off)/\(row.inScope) vs ledger \(off)/\(group.count)")
            #expect(csv.contains("\nscope,\(region.code),genai-training,off_share,\(share)\n"))
            #expect(chart.contains(#"data-region="\#(region.code)" data-time="\#(Time.formatRFC3339(at))" data-share="\#(share)""#))
        }
    }
}
