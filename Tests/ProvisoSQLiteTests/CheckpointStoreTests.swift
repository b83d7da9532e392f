import Foundation
import Testing
import GRDB
import ProvisoCore
import ProvisoStore
@testable import ProvisoSQLite

/// The stored projection checkpoint: a load that starts from it and replays the ledger after
/// it must give exactly what a rebuild from the whole ledger gives.
@Suite struct CheckpointStoreTests {
    func members(_ range: Range<Int>) -> [Member] {
        range.map { Member(id: "m\($0)", country: $0 % 3 == 0 ? "US" : "DE", birthDay: 3000 + $0 * 50, handle: "h\($0)") }
    }

    func choice(_ k: Int, _ on: Bool, at: Micros) -> EventDraft {
        .choice(member: "m\(k)", setting: SettingID.allCases[k % SettingID.allCases.count], on: on, at: at, channel: .web,
                actor: "m\(k)", policyVersion: "p")
    }

    /// The projection rebuilt from the members table and the whole ledger, ignoring any checkpoint.
    func rebuilt(_ path: String) async throws -> ConsentState {
        let queue = try DatabaseQueue(path: path)
        try await queue.write { try $0.execute(sql: "DELETE FROM state_checkpoint") }
        let l = try await SQLiteStore(path: path, checkpointAfter: .max).readState()
        #expect(!l.fromCheckpoint)
        return l.state
    }

    @Test func aLoadFromTheCheckpointPlusTheLedgerAfterItEqualsAFullRebuild() async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path, checkpointAfter: 10)
        let l = try await StoreConformance.checkpointScenario(store) { try await store.readState() }
        let full = try await rebuilt(path)
        #expect(l.state.contentDifference(from: full) == nil)
        #expect(full.contentDifference(from: l.state) == nil)
        _ = try await store.loadState()  // writes one again (`rebuilt` removed it)
        #expect(try await store.readState().fromCheckpoint)
        try await store.dropCheckpoint()
        #expect(try await store.readState().fromCheckpoint == false)
    }

    @Test func aShortTailKeepsTheCheckpointAndALongOneRenewsIt() async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path, checkpointAfter: 5)
        _ = try await store.append(WriteBatch(members: members(0..<10), actor: "t", recordedAt: 1))
        _ = try await store.loadState()
        let seq = { try await DatabaseQueue(path: path).read { try Int64.fetchOne($0, sql: "SELECT ledger_seq FROM state_checkpoint") } }
        #expect(try await seq() == 10)
        _ = try await store.append(WriteBatch(events: (0..<4).map { choice($0, true, at: 10) }, actor: "t", recordedAt: 2))
        _ = try await store.loadState()
        #expect(try await seq() == 10)
        _ = try await store.append(WriteBatch(events: [choice(5, true, at: 10)], actor: "t", recordedAt: 3))
        _ = try await store.loadState()
        #expect(try await seq() == 15)
    }

    @Test(arguments: ["UPDATE state_checkpoint SET state = substr(state, 1, length(state) - 1) || x'00'",
                      "UPDATE state_checkpoint SET ledger_hash = x'00'",
                      "UPDATE state_checkpoint SET ledger_seq = ledger_seq - 1"])
    func aDamagedOrForeignCheckpointIsIgnoredAndTheLedgerDecides(_ damage: String) async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path, checkpointAfter: 1)
        _ = try await store.append(WriteBatch(members: members(0..<20), events: (0..<20).map { choice($0, false, at: 7) },
                                              actor: "t", recordedAt: 1))
        let good = try await store.loadState()
        try await DatabaseQueue(path: path).write { try $0.execute(sql: damage) }
        let l = try await SQLiteStore(path: path, checkpointAfter: .max).readState()
        #expect(!l.fromCheckpoint)
        #expect(l.state.contentDifference(from: good) == nil)
    }
}
