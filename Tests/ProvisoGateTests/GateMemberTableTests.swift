import Testing
import ProvisoCore
@testable import ProvisoGate

/// The gate's one-read member table must answer exactly what the consent state's index and
/// the engine answer: ids of every length (inline and longer than its 16 inline bytes, ids
/// sharing their first 16 bytes, the empty id), ids that are absent, and verdicts that do not
/// fit an entry.
@Suite struct GateMemberTableTests {
    static let ids: [String] = {
        var ids = ["", "a", "42", "m1", "exactly-16-bytes", "exactly-16-bytesX", "exactly-16-bytesY", "é-ünïcødé-id-😀"]
        for n in 0..<40 { ids.append(String(repeating: "x", count: n + 1) + "\(n)") }
        for n in 0..<2_000 { ids.append("member-with-a-long-shared-prefix-\(n)") }
        for n in 0..<2_000 { ids.append("m\(n)") }
        return ids
    }()

    func state() -> ConsentState {
        var s = ConsentState()
        let countries = ["DE", "US", "GB", "CA", "FR", "CH", "JP"]
        for (k, id) in Self.ids.enumerated() {
            s.upsert(Member(id: id, country: countries[k % countries.count], birthDay: Time.parseDate("1980-02-02")!))
        }
        return s
    }

    /// A verdict that depends on the member, with content dates on and off whole days.
    static func verdict(_ m: Int32) -> MemberVerdict {
        var v = MemberVerdict()
        v.reasons.bits = UInt32(m % 7) << 3
        v.choseOn = m % 5 == 0
        switch m % 3 {
        case 0: v.contentFrom = .min
        case 1: v.contentFrom = Int64(m) * Time.microsPerDay
        default: v.contentFrom = Int64(m) * Time.microsPerDay + 1  // not a whole day: computed when asked
        }
        return v
    }

    @Test(arguments: [1, 2, 3])
    func everyMemberIsFoundWithItsOwnVerdictAndRegion(threads: Int) {
        let s = state()
        let table = GateMemberTable(state: s, threads: threads) { Self.verdict($0) }
        for id in Self.ids {
            var copy = id
            let e = copy.withUTF8 { table.find(UnsafeRawBufferPointer($0)) }
            let m = s.memberIndex(id)
            #expect(e?.member == m, "\(id)")
            guard let e else { continue }
            #expect(e.region == s.region(of: m).rawValue)
            #expect(table.memberVerdict(e) == Self.verdict(m), "\(id)")
        }
    }

    @Test func absentIdsAreNotFoundEvenWhenTheyShareTheInlineBytes() {
        let table = GateMemberTable(state: state(), threads: 2) { Self.verdict($0) }
        for id in ["b", "exactly-16-byte", "exactly-16-bytesZ", "exactly-16-bytesXY", "member-with-a-long-shared-prefix-",
                   "member-with-a-long-shared-prefix-2000", "m2000", "x", "é-ünïcødé-id-😀 "] {
            var copy = id
            #expect(copy.withUTF8 { table.find(UnsafeRawBufferPointer($0)) } == nil, "\(id)")
        }
    }

    @Test func batchedLookupsAnswerLikeSingleOnes() {
        let table = GateMemberTable(state: state(), threads: 2) { Self.verdict($0) }
        let keys = (Self.ids + ["nobody", "exactly-16-bytesZ", "m-1"]).shuffled().prefix(32).map { Array($0.utf8) }
        var entries = [GateMemberTable.Entry](repeating: .init(), count: keys.count)
        var found = [Bool](repeating: false, count: keys.count)
        var pointers: [UnsafeRawBufferPointer] = []
        let copies = keys.map { k -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(k.count, 1), alignment: 1)
            b.copyBytes(from: k)
            return b
        }
        defer { copies.forEach { $0.deallocate() } }
        for (k, b) in copies.enumerated() { pointers.append(UnsafeRawBufferPointer(start: b.baseAddress, count: keys[k].count)) }
        pointers.withUnsafeBufferPointer { p in
            entries.withUnsafeMutableBufferPointer { e in
                found.withUnsafeMutableBufferPointer { f in table.find(all: p, into: e, found: f) }
            }
        }
        for k in keys.indices {
            let single = table.find(pointers[k])
            #expect(found[k] == (single != nil))
            if found[k] { #expect(entries[k].member == single?.member) }
        }
    }
}
