import Testing
import ProvisoCore
import ProvisoStore

@Suite struct MemoryStoreConformance {
    @Test(arguments: StoreConformance.checks)
    func memoryStoreMeetsTheStoreContract(_ check: StoreConformance.Check) async throws {
        try await check.run(MemoryStore())
    }

    @Test func verificationNamesATamperedRow() async throws {
        let store = MemoryStore()
        _ = try await store.append(WriteBatch(members: (0..<10).map { Member(id: "m\($0)", country: "US", birthDay: 5000) },
                                              actor: "t", recordedAt: 1))
        store.tamper { $0[4].draft.actor = "mallory" }
        let v = try await store.verify(pageSize: 3)
        #expect(v.failure?.seq == 5)
        #expect(v.checked == 4)
    }

    /// Pages big enough to be hashed on several threads, breaks early and late in a page and in
    /// a later page: the first break is always the one named, with the count before it.
    @Test(arguments: [0, 137, 511, 512, 900, 1_499])
    func theFirstBreakIsNamedWhereverItFallsInAParallelPage(_ at: Int) async throws {
        let store = MemoryStore()
        _ = try await store.append(WriteBatch(members: (0..<1_500).map { Member(id: "m\($0)", country: "US", birthDay: 5000) },
                                              actor: "t", recordedAt: 1))
        let intact = try await store.verify(pageSize: 512)
        #expect(intact.failure == nil && intact.checked == 1_500)
        store.tamper { $0[at].draft.actor = "mallory"; $0[1_200].draft.actor = "later" }
        let v = try await store.verify(pageSize: 512)
        let first = min(at, 1_200)
        #expect(v.failure?.seq == Int64(first + 1))
        #expect(v.checked == Int64(first))
    }
}
