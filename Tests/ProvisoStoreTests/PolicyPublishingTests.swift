import Foundation
import Testing
import ProvisoCore
import ProvisoStore

@Suite struct PolicyPublishingTests {
    let now = Time.parseRFC3339("2026-12-01T09:30:00Z")!

    func variant(_ version: String, effective: String, _ edits: [(String, String)]) throws -> Policy {
        var text = Policy.seed.source
        for (a, b) in edits { text = text.replacingOccurrences(of: a, with: b) }
        text = text.replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "\#(version)", "effective_from": "\#(effective)""#)
        return try Policy.parse(text)
    }

    /// The EEA's AI-training default off in v1 (published with notice, as a narrowing), then
    /// turned on again in v2: v2 is a widening that needs 30 days.
    func store() async throws -> (MemoryStore, PolicyPublisher) {
        let store = MemoryStore()
        let day = Time.parseDate("1980-01-01")!
        _ = try await store.append(WriteBatch(members: [Member(id: "eu", country: "DE", birthDay: day), Member(id: "eu-on", country: "FR", birthDay: day)],
                                              events: [.choice(member: "eu-on", setting: .genaiImprovement, on: true, at: now - 1, channel: .web,
                                                               actor: "member:eu-on", policyVersion: Policy.seed.version)],
                                              policy: .seed, actor: "test", recordedAt: now - 1))
        let publisher = PolicyPublisher(store: store, baseline: .seed)
        let v1 = try variant("v1", effective: "2026-12-02", [(#"{"regions": ["EEA", "GB", "CH"], "in_scope_from": "2025-11-03", "default": "on""#,
                                                              #"{"regions": ["EEA", "GB", "CH"], "in_scope_from": "2025-11-03", "default": "off""#)])
        _ = try await publisher.publish(v1, at: now, actor: "test", state: try await store.loadState())
        return (store, publisher)
    }

    @Test func aWideningOneDayShortIsRefusedAndChangesNothing() async throws {
        let (store, publisher) = try await store()
        let before = try await store.head()
        let short = try variant("v2", effective: "2026-12-31", [])  // 30 days after 1 Dec 09:30 is 31 Dec 09:30
        await #expect {
            _ = try await publisher.publish(short, at: now, actor: "test", state: try await store.loadState())
        } throws: { error in
            guard case let .insufficientNotice(s)? = error as? PublishError else { return false }
            return s.contains { $0.widening.region == .eea && $0.widening.kind == .defaultTurnedOn && Time.formatDate(dayNumber: $0.earliestDay) == "2027-01-01" }
        }
        #expect(try await store.head() == before)
        #expect(try await store.publishedPolicies().map(\.version) == ["v1"])
        _ = try await publisher.publish(try variant("v2", effective: "2027-01-01", []), at: now, actor: "test", state: try await store.loadState())
        #expect(try await store.publishedPolicies().map(\.version) == ["v1", "v2"])
    }

    @Test func decisionsAsOfTUseTheVersionInForceAtTAndChoicesStand() async throws {
        let (store, publisher) = try await store()
        _ = try await publisher.publish(try variant("v2", effective: "2027-01-01", []), at: now, actor: "test", state: try await store.loadState())
        let engine = DecisionEngine(policies: try await store.policyVersions(baseline: .seed))
        let state = try await store.loadState()
        func decide(_ m: String, _ t: String) -> Decision {
            engine.decide(DecisionQuery(member: state.memberIndex(m), purpose: .genaiTraining, category: .profile,
                                        at: Time.parseRFC3339(t)!), in: state)
        }
        #expect(decide("eu", "2026-12-01T12:00:00Z").reasons.codes == ["default-on"])     // seed
        #expect(decide("eu", "2026-12-15T00:00:00Z").reasons.codes == ["default-off"])    // v1
        #expect(decide("eu", "2026-12-15T00:00:00Z").policyVersion == "v1")
        #expect(decide("eu", "2027-01-02T00:00:00Z").reasons.codes == ["default-on"])     // v2
        // A member who chose "on" keeps their choice under the narrower v1.
        #expect(decide("eu-on", "2026-12-15T00:00:00Z").reasons.codes == ["member-choice"])
    }

    @Test func aVersionWithoutAnEffectiveDateOrDatedBeforeItsPublicationIsRefused() async throws {
        let (s, publisher) = try await store()
        let undated = try Policy.parse(Policy.seed.source.replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "v9""#))
        await #expect(throws: PublishError.self) { _ = try await publisher.publish(undated, at: now, actor: "test", state: try await s.loadState()) }
        let backdated = try variant("v9", effective: "2026-11-01", [])
        await #expect(throws: PublishError.self) { _ = try await publisher.publish(backdated, at: now, actor: "test", state: try await s.loadState()) }
    }

    @Test func aNarrowingSlippedBeforeAScheduledWideningCannotCutThatWideningsNotice() async throws {
        let store = MemoryStore()
        let publisher = PolicyPublisher(store: store, baseline: .seed)
        // v2 is the seed itself, scheduled: no widening. Then v1 turns the EEA default off
        // just before v2: v2 would turn it back on with one day's notice.
        _ = try await publisher.publish(try variant("v2", effective: "2026-12-20", []), at: now, actor: "test", state: try await store.loadState())
        let v1 = try variant("v1", effective: "2026-12-19", [(#"{"regions": ["EEA", "GB", "CH"], "in_scope_from": "2025-11-03", "default": "on""#,
                                                              #"{"regions": ["EEA", "GB", "CH"], "in_scope_from": "2025-11-03", "default": "off""#)])
        await #expect(throws: PublishError.self) { _ = try await publisher.publish(v1, at: now, actor: "test", state: try await store.loadState()) }
    }
}
