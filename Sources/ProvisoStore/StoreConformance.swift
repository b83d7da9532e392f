public import ProvisoCore

/// The contract every `ConsentStore` must meet, written once and run against each
/// implementation (memory, SQLite, PostgreSQL). Each check gets a fresh, empty store.
public enum StoreConformance {
    /// A failed expectation, with what was expected.
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// A named check.
    public struct Check: Sendable, CustomStringConvertible {
        public var name: String
        public var run: @Sendable (any ConsentStore) async throws -> Void
        public var description: String { name }
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Failure(message: message()) }
    }

    static let t0: Micros = Time.parseRFC3339("2026-01-01T00:00:00Z")!

    static func member(_ id: String, _ country: String = "DE", handle: String? = nil) -> Member {
        Member(id: id, country: country, birthDay: Time.parseDate("1990-05-17")!, handle: handle ?? "handle-\(id)", name: "Member \(id)")
    }

    static func choice(_ id: String, _ s: SettingID, _ on: Bool, at: Micros) -> EventDraft {
        .choice(member: id, setting: s, on: on, at: at, channel: .web, actor: "member:\(id)", policyVersion: Policy.seed.version)
    }

    /// Every check, in a stable order.
    public static let checks: [Check] = coreChecks + organisationChecks + bulkChecks + noticeChecks

    static let coreChecks: [Check] = [
        Check(name: "appends get consecutive sequences and a verifiable chain") { store in
            let r = try await store.append(WriteBatch(members: [member("a"), member("b")],
                                                      events: [choice("a", .genaiImprovement, false, at: t0)],
                                                      policy: .seed, actor: "test", recordedAt: t0))
            try expect(r.events.map(\.seq) == [1, 2, 3, 4], "expected seqs 1…4, got \(r.events.map(\.seq))")
            try expect(r.events.first?.kind == .policyActivated, "a new policy must be activated first")
            try expect(r.lastSeq == 4 && r.written == 4, "lastSeq/written wrong: \(r.lastSeq)/\(r.written)")
            let r2 = try await store.append(WriteBatch(events: [choice("b", .adsOffPlatform, false, at: t0)],
                                                       policy: .seed, actor: "test", recordedAt: t0 + 1))
            try expect(r2.events.map(\.seq) == [5], "second append must continue at 5 without re-activating the policy")
            try expect(r2.events[0].prevHash == r.events[3].hash, "second append must link to the previous head")
            let v = try await store.verify(pageSize: 2)
            try expect(v.failure == nil && v.checked == 5, "chain must verify across pages: \(String(describing: v.failure))")
            let head = try await store.head()
            try expect(head == r2.events[0], "head must be the last event")
        },
        Check(name: "a rejected batch changes nothing") { store in
            _ = try await store.append(WriteBatch(members: [member("a")], policy: .seed, actor: "test", recordedAt: t0))
            let before = try await store.head()
            do {
                _ = try await store.append(WriteBatch(members: [member("new")],
                                                      events: [choice("a", .genaiImprovement, false, at: t0), choice("ghost", .genaiImprovement, false, at: t0)],
                                                      actor: "test", recordedAt: t0))
                throw Failure(message: "a choice for an unknown member must be refused")
            } catch StoreError.unknownMember(let id) {
                try expect(id == "ghost", "the error must name the unknown member, got \(id)")
            }
            let after = try await store.head()
            try expect(after == before, "the ledger head moved after a rejected batch")
            let ghost = try await store.member("new")
            try expect(ghost == nil, "a member from a rejected batch was stored")
            let count = try await store.memberCount()
            try expect(count == 1, "member count changed after a rejected batch")
        },
        Check(name: "member upserts register, change and skip unchanged members") { store in
            let r1 = try await store.append(WriteBatch(members: [member("a"), member("b")], actor: "test", recordedAt: t0))
            try expect(r1.registered == 2 && r1.changed == 0, "expected 2 registered, got \(r1)")
            var moved = member("b", "US")
            moved.closedAt = t0
            let r2 = try await store.append(WriteBatch(members: [member("a"), moved], actor: "test", recordedAt: t0 + 1))
            try expect(r2.registered == 0 && r2.changed == 1 && r2.unchanged == 1, "expected 1 changed 1 unchanged, got \(r2)")
            try expect(r2.events.map(\.kind) == [.memberChanged], "only the changed member gets an event")
            let stored = try await store.member("b")
            try expect(stored == moved, "the stored member must be the new version")
            let byHandle = try await store.memberID(handle: "handle-a")
            try expect(byHandle == "a", "a member must be found by handle")
            let events = try await store.events(member: "b")
            try expect(events.map(\.kind) == [.memberRegistered, .memberChanged], "member history wrong: \(events.map(\.kind))")
            try expect(events.last?.draft.payload == moved.payload, "the event must carry the member's canonical payload")
        },
        Check(name: "a choice may name a member registered in the same batch") { store in
            let r = try await store.append(WriteBatch(members: [member("a")], events: [choice("a", .genaiImprovement, true, at: t0)],
                                                      actor: "test", recordedAt: t0))
            try expect(r.events.map(\.kind) == [.memberRegistered, .settingChanged], "kinds wrong: \(r.events.map(\.kind))")
        },
        Check(name: "a policy is activated once per distinct file") { store in
            _ = try await store.append(WriteBatch(members: [member("a")], policy: .seed, actor: "test", recordedAt: t0))
            _ = try await store.append(WriteBatch(events: [choice("a", .genaiImprovement, false, at: t0)], policy: .seed, actor: "test", recordedAt: t0))
            let all = try await store.events(after: 0, limit: 100)
            try expect(all.filter { $0.kind == .policyActivated }.count == 1, "the same policy was activated twice")
            try expect(all.first?.draft.payload?.contains(Policy.seed.digest) == true, "activation must record the policy digest")
        },
        Check(name: "the loaded state reflects members and choices, backfills in effective order") { store in
            var closed = member("c", "FR")
            closed.closedAt = t0
            _ = try await store.append(WriteBatch(members: [member("a"), member("b", "US"), closed], actor: "test", recordedAt: t0))
            // Recorded later but effective earlier: a backfill from a legacy system.
            _ = try await store.append(WriteBatch(events: [choice("a", .genaiImprovement, false, at: t0 + 100)], actor: "test", recordedAt: t0 + 200))
            _ = try await store.append(WriteBatch(events: [choice("a", .genaiImprovement, true, at: t0 + 50)], actor: "test", recordedAt: t0 + 300))
            let s = try await store.loadState()
            try expect(s.memberCount == 3, "expected 3 members, got \(s.memberCount)")
            let a = s.memberIndex("a")
            try expect(a >= 0 && s.region(of: a) == .eea, "member a must be in EEA")
            try expect(s.region(of: s.memberIndex("b")) == .us, "member b must be in US")
            try expect(s.closingTime(of: s.memberIndex("c")) == t0, "member c must be closed at t0")
            try expect(s.history(member: a).map(\.on) == [true, false], "history must be in effective order")
            try expect(s.latestChoice(member: a, setting: .genaiImprovement, at: t0 + 75)?.on == true, "at t0+75 the backfilled on applies")
            try expect(s.latestChoice(member: a, setting: .genaiImprovement, at: t0 + 150)?.on == false, "at t0+150 the off applies")
            let head = try await store.head()
            try expect(s.ledgerSeq == head?.seq, "state must reflect the ledger head")
        },
        Check(name: "events page in sequence order and by member") { store in
            _ = try await store.append(WriteBatch(members: [member("a"), member("b")], actor: "test", recordedAt: t0))
            for k in 0..<5 {
                _ = try await store.append(WriteBatch(events: [choice(k % 2 == 0 ? "a" : "b", .adsMeasureSuccess, k % 2 == 0, at: t0 + Int64(k))],
                                                      actor: "test", recordedAt: t0 + Int64(k)))
            }
            let page = try await store.events(after: 2, limit: 3)
            try expect(page.map(\.seq) == [3, 4, 5], "paging wrong: \(page.map(\.seq))")
            let a = try await store.events(member: "a")
            try expect(a.map(\.seq) == [1, 3, 5, 7], "member events wrong: \(a.map(\.seq))")
        },
        Check(name: "tokens are found by hash only while active, and names are unique among active tokens") { store in
            let hash = TokenSecret.hash("pvs_secret-one")
            try await store.createToken(ServiceToken(name: "gate", scopes: [.gateRun, .decisionsRead], createdAt: t0), hash: hash)
            let found = try await store.activeToken(hash: hash)
            try expect(found?.name == "gate" && found?.scopes == [.gateRun, .decisionsRead], "token not found by hash: \(String(describing: found))")
            let other = try await store.activeToken(hash: TokenSecret.hash("pvs_secret-two"))
            try expect(other == nil, "a wrong secret must find nothing")
            do {
                try await store.createToken(ServiceToken(name: "gate", scopes: [.decisionsRead], createdAt: t0), hash: TokenSecret.hash("x"))
                throw Failure(message: "a second active token with the same name must be refused")
            } catch StoreError.conflict {}
            let revoked = try await store.revokeToken(name: "gate", at: t0 + 5)
            try expect(revoked, "revoking an active token must succeed")
            let after = try await store.activeToken(hash: hash)
            try expect(after == nil, "a revoked token must not authenticate")
            let again = try await store.revokeToken(name: "gate", at: t0 + 6)
            try expect(!again, "revoking twice must report nothing to revoke")
            try await store.createToken(ServiceToken(name: "gate", scopes: [.decisionsRead], createdAt: t0 + 7), hash: TokenSecret.hash("y"))
            let all = try await store.tokens()
            try expect(all.count == 2 && all.filter { $0.revokedAt != nil }.count == 1, "listing must keep revoked tokens: \(all)")
        },
        Check(name: "receipt keys persist, newest first, and the first is created on demand") { store in
            let first = try await store.currentReceiptKey(now: t0)
            let again = try await store.currentReceiptKey(now: t0 + 1)
            try expect(first == again && first.privateKeyBytes != nil, "the current key must be stable and able to sign")
            let next = ReceiptKey.generate()
            try await store.addReceiptKey(next, at: t0 + 2)
            let keys = try await store.receiptKeys()
            try expect(keys.map(\.kid) == [next.kid, first.kid], "keys must be listed newest first: \(keys.map(\.kid))")
        },
        Check(name: "passwords belong to existing members and sessions expire") { store in
            _ = try await store.append(WriteBatch(members: [member("a")], actor: "test", recordedAt: t0))
            try await store.setPasswordHash(member: "a", hash: "$2b$04$x", at: t0)
            let hash = try await store.passwordHash(member: "a")
            try expect(hash == "$2b$04$x", "password hash not stored")
            do {
                try await store.setPasswordHash(member: "ghost", hash: "h", at: t0)
                throw Failure(message: "a password for an unknown member must be refused")
            } catch StoreError.unknownMember {}
            let id = TokenSecret.hash("session-1")
            try await store.createSession(MemberSession(memberID: "a", csrfToken: "c", createdAt: t0, expiresAt: t0 + 100), idHash: id)
            let live = try await store.session(idHash: id, now: t0 + 99)
            try expect(live?.memberID == "a" && live?.csrfToken == "c", "session not found while valid")
            let expired = try await store.session(idHash: id, now: t0 + 100)
            try expect(expired == nil, "an expired session must not be returned")
            try await store.deleteSession(idHash: id)
            let gone = try await store.session(idHash: id, now: t0)
            try expect(gone == nil, "a deleted session must not be returned")
        },
        Check(name: "bulk appends may skip returning events but report the head") { store in
            let members = (0..<500).map { member("m\($0)") }
            let r = try await store.append(WriteBatch(members: members, actor: "test", recordedAt: t0, returnEvents: false))
            try expect(r.events.isEmpty && r.lastSeq == 500 && r.registered == 500, "bulk result wrong: \(r.lastSeq) \(r.registered)")
            let count = try await store.memberCount()
            try expect(count == 500, "expected 500 members, got \(count)")
        },
        Check(name: "a snapshot's member set is registered whole and found by member") { store in
            let members = (0..<700).map { k in
                SnapshotMember(memberID: "m" + String(String(k + 10_000).dropFirst()), counts: [CategoryCount(.post, k % 3 + 1), CategoryCount(.profile, 1)])
            }
            let s = snapshot("snap-a", members: members.count)
            try await store.registerSnapshot(s, members: members)
            let listed = try await store.snapshots()
            try expect(listed == [s], "the registry must list the snapshot exactly as registered: \(listed)")
            let found = try await store.snapshot(id: "snap-a")
            try expect(found == s, "snapshot(id:) must return it")
            var all: [SnapshotMember] = []
            var page = 0
            while let p = try await store.snapshotMembers(id: "snap-a", page: page) { all += p; page += 1 }
            all.sort { $0.memberID < $1.memberID }
            try expect(all == members, "paging must return every member once with its counts (got \(all.count))")
            let uses = try await store.snapshotUses(member: "m0005")
            try expect(uses == [SnapshotUse(snapshot: s, counts: [CategoryCount(.post, 3), CategoryCount(.profile, 1)])],
                       "the member's report must show the snapshot and counts: \(uses)")
            let none = try await store.snapshotUses(member: "m9999")
            try expect(none.isEmpty, "a member not in any snapshot has an empty report")
            let unknown = try await store.snapshotMembers(id: "snap-missing", page: 0)
            try expect(unknown == nil, "an unknown snapshot has no pages")
        },
        Check(name: "snapshots are never overwritten and a refused registration leaves nothing") { store in
            let s = snapshot("snap-b", members: 1)
            try await store.registerSnapshot(s, members: [SnapshotMember(memberID: "a", counts: [CategoryCount(.post, 1)])])
            do {
                try await store.registerSnapshot(s, members: [])
                throw Failure(message: "registering the same id twice must be refused")
            } catch StoreError.conflict {}
            let unsorted = [SnapshotMember(memberID: "b", counts: []), SnapshotMember(memberID: "a", counts: [])]
            do {
                try await store.registerSnapshot(snapshot("snap-c", members: 2), members: unsorted)
                throw Failure(message: "a member set out of id order must be refused")
            } catch StoreError.conflict {}
            let ids = try await store.snapshots().map(\.id)
            try expect(ids == ["snap-b"], "only the first registration may be kept: \(ids)")
            let second = snapshot("snap-d", members: 1)
            try await store.registerSnapshot(second, members: [SnapshotMember(memberID: "a", counts: [CategoryCount(.profile, 2)])])
            let uses = try await store.snapshotUses(member: "a").map(\.snapshot.id)
            try expect(uses == ["snap-d", "snap-b"], "a member's report lists snapshots newest first: \(uses)")
        },
        Check(name: "a published policy is stored with its ledger event and never replaced") { store in
            _ = try await store.append(WriteBatch(members: [member("a")], policy: .seed, actor: "test", recordedAt: t0))
            let text = Policy.seed.source.replacingFirst(#""version": "seed-2025-11-03""#, with: #""version": "v2", "effective_from": "2026-03-01""#)
            let v2 = try Policy.parse(text)
            let p = try await store.publishPolicy(v2, publishedAt: t0 + 10, actor: "cli:test", notices: [])
            try expect(p.version == "v2" && p.text == text && p.effectiveFrom == Time.parseDate("2026-03-01") && p.publishedAt == t0 + 10,
                       "the publication must keep the file and its dates: \(p)")
            let head = try await store.head()
            try expect(head?.kind == .policyPublished && head?.seq == p.seq && head?.draft.policyVersion == "v2",
                       "the publication must be the ledger's newest event")
            let listed = try await store.publishedPolicies()
            try expect(listed == [p], "publishedPolicies must list it: \(listed)")
            do {
                _ = try await store.publishPolicy(v2, publishedAt: t0 + 20, actor: "cli:test", notices: [])
                throw Failure(message: "publishing the same version twice must be refused")
            } catch StoreError.conflict {}
            let after = try await store.head()
            try expect(after?.seq == p.seq, "a refused publication must not touch the ledger")
            let versions = try await store.policyVersions(baseline: .seed)
            try expect(versions.map(\.version) == [Policy.seed.version, "v2"], "the seed stays the baseline: \(versions.map(\.version))")
        },
        Check(name: "posts are stored per member, newest first, and only for known members") { store in
            _ = try await store.append(WriteBatch(members: [member("a", handle: "alice"), member("b", handle: "bob")], policy: .seed, actor: "test", recordedAt: t0))
            try await store.addPosts([
                Post(id: "p1", memberID: "a", text: "first", visibility: .public, createdAt: t0),
                Post(id: "p2", memberID: "a", text: "second", visibility: .connections, createdAt: t0 + 5),
                Post(id: "p3", memberID: "b", text: "bob's", visibility: .public, createdAt: t0 + 1),
            ])
            let posts = try await store.posts(member: "a")
            try expect(posts.map(\.id) == ["p2", "p1"] && posts[0].visibility == .connections && posts[1].text == "first",
                       "a member's posts come back newest first with their fields: \(posts)")
            do {
                try await store.addPosts([Post(id: "p4", memberID: "a", text: "x", visibility: .public, createdAt: t0),
                                          Post(id: "p5", memberID: "ghost", text: "x", visibility: .public, createdAt: t0)])
                throw Failure(message: "a post of an unknown member must be refused")
            } catch StoreError.unknownMember {}
            let after = try await store.posts(member: "a")
            try expect(after.count == 2, "a refused batch of posts adds none")
            let handles = try await store.handles()
            try expect(handles.map(\.handle) == ["alice", "bob"] && handles.map(\.id) == ["a", "b"], "handles by handle: \(handles)")
        },
    ]

    static func snapshot(_ id: String, members: Int) -> Snapshot {
        Snapshot(id: id, name: "test run", purpose: "genai-training", asOf: t0, createdAt: t0 + 5, policyVersion: Policy.seed.version,
                 ledgerSeq: 7, inputSHA256: String(repeating: "a", count: 64), outputSHA256: String(repeating: "b", count: 64),
                 read: 10, eligible: 8, excluded: 2, malformed: 1, memberCount: members, manifest: "{}")
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}

extension StoreConformance {
    /// The history both durable stores' checkpoint tests write: `before` (40 members and their
    /// choices, 81 events with the policy; load after it to take a checkpoint), then `after`
    /// (5 new members, 3 changed — closed at 5,000, flagged as a minor, moved to CH — and 3
    /// choices, one effective before choices already checkpointed: 11 events).
    static var checkpointHistory: (before: WriteBatch, after: [WriteBatch]) {
        func members(_ range: Range<Int>) -> [Member] {
            range.map { Member(id: "m\($0)", country: $0 % 3 == 0 ? "US" : "DE", birthDay: 3000 + $0 * 50) }
        }
        func choice(_ k: Int, _ on: Bool, at: Micros) -> EventDraft {
            .choice(member: "m\(k)", setting: SettingID.allCases[k % SettingID.allCases.count], on: on, at: at, channel: .web,
                    actor: "m\(k)", policyVersion: "p")
        }
        var changed = members(5..<8)
        changed[0].closedAt = 5_000
        changed[1].suspectedMinor = true
        changed[2].country = "CH"
        return (WriteBatch(members: members(0..<40), events: (0..<40).map { choice($0, $0 % 2 == 0, at: 100) },
                           policy: .seed, actor: "t", recordedAt: 1),
                [WriteBatch(members: members(40..<45) + changed, actor: "t", recordedAt: 2),
                 WriteBatch(events: [choice(41, true, at: 200), choice(4, true, at: 50), choice(6, false, at: 300)],
                            actor: "t", recordedAt: 3)])
    }
}

extension StoreConformance {
    /// What one read of a durable store's projection found (its tests expose it).
    public typealias StateRead = (fromCheckpoint: Bool, replayed: Int, state: ConsentState)

    /// The checkpoint scenario both durable stores' tests run, on a fresh store whose checkpoint
    /// is renewed after 10 events: after `checkpointHistory.before` and one load, reads start
    /// from a checkpoint; after `after`, they replay exactly its 11 events and equal a rebuild
    /// from the ledger alone. Returns the last read, for the store's own follow-ups.
    public static func checkpointScenario(_ store: any ConsentStore, read: () async throws -> StateRead) async throws -> StateRead {
        let history = checkpointHistory
        _ = try await store.append(history.before)
        let first = try await store.loadState()  // 81 events past no checkpoint: one is written
        var r = try await read()
        try expect(r.fromCheckpoint && r.replayed == 0, "a load after 81 events must leave a checkpoint at the head")
        try expect(r.state.contentDifference(from: first) == nil, "the checkpoint must restore what was loaded")
        for batch in history.after { _ = try await store.append(batch) }
        r = try await read()
        try expect(r.fromCheckpoint && r.replayed == 11, "a read must start from the checkpoint and replay the 11 events after it")
        try expect(r.state.memberIndex("m44") >= 0 && r.state.closingTime(of: r.state.memberIndex("m5")) == 5_000,
                   "members registered and changed after the checkpoint must be in the read")
        let rebuilt = try await store.rebuildState()
        let difference = r.state.contentDifference(from: rebuilt) ?? rebuilt.contentDifference(from: r.state)
        try expect(difference == nil, "checkpoint + tail must equal a rebuild: \(difference ?? "")")
        return r
    }
}
