public import ProvisoCore

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

    public var description: String {
        switch self {
        case let .unknownMember(id): "unknown member \"\(id)\""
        case let .unavailable(why): "store unavailable: \(why)"
        case let .corrupt(why): "store corrupt: \(why)"
        case let .conflict(why): why
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

/// A complete consent store: ledger + members + tokens + keys + sessions + a fast way to
/// build the projection.
public protocol ConsentStore: LedgerStore, MemberStore, TokenStore, ReceiptKeyStore, SessionStore {
    /// Builds the in-memory projection of the whole store.
    func loadState() async throws(StoreError) -> ConsentState
}

extension LedgerStore {
    /// Recomputes the whole hash chain page by page, so any ledger size fits in memory.
    public func verify(pageSize: Int = 20_000, progress: (@Sendable (Int64) -> Void)? = nil) async throws(StoreError) -> ChainVerifier {
        var verifier = ChainVerifier()
        var after: Int64 = 0
        while true {
            let page = try await events(after: after, limit: pageSize)
            guard let last = page.last else { break }
            for e in page where !verifier.feed(e) { return verifier }
            after = last.seq
            progress?(after)
        }
        return verifier
    }
}

/// The payload of a `policy-activated` event.
public func policyActivationPayload(_ p: Policy) -> String {
    JSON.object([("version", .string(p.version)), ("digest", .string(p.digest))]).serialized
}

/// The draft that records a policy activation.
public func policyActivationDraft(_ p: Policy, actor: String) -> EventDraft {
    EventDraft(kind: .policyActivated, actor: actor, policyVersion: p.version, payload: policyActivationPayload(p))
}
