import Testing
import ProvisoCore
import ProvisoServer
import ProvisoStore
import ProvisoTestStores

/// Another instance's writes reach this one by tailing the ledger; when the store cannot be
/// read for longer than the bound, decisions fail closed, and recover once it can.
@Suite struct FollowLedgerTests {
    let t0 = Time.parseRFC3339("2026-06-01T00:00:00Z")!
    let second: Micros = 1_000_000

    @Test func aStaleViewDeniesWithStateUnavailableAndCatchingUpRestoresIt() async throws {
        let store = FlakyStore()
        _ = try await store.append(WriteBatch(members: [Member(id: "gb", country: "GB", birthDay: Time.parseDate("1980-01-01")!)],
                                              policy: .seed, actor: "t", recordedAt: t0))
        let service = try await ConsentService.load(store: store, policy: .seed)
        service.failClosed(after: 5 * second)
        let ask = DecisionRequest(member: "gb", purpose: "genai-training", category: "profile")
        #expect(service.decide(ask, now: t0).reasons.codes.first == "state-unavailable",
                "before any confirmation the view is not vouched for")
        try await service.catchUp(now: t0)
        #expect(service.decide(ask, now: t0 + second).reasons.codes == ["default-on"])

        // Another instance records an opt-out; this one sees it at its next catch-up.
        _ = try await store.inner.append(WriteBatch(events: [.choice(member: "gb", setting: .genaiImprovement, on: false, at: t0 + second,
                                                                    channel: .web, actor: "member:gb", policyVersion: Policy.seed.version)],
                                                    actor: "other-instance", recordedAt: t0 + second))
        #expect(try await service.catchUp(now: t0 + 2 * second) == 1)
        #expect(service.decide(ask, now: t0 + 2 * second).reasons.codes == ["opted-out"])

        // The store goes away: within the bound answers stand, past it they fail closed.
        store.failing.store(true, ordering: .relaxed)
        await #expect(throws: StoreError.self) { try await service.catchUp(now: t0 + 3 * second) }
        #expect(service.decide(ask, now: t0 + 6 * second).reasons.codes == ["opted-out"])
        #expect(service.decide(ask, now: t0 + 8 * second).reasons.codes.first == "state-unavailable")
        #expect(service.decide([ask], now: t0 + 8 * second).first?.allowed == false)

        // Back: it catches up (including what was written meanwhile) and answers normally.
        store.failing.store(false, ordering: .relaxed)
        _ = try await store.inner.append(WriteBatch(events: [.choice(member: "gb", setting: .genaiImprovement, on: true, at: t0 + 7 * second,
                                                                    channel: .web, actor: "member:gb", policyVersion: Policy.seed.version)],
                                                    actor: "other-instance", recordedAt: t0 + 7 * second))
        try await service.catchUp(now: t0 + 9 * second)
        #expect(service.decide(ask, now: t0 + 9 * second).reasons.codes == ["member-choice"])
    }

    @Test func anEventWrittenHereAndSeenAgainWhileTailingIsAppliedOnce() async throws {
        let store = FlakyStore()
        _ = try await store.append(WriteBatch(members: [Member(id: "gb", country: "GB", birthDay: 3000)], policy: .seed, actor: "t", recordedAt: t0))
        let service = try await ConsentService.load(store: store, policy: .seed)
        _ = try await service.change(member: "gb", setting: .adsOffPlatform, on: false, channel: .web, actor: "member:gb", now: t0 + second)
        try await service.catchUp(now: t0 + 2 * second)
        let m = service.snapshot().memberIndex("gb")
        #expect(service.snapshot().history(member: m).count == 1)
    }

    /// A server renews the store's projection checkpoint as its tail grows, in the background,
    /// one renewal at a time, and not before the tail has moved far enough.
    @Test func theTailMovingFarEnoughHasTheStoreRenewItsCheckpointOnce() async throws {
        let store = FlakyStore()
        _ = try await store.append(WriteBatch(members: [Member(id: "gb", country: "GB", birthDay: Time.parseDate("1980-01-01")!)],
                                              policy: .seed, actor: "t", recordedAt: t0))
        let service = try await ConsentService.load(store: store, policy: .seed)
        let loadsAtStart = store.loads.load(ordering: .relaxed)
        func choices(_ n: Int) async throws {
            _ = try await store.inner.append(WriteBatch(events: (0..<n).map { k in
                .choice(member: "gb", setting: .adsOffPlatform, on: k % 2 == 0, at: t0 + Int64(k), channel: .web, actor: "member:gb",
                        policyVersion: Policy.seed.version)
            }, actor: "other-instance", recordedAt: t0 + second))
        }
        try await choices(2)
        try await service.catchUp(now: t0 + second)
        #expect(service.renewCheckpointIfDue(minimum: 3) == nil, "two events past the load: not due")
        try await choices(2)
        try await service.catchUp(now: t0 + 2 * second)
        let renewal = try #require(service.renewCheckpointIfDue(minimum: 3))
        #expect(service.renewCheckpointIfDue(minimum: 3) == nil, "one at a time, and the tail has not moved since")
        await renewal.value
        #expect(store.loads.load(ordering: .relaxed) == loadsAtStart + 1)
        #expect(service.renewCheckpointIfDue(minimum: 3) == nil, "counted from the renewal now")
    }
}
