import Testing
import ProvisoCore
import ProvisoStore

/// The member set every store registers: pages keyed by the id's stable hash, each a block
/// of `id<TAB>counts` lines in id order, with order and count checked while it is built.
@Suite struct SnapshotMemberSetTests {
    static func members(_ n: Int) -> [SnapshotMember] {
        (0..<n).map { k in
            SnapshotMember(memberID: "m\(k)", counts: k % 4 == 0 ? [] : [CategoryCount(.profile, k % 7 + 1), CategoryCount(.post, k)])
        }.sorted { $0.memberID.utf8.lexicographicallyPrecedes($1.memberID.utf8) }
    }

    @Test func everyMemberLandsOnItsPageInIdOrderAndComesBackWhole() throws {
        let input = Self.members(5_000)
        let set = try SnapshotMemberSet(input)
        #expect(set.count == 5_000)
        #expect(set.pageCount == SnapshotPages.pageCount(members: 5_000))
        var seen = 0
        for page in set.pages {
            let members = try #require(SnapshotPages.decode(page.text))
            #expect(members.allSatisfy { SnapshotPages.page(of: $0.memberID, pageCount: set.pageCount) == page.page })
            #expect(members.map(\.memberID) == members.map(\.memberID).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            seen += members.count
        }
        #expect(seen == 5_000)
        #expect(try set.members() == input)
    }

    @Test func aDuplicateOrAnOutOfOrderIdIsRefused() {
        let a = SnapshotMember(memberID: "a", counts: []), b = SnapshotMember(memberID: "b", counts: [])
        let ab = SnapshotMember(memberID: "ab", counts: [])
        #expect(throws: StoreError.self) { try SnapshotMemberSet([a, a]) }
        #expect(throws: StoreError.self) { try SnapshotMemberSet([b, a]) }
        #expect(throws: StoreError.self) { try SnapshotMemberSet([ab, a]) }
        #expect(throws: Never.self) { try SnapshotMemberSet([a, ab, b]) }
    }

    @Test func moreOrFewerMembersThanAnnouncedAreRefused() throws {
        var b = SnapshotMemberSet.Builder(count: 2)
        var id = "a"
        try id.withUTF8 { u in try b.append(id: UnsafeRawBufferPointer(u)) { _ in } }
        #expect(throws: StoreError.self) { try b.finish() }
        id = "b"
        try id.withUTF8 { u in try b.append(id: UnsafeRawBufferPointer(u)) { _ in } }
        id = "c"
        #expect(throws: StoreError.self) { try id.withUTF8 { u in try b.append(id: UnsafeRawBufferPointer(u)) { _ in } } }
        #expect(try b.finish().count == 2)
    }

    /// Parts built from consecutive runs of the members (the gate builds two on two threads).
    static func parts(_ input: [SnapshotMember], cuts: [Int]) throws -> [SnapshotMemberSet.Builder] {
        let bounds = [0] + cuts + [input.count]
        return try (0..<(bounds.count - 1)).map { k in
            var b = SnapshotMemberSet.Builder(count: bounds[k + 1] - bounds[k], ofTotal: input.count)
            for m in input[bounds[k]..<bounds[k + 1]] {
                var id = m.memberID
                try id.withUTF8 { u in try b.append(id: UnsafeRawBufferPointer(u)) { CategoryCount.append(m.counts, to: &$0) } }
            }
            return b
        }
    }

    @Test(arguments: [[2_500], [0], [5_000], [1, 2, 4_999], [1_000, 1_000]])
    func partsJoinedAreTheSetBuiltInOne(cuts: [Int]) throws {
        let input = Self.members(5_000)
        let whole = try SnapshotMemberSet(input)
        let joined = try SnapshotMemberSet.Builder.joined(try Self.parts(input, cuts: cuts))
        #expect(joined.count == whole.count && joined.pageCount == whole.pageCount)
        #expect(joined.pages.map(\.page) == whole.pages.map(\.page))
        #expect(joined.pages.map(\.text) == whole.pages.map(\.text))
    }

    @Test func partsOutOfOrderOrIncompleteOrOfAnotherTotalAreRefused() throws {
        let input = Self.members(300)
        let p = try Self.parts(input, cuts: [150])
        #expect(throws: StoreError.self) { try SnapshotMemberSet.Builder.joined([p[1], p[0]]) }
        // The same member at the end of one part and the start of the next.
        let overlap = try Self.parts(Array(input[0..<150]) + Array(input[149..<300]), cuts: [150])
        #expect(throws: StoreError.self) { try SnapshotMemberSet.Builder.joined(overlap) }
        #expect(throws: StoreError.self) { try SnapshotMemberSet.Builder.joined([p[0]]) }  // announced 300 in all
        var short = SnapshotMemberSet.Builder(count: 2, ofTotal: 2)
        var id = "a"
        try id.withUTF8 { u in try short.append(id: UnsafeRawBufferPointer(u)) { _ in } }
        #expect(throws: StoreError.self) { try SnapshotMemberSet.Builder.joined([short]) }
    }
}
