import Foundation
import Testing
import GRDB
import ProvisoCore
import ProvisoStore
import ProvisoSQLite

/// A fresh database file in a temporary folder, removed afterwards.
func temporaryDatabase() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proviso-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("proviso.sqlite").path
}

@Suite struct SQLiteStoreTests {
    @Test(arguments: StoreConformance.checks)
    func sqliteStoreMeetsTheStoreContract(_ check: StoreConformance.Check) async throws {
        try await check.run(try SQLiteStore(path: temporaryDatabase()))
    }

    @Test func writesSurviveReopeningTheFile() async throws {
        let path = temporaryDatabase()
        do {
            let store = try SQLiteStore(path: path)
            _ = try await store.append(WriteBatch(members: [Member(id: "a", country: "DE", birthDay: 7000, handle: "anna")],
                                                  events: [.choice(member: "a", setting: .genaiImprovement, on: false, at: 5, channel: .web, actor: "m", policyVersion: "p")],
                                                  policy: .seed, actor: "t", recordedAt: 10))
        }
        let reopened = try SQLiteStore(path: path)
        let state = try await reopened.loadState()
        #expect(state.memberCount == 1)
        #expect(state.latestChoice(member: 0, setting: .genaiImprovement, at: 6)?.on == false)
        #expect(state.ledgerSeq == 3)
        let m = try await reopened.member("a")
        #expect(m?.handle == "anna")
        let v = try await reopened.verify()
        #expect(v.failure == nil && v.checked == 3)
    }

    @Test func theDatabaseRefusesToUpdateOrDeleteLedgerRows() async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        _ = try await store.append(WriteBatch(members: [Member(id: "a", country: "DE", birthDay: 7000)], actor: "t", recordedAt: 1))
        let queue = try DatabaseQueue(path: path)
        await #expect(throws: DatabaseError.self) { try await queue.write { try $0.execute(sql: "UPDATE ledger SET actor = 'x'") } }
        await #expect(throws: DatabaseError.self) { try await queue.write { try $0.execute(sql: "DELETE FROM ledger") } }
    }

    @Test(arguments: ["UPDATE ledger SET actor = 'mallory' WHERE seq = 3",
                      "UPDATE ledger SET value = 1 - value WHERE seq = 3",
                      "DELETE FROM ledger WHERE seq = 3",
                      "UPDATE ledger SET seq = seq + 100 WHERE seq = 3"])
    func verificationNamesTheFirstBadSequenceAfterRawTampering(_ sql: String) async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        _ = try await store.append(WriteBatch(members: [Member(id: "a", country: "DE", birthDay: 7000)], actor: "t", recordedAt: 1))
        for k in 0..<4 {
            _ = try await store.append(WriteBatch(events: [.choice(member: "a", setting: .adsOffPlatform, on: k % 2 == 0, at: Int64(k), channel: .web, actor: "m", policyVersion: "p")],
                                                  actor: "t", recordedAt: Int64(2 + k)))
        }
        // An attacker with raw access drops the guard triggers first.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete")
            try db.execute(sql: sql)
        }
        let v = try await store.verify()
        #expect(v.failure?.seq == 3, "\(String(describing: v.failure))")
    }
}
