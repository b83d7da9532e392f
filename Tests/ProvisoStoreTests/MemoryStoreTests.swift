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
}
