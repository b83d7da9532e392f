import Testing
import ProvisoCore

@Suite struct CheckpointTests {
    /// Members across regions, a suspected minor, a closed account, several histories.
    func sample() -> ConsentState {
        var members = (0..<300).map { k in
            Member(id: "member-\(k)-" + String(repeating: "x", count: k % 23), country: ["DE", "GB", "CH", "CA", "HK", "US", "BR"][k % 7],
                   birthDay: day("1970-01-01") + k * 97, suspectedMinor: k % 11 == 0, closedAt: k % 13 == 0 ? at("2025-06-01") + Int64(k) : nil)
        }
        members.append(adult("ünïcode-id", "FR"))
        var choices: [(member: String, setting: SettingID, on: Bool, at: String, channel: Channel)] = []
        for k in stride(from: 0, to: 300, by: 3) {
            choices.append((members[k].id, SettingID.allCases[k % SettingID.allCases.count], k % 2 == 0, "2025-0\(1 + k % 9)-1\(k % 10)", Channel.allCases[k % 4]))
            choices.append((members[k].id, .genaiImprovement, k % 4 == 0, "2024-12-31", .web))
        }
        return makeState(members, choices)
    }

    @Test func aCheckpointRestoresTheSameProjection() throws {
        let state = sample()
        let bytes = state.checkpoint()
        let restored = try #require(bytes.withUnsafeBytes { ConsentState(checkpoint: $0) })
        #expect(restored.contentDifference(from: state) == nil)
        #expect(state.contentDifference(from: restored) == nil)
        #expect(restored.memberIndex("ünïcode-id") == state.memberIndex("ünïcode-id"))
        #expect(restored.membersWithHistory == state.membersWithHistory)
        // Restored, it keeps working as a projection: new members and choices go in as usual.
        var grown = restored
        grown.upsert(adult("late", "DE"))
        grown.apply(Choice(effectiveAt: at("2026-01-01"), seq: 999, setting: .adsOffPlatform, on: true, channel: .api), member: grown.memberIndex("late"))
        #expect(grown.latestChoice(member: grown.memberIndex("late"), setting: .adsOffPlatform, at: at("2026-02-01"))?.on == true)
        #expect(grown.contentDifference(from: state) != nil)
    }

    @Test func aLargeProjectionIsStreamedInPiecesAndRestored() throws {
        // 30,000 members: the per-member arrays are bigger than the reader's buffer, so they are
        // read straight into place, and the writer's output comes in several pieces.
        var members: [Member] = []
        for k in 0..<30_000 { members.append(Member(id: "id-\(k * 7919 % 30_000)", country: k % 2 == 0 ? "DE" : "US", birthDay: 4000 + k % 9000)) }
        let state = makeState(members, (0..<2_000).map { k in ("id-\(k * 13)", SettingID.allCases[k % 5], k % 3 == 0, "2025-01-0\(1 + k % 9)", .web) })
        var pieces: [[UInt8]] = []
        let complete = state.writeCheckpoint { pieces.append(Array($0)); return true }
        #expect(complete && pieces.count > 1)
        let bytes = pieces.flatMap { $0 }
        #expect(bytes.count == state.checkpointSize && bytes == state.checkpoint())
        var reads = 0
        let restored = try #require(ConsentState(checkpointSize: bytes.count) { into, offset in
            reads += 1
            guard offset + into.count <= bytes.count else { return false }
            bytes.withUnsafeBytes { into.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + into.count)])) }
            return true
        })
        #expect(reads > 2)
        #expect(restored.contentDifference(from: state) == nil)
        // A source that fails part-way is a refusal, not a partial projection.
        var left = 3
        #expect(ConsentState(checkpointSize: bytes.count) { into, offset in
            left -= 1
            guard left > 0 else { return false }
            bytes.withUnsafeBytes { into.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + into.count)])) }
            return true
        } == nil)
        // A sink that refuses stops the writer, which says so.
        var sent = 0
        #expect(!state.writeCheckpoint { _ in sent += 1; return sent < 2 })
        #expect(sent == 2)
    }

    @Test func anEmptyProjectionRoundTrips() throws {
        let empty = ConsentState()
        let restored = try #require(empty.checkpoint().withUnsafeBytes { ConsentState(checkpoint: $0) })
        #expect(restored.memberCount == 0 && restored.contentDifference(from: empty) == nil)
    }

    @Test func anyChangedOrMissingByteIsRefused() {
        let bytes = sample().checkpoint()
        // Every byte position class: header, ids, attributes, histories, closings, digest.
        for position in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) + [bytes.count - 1] {
            var bad = bytes
            bad[position] ^= 0x01
            #expect(bad.withUnsafeBytes { ConsentState(checkpoint: $0) } == nil, "flipped byte \(position)")
        }
        for cut in [0, 7, 40, bytes.count / 2, bytes.count - 1] {
            #expect(Array(bytes[..<cut]).withUnsafeBytes { ConsentState(checkpoint: $0) } == nil, "cut at \(cut)")
        }
        #expect((bytes + [0]).withUnsafeBytes { ConsentState(checkpoint: $0) } == nil)
    }

    @Test func differencesAreNamed() {
        let state = sample()
        var other = state
        other.upsert(Member(id: "member-5-xxxxx", country: "DE", birthDay: day("1970-01-01") + 5 * 97))
        #expect(other.contentDifference(from: state) == "member member-5-xxxxx has different attributes")
        var moved = state
        moved.ledgerSeq += 1
        #expect(moved.contentDifference(from: state)?.hasPrefix("ledger sequence") == true)
    }
}
