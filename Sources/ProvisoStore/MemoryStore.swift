public import ProvisoCore
import Synchronization

/// The in-memory twin of the real stores: same contract, no durability. Used by tests and
/// by anything that wants a throwaway ledger.
public final class MemoryStore: ConsentStore {
    struct Contents {
        var ledger: [LedgerEvent] = []
        var members: [String: Member] = [:]
        var activeDigest: String?
        var tokens: [(token: ServiceToken, hash: [UInt8])] = []
        var keys: [ReceiptKey] = []
        var passwords: [String: String] = [:]
        var sessions: [[UInt8]: MemberSession] = [:]
        /// Registration order; each with its member set in id order.
        var snapshots: [(snapshot: Snapshot, members: [SnapshotMember])] = []
        var policies: [PublishedPolicy] = []
        var posts: [Post] = []
        var notices: [Notice] = []
        var outbox: [OutboxEmail] = []
    }

    let contents = Mutex(Contents())
    let orgs = OrganisationContents()

    public init() {}

    public func append(_ batch: WriteBatch) async throws(StoreError) -> AppendResult {
        try contents.withLock { c throws(StoreError) in
            var result = AppendResult()
            // Validate everything before touching the ledger: a rejected batch changes nothing.
            var drafts: [EventDraft] = []
            var members = c.members
            var digest = c.activeDigest
            if let p = batch.policy, p.digest != digest {
                drafts.append(policyActivationDraft(p, actor: batch.actor))
                digest = p.digest
            }
            for m in batch.members {
                let old = members[m.id]
                if old == m { result.unchanged += 1; continue }
                drafts.append(EventDraft(kind: old == nil ? .memberRegistered : .memberChanged, memberID: m.id,
                                         actor: batch.actor, policyVersion: batch.policy?.version, payload: m.payload))
                if old == nil { result.registered += 1 } else { result.changed += 1 }
                members[m.id] = m
            }
            for e in batch.events {
                if let id = e.memberID, members[id] == nil { throw .unknownMember(id) }
                drafts.append(e)
            }
            var prev = c.ledger.last?.hash ?? LedgerHash.genesis
            var seq = c.ledger.last?.seq ?? 0
            for d in drafts {
                seq += 1
                let e = LedgerEvent(sealing: d, seq: seq, recordedAt: batch.recordedAt, prevHash: prev)
                prev = e.hash
                c.ledger.append(e)
                if batch.returnEvents { result.events.append(e) }
            }
            result.written = drafts.count
            result.lastSeq = c.ledger.last?.seq ?? 0
            c.members = members
            c.activeDigest = digest
            return result
        }
    }

    public func events(after: Int64, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        contents.withLock { c in Array(c.ledger.lazy.filter { $0.seq > after }.prefix(limit)) }
    }

    public func events(member: String) async throws(StoreError) -> [LedgerEvent] {
        contents.withLock { c in c.ledger.filter { $0.memberID == member } }
    }

    public func head() async throws(StoreError) -> LedgerEvent? { contents.withLock { $0.ledger.last } }

    public func member(_ id: String) async throws(StoreError) -> Member? { contents.withLock { $0.members[id] } }

    public func memberID(handle: String) async throws(StoreError) -> String? {
        contents.withLock { c in c.members.values.first { $0.handle == handle }?.id }
    }

    public func memberCount() async throws(StoreError) -> Int { contents.withLock { $0.members.count } }

    public func loadState() async throws(StoreError) -> ConsentState {
        contents.withLock { c in
            var s = ConsentState(capacity: c.members.count)
            for m in c.members.values.sorted(by: { $0.id < $1.id }) { s.upsert(m) }
            for e in c.ledger where e.kind == .settingChanged { s.apply(e) }
            s.ledgerSeq = c.ledger.last?.seq ?? 0
            return s
        }
    }

    public func createToken(_ token: ServiceToken, hash: [UInt8]) async throws(StoreError) {
        try contents.withLock { c throws(StoreError) in
            if c.tokens.contains(where: { $0.token.name == token.name && $0.token.revokedAt == nil }) {
                throw .conflict("an active token named \"\(token.name)\" already exists")
            }
            c.tokens.append((token, hash))
        }
    }

    public func activeToken(hash: [UInt8]) async throws(StoreError) -> ServiceToken? {
        contents.withLock { c in c.tokens.first { $0.hash == hash && $0.token.revokedAt == nil }?.token }
    }

    public func revokeToken(name: String, at: Micros) async throws(StoreError) -> Bool {
        contents.withLock { c in
            guard let i = c.tokens.firstIndex(where: { $0.token.name == name && $0.token.revokedAt == nil }) else { return false }
            c.tokens[i].token.revokedAt = at
            return true
        }
    }

    public func tokens() async throws(StoreError) -> [ServiceToken] {
        contents.withLock { c in c.tokens.map(\.token).sorted { ($0.name, $0.createdAt) < ($1.name, $1.createdAt) } }
    }

    public func receiptKeys() async throws(StoreError) -> [ReceiptKey] { contents.withLock { $0.keys.reversed() } }

    public func addReceiptKey(_ key: ReceiptKey, at: Micros) async throws(StoreError) {
        contents.withLock { c in if !c.keys.contains(key) { c.keys.append(key) } }
    }

    public func setPasswordHash(member: String, hash: String, at: Micros) async throws(StoreError) {
        try contents.withLock { c throws(StoreError) in
            guard c.members[member] != nil else { throw .unknownMember(member) }
            c.passwords[member] = hash
        }
    }

    public func passwordHash(member: String) async throws(StoreError) -> String? { contents.withLock { $0.passwords[member] } }

    public func createSession(_ session: MemberSession, idHash: [UInt8]) async throws(StoreError) {
        contents.withLock { $0.sessions[idHash] = session }
    }

    public func session(idHash: [UInt8], now: Micros) async throws(StoreError) -> MemberSession? {
        contents.withLock { c in c.sessions[idHash].flatMap { $0.expiresAt > now ? $0 : nil } }
    }

    public func deleteSession(idHash: [UInt8]) async throws(StoreError) { contents.withLock { _ = $0.sessions.removeValue(forKey: idHash) } }

    public func registerSnapshot(_ snapshot: Snapshot, members set: SnapshotMemberSet) async throws(StoreError) {
        let members = try set.members()
        try contents.withLock { c throws(StoreError) in
            guard !c.snapshots.contains(where: { $0.snapshot.id == snapshot.id }) else {
                throw .conflict("snapshot \(snapshot.id) is already registered")
            }
            c.snapshots.append((snapshot, members))
        }
    }

    public func snapshots() async throws(StoreError) -> [Snapshot] {
        contents.withLock { $0.snapshots.reversed().map(\.snapshot) }
    }

    public func snapshot(id: String) async throws(StoreError) -> Snapshot? {
        contents.withLock { $0.snapshots.first { $0.snapshot.id == id }?.snapshot }
    }

    /// Pages of `pageSize` members in id order.
    public func snapshotMembers(id: String, page: Int) async throws(StoreError) -> [SnapshotMember]? {
        contents.withLock { c in
            guard let s = c.snapshots.first(where: { $0.snapshot.id == id }) else { return nil }
            let start = page * Self.pageSize
            guard page >= 0, start < max(s.members.count, 1) else { return nil }
            return Array(s.members[start..<min(start + Self.pageSize, s.members.count)])
        }
    }

    static let pageSize = 1000

    public func snapshotUses(member: String) async throws(StoreError) -> [SnapshotUse] {
        contents.withLock { c in
            c.snapshots.reversed().compactMap { s in
                s.members.first { $0.memberID == member }.map { SnapshotUse(snapshot: s.snapshot, counts: $0.counts) }
            }
        }
    }

    public func publishPolicy(_ policy: Policy, publishedAt: Micros, actor: String, notices: [NoticeDelivery]) async throws(StoreError) -> PublishedPolicy {
        if contents.withLock({ $0.policies.contains { $0.version == policy.version } }) {
            throw .conflict("policy version \(policy.version) is already published")
        }
        let draft = EventDraft(kind: .policyPublished, actor: actor, policyVersion: policy.version, payload: policyPublicationPayload(policy))
        let r = try await append(WriteBatch(events: [draft], actor: actor, recordedAt: publishedAt))
        let published = PublishedPolicy(version: policy.version, digest: policy.digest, text: policy.source,
                                        effectiveFrom: policy.effectiveFrom, publishedAt: publishedAt, seq: r.lastSeq)
        contents.withLock { c in
            c.policies.append(published)
            for d in notices {
                var n = d.notice
                n.id = Int64(c.notices.count + 1)
                c.notices.append(n)
                c.outbox.append(OutboxEmail(id: Int64(c.outbox.count + 1), memberID: n.memberID, noticeID: n.id, subject: d.subject,
                                            body: d.body, createdAt: publishedAt, sentAt: nil))
            }
        }
        return published
    }

    public func notices(member: String) async throws(StoreError) -> [Notice] {
        contents.withLock { c in c.notices.filter { $0.memberID == member }.sorted { $0.id > $1.id } }
    }

    public func markNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int {
        contents.withLock { c in
            var n = 0
            for i in c.notices.indices where c.notices[i].memberID == member && c.notices[i].readAt == nil {
                c.notices[i].readAt = at
                n += 1
            }
            return n
        }
    }

    public func unreadNotices(member: String) async throws(StoreError) -> Int {
        contents.withLock { c in c.notices.filter { $0.memberID == member && $0.readAt == nil }.count }
    }

    public func confirmNotice(member: String, id: Int64, at: Micros) async throws(StoreError) -> Bool {
        contents.withLock { c in
            guard let i = c.notices.firstIndex(where: { $0.id == id && $0.memberID == member && $0.asksConfirmation }) else { return false }
            if c.notices[i].confirmedAt == nil { c.notices[i].confirmedAt = at }
            return true
        }
    }

    public func pendingEmails(limit: Int) async throws(StoreError) -> [OutboxEmail] {
        contents.withLock { c in Array(c.outbox.filter { $0.sentAt == nil }.prefix(limit)) }
    }

    public func markEmailSent(id: Int64, at: Micros) async throws(StoreError) {
        contents.withLock { c in if let i = c.outbox.firstIndex(where: { $0.id == id }) { c.outbox[i].sentAt = at } }
    }

    public func noticeReport() async throws(StoreError) -> [NoticeReportRow] {
        contents.withLock { c in NoticeReportRow.aggregate(c.notices) }
    }

    public func publishedPolicies() async throws(StoreError) -> [PublishedPolicy] { contents.withLock { $0.policies } }

    public func addPosts(_ posts: [Post]) async throws(StoreError) {
        try contents.withLock { c throws(StoreError) in
            for p in posts where c.members[p.memberID] == nil { throw .unknownMember(p.memberID) }
            c.posts += posts
        }
    }

    public func posts(member: String) async throws(StoreError) -> [Post] {
        contents.withLock { c in c.posts.filter { $0.memberID == member }.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
    }

    public func handles() async throws(StoreError) -> [(id: String, handle: String)] {
        contents.withLock { c in c.members.values.compactMap { m in m.handle.map { (m.id, $0) } }.sorted { $0.1 < $1.1 } }
    }

    /// Test hook: lets a test tamper with the ledger the way an attacker with raw access could.
    public func tamper(_ body: (inout [LedgerEvent]) -> Void) {
        contents.withLock { body(&$0.ledger) }
    }
}
