public import ProvisoCore
public import ProvisoStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The production store: PostgreSQL through a pooled `PostgresClient`, behind the same
/// protocols as SQLite and the memory twin, with numbered migrations. The SQL sticks to what
/// PostgreSQL-compatible distributed databases share (plain tables, B-tree indexes, ON
/// CONFLICT, advisory locks around the ledger head); see docs/scaling.md.
/// Messages from the store and the driver (the driver logs at debug level and below).
let pgLogger = Logger(label: "proviso.postgres")

public final class PostgresStore: ConsentStore, @unchecked Sendable {
    let client: PostgresClient
    /// Tests only: runs between a load's members and its choices, to write meanwhile.
    var loadHook: (@Sendable () async -> Void)?
    /// The fewest ledger events past the stored checkpoint at which `loadState` writes a new
    /// one (it also waits for one event per 20 members).
    let checkpointAfter: Int
    let runner: Task<Void, Never>
    /// How to open a connection of our own (the listener's), outside the pool.
    let direct: PostgresConnection.Configuration
    /// The ledger head as this process last saw it, for one-statement appends (see `appendOne`).
    let knownHead = Mutex<KnownHead?>(nil)
    /// The connection one-statement appends use.
    let writer: WriterConnection
    /// For messages: the URL without its password.
    public let description: String

    /// Connects (pooled) to `postgres://user[:password]@host[:port]/database` and migrates.
    /// `checkpointAfter`: see `loadState`.
    public init(url: String, checkpointAfter: Int = StateCheckpoint.defaultMinimum) async throws(StoreError) {
        self.checkpointAfter = max(1, checkpointAfter)
        guard let u = URL(string: url), u.scheme == "postgres" || u.scheme == "postgresql", let host = u.host else {
            throw .unavailable("not a postgres:// URL")
        }
        var config = PostgresClient.Configuration(host: host, port: u.port ?? 5432, username: u.user ?? "postgres",
                                                  password: u.password, database: u.path.isEmpty ? nil : String(u.path.dropFirst()),
                                                  tls: .disable)
        config.options.maximumConnections = 8
        // The pool retries a server it cannot reach for about a minute before giving up; one
        // direct connection first makes a wrong URL or a down server a prompt, clear error.
        var probe = PostgresConnection.Configuration(host: host, port: u.port ?? 5432, username: u.user ?? "postgres", password: u.password,
                                                     database: u.path.isEmpty ? nil : String(u.path.dropFirst()), tls: .disable)
        probe.options.connectTimeout = .seconds(5)
        do {
            let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: Logger(label: "proviso.postgres.probe"))
            try? await connection.close()
        } catch {
            let why: String = if case let .unavailable(m) = Self.map(error) { m } else { "\(error)" }
            throw .unavailable("cannot connect to \(host):\(u.port ?? 5432) (\(why))")
        }
        let client = PostgresClient(configuration: config)
        self.client = client
        direct = probe
        writer = WriterConnection(configuration: probe)
        runner = Task { await client.run() }
        description = "postgres://\(u.user.map { $0 + "@" } ?? "")\(host):\(u.port ?? 5432)\(u.path)"
        do { try await migrate() } catch {
            runner.cancel()
            throw error
        }
    }

    deinit { runner.cancel() }

    static func map(_ error: any Error) -> StoreError {
        if let e = error as? StoreError { return e }
        // A failure inside a transaction comes wrapped; what the closure threw is what counts.
        if let t = error as? PostgresTransactionError, let inner = t.closureError ?? t.beginError { return map(inner) }
        if let e = error as? PSQLError {
            let code = e.serverInfo?[.sqlState] ?? ""
            if code == "23505" { return .conflict(e.serverInfo?[.message] ?? "duplicate") }
            return .unavailable(e.serverInfo?[.message] ?? "\(e.code)")
        }
        return .unavailable("\(error)")
    }

    /// How long one store operation may take before it is reported unavailable: the pool
    /// waits for a lost server for about a minute, and callers must fail closed sooner.
    static let deadline: Double = 5

    /// The deadline for loading the projection: the usual one plus 20 µs per member and per
    /// ledger event (a load measured at about 3 µs per row, so a slow server has room).
    static func loadDeadline(members: Int, events: Int) -> Double {
        deadline + Double(members + events) * 20e-6
    }

    /// Runs `body` against `deadline`, mapping every failure to a `StoreError`.
    /// `onTimeout` runs when the deadline passes, before the error is thrown: what makes a stuck
    /// body return (closing its connection), since a query does not stop when cancelled.
    func run<T: Sendable>(deadline: Double = PostgresStore.deadline, onTimeout: (@Sendable () -> Void)? = nil,
                          _ body: @escaping @Sendable () async throws -> T) async throws(StoreError) -> T {
        do {
            return try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(deadline * 1e9))
                    onTimeout?()
                    throw StoreError.unavailable("the database did not answer within \(Int(deadline)) s")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch {
            throw Self.map(error)
        }
    }

    func transaction<T: Sendable>(deadline: Double = PostgresStore.deadline,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        let client = client
        return try await run(deadline: deadline) { try await client.withTransaction(logger: pgLogger) { c in try await body(c) } }
    }

    // MARK: migrations

    /// Numbered, append-only migrations (each a list of statements); a lock keeps two instances
    /// starting together from applying the same one twice.
    static let migrations: [(String, [String])] = [
        ("001-ledger-and-members", [
            """
            CREATE TABLE ledger (
                seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, member_id TEXT, setting TEXT, value BOOLEAN, effective_at BIGINT,
                recorded_at BIGINT NOT NULL, channel TEXT, actor TEXT NOT NULL, policy_version TEXT, payload TEXT,
                prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL)
            """,
            "CREATE INDEX ledger_by_member ON ledger(member_id, seq)",
            "CREATE INDEX ledger_by_kind ON ledger(kind, seq)",
            """
            CREATE FUNCTION proviso_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$
            """,
            "CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION proviso_refuse_change()",
            """
            CREATE TABLE members (
                id TEXT PRIMARY KEY, country TEXT NOT NULL, birth_date TEXT NOT NULL, suspected_minor BOOLEAN NOT NULL DEFAULT FALSE,
                closed_at BIGINT, handle TEXT, name TEXT, headline TEXT, updated_seq BIGINT NOT NULL)
            """,
            "CREATE UNIQUE INDEX members_by_handle ON members(handle) WHERE handle IS NOT NULL",
        ]),
        ("002-tokens-keys-sessions", [
            "CREATE TABLE service_tokens (hash BYTEA PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT)",
            "CREATE UNIQUE INDEX service_tokens_active_name ON service_tokens(name) WHERE revoked_at IS NULL",
            "CREATE TABLE receipt_keys (kid TEXT PRIMARY KEY, private_key BYTEA NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE member_credentials (member_id TEXT PRIMARY KEY REFERENCES members(id), password_hash TEXT NOT NULL, updated_at BIGINT NOT NULL)",
            """
            CREATE TABLE member_sessions (id_hash BYTEA PRIMARY KEY, member_id TEXT NOT NULL, csrf_token TEXT NOT NULL,
                                          created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
            """,
            "CREATE INDEX member_sessions_by_expiry ON member_sessions(expires_at)",
        ]),
        ("003-gate-snapshots", [
            """
            CREATE TABLE gate_snapshots (
                seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT, purpose TEXT NOT NULL, as_of BIGINT NOT NULL,
                created_at BIGINT NOT NULL, policy_version TEXT NOT NULL, ledger_seq BIGINT NOT NULL, input_sha256 TEXT NOT NULL,
                output_sha256 TEXT NOT NULL, records_read BIGINT NOT NULL, eligible BIGINT NOT NULL, excluded BIGINT NOT NULL,
                malformed BIGINT NOT NULL, member_count BIGINT NOT NULL, page_count BIGINT NOT NULL, manifest TEXT NOT NULL)
            """,
            """
            CREATE TABLE gate_snapshot_pages (snapshot_seq BIGINT NOT NULL REFERENCES gate_snapshots(seq), page BIGINT NOT NULL,
                                              members TEXT NOT NULL, PRIMARY KEY (snapshot_seq, page))
            """,
            "CREATE TRIGGER gate_snapshots_immutable BEFORE UPDATE OR DELETE ON gate_snapshots FOR EACH ROW EXECUTE FUNCTION proviso_refuse_change()",
            "CREATE TRIGGER gate_snapshot_pages_immutable BEFORE UPDATE OR DELETE ON gate_snapshot_pages FOR EACH ROW EXECUTE FUNCTION proviso_refuse_change()",
        ]),
        ("004-policies-posts-notices", [
            """
            CREATE TABLE policy_versions (version TEXT PRIMARY KEY, digest TEXT NOT NULL, text TEXT NOT NULL, effective_from TEXT,
                                          published_at BIGINT NOT NULL, seq BIGINT NOT NULL REFERENCES ledger(seq))
            """,
            "CREATE TRIGGER policy_versions_immutable BEFORE UPDATE OR DELETE ON policy_versions FOR EACH ROW EXECUTE FUNCTION proviso_refuse_change()",
            """
            CREATE TABLE member_posts (id TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members(id), text TEXT NOT NULL,
                                       visibility TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX member_posts_by_member ON member_posts(member_id, created_at)",
            """
            CREATE TABLE notices (id BIGSERIAL PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members(id),
                                  policy_version TEXT NOT NULL REFERENCES policy_versions(version), purpose TEXT NOT NULL,
                                  region TEXT NOT NULL, changes TEXT NOT NULL, effective_day BIGINT NOT NULL, delivered_at BIGINT NOT NULL,
                                  asks_confirmation BOOLEAN NOT NULL, read_at BIGINT, confirmed_at BIGINT)
            """,
            "CREATE INDEX notices_by_member ON notices(member_id, id)",
            """
            CREATE TABLE email_outbox (id BIGSERIAL PRIMARY KEY, member_id TEXT NOT NULL, notice_id BIGINT NOT NULL REFERENCES notices(id),
                                       subject TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL, sent_at BIGINT)
            """,
            "CREATE INDEX email_outbox_pending ON email_outbox(id) WHERE sent_at IS NULL",
        ]),
        ("005-organisations-roles-profile-fields", [
            "CREATE TABLE organisations (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL)",
            """
            CREATE TABLE org_admins (org_id TEXT NOT NULL REFERENCES organisations(id), member_id TEXT NOT NULL REFERENCES members(id),
                                     granted_at BIGINT NOT NULL, PRIMARY KEY (org_id, member_id))
            """,
            "CREATE INDEX org_admins_by_member ON org_admins(member_id)",
            """
            CREATE TABLE org_affiliations (member_id TEXT PRIMARY KEY REFERENCES members(id), org_id TEXT NOT NULL REFERENCES organisations(id),
                                           confirmed_at BIGINT NOT NULL)
            """,
            "CREATE INDEX org_affiliations_by_org ON org_affiliations(org_id, member_id)",
            """
            CREATE TABLE org_policies (org_id TEXT NOT NULL REFERENCES organisations(id), version BIGINT NOT NULL, markdown TEXT NOT NULL,
                                       published_at BIGINT NOT NULL, published_by TEXT NOT NULL, PRIMARY KEY (org_id, version))
            """,
            "CREATE TRIGGER org_policies_immutable BEFORE UPDATE ON org_policies FOR EACH ROW EXECUTE FUNCTION proviso_refuse_change()",
            """
            CREATE TABLE org_campaigns (id BIGSERIAL PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisations(id), message TEXT NOT NULL,
                                        sent_at BIGINT NOT NULL, sent_by TEXT NOT NULL)
            """,
            "CREATE INDEX org_campaigns_by_org ON org_campaigns(org_id, id)",
            """
            CREATE TABLE campaign_notices (id BIGSERIAL PRIMARY KEY, campaign_id BIGINT NOT NULL REFERENCES org_campaigns(id),
                                           member_id TEXT NOT NULL REFERENCES members(id), delivered_at BIGINT NOT NULL,
                                           read_at BIGINT, acknowledged_at BIGINT)
            """,
            "CREATE INDEX campaign_notices_by_member ON campaign_notices(member_id, id)",
            "CREATE INDEX campaign_notices_by_campaign ON campaign_notices(campaign_id)",
            """
            CREATE TABLE member_roles (member_id TEXT NOT NULL REFERENCES members(id), role TEXT NOT NULL, granted_at BIGINT NOT NULL,
                                       PRIMARY KEY (member_id, role))
            """,
            """
            CREATE TABLE member_profile_fields (member_id TEXT NOT NULL REFERENCES members(id), field TEXT NOT NULL, value TEXT NOT NULL,
                                                visibility TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (member_id, field))
            """,
        ]),
        ("006-ledger-notify", [
            // One notification per writing transaction (statement level; PostgreSQL folds equal
            // notifications of one transaction and delivers them at commit), from every writer:
            // servers, CLI imports, anything that appends.
            """
            CREATE FUNCTION proviso_ledger_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('proviso_ledger', ''); RETURN NULL; END $$
            """,
            "CREATE TRIGGER ledger_notify AFTER INSERT ON ledger FOR EACH STATEMENT EXECUTE FUNCTION proviso_ledger_notify()",
        ]),
        ("007-state-checkpoint", [
            // A cache of the projection at one ledger sequence (see `loadState`); never evidence,
            // so it is replaced in place. Stored out of line and uncompressed: it is read whole.
            """
            CREATE TABLE state_checkpoint (
                id INT PRIMARY KEY CHECK (id = 1), ledger_seq BIGINT NOT NULL, ledger_hash BYTEA NOT NULL, state BYTEA NOT NULL)
            """,
            "ALTER TABLE state_checkpoint ALTER COLUMN state SET STORAGE EXTERNAL",
        ]),
    ]

    func migrate() async throws(StoreError) {
        try await transaction { c in
            try await c.query("SELECT pg_advisory_xact_lock(72616)", logger: pgLogger)
            try await c.query("CREATE TABLE IF NOT EXISTS proviso_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: pgLogger)
            var applied: Set<String> = []
            for try await id in try await c.query("SELECT id FROM proviso_migrations", logger: pgLogger).decode(String.self) { applied.insert(id) }
            for (id, statements) in Self.migrations where !applied.contains(id) {
                for sql in statements { try await c.query(PostgresQuery(unsafeSQL: sql), logger: pgLogger) }
                try await c.query("INSERT INTO proviso_migrations (id, applied_at) VALUES (\(id), \(Time.now()))", logger: pgLogger)
            }
        }
    }

    // MARK: ledger

    static let eventColumns = "seq, kind, member_id, setting, value, effective_at, recorded_at, channel, actor, policy_version, payload, prev_hash, hash"

    static func event(_ row: PostgresRow) throws -> LedgerEvent {
        let (seq, kindText, member, setting, value, effective, recorded, channel, actor, version, payload, prev, hash) =
            try row.decode((Int64, String, String?, String?, Bool?, Int64?, Int64, String?, String, String?, String?, ByteBuffer, ByteBuffer).self)
        guard let kind = EventKind(rawValue: kindText) else { throw StoreError.corrupt("unknown event kind \(kindText)") }
        let draft = EventDraft(kind: kind, memberID: member, setting: setting.flatMap(SettingID.init(code:)), value: value,
                               effectiveAt: effective, channel: channel.flatMap(Channel.init(code:)), actor: actor,
                               policyVersion: version, payload: payload)
        return LedgerEvent(seq: seq, recordedAt: recorded, draft: draft, prevHash: Array(buffer: prev), hash: Array(buffer: hash))
    }

    public func append(_ batch: WriteBatch) async throws(StoreError) -> AppendResult {
        if let r = try await appendOneIfPossible(batch) { return r }
        knownHead.withLock { $0 = nil }
        // A bulk import gets time in proportion to its size (COPY moves ~100,000 rows a second);
        // one choice keeps the 5 s bound that makes a lost server a prompt error.
        let rows = batch.members.count + batch.events.count
        return try await transaction(deadline: Self.deadline + Double(rows) / 10_000) { c in try await Self.append(batch, on: c, logger: pgLogger) }
    }

    /// The ledger head is read and extended under one advisory lock, so every instance
    /// appends to the same chain without gaps or forks.
    static func append(_ batch: WriteBatch, on c: PostgresConnection, logger: Logger) async throws -> AppendResult {
        try await c.query("SELECT pg_advisory_xact_lock(72617)", logger: pgLogger)
        var result = AppendResult()
        var seq: Int64 = 0
        var prev = LedgerHash.genesis
        var lastActivation: String?
        // The head and the last policy activation in one round trip.
        for try await (s, h, a) in try await c.query("""
            SELECT (SELECT seq FROM ledger ORDER BY seq DESC LIMIT 1), (SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1),
                   (SELECT payload FROM ledger WHERE kind = 'policy-activated' ORDER BY seq DESC LIMIT 1)
            """, logger: pgLogger).decode((Int64?, ByteBuffer?, String?).self) {
            if let s, let h { seq = s; prev = Array(buffer: h) }
            lastActivation = a
        }
        if batch.members.count + batch.events.count >= bulkThreshold {
            return try await appendBulk(batch, on: c, seq: seq, prev: prev, lastActivation: lastActivation)
        }
        /// Writes one event; with `requireMember`, only if that member exists (checked in the
        /// same statement, to save a round trip), else `.unknownMember` and nothing is kept.
        func write(_ d: EventDraft, requireMember: String? = nil) async throws {
            seq += 1
            let e = LedgerEvent(sealing: d, seq: seq, recordedAt: batch.recordedAt, prevHash: prev)
            var inserted = false
            for try await _ in try await c.query("""
                INSERT INTO ledger (seq, kind, member_id, setting, value, effective_at, recorded_at, channel, actor, policy_version, payload, prev_hash, hash)
                SELECT \(e.seq), \(d.kind.rawValue), \(d.memberID), \(d.setting?.code), \(d.value), \(d.effectiveAt), \(e.recordedAt),
                       \(d.channel?.code), \(d.actor), \(d.policyVersion), \(d.payload), \(ByteBuffer(bytes: e.prevHash)), \(ByteBuffer(bytes: e.hash))
                WHERE \(requireMember == nil) OR EXISTS (SELECT 1 FROM members WHERE id = \(requireMember ?? ""))
                RETURNING seq
                """, logger: pgLogger) { inserted = true }
            if !inserted { throw StoreError.unknownMember(requireMember ?? "") }
            prev = e.hash
            result.written += 1
            if batch.returnEvents { result.events.append(e) }
        }
        if let p = batch.policy, lastActivation != policyActivationPayload(p) {
            try await write(policyActivationDraft(p, actor: batch.actor))
        }
        for m in batch.members {
            var old: Member?
            for try await row in try await c.query("SELECT \(unescaped: memberColumns) FROM members WHERE id = \(m.id)", logger: pgLogger) {
                old = try member(row)
            }
            if old == m { result.unchanged += 1; continue }
            try await write(EventDraft(kind: old == nil ? .memberRegistered : .memberChanged, memberID: m.id, actor: batch.actor,
                                       policyVersion: batch.policy?.version, payload: m.payload))
            if old == nil { result.registered += 1 } else { result.changed += 1 }
            try await c.query("""
                INSERT INTO members (id, country, birth_date, suspected_minor, closed_at, handle, name, headline, updated_seq)
                VALUES (\(m.id), \(m.country), \(Time.formatDate(dayNumber: m.birthDay)), \(m.suspectedMinor), \(m.closedAt), \(m.handle),
                        \(m.name), \(m.headline), \(seq))
                ON CONFLICT (id) DO UPDATE SET country = excluded.country, birth_date = excluded.birth_date,
                    suspected_minor = excluded.suspected_minor, closed_at = excluded.closed_at, handle = excluded.handle,
                    name = excluded.name, headline = excluded.headline, updated_seq = excluded.updated_seq
                """, logger: pgLogger)
        }
        var known: Set<String> = []
        for d in batch.events {
            if let id = d.memberID, !known.contains(id) {
                try await write(d, requireMember: id)
                known.insert(id)
            } else {
                try await write(d)
            }
        }
        result.lastSeq = seq
        return result
    }

    func events(_ query: PostgresQuery) async throws(StoreError) -> [LedgerEvent] {
        try await run {
            var out: [LedgerEvent] = []
            for try await row in try await self.client.query(query, logger: pgLogger) { out.append(try Self.event(row)) }
            return out
        }
    }

    public func events(after: Int64, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        try await events("SELECT \(unescaped: Self.eventColumns) FROM ledger WHERE seq > \(after) ORDER BY seq LIMIT \(limit)")
    }

    public func events(member: String) async throws(StoreError) -> [LedgerEvent] {
        try await events("SELECT \(unescaped: Self.eventColumns) FROM ledger WHERE member_id = \(member) ORDER BY seq")
    }

    public func head() async throws(StoreError) -> LedgerEvent? {
        try await events("SELECT \(unescaped: Self.eventColumns) FROM ledger ORDER BY seq DESC LIMIT 1").first
    }

    // MARK: members

    static let memberColumns = "id, country, birth_date, suspected_minor, closed_at, handle, name, headline"

    static func member(_ row: PostgresRow) throws -> Member {
        let (id, country, birth, minor, closed, handle, name, headline) =
            try row.decode((String, String, String, Bool, Int64?, String?, String?, String?).self)
        return Member(id: id, country: country, birthDay: Time.parseDate(birth) ?? 0, suspectedMinor: minor, closedAt: closed,
                      handle: handle, name: name, headline: headline)
    }

    public func member(_ id: String) async throws(StoreError) -> Member? {
        try await run {
            for try await row in try await self.client.query("SELECT \(unescaped: Self.memberColumns) FROM members WHERE id = \(id)", logger: pgLogger) {
                return try Self.member(row)
            }
            return nil
        }
    }

    func scalar<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, _ type: T.Type) async throws(StoreError) -> T? {
        try await run {
            for try await v in try await self.client.query(query, logger: pgLogger).decode(T.self) { return v }
            return nil
        }
    }

    public func memberID(handle: String) async throws(StoreError) -> String? {
        try await scalar("SELECT id FROM members WHERE handle = \(handle)", String.self)
    }

    public func memberCount() async throws(StoreError) -> Int {
        try await scalar("SELECT count(*) FROM members", Int.self) ?? 0
    }

    /// The projection, from the stored checkpoint plus the ledger after it when there is an
    /// intact one, else rebuilt from every member (in id order, bytewise, as the gate wants
    /// it) and every choice; all in one read-only snapshot, so the state is exactly the
    /// ledger's at one sequence, and a member registered and given a choice while it loads
    /// cannot make the load fail (their choice seen without them) — the tail brings both
    /// afterwards. A load that replayed many events writes a new checkpoint (best effort), as
    /// the SQLite store does (docs/scaling.md).
    public func loadState() async throws(StoreError) -> ConsentState {
        let loaded = try await readState()
        if StateCheckpoint.shouldRenew(replayed: loaded.replayed, members: loaded.state.memberCount, minimum: checkpointAfter),
           let hash = loaded.headHash {
            try? await saveCheckpoint(loaded.state, hash: hash)
        }
        return loaded.state
    }

    /// What one read of the projection found.
    struct LoadedState: Sendable {
        var state: ConsentState
        /// Ledger events read after the checkpoint (all of them without one).
        var replayed: Int
        var headHash: [UInt8]?
        var fromCheckpoint: Bool
    }

    public func rebuildState() async throws(StoreError) -> ConsentState {
        try await readState(fromCheckpoint: false).state
    }

    public func dropCheckpoint() async throws(StoreError) {
        _ = try await run { try await self.client.query("DELETE FROM state_checkpoint", logger: pgLogger) }
    }

    func readState(fromCheckpoint useCheckpoint: Bool = true) async throws(StoreError) -> LoadedState {
        // The load reads every member and choice: its deadline grows with them (the fixed one
        // made a million-member store fail to load, and so deny everything). A lost server
        // still ends it, and decisions still fail closed meanwhile.
        let members = try await memberCount()
        let estimate = try await scalar("SELECT coalesce(max(seq), 0) FROM ledger", Int64.self) ?? 0
        let hook = loadHook
        return try await transaction(deadline: Self.loadDeadline(members: members, events: Int(estimate))) { c in
            try await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: pgLogger)
            var headSeq: Int64 = 0
            var headHash: [UInt8]?
            for try await (seq, hash) in try await c.query("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1", logger: pgLogger)
                .decode((Int64, ByteBuffer).self) {
                headSeq = seq
                headHash = Array(buffer: hash)
            }
            var state = ConsentState(capacity: members)
            var from: Int64 = 0
            for try await (seq, bytes) in try await c.query("""
                SELECT c.ledger_seq, c.state FROM state_checkpoint c JOIN ledger l ON l.seq = c.ledger_seq
                WHERE c.id = 1 AND l.hash = c.ledger_hash AND \(useCheckpoint)
                """, logger: pgLogger).decode((Int64, ByteBuffer).self) {
                if let restored = bytes.withUnsafeReadableBytes({ ConsentState(checkpoint: $0) }), restored.ledgerSeq == seq {
                    state = restored
                    from = seq
                }
            }
            if from > 0 {
                // Members registered or changed since: their rows now, like a full load reads them.
                for try await row in try await c.query("""
                    SELECT id, country, birth_date, suspected_minor, closed_at FROM members WHERE id IN (
                        SELECT member_id FROM ledger WHERE seq > \(from) AND kind IN ('member-registered', 'member-changed'))
                    ORDER BY id COLLATE "C"
                    """, logger: pgLogger) {
                    try Self.memberRow(row) { id, region, day, minor, closed in
                        state.upsert(id: String(buffer: id), region: region, birthDay: day, suspectedMinor: minor, closedAt: closed)
                    }
                }
            } else {
                // Text cells are read as bytes where they are only looked at (ids, countries,
                // dates): a million members make no `String` each.
                for try await row in try await c.query("""
                    SELECT id, country, birth_date, suspected_minor, closed_at FROM members ORDER BY id COLLATE "C"
                    """, logger: pgLogger) {
                    try Self.memberRow(row) { id, region, day, minor, closed in
                        id.withUnsafeReadableBytes { state.appendLoaded(id: $0, region: region, birthDay: day, suspectedMinor: minor, closedAt: closed) }
                    }
                }
                state.finishLoading()
            }
            await hook?()
            for try await row in try await c.query("""
                SELECT seq, member_id, setting, value, effective_at, channel FROM ledger
                WHERE kind = 'setting-changed' AND seq > \(from) ORDER BY seq
                """, logger: pgLogger) {
                var cells = row.makeIterator()
                guard let seqCell = cells.next(), let memberCell = cells.next(), let settingCell = cells.next(),
                      let valueCell = cells.next(), let effectiveCell = cells.next(), let channelCell = cells.next() else {
                    throw StoreError.corrupt("a setting event cannot be read")
                }
                let seq = try seqCell.decode(Int64.self)
                let i = memberCell.bytes?.withUnsafeReadableBytes { state.memberIndex($0) } ?? -1
                guard i >= 0, let s = SettingID(code: try settingCell.decode(String.self)), let ch = Channel(code: try channelCell.decode(String.self)) else {
                    throw StoreError.corrupt("setting event \(seq) cannot be read")
                }
                state.apply(Choice(effectiveAt: try effectiveCell.decode(Int64.self), seq: seq, setting: s, on: try valueCell.decode(Bool.self), channel: ch),
                            member: i)
            }
            state.ledgerSeq = headSeq
            // Sequences are dense (each append takes the next), so this is the number of events read.
            return LoadedState(state: state, replayed: Int(headSeq - from), headHash: headHash, fromCheckpoint: from > 0)
        }
    }

    /// Decodes a `members` row (id, country, birth_date, suspected_minor, closed_at), handing
    /// the id's bytes to `body`.
    static func memberRow(_ row: PostgresRow, _ body: (ByteBuffer, RegionGroup, Int, Bool, Micros?) throws -> Void) throws {
        var cells = row.makeIterator()
        guard let idCell = cells.next(), let countryCell = cells.next(), let birthCell = cells.next(),
              let minorCell = cells.next(), let closedCell = cells.next(),
              let id = idCell.bytes, let country = countryCell.bytes, let birthText = birthCell.bytes else {
            throw StoreError.corrupt("a member row cannot be read")
        }
        let minor = try minorCell.decode(Bool.self)
        let closed = try closedCell.decode(Int64?.self)
        guard let day = birthText.withUnsafeReadableBytes({ Time.parseDate($0) }) else {
            throw StoreError.corrupt("member \(String(buffer: id)) has an unreadable birth_date")
        }
        try body(id, country.withUnsafeReadableBytes { RegionGroup(countryCode: $0) } ?? .row, day, minor, closed)
    }

    /// Stores `state` as the checkpoint, unless the one stored is as recent. `hash` is the
    /// ledger's hash at `state.ledgerSeq`, read with the state. A cache is not worth waiting
    /// for: if another writer holds the row, give up after a moment.
    func saveCheckpoint(_ state: ConsentState, hash: [UInt8]) async throws(StoreError) {
        // Written straight into the buffer that is sent: one copy of the checkpoint, not two.
        var written = ByteBuffer()
        written.reserveCapacity(state.checkpointSize)
        state.writeCheckpoint { piece in
            written.writeBytes(piece)
            return true
        }
        let bytes = written
        let seq = state.ledgerSeq
        let hashBytes = ByteBuffer(bytes: hash)
        try await transaction(deadline: Self.loadDeadline(members: state.memberCount, events: 0)) { c in
            try await c.query("SET LOCAL lock_timeout = '200ms'", logger: pgLogger)
            try await c.query("""
                INSERT INTO state_checkpoint (id, ledger_seq, ledger_hash, state) VALUES (1, \(seq), \(hashBytes), \(bytes))
                ON CONFLICT (id) DO UPDATE SET ledger_seq = excluded.ledger_seq, ledger_hash = excluded.ledger_hash, state = excluded.state
                WHERE excluded.ledger_seq > state_checkpoint.ledger_seq
                """, logger: pgLogger)
        }
    }

    // MARK: tokens, keys, sessions

    public func createToken(_ token: ServiceToken, hash: [UInt8]) async throws(StoreError) {
        try await transaction { c in
            for try await _ in try await c.query("SELECT 1 FROM service_tokens WHERE name = \(token.name) AND revoked_at IS NULL", logger: pgLogger) {
                throw StoreError.conflict("an active token named \"\(token.name)\" already exists")
            }
            try await c.query("""
                INSERT INTO service_tokens (hash, name, scopes, created_at, revoked_at)
                VALUES (\(ByteBuffer(bytes: hash)), \(token.name), \(token.scopes.map(\.rawValue).sorted().joined(separator: " ")),
                        \(token.createdAt), \(token.revokedAt))
                """, logger: pgLogger)
        }
    }

    func tokens(_ query: PostgresQuery) async throws(StoreError) -> [ServiceToken] {
        try await run {
            var out: [ServiceToken] = []
            for try await (name, scopes, created, revoked) in try await self.client.query(query, logger: pgLogger).decode((String, String, Int64, Int64?).self) {
                out.append(ServiceToken(name: name, scopes: Set(scopes.split(separator: " ").compactMap { Scope(rawValue: String($0)) }),
                                        createdAt: created, revokedAt: revoked))
            }
            return out
        }
    }

    public func activeToken(hash: [UInt8]) async throws(StoreError) -> ServiceToken? {
        try await tokens("SELECT name, scopes, created_at, revoked_at FROM service_tokens WHERE hash = \(ByteBuffer(bytes: hash)) AND revoked_at IS NULL").first
    }

    public func revokeToken(name: String, at: Micros) async throws(StoreError) -> Bool {
        try await scalar("UPDATE service_tokens SET revoked_at = \(at) WHERE name = \(name) AND revoked_at IS NULL RETURNING 1", Int32.self) != nil
    }

    public func tokens() async throws(StoreError) -> [ServiceToken] {
        try await tokens("SELECT name, scopes, created_at, revoked_at FROM service_tokens ORDER BY name, created_at")
    }

    public func receiptKeys() async throws(StoreError) -> [ReceiptKey] {
        try await run {
            var out: [ReceiptKey] = []
            for try await (secret, kid) in try await self.client.query("SELECT private_key, kid FROM receipt_keys ORDER BY created_at DESC, kid",
                                                                  logger: pgLogger).decode((ByteBuffer, String).self) {
                guard let key = ReceiptKey(privateKey: Array(buffer: secret)) else { throw StoreError.corrupt("receipt key \(kid) cannot be read") }
                out.append(key)
            }
            return out
        }
    }

    public func addReceiptKey(_ key: ReceiptKey, at: Micros) async throws(StoreError) {
        guard let secret = key.privateKeyBytes else { throw .unavailable("only signing keys can be stored") }
        _ = try await run {
            try await self.client.query("""
                INSERT INTO receipt_keys (kid, private_key, created_at) VALUES (\(key.kid), \(ByteBuffer(bytes: secret)), \(at))
                ON CONFLICT (kid) DO NOTHING
                """, logger: pgLogger)
        }
    }

    public func setPasswordHash(member: String, hash: String, at: Micros) async throws(StoreError) {
        try await transaction { c in
            var exists = false
            for try await _ in try await c.query("SELECT 1 FROM members WHERE id = \(member)", logger: pgLogger) { exists = true }
            guard exists else { throw StoreError.unknownMember(member) }
            try await c.query("""
                INSERT INTO member_credentials (member_id, password_hash, updated_at) VALUES (\(member), \(hash), \(at))
                ON CONFLICT (member_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at
                """, logger: pgLogger)
        }
    }

    public func passwordHash(member: String) async throws(StoreError) -> String? {
        try await scalar("SELECT password_hash FROM member_credentials WHERE member_id = \(member)", String.self)
    }

    public func createSession(_ session: MemberSession, idHash: [UInt8]) async throws(StoreError) {
        try await transaction { c in
            try await c.query("DELETE FROM member_sessions WHERE expires_at <= \(session.createdAt)", logger: pgLogger)
            try await c.query("""
                INSERT INTO member_sessions (id_hash, member_id, csrf_token, created_at, expires_at)
                VALUES (\(ByteBuffer(bytes: idHash)), \(session.memberID), \(session.csrfToken), \(session.createdAt), \(session.expiresAt))
                """, logger: pgLogger)
        }
    }

    public func session(idHash: [UInt8], now: Micros) async throws(StoreError) -> MemberSession? {
        try await run {
            for try await (m, csrf, created, expires) in try await self.client.query("""
                SELECT member_id, csrf_token, created_at, expires_at FROM member_sessions
                WHERE id_hash = \(ByteBuffer(bytes: idHash)) AND expires_at > \(now)
                """, logger: pgLogger).decode((String, String, Int64, Int64).self) {
                return MemberSession(memberID: m, csrfToken: csrf, createdAt: created, expiresAt: expires)
            }
            return nil
        }
    }

    public func deleteSession(idHash: [UInt8]) async throws(StoreError) {
        _ = try await run { try await self.client.query("DELETE FROM member_sessions WHERE id_hash = \(ByteBuffer(bytes: idHash))", logger: pgLogger) }
    }
}
