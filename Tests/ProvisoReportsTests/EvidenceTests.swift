import Testing
import ProvisoCore
import ProvisoStore
import ProvisoReports

@Suite struct EvidenceTests {
    static func archive() async throws -> (bytes: [UInt8], key: ReceiptKey) {
        let f = Fixture()
        try await f.seed()
        let key = ReceiptKey.generate()
        let state = try await f.store.loadState()
        let bytes = try await Evidence.archive(member: "e3", store: f.store, engine: f.engine, state: state, issuer: "https://proviso.test",
                                               key: key, at: Fixture.at)
        return (bytes, key)
    }

    @Test func anArchiveVerifiesAgainstThePublishedKeyWithEveryEventAndReceipt() async throws {
        let (bytes, key) = try await Self.archive()
        let v = try Evidence.verify(bytes, keys: [ReceiptKey(publicKey: key.publicKey)!])
        #expect(v.member == "e3")
        #expect(v.events == 3, "registration and two choices")
        #expect(v.receipts == 2)
        #expect(v.kid == key.kid)
        let names = try Tar.read(bytes).map(\.name)
        #expect(names.contains("ledger.jsonl") && names.contains("settings.json") && names.contains("signing-key.pem"))
        #expect(names.filter { $0.hasPrefix("receipts/") }.count == 2)
    }

    @Test func anotherKeyIsRefused() async throws {
        let (bytes, _) = try await Self.archive()
        #expect(throws: Evidence.Failure.self) { try Evidence.verify(bytes, keys: [ReceiptKey.generate()]) }
    }

    @Test func anyAlteredByteIsCaught() async throws {
        let (bytes, key) = try await Self.archive()
        var entries = try Tar.read(bytes)
        let i = try #require(entries.firstIndex { $0.name == "settings.json" })
        entries[i].bytes = Array(String(decoding: entries[i].bytes, as: UTF8.self).replacingOccurrences(of: "\"off\"", with: "\"on\"").utf8)
        let altered = Tar.write(entries, mtime: 0)
        #expect(throws: Evidence.Failure.self) { try Evidence.verify(altered, keys: [key]) }
        // Re-signing is impossible without the key; dropping a file is caught too.
        let dropped = Tar.write(try Tar.read(bytes).filter { $0.name != "notices.json" }, mtime: 0)
        #expect(throws: Evidence.Failure.self) { try Evidence.verify(dropped, keys: [key]) }
    }

    @Test func aForgedLedgerLineIsCaughtEvenWithConsistentSums() throws {
        let e = LedgerEvent(sealing: .choice(member: "m", setting: .genaiImprovement, on: false, at: 5, channel: .web, actor: "member:m", policyVersion: "v"),
                            seq: 1, recordedAt: 5, prevHash: LedgerHash.genesis)
        let json = Evidence.eventJSON(e)
        #expect(Evidence.event(from: json) == e, "an archived event reads back exactly")
        var forged = try #require(Evidence.event(from: json))
        forged.draft.value = true
        #expect(LedgerHash.compute(seq: forged.seq, recordedAt: forged.recordedAt, draft: forged.draft, prevHash: forged.prevHash) != forged.hash)
    }
}
