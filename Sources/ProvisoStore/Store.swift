public import ProvisoCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything written in one atomic step: member upserts, setting events, and the policy
/// they were made under. Either all of it is durable when `append` returns, or none of it.
public struct WriteBatch: Sendable {
    /// Members to insert or replace; unchanged members produce no event.
    public var members: [Member]
    /// Setting-changed drafts; each must name a member that exists or is in `members`.
    public var events: [EventDraft]
    /// The policy in force for these writes: if it is not the last one activated in the
    /// ledger, a `policy-activated` event is written first.
    public var policy: Policy?
    /// Who writes (`cli`, `member:<id>`, `token:<name>`), recorded on member events.
    public var actor: String
    /// Recorded time of every event in the batch.
    public var recordedAt: Micros
    /// Whether `AppendResult.events` should carry the sealed events; bulk imports say no
    /// so a million-line import does not hold a million events in memory.
    public var returnEvents: Bool

    public init(members: [Member] = [], events: [EventDraft] = [], policy: Policy? = nil, actor: String,
                recordedAt: Micros, returnEvents: Bool = true) {
        self.members = members
        self.events = events
        self.policy = policy
        self.actor = actor
        self.recordedAt = recordedAt
        self.returnEvents = returnEvents
    }
}

/// What an append did.
public struct AppendResult: Sendable, Equatable {
    /// The sealed events, when the batch asked for them.
    public var events: [LedgerEvent] = []
    public var registered = 0
    public var changed = 0
    public var unchanged = 0
    /// Sequence of the last event written (the ledger head after the append); 0 if none.
    public var lastSeq: Int64 = 0
    /// Number of events written.
    public var written = 0

    public init() {}
}

/// Store failures, typed so each edge can map them (CLI message, HTTP problem, deny reason).
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A setting event names a member the store does not have; nothing was written.
    case unknownMember(String)
    /// The store could not be read or written.
    case unavailable(String)
    /// The stored data is not what this version of Proviso can read.
    case corrupt(String)
    /// The write conflicts with what is stored (e.g. a token name already in use).
    case conflict(String)
    /// An operation names an organisation the store does not have; nothing was written.
    case unknownOrganisation(String)

    public var description: String {
        switch self {
        case let .unknownMember(id): "unknown member \"\(id)\""
        case let .unavailable(why): "store unavailable: \(why)"
        case let .corrupt(why): "store corrupt: \(why)"
        case let .conflict(why): why
        case let .unknownOrganisation(id): "unknown organisation \"\(id)\""
        }
    }
}

/// The append-only, hash-chained ledger of consent events.
public protocol LedgerStore: Sendable {
    /// Appends a batch atomically; the returned events are durable.
    func append(_ batch: WriteBatch) async throws(StoreError) -> AppendResult
    /// Events with `seq > after`, in order, at most `limit`.
    func events(after: Int64, limit: Int) async throws(StoreError) -> [LedgerEvent]
    /// Every event about one member, in order.
    func events(member: String) async throws(StoreError) -> [LedgerEvent]
    /// The last event, `nil` for an empty ledger.
    func head() async throws(StoreError) -> LedgerEvent?
    /// A signal each time another writer may have appended (PostgreSQL LISTEN/NOTIFY), and
    /// once after the signal's own connection was lost and restored, so a follower can catch up
    /// at once instead of at its next poll. `nil` when the store cannot tell (SQLite, memory):
    /// followers then poll only.
    func ledgerWakeups() -> AsyncStream<Void>?
}

extension LedgerStore {
    public func ledgerWakeups() -> AsyncStream<Void>? { nil }
}

/// Member records (the current attributes; their history is in the ledger).
public protocol MemberStore: Sendable {
    func member(_ id: String) async throws(StoreError) -> Member?
    /// The id of the member with this handle, if any.
    func memberID(handle: String) async throws(StoreError) -> String?
    func memberCount() async throws(StoreError) -> Int
}

/// A service token as stored: never the secret, only its hash.
public struct ServiceToken: Sendable, Equatable {
    public var name: String
    public var scopes: Set<Scope>
    public var createdAt: Micros
    public var revokedAt: Micros?

    public init(name: String, scopes: Set<Scope>, createdAt: Micros, revokedAt: Micros? = nil) {
        self.name = name
        self.scopes = scopes
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Service tokens for the API, stored hashed.
public protocol TokenStore: Sendable {
    /// Records a new token; `.conflict` if an active token already has this name.
    func createToken(_ token: ServiceToken, hash: [UInt8]) async throws(StoreError)
    /// The active (not revoked) token with this hash, if any.
    func activeToken(hash: [UInt8]) async throws(StoreError) -> ServiceToken?
    /// Revokes the active token of this name; false if there is none.
    func revokeToken(name: String, at: Micros) async throws(StoreError) -> Bool
    /// Every token, revoked ones included, by name.
    func tokens() async throws(StoreError) -> [ServiceToken]
}

/// Keys that sign consent receipts. Old keys stay so that old receipts still verify.
public protocol ReceiptKeyStore: Sendable {
    /// Every key, newest first (private halves included: callers publish only the public).
    func receiptKeys() async throws(StoreError) -> [ReceiptKey]
    func addReceiptKey(_ key: ReceiptKey, at: Micros) async throws(StoreError)
}

extension ReceiptKeyStore {
    /// The newest key, created on first use.
    public func currentReceiptKey(now: Micros) async throws(StoreError) -> ReceiptKey {
        if let key = try await receiptKeys().first { return key }
        try await addReceiptKey(.generate(), at: now)
        guard let key = try await receiptKeys().first else { throw .unavailable("no receipt key after creating one") }
        return key
    }
}

/// A signed-in member's session. The cookie carries a random id; only its hash is stored.
public struct MemberSession: Sendable, Equatable {
    public var memberID: String
    /// The token unsafe requests must echo (header `X-CSRF-Token` or form field `csrf`).
    public var csrfToken: String
    public var createdAt: Micros
    public var expiresAt: Micros

    public init(memberID: String, csrfToken: String, createdAt: Micros, expiresAt: Micros) {
        self.memberID = memberID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Member passwords (bcrypt hashes) and sessions, persisted so they survive restarts and are
/// shared by every server instance.
public protocol SessionStore: Sendable {
    /// Sets a member's password hash; `.unknownMember` if there is no such member.
    func setPasswordHash(member: String, hash: String, at: Micros) async throws(StoreError)
    func passwordHash(member: String) async throws(StoreError) -> String?
    func createSession(_ session: MemberSession, idHash: [UInt8]) async throws(StoreError)
    /// The session with this id hash if it has not expired at `now`.
    func session(idHash: [UInt8], now: Micros) async throws(StoreError) -> MemberSession?
    func deleteSession(idHash: [UInt8]) async throws(StoreError)
}

/// A dataset snapshot the gate let through: what went out, for which purpose, as of when.
/// Registered once and never changed, so lineage questions get the same answer forever.
public struct Snapshot: Sendable, Equatable {
    public var id: String
    public var name: String?
    /// The purpose code the snapshot was filtered for.
    public var purpose: String
    public var asOf: Micros
    public var createdAt: Micros
    public var policyVersion: String
    public var ledgerSeq: Int64
    public var inputSHA256: String
    public var outputSHA256: String
    public var read: Int
    public var eligible: Int
    public var excluded: Int
    public var malformed: Int
    public var memberCount: Int
    /// The manifest as written next to the records (JSON).
    public var manifest: String

    public init(id: String, name: String?, purpose: String, asOf: Micros, createdAt: Micros, policyVersion: String,
                ledgerSeq: Int64, inputSHA256: String, outputSHA256: String, read: Int, eligible: Int, excluded: Int,
                malformed: Int, memberCount: Int, manifest: String) {
        self.id = id
        self.name = name
        self.purpose = purpose
        self.asOf = asOf
        self.createdAt = createdAt
        self.policyVersion = policyVersion
        self.ledgerSeq = ledgerSeq
        self.inputSHA256 = inputSHA256
        self.outputSHA256 = outputSHA256
        self.read = read
        self.eligible = eligible
        self.excluded = excluded
        self.malformed = malformed
        self.memberCount = memberCount
        self.manifest = manifest
    }
}

/// How many records of one category a snapshot took from a member.
public struct CategoryCount: Sendable, Equatable {
    public var category: Category
    public var count: Int

    public init(_ category: Category, _ count: Int) {
        self.category = category
        self.count = count
    }

    /// The compact stored form, `{"post":3,"comment":1}`.
    public static func json(_ counts: [CategoryCount]) -> String {
        var out: [UInt8] = []
        append(counts, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the stored form as bytes: registering a million members builds no `String`s.
    public static func append(_ counts: [CategoryCount], to out: inout [UInt8]) {
        out.append(0x7B)
        for (k, c) in counts.enumerated() {
            if k > 0 { out.append(0x2C) }
            appendField(c.category, c.count, to: &out)
        }
        out.append(0x7D)
    }

    /// One `"category":count` field of the stored form, for callers that keep counts their own way.
    public static func appendField(_ category: Category, _ count: Int, to out: inout [UInt8]) {
        let k = Int(category.rawValue)
        quotedCodeBytes.withUnsafeBufferPointer { b in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[quotedCodeEnds[k]..<quotedCodeEnds[k + 1]]))
        }
        out.append(0x3A)
        DecimalText.append(count, to: &out)
    }

    /// Every category's quoted code, back to back (`"profile""post"…`), and where each ends:
    /// one flat array, so appending a code per member retains nothing.
    static let quotedCodeBytes: [UInt8] = Category.allCases.flatMap { Array("\"\($0.code)\"".utf8) }
    static let quotedCodeEnds: [Int] = Category.allCases.reduce(into: [0]) { ends, c in ends.append(ends.last! + c.code.utf8.count + 2) }

    /// Reads the stored form back; nil if it is not one.
    public static func parse(_ text: String) -> [CategoryCount]? {
        guard case let .object(fields)? = try? JSON.parse(text) else { return nil }
        var out: [CategoryCount] = []
        for f in fields {
            guard let c = Category(code: f.key), case let .number(n) = f.value, let k = Int(n) else { return nil }
            out.append(CategoryCount(c, k))
        }
        return out
    }
}

/// One member of a snapshot's member set.
public struct SnapshotMember: Sendable, Equatable {
    public var memberID: String
    public var counts: [CategoryCount]

    public init(memberID: String, counts: [CategoryCount]) {
        self.memberID = memberID
        self.counts = counts
    }
}

/// A snapshot that used a member's data, with what it took.
public struct SnapshotUse: Sendable, Equatable {
    public var snapshot: Snapshot
    public var counts: [CategoryCount]

    public init(snapshot: Snapshot, counts: [CategoryCount]) {
        self.snapshot = snapshot
        self.counts = counts
    }
}

/// How durable stores lay out a member set: in pages keyed by a stable hash of the member id,
/// each page a text block of `id<TAB>counts` lines in id order. Registering a million members
/// is then a few thousand row writes, and finding one member in a snapshot reads one page.
public enum SnapshotPages {
    /// Members per page aimed at; the page count is the next power of two.
    public static let membersPerPage = 256

    public static func pageCount(members: Int) -> Int {
        var n = 1
        while n * membersPerPage < members { n <<= 1 }
        return n
    }

    /// FNV-1a over the id's UTF-8: fixed forever, since stored pages depend on it.
    public static func page(of id: String, pageCount: Int) -> Int {
        var id = id
        return id.withUTF8 { page(of: UnsafeRawBufferPointer($0), pageCount: pageCount) }
    }

    /// The same for an id's bytes.
    public static func page(of id: UnsafeRawBufferPointer, pageCount: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in id { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h & UInt64(pageCount - 1))
    }


    /// Reads a page back; nil if it is not one (the caller reports the store as corrupt).
    public static func decode(_ text: String) -> [SnapshotMember]? {
        var out: [SnapshotMember] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let tab = line.firstIndex(of: "\t"), let counts = CategoryCount.parse(String(line[line.index(after: tab)...])) else {
                return nil
            }
            out.append(SnapshotMember(memberID: String(line[..<tab]), counts: counts))
        }
        return out
    }
}

/// A snapshot's member set, already laid out as the pages durable stores keep
/// (`SnapshotPages`), so that registering it is a few thousand row writes and nothing else.
/// Built straight from id bytes and counts (`Builder`): the gate makes one for 766k members
/// without a `String` or an array per member, which was most of a registration's time.
public struct SnapshotMemberSet: Sendable {
    /// How many members; pages are numbered below `pageCount`.
    public let count: Int
    public let pageCount: Int
    /// The non-empty pages, by page number: `id<TAB>counts` lines in id order.
    public let pages: [(page: Int, text: String)]

    /// Lays out members given in ascending id order (bytewise), each once; `.conflict` otherwise.
    public init(_ members: [SnapshotMember]) throws(StoreError) {
        var b = Builder(count: members.count)
        for m in members {
            var id = m.memberID
            let refused: StoreError? = id.withUTF8 { u in
                do throws(StoreError) {
                    try b.append(id: UnsafeRawBufferPointer(u)) { out in CategoryCount.append(m.counts, to: &out) }
                    return nil
                } catch {
                    return error
                }
            }
            if let refused { throw refused }
        }
        self = try b.finish()
    }

    /// Every member again, in id order (bytewise).
    public func members() throws(StoreError) -> [SnapshotMember] {
        var out: [SnapshotMember] = []
        out.reserveCapacity(count)
        for p in pages {
            guard let m = SnapshotPages.decode(p.text) else { throw .corrupt("a snapshot member page is unreadable") }
            out += m
        }
        out.sort { $0.memberID.utf8.lexicographicallyPrecedes($1.memberID.utf8) }
        return out
    }

    /// Appends members one at a time, checking their order as it goes. Lines are written one
    /// after another and sorted into pages at the end (a counting sort that keeps id order
    /// within each page): appending to thousands of page buffers in turn cost a cache miss
    /// and a buffer growth every few members.
    public struct Builder: Sendable {
        let count: Int
        /// Members in the whole set this is a part of.
        let total: Int
        let pageCount: Int
        var lines: [UInt8] = []
        /// Per member: its page, and where its line ends in `lines`.
        var pageOf: [UInt32] = []
        var ends: [Int] = []
        /// Where the last id sits in `lines`, for the order check.
        var previous = 0..<0

        /// A builder for exactly `count` members (the page count depends on it).
        public init(count: Int) {
            self.init(count: count, ofTotal: count)
        }

        /// A builder for `count` consecutive members of a set of `total`, so that parts can
        /// be built on several threads and joined (`joined(_:)`).
        public init(count: Int, ofTotal total: Int) {
            self.count = count
            self.total = total
            pageCount = SnapshotPages.pageCount(members: total)
            lines.reserveCapacity(count * 24)
            pageOf.reserveCapacity(count)
            ends.reserveCapacity(count)
        }

        /// Whether `id` sorts after the id at `p` in `lines` (bytewise, a prefix first).
        static func precedes(_ lines: [UInt8], _ p: Range<Int>, _ id: UnsafeRawBufferPointer) -> Bool {
            lines.withUnsafeBytes { l in
                let c = id.count == 0 || p.isEmpty ? 0 : memcmp(l.baseAddress! + p.lowerBound, id.baseAddress!, min(p.count, id.count))
                return c < 0 || (c == 0 && p.count < id.count)
            }
        }

        static func unordered(_ before: String, _ after: String) -> StoreError {
            .conflict("snapshot members must be unique and in id order (\(before), \(after))")
        }

        /// Adds the next member: its id's UTF-8 and a body that appends its counts in the
        /// stored form (`CategoryCount.append`).
        public mutating func append(id: UnsafeRawBufferPointer, counts: (inout [UInt8]) -> Void) throws(StoreError) {
            guard ends.count < count else { throw .conflict("more snapshot members than announced (\(count))") }
            if !ends.isEmpty, !Self.precedes(lines, previous, id) {
                let p = previous
                throw Self.unordered(lines.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[p]), as: UTF8.self) },
                                     String(decoding: id, as: UTF8.self))
            }
            let start = lines.count
            lines.append(contentsOf: id)
            previous = start..<lines.count
            lines.append(0x09)
            counts(&lines)
            lines.append(0x0A)
            pageOf.append(UInt32(SnapshotPages.page(of: id, pageCount: pageCount)))
            ends.append(lines.count)
        }

        /// The id of this part's first member (ids hold no tab: they have no control characters).
        var firstID: Range<Int> { 0..<(lines.firstIndex(of: 0x09) ?? 0) }

        public func finish() throws(StoreError) -> SnapshotMemberSet {
            try Self.joined([self])
        }

        /// One set from parts that hold consecutive runs of its members, in order: each part
        /// complete, each run after the one before, the counts adding up to the parts' total.
        public static func joined(_ parts: [Builder]) throws(StoreError) -> SnapshotMemberSet {
            let count = parts.reduce(0) { $0 + $1.count }
            let pageCount = SnapshotPages.pageCount(members: count)
            for (k, part) in parts.enumerated() {
                guard part.ends.count == part.count else { throw .conflict("\(part.ends.count) snapshot members given, \(part.count) announced") }
                guard part.total == count else { throw .conflict("snapshot member parts add up to \(count), not the \(part.total) announced") }
                guard k > 0, !part.ends.isEmpty, let before = parts[..<k].last(where: { !$0.ends.isEmpty }) else { continue }
                let first = part.firstID
                let ordered = part.lines.withUnsafeBytes { Self.precedes(before.lines, before.previous, UnsafeRawBufferPointer(rebasing: $0[first])) }
                guard ordered else {
                    throw unordered(String(decoding: before.lines[before.previous], as: UTF8.self), String(decoding: part.lines[first], as: UTF8.self))
                }
            }
            var offsets = [Int](repeating: 0, count: pageCount + 1)
            for part in parts {
                var start = 0
                for i in 0..<part.count {
                    offsets[Int(part.pageOf[i]) + 1] += part.ends[i] - start
                    start = part.ends[i]
                }
            }
            for p in 0..<pageCount { offsets[p + 1] += offsets[p] }
            var sorted = [UInt8](repeating: 0, count: offsets[pageCount])
            var at = offsets
            sorted.withUnsafeMutableBytes { out in
                for part in parts {
                    part.lines.withUnsafeBytes { src in
                        var start = 0
                        for i in 0..<part.count {
                            let p = Int(part.pageOf[i]), n = part.ends[i] - start
                            out.baseAddress!.advanced(by: at[p]).copyMemory(from: src.baseAddress! + start, byteCount: n)
                            at[p] += n
                            start = part.ends[i]
                        }
                    }
                }
            }
            var pages: [(page: Int, text: String)] = []
            for p in 0..<pageCount where offsets[p + 1] > offsets[p] {
                pages.append((p, String(decoding: sorted[offsets[p]..<offsets[p + 1]], as: UTF8.self)))
            }
            return SnapshotMemberSet(count: count, pageCount: pageCount, pages: pages)
        }
    }

    init(count: Int, pageCount: Int, pages: [(page: Int, text: String)]) {
        self.count = count
        self.pageCount = pageCount
        self.pages = pages
    }
}

/// The gate's snapshot registry: lineage that answers "whose data went where".
public protocol SnapshotStore: Sendable {
    /// Registers a snapshot and its whole member set in one atomic step; `.conflict` if the
    /// id is taken.
    func registerSnapshot(_ snapshot: Snapshot, members: SnapshotMemberSet) async throws(StoreError)
    /// Every snapshot, newest first.
    func snapshots() async throws(StoreError) -> [Snapshot]
    func snapshot(id: String) async throws(StoreError) -> Snapshot?
    /// Page `page` of a snapshot's member set (pages are numbered from 0; the order of members
    /// across pages is the store's own), or nil past the last page or for an unknown snapshot.
    func snapshotMembers(id: String, page: Int) async throws(StoreError) -> [SnapshotMember]?
    /// The snapshots that included a member, newest first.
    func snapshotUses(member: String) async throws(StoreError) -> [SnapshotUse]
}

extension SnapshotStore {
    /// Registers members given as values; they must be unique and in ascending id order
    /// (bytewise), else `.conflict` and nothing is registered.
    public func registerSnapshot(_ snapshot: Snapshot, members: [SnapshotMember]) async throws(StoreError) {
        try await registerSnapshot(snapshot, members: SnapshotMemberSet(members))
    }
}

/// Members' posts and public handles, for the public profile pages and their AI-usage signals.
public protocol ProfileStore: Sendable {
    /// Adds posts (all or none); `.unknownMember` if one names a member the store lacks.
    func addPosts(_ posts: [Post]) async throws(StoreError)
    /// A member's posts, newest first.
    func posts(member: String) async throws(StoreError) -> [Post]
    /// Every member with a handle, as (member id, handle), by handle.
    func handles() async throws(StoreError) -> [(id: String, handle: String)]
}

/// A policy version as published: the file itself, when, and the ledger entry that records it.
public struct PublishedPolicy: Sendable, Equatable {
    public var version: String
    public var digest: String
    /// The policy file as published.
    public var text: String
    /// Day number from which it is in force; nil means from its publication.
    public var effectiveFrom: Int?
    public var publishedAt: Micros
    /// Sequence of its `policy-published` ledger event.
    public var seq: Int64

    public init(version: String, digest: String, text: String, effectiveFrom: Int?, publishedAt: Micros, seq: Int64) {
        self.version = version
        self.digest = digest
        self.text = text
        self.effectiveFrom = effectiveFrom
        self.publishedAt = publishedAt
        self.seq = seq
    }
}

/// A notice to one member that a published version widens a purpose in their region.
public struct Notice: Sendable, Equatable {
    /// Assigned by the store (0 in a draft).
    public var id: Int64
    public var memberID: String
    public var policyVersion: String
    public var purpose: Purpose
    public var region: RegionGroup
    /// The widenings' codes (`default-turned-on`, `category-added:post`, …).
    public var changes: [String]
    /// Day number the version takes effect.
    public var effectiveDay: Int
    public var deliveredAt: Micros
    /// The member had chosen "on" under the narrower version: they are asked to confirm (their
    /// choice stands either way until they change it).
    public var asksConfirmation: Bool
    public var readAt: Micros?
    public var confirmedAt: Micros?

    public init(id: Int64 = 0, memberID: String, policyVersion: String, purpose: Purpose, region: RegionGroup, changes: [String],
                effectiveDay: Int, deliveredAt: Micros, asksConfirmation: Bool, readAt: Micros? = nil, confirmedAt: Micros? = nil) {
        self.id = id
        self.memberID = memberID
        self.policyVersion = policyVersion
        self.purpose = purpose
        self.region = region
        self.changes = changes
        self.effectiveDay = effectiveDay
        self.deliveredAt = deliveredAt
        self.asksConfirmation = asksConfirmation
        self.readAt = readAt
        self.confirmedAt = confirmedAt
    }
}

/// An email waiting in the outbox (written with its notice; a sender drains it).
public struct OutboxEmail: Sendable, Equatable {
    public var id: Int64
    public var memberID: String
    public var noticeID: Int64
    public var subject: String
    public var body: String
    public var createdAt: Micros
    public var sentAt: Micros?

    public init(id: Int64, memberID: String, noticeID: Int64, subject: String, body: String, createdAt: Micros, sentAt: Micros?) {
        self.id = id
        self.memberID = memberID
        self.noticeID = noticeID
        self.subject = subject
        self.body = body
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}

/// Per region group and purpose of one published version: how many members were notified and
/// how long before the effective date.
public struct NoticeReportRow: Sendable, Equatable {
    public var policyVersion: String
    public var region: RegionGroup
    public var purpose: Purpose
    public var notified: Int
    /// Whole days between delivery and the effective date (the shortest among them).
    public var leadDays: Int
    public var read: Int
    public var confirmationsAsked: Int
    public var confirmed: Int

    public init(policyVersion: String, region: RegionGroup, purpose: Purpose, notified: Int, leadDays: Int, read: Int,
                confirmationsAsked: Int, confirmed: Int) {
        self.policyVersion = policyVersion
        self.region = region
        self.purpose = purpose
        self.notified = notified
        self.leadDays = leadDays
        self.read = read
        self.confirmationsAsked = confirmationsAsked
        self.confirmed = confirmed
    }
}

extension NoticeReportRow {
    /// The report computed from notices (the memory store's way; SQL stores group in SQL).
    public static func aggregate(_ notices: [Notice]) -> [NoticeReportRow] {
        var rows: [String: NoticeReportRow] = [:]
        var order: [String] = []
        for n in notices {
            let key = "\(n.policyVersion)|\(n.region.rawValue)|\(n.purpose.rawValue)"
            let lead = Int((Time.micros(dayNumber: n.effectiveDay) - n.deliveredAt) / Time.microsPerDay)
            if rows[key] == nil {
                order.append(key)
                rows[key] = NoticeReportRow(policyVersion: n.policyVersion, region: n.region, purpose: n.purpose, notified: 0,
                                            leadDays: lead, read: 0, confirmationsAsked: 0, confirmed: 0)
            }
            rows[key]!.notified += 1
            rows[key]!.leadDays = min(rows[key]!.leadDays, lead)
            if n.readAt != nil { rows[key]!.read += 1 }
            if n.asksConfirmation { rows[key]!.confirmationsAsked += 1 }
            if n.confirmedAt != nil { rows[key]!.confirmed += 1 }
        }
        return ordered(order.map { rows[$0]! })
    }

    /// The report's order: version, then region group, then purpose.
    public static func ordered(_ rows: [NoticeReportRow]) -> [NoticeReportRow] {
        rows.sorted { ($0.policyVersion, $0.region.rawValue, $0.purpose.rawValue) < ($1.policyVersion, $1.region.rawValue, $1.purpose.rawValue) }
    }
}

/// Members' notices and the email outbox.
public protocol NoticeStore: Sendable {
    /// A member's notices, newest first.
    func notices(member: String) async throws(StoreError) -> [Notice]
    /// Marks the member's unread notices read; returns how many.
    func markNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int
    /// How many of the member's notices are unread (the badge on every page: a count, not a list).
    func unreadNotices(member: String) async throws(StoreError) -> Int
    /// Records that the member confirmed a notice that asked for it; false if there is no such
    /// notice of theirs asking for confirmation.
    func confirmNotice(member: String, id: Int64, at: Micros) async throws(StoreError) -> Bool
    /// Emails not yet sent, oldest first.
    func pendingEmails(limit: Int) async throws(StoreError) -> [OutboxEmail]
    func markEmailSent(id: Int64, at: Micros) async throws(StoreError)
    /// Notification figures per version, region group and purpose.
    func noticeReport() async throws(StoreError) -> [NoticeReportRow]
}

/// A notice with the email that announces it.
public struct NoticeDelivery: Sendable, Equatable {
    public var notice: Notice
    public var subject: String
    public var body: String

    public init(notice: Notice, subject: String, body: String) {
        self.notice = notice
        self.subject = subject
        self.body = body
    }
}

/// Published policy versions. Publication is append-only: a version is never changed.
public protocol PolicyStore: Sendable {
    /// Stores the version, its `policy-published` ledger event, its notices and their emails in
    /// one atomic step; `.conflict` if the version string is already published.
    func publishPolicy(_ policy: Policy, publishedAt: Micros, actor: String, notices: [NoticeDelivery]) async throws(StoreError) -> PublishedPolicy
    /// Every published version, in publication order.
    func publishedPolicies() async throws(StoreError) -> [PublishedPolicy]
}

/// The payload of a `policy-published` event.
public func policyPublicationPayload(_ p: Policy) -> String {
    JSON.object([("version", .string(p.version)), ("digest", .string(p.digest)),
                 ("effective_from", p.effectiveFrom.map { .string(Time.formatDate(dayNumber: $0)) } ?? .null)]).serialized
}

/// A complete consent store: ledger + members + tokens + keys + sessions + snapshots +
/// policies + a fast way to build the projection.
public protocol ConsentStore: LedgerStore, MemberStore, TokenStore, ReceiptKeyStore, SessionStore, SnapshotStore, PolicyStore, ProfileStore, NoticeStore,
                              OrganisationStore, ExposureStore {
    /// Builds the in-memory projection of the whole store.
    func loadState() async throws(StoreError) -> ConsentState
    /// The projection rebuilt from the ledger alone, ignoring any stored checkpoint: what
    /// `proviso ledger verify` compares the loaded projection with.
    func rebuildState() async throws(StoreError) -> ConsentState
    /// Drops the stored projection checkpoint, if any: the next load rebuilds from the ledger.
    func dropCheckpoint() async throws(StoreError)
}

extension ConsentStore {
    /// A store without a checkpoint rebuilds on every load.
    public func rebuildState() async throws(StoreError) -> ConsentState { try await loadState() }
    public func dropCheckpoint() async throws(StoreError) {}
}

extension LedgerStore {
    /// Recomputes the whole hash chain page by page, so any ledger size fits in memory. The
    /// next page is read while this one is checked, and a page's hashes are recomputed on every
    /// core; the links are then checked in order, so the first break found is the same.
    public func verify(pageSize: Int = 20_000, progress: (@Sendable (Int64) -> Void)? = nil) async throws(StoreError) -> ChainVerifier {
        var verifier = ChainVerifier()
        var page = try await events(after: 0, limit: pageSize)
        while let last = page.last {
            let next = Task { () async -> Result<[LedgerEvent], StoreError> in
                do throws(StoreError) { return .success(try await self.events(after: last.seq, limit: pageSize)) } catch { return .failure(error) }
            }
            let hashes = LedgerHash.computeAll(page)
            for (k, e) in page.enumerated() where !verifier.feed(e, recomputed: { hashes[k] }) {
                next.cancel()
                return verifier
            }
            progress?(last.seq)
            page = try await next.value.get()
        }
        return verifier
    }
}

extension LedgerHash {
    /// Every event's hash recomputed, on as many threads as there are cores.
    public static func computeAll(_ events: [LedgerEvent]) -> [[UInt8]] {
        let lanes = min(max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), max(1, events.count / 256))
        var out = [[UInt8]](repeating: [], count: events.count)
        out.withUnsafeMutableBufferPointer { buffer in
            let slots = SendableSlots(buffer)
            Workers.perform(lanes, "ledger-hash") { lane in
                var k = events.count * lane / lanes
                let end = events.count * (lane + 1) / lanes
                while k < end {
                    let e = events[k]
                    slots.buffer[k] = compute(seq: e.seq, recordedAt: e.recordedAt, draft: e.draft, prevHash: e.prevHash)
                    k += 1
                }
            }
        }
        return out
    }
}

/// Disjoint slots of one buffer, written by several threads (each writes its own range).
private struct SendableSlots: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<[UInt8]>
    init(_ buffer: UnsafeMutableBufferPointer<[UInt8]>) { self.buffer = buffer }
}

/// The payload of a `policy-activated` event.
public func policyActivationPayload(_ p: Policy) -> String {
    JSON.object([("version", .string(p.version)), ("digest", .string(p.digest))]).serialized
}

/// The draft that records a policy activation.
public func policyActivationDraft(_ p: Policy, actor: String) -> EventDraft {
    EventDraft(kind: .policyActivated, actor: actor, policyVersion: p.version, payload: policyActivationPayload(p))
}

/// When a store renews its projection checkpoint (`ConsentState.writeCheckpoint`), the same
/// rule for every store: once a load has replayed at least `minimum` ledger events past it,
/// and one per 20 members — writing costs ~26 bytes per member, replaying a little per event.
public enum StateCheckpoint {
    /// The stores' default `minimum`.
    public static let defaultMinimum = 20_000

    public static func shouldRenew(replayed: Int, members: Int, minimum: Int) -> Bool {
        replayed >= max(minimum, members / 20)
    }
}
