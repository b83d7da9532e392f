public import ProvisoCore
public import ProvisoStore
import GRDB
import GRDBSQLite
import Foundation

/// The embedded default store: SQLite through GRDB, in WAL mode with `synchronous=FULL`, so
/// an acknowledged append survives a crash of the process or the machine.
public final class SQLiteStore: ConsentStore {
    let pool: DatabasePool
    public let path: String

    /// The fewest ledger events past the stored checkpoint at which `loadState` writes a new
    /// one (it also waits for one event per 20 members).
    let checkpointAfter: Int
    /// How long a write waits for another process's write lock.
    static let busyMilliseconds: Int32 = 30_000

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    /// `checkpointAfter`: see `loadState`.
    public init(path: String, checkpointAfter: Int = StateCheckpoint.defaultMinimum) throws(StoreError) {
        self.path = path
        self.checkpointAfter = max(1, checkpointAfter)
        var config = Configuration()
        config.busyMode = .timeout(TimeInterval(Self.busyMilliseconds) / 1000)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw Self.map(error)
        }
    }

    /// Numbered, append-only migrations: never edit one that has shipped, add the next.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("001-ledger-and-members") { db in
            try db.execute(sql: """
                CREATE TABLE ledger (
                    seq            INTEGER PRIMARY KEY,
                    kind           TEXT    NOT NULL,
                    member_id      TEXT,
                    setting        TEXT,
                    value          INTEGER,
                    effective_at   INTEGER,
                    recorded_at    INTEGER NOT NULL,
                    channel        TEXT,
                    actor          TEXT    NOT NULL,
                    policy_version TEXT,
                    payload        TEXT,
                    prev_hash      BLOB    NOT NULL,
                    hash           BLOB    NOT NULL
                );
                CREATE INDEX ledger_by_member ON ledger(member_id, seq) WHERE member_id IS NOT NULL;
                CREATE INDEX ledger_settings ON ledger(seq) WHERE kind = 'setting-changed';
                CREATE INDEX ledger_policies ON ledger(seq) WHERE kind = 'policy-activated';
                CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
                    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
                CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
                    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
                CREATE TABLE members (
                    id              TEXT    PRIMARY KEY,
                    country         TEXT    NOT NULL,
                    birth_date      TEXT    NOT NULL,
                    suspected_minor INTEGER NOT NULL DEFAULT 0,
                    closed_at       INTEGER,
                    handle          TEXT,
                    name            TEXT,
                    headline        TEXT,
                    updated_seq     INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX members_by_handle ON members(handle) WHERE handle IS NOT NULL;
                """)
        }
        m.registerMigration("002-service-tokens") { db in
            try db.execute(sql: """
                CREATE TABLE service_tokens (
                    hash       BLOB    PRIMARY KEY,
                    name       TEXT    NOT NULL,
                    scopes     TEXT    NOT NULL,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX service_tokens_active_name ON service_tokens(name) WHERE revoked_at IS NULL;
                """)
        }
        m.registerMigration("003-receipt-keys") { db in
            try db.execute(sql: """
                CREATE TABLE receipt_keys (
                    kid         TEXT    PRIMARY KEY,
                    private_key BLOB    NOT NULL,
                    created_at  INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        m.registerMigration("004-member-credentials-and-sessions") { db in
            try db.execute(sql: """
                CREATE TABLE member_credentials (
                    member_id     TEXT    PRIMARY KEY REFERENCES members(id),
                    password_hash TEXT    NOT NULL,
                    updated_at    INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE member_sessions (
                    id_hash    BLOB    PRIMARY KEY,
                    member_id  TEXT    NOT NULL,
                    csrf_token TEXT    NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX member_sessions_by_expiry ON member_sessions(expires_at);
                """)
        }
        m.registerMigration("005-gate-snapshots") { db in
            // Lineage is evidence: rows are never updated or deleted, like the ledger.
            try db.execute(sql: """
                CREATE TABLE gate_snapshots (
                    seq            INTEGER PRIMARY KEY,
                    id             TEXT    NOT NULL UNIQUE,
                    name           TEXT,
                    purpose        TEXT    NOT NULL,
                    as_of          INTEGER NOT NULL,
                    created_at     INTEGER NOT NULL,
                    policy_version TEXT    NOT NULL,
                    ledger_seq     INTEGER NOT NULL,
                    input_sha256   TEXT    NOT NULL,
                    output_sha256  TEXT    NOT NULL,
                    records_read   INTEGER NOT NULL,
                    eligible       INTEGER NOT NULL,
                    excluded       INTEGER NOT NULL,
                    malformed      INTEGER NOT NULL,
                    member_count   INTEGER NOT NULL,
                    page_count     INTEGER NOT NULL,
                    manifest       TEXT    NOT NULL
                );
                -- The member set in pages (see SnapshotPages): a million members are a few
                -- thousand rows, and one member's page is found by hashing their id.
                CREATE TABLE gate_snapshot_pages (
                    snapshot_seq INTEGER NOT NULL REFERENCES gate_snapshots(seq),
                    page         INTEGER NOT NULL,
                    members      TEXT    NOT NULL,
                    PRIMARY KEY (snapshot_seq, page)
                ) WITHOUT ROWID;
                CREATE TRIGGER gate_snapshots_no_update BEFORE UPDATE ON gate_snapshots
                    BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
                CREATE TRIGGER gate_snapshots_no_delete BEFORE DELETE ON gate_snapshots
                    BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
                CREATE TRIGGER gate_snapshot_pages_no_update BEFORE UPDATE ON gate_snapshot_pages
                    BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
                CREATE TRIGGER gate_snapshot_pages_no_delete BEFORE DELETE ON gate_snapshot_pages
                    BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END;
                """)
        }
        m.registerMigration("006-policy-versions") { db in
            try db.execute(sql: """
                CREATE TABLE policy_versions (
                    version        TEXT    PRIMARY KEY,
                    digest         TEXT    NOT NULL,
                    text           TEXT    NOT NULL,
                    effective_from TEXT,
                    published_at   INTEGER NOT NULL,
                    seq            INTEGER NOT NULL REFERENCES ledger(seq)
                ) WITHOUT ROWID;
                CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
                    BEGIN SELECT RAISE(ABORT, 'published policies are immutable'); END;
                CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
                    BEGIN SELECT RAISE(ABORT, 'published policies are immutable'); END;
                """)
        }
        m.registerMigration("007-member-posts") { db in
            try db.execute(sql: """
                CREATE TABLE member_posts (
                    id         TEXT    PRIMARY KEY,
                    member_id  TEXT    NOT NULL REFERENCES members(id),
                    text       TEXT    NOT NULL,
                    visibility TEXT    NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX member_posts_by_member ON member_posts(member_id, created_at);
                """)
        }
        m.registerMigration("008-notices-and-outbox") { db in
            try db.execute(sql: """
                CREATE TABLE notices (
                    id                 INTEGER PRIMARY KEY,
                    member_id          TEXT    NOT NULL REFERENCES members(id),
                    policy_version     TEXT    NOT NULL REFERENCES policy_versions(version),
                    purpose            TEXT    NOT NULL,
                    region             TEXT    NOT NULL,
                    changes            TEXT    NOT NULL,
                    effective_day      INTEGER NOT NULL,
                    delivered_at       INTEGER NOT NULL,
                    asks_confirmation  INTEGER NOT NULL,
                    read_at            INTEGER,
                    confirmed_at       INTEGER
                );
                CREATE INDEX notices_by_member ON notices(member_id, id);
                CREATE TABLE email_outbox (
                    id         INTEGER PRIMARY KEY,
                    member_id  TEXT    NOT NULL,
                    notice_id  INTEGER NOT NULL REFERENCES notices(id),
                    subject    TEXT    NOT NULL,
                    body       TEXT    NOT NULL,
                    created_at INTEGER NOT NULL,
                    sent_at    INTEGER
                );
                CREATE INDEX email_outbox_pending ON email_outbox(id) WHERE sent_at IS NULL;
                """)
        }
        m.registerMigration("009-organisations-roles-profile-fields") { db in
            try db.execute(sql: """
                CREATE TABLE organisations (
                    id         TEXT    PRIMARY KEY,
                    name       TEXT    NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE org_admins (
                    org_id     TEXT    NOT NULL REFERENCES organisations(id),
                    member_id  TEXT    NOT NULL REFERENCES members(id),
                    granted_at INTEGER NOT NULL,
                    PRIMARY KEY (org_id, member_id)
                ) WITHOUT ROWID;
                CREATE INDEX org_admins_by_member ON org_admins(member_id);
                CREATE TABLE org_affiliations (
                    member_id    TEXT    PRIMARY KEY REFERENCES members(id),
                    org_id       TEXT    NOT NULL REFERENCES organisations(id),
                    confirmed_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX org_affiliations_by_org ON org_affiliations(org_id, member_id);
                CREATE TABLE org_policies (
                    org_id       TEXT    NOT NULL REFERENCES organisations(id),
                    version      INTEGER NOT NULL,
                    markdown     TEXT    NOT NULL,
                    published_at INTEGER NOT NULL,
                    published_by TEXT    NOT NULL,
                    PRIMARY KEY (org_id, version)
                ) WITHOUT ROWID;
                CREATE TRIGGER org_policies_immutable BEFORE UPDATE ON org_policies
                    BEGIN SELECT RAISE(ABORT, 'published organisation policies are immutable'); END;
                CREATE TABLE org_campaigns (
                    id      INTEGER PRIMARY KEY,
                    org_id  TEXT    NOT NULL REFERENCES organisations(id),
                    message TEXT    NOT NULL,
                    sent_at INTEGER NOT NULL,
                    sent_by TEXT    NOT NULL
                );
                CREATE INDEX org_campaigns_by_org ON org_campaigns(org_id, id);
                CREATE TABLE campaign_notices (
                    id              INTEGER PRIMARY KEY,
                    campaign_id     INTEGER NOT NULL REFERENCES org_campaigns(id),
                    member_id       TEXT    NOT NULL REFERENCES members(id),
                    delivered_at    INTEGER NOT NULL,
                    read_at         INTEGER,
                    acknowledged_at INTEGER
                );
                CREATE INDEX campaign_notices_by_member ON campaign_notices(member_id, id);
                CREATE INDEX campaign_notices_by_campaign ON campaign_notices(campaign_id);
                CREATE TABLE member_roles (
                    member_id  TEXT    NOT NULL REFERENCES members(id),
                    role       TEXT    NOT NULL,
                    granted_at INTEGER NOT NULL,
                    PRIMARY KEY (member_id, role)
                ) WITHOUT ROWID;
                CREATE TABLE member_profile_fields (
                    member_id  TEXT    NOT NULL REFERENCES members(id),
                    field      TEXT    NOT NULL,
                    value      TEXT    NOT NULL,
                    visibility TEXT    NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (member_id, field)
                ) WITHOUT ROWID;
                """)
        }
        m.registerMigration("010-state-checkpoint") { db in
            // A cache of the projection at one ledger sequence (see `loadState`); never evidence,
            // so it is replaced in place.
            try db.execute(sql: """
                CREATE TABLE state_checkpoint (
                    id          INTEGER PRIMARY KEY CHECK (id = 1),
                    ledger_seq  INTEGER NOT NULL,
                    ledger_hash BLOB    NOT NULL,
                    state       BLOB    NOT NULL
                );
                """)
        }
        return m
    }

    static func map(_ error: any Error) -> StoreError {
        if let e = error as? StoreError { return e }
        if let e = error as? DatabaseError {
            if e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB { return .corrupt(e.message ?? "\(e)") }
            return .unavailable(e.message ?? "\(e)")
        }
        return .unavailable("\(error)")
    }

    public func append(_ batch: WriteBatch) async throws(StoreError) -> AppendResult {
        do {
            return try await pool.write { db in try Self.append(batch, in: db) }
        } catch {
            throw Self.map(error)
        }
    }

    static func append(_ batch: WriteBatch, in db: Database) throws -> AppendResult {
        var result = AppendResult()
        var seq: Int64 = 0
        var prev = LedgerHash.genesis
        if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1") {
            seq = row[0]
            prev = Array(row[1] as Data)
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO ledger (seq, kind, member_id, setting, value, effective_at, recorded_at, channel, actor,
                                policy_version, payload, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        func write(_ d: EventDraft) throws {
            seq += 1
            let e = LedgerEvent(sealing: d, seq: seq, recordedAt: batch.recordedAt, prevHash: prev)
            try insert.execute(arguments: [
                e.seq, d.kind.rawValue, d.memberID, d.setting?.code, d.value.map { $0 ? 1 : 0 }, d.effectiveAt,
                e.recordedAt, d.channel?.code, d.actor, d.policyVersion, d.payload, Data(e.prevHash), Data(e.hash),
            ])
            prev = e.hash
            result.written += 1
            if batch.returnEvents { result.events.append(e) }
        }
        if let p = batch.policy {
            let last = try String.fetchOne(db, sql: "SELECT payload FROM ledger WHERE kind = 'policy-activated' ORDER BY seq DESC LIMIT 1")
            if last != policyActivationPayload(p) { try write(policyActivationDraft(p, actor: batch.actor)) }
        }
        if !batch.members.isEmpty {
            let select = try db.cachedStatement(sql: """
                SELECT id, country, birth_date, suspected_minor, closed_at, handle, name, headline FROM members WHERE id = ?
                """)
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO members (id, country, birth_date, suspected_minor, closed_at, handle, name, headline, updated_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET country = excluded.country, birth_date = excluded.birth_date,
                    suspected_minor = excluded.suspected_minor, closed_at = excluded.closed_at, handle = excluded.handle,
                    name = excluded.name, headline = excluded.headline, updated_seq = excluded.updated_seq
                """)
            for m in batch.members {
                let old = try Row.fetchOne(select, arguments: [m.id]).map(member(from:))
                if old == m { result.unchanged += 1; continue }
                try write(EventDraft(kind: old == nil ? .memberRegistered : .memberChanged, memberID: m.id, actor: batch.actor,
                                     policyVersion: batch.policy?.version, payload: m.payload))
                if old == nil { result.registered += 1 } else { result.changed += 1 }
                try upsert.execute(arguments: [
                    m.id, m.country, Time.formatDate(dayNumber: m.birthDay), m.suspectedMinor ? 1 : 0, m.closedAt,
                    m.handle, m.name, m.headline, seq,
                ])
            }
        }
        if !batch.events.isEmpty {
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM members WHERE id = ?")
            var known: Set<String> = []
            for d in batch.events {
                if let id = d.memberID, !known.contains(id) {
                    guard try Int.fetchOne(exists, arguments: [id]) != nil else { throw StoreError.unknownMember(id) }
                    known.insert(id)
                }
                try write(d)
            }
        }
        result.lastSeq = seq
        return result
    }

    static func member(from row: Row) -> Member {
        Member(id: row[0], country: row[1], birthDay: Time.parseDate(row[2] as String) ?? 0,
               suspectedMinor: (row[3] as Int) != 0, closedAt: row[4], handle: row[5], name: row[6], headline: row[7])
    }

    static let eventColumns = """
        seq, kind, member_id, setting, value, effective_at, recorded_at, channel, actor, policy_version, payload, prev_hash, hash
        """

    public func events(after: Int64, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        do {
            return try await pool.read { db in
                // Read through SQLite's API: a whole-ledger verification reads every event, and
                // GRDB's generic row decoding was most of its time.
                try Self.fetchEvents(db, "SELECT \(Self.eventColumns) FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?", [after, limit])
            }
        } catch {
            throw Self.map(error)
        }
    }

    /// The ledger rows (`eventColumns`) a query selects, decoded from SQLite's statement.
    static func fetchEvents(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> [LedgerEvent] {
        let statement = try db.makeStatement(sql: sql)
        try statement.setArguments(arguments)
        var out: [LedgerEvent] = []
        try step(statement, db) { out.append(try event(from: $0)) }
        return out
    }

    /// A ledger row (`eventColumns`) from SQLite's statement.
    static func event(from s: OpaquePointer) throws -> LedgerEvent {
        func string(_ column: Int32) -> String? {
            sqlite3_column_type(s, column) == SQLITE_NULL ? nil : String(decoding: text(s, column), as: UTF8.self)
        }
        func integer(_ column: Int32) -> Int64? {
            sqlite3_column_type(s, column) == SQLITE_NULL ? nil : sqlite3_column_int64(s, column)
        }
        func blob(_ column: Int32) -> [UInt8] {
            guard let p = sqlite3_column_blob(s, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(s, column))))
        }
        let seq = sqlite3_column_int64(s, 0)
        guard let kindText = string(1), let kind = EventKind(rawValue: kindText) else {
            throw StoreError.corrupt("event \(seq) has an unknown kind")
        }
        let draft = EventDraft(kind: kind, memberID: string(2), setting: string(3).flatMap(SettingID.init(code:)),
                               value: integer(4).map { $0 != 0 }, effectiveAt: integer(5), channel: string(7).flatMap(Channel.init(code:)),
                               actor: string(8) ?? "", policyVersion: string(9), payload: string(10))
        return LedgerEvent(seq: seq, recordedAt: sqlite3_column_int64(s, 6), draft: draft, prevHash: blob(11), hash: blob(12))
    }

    public func events(member: String) async throws(StoreError) -> [LedgerEvent] {
        do {
            return try await pool.read { db in
                try Self.fetchEvents(db, "SELECT \(Self.eventColumns) FROM ledger WHERE member_id = ? ORDER BY seq", [member])
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func head() async throws(StoreError) -> LedgerEvent? {
        do {
            return try await pool.read { db in
                try Self.fetchEvents(db, "SELECT \(Self.eventColumns) FROM ledger ORDER BY seq DESC LIMIT 1", []).first
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func member(_ id: String) async throws(StoreError) -> Member? {
        do {
            return try await pool.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT id, country, birth_date, suspected_minor, closed_at, handle, name, headline FROM members WHERE id = ?
                    """, arguments: [id]).map(Self.member(from:))
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func memberID(handle: String) async throws(StoreError) -> String? {
        do {
            return try await pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM members WHERE handle = ?", arguments: [handle]) }
        } catch {
            throw Self.map(error)
        }
    }

    public func memberCount() async throws(StoreError) -> Int {
        do {
            return try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM members") ?? 0 }
        } catch {
            throw Self.map(error)
        }
    }

    public func createToken(_ token: ServiceToken, hash: [UInt8]) async throws(StoreError) {
        do {
            try await pool.write { db in
                if try Int.fetchOne(db, sql: "SELECT 1 FROM service_tokens WHERE name = ? AND revoked_at IS NULL", arguments: [token.name]) != nil {
                    throw StoreError.conflict("an active token named \"\(token.name)\" already exists")
                }
                try db.execute(sql: "INSERT INTO service_tokens (hash, name, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [Data(hash), token.name, token.scopes.map(\.rawValue).sorted().joined(separator: " "),
                                           token.createdAt, token.revokedAt])
            }
        } catch {
            throw Self.map(error)
        }
    }

    static func token(from row: Row) -> ServiceToken {
        ServiceToken(name: row[0], scopes: Set((row[1] as String).split(separator: " ").compactMap { Scope(rawValue: String($0)) }),
                     createdAt: row[2], revokedAt: row[3])
    }

    public func activeToken(hash: [UInt8]) async throws(StoreError) -> ServiceToken? {
        do {
            return try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT name, scopes, created_at, revoked_at FROM service_tokens WHERE hash = ? AND revoked_at IS NULL",
                                 arguments: [Data(hash)]).map(Self.token(from:))
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func revokeToken(name: String, at: Micros) async throws(StoreError) -> Bool {
        do {
            return try await pool.write { db in
                try db.execute(sql: "UPDATE service_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", arguments: [at, name])
                return db.changesCount > 0
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func tokens() async throws(StoreError) -> [ServiceToken] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT name, scopes, created_at, revoked_at FROM service_tokens ORDER BY name, created_at")
                    .map(Self.token(from:))
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func receiptKeys() async throws(StoreError) -> [ReceiptKey] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT private_key, kid FROM receipt_keys ORDER BY created_at DESC, kid").map { row in
                    guard let key = ReceiptKey(privateKey: Array(row[0] as Data)) else {
                        throw StoreError.corrupt("receipt key \(row[1] as String) cannot be read")
                    }
                    return key
                }
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func addReceiptKey(_ key: ReceiptKey, at: Micros) async throws(StoreError) {
        guard let secret = key.privateKeyBytes else { throw .unavailable("only signing keys can be stored") }
        do {
            try await pool.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO receipt_keys (kid, private_key, created_at) VALUES (?, ?, ?)",
                               arguments: [key.kid, Data(secret), at])
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func setPasswordHash(member: String, hash: String, at: Micros) async throws(StoreError) {
        do {
            try await pool.write { db in
                guard try Int.fetchOne(db, sql: "SELECT 1 FROM members WHERE id = ?", arguments: [member]) != nil else {
                    throw StoreError.unknownMember(member)
                }
                try db.execute(sql: """
                    INSERT INTO member_credentials (member_id, password_hash, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT(member_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at
                    """, arguments: [member, hash, at])
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func passwordHash(member: String) async throws(StoreError) -> String? {
        do {
            return try await pool.read { db in
                try String.fetchOne(db, sql: "SELECT password_hash FROM member_credentials WHERE member_id = ?", arguments: [member])
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func createSession(_ session: MemberSession, idHash: [UInt8]) async throws(StoreError) {
        do {
            try await pool.write { db in
                // Expired sessions are swept as new ones are made, so the table stays small.
                try db.execute(sql: "DELETE FROM member_sessions WHERE expires_at <= ?", arguments: [session.createdAt])
                try db.execute(sql: """
                    INSERT INTO member_sessions (id_hash, member_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [Data(idHash), session.memberID, session.csrfToken, session.createdAt, session.expiresAt])
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func session(idHash: [UInt8], now: Micros) async throws(StoreError) -> MemberSession? {
        do {
            return try await pool.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT member_id, csrf_token, created_at, expires_at FROM member_sessions WHERE id_hash = ? AND expires_at > ?
                    """, arguments: [Data(idHash), now]).map { MemberSession(memberID: $0[0], csrfToken: $0[1], createdAt: $0[2], expiresAt: $0[3]) }
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func deleteSession(idHash: [UInt8]) async throws(StoreError) {
        do {
            try await pool.write { db in try db.execute(sql: "DELETE FROM member_sessions WHERE id_hash = ?", arguments: [Data(idHash)]) }
        } catch {
            throw Self.map(error)
        }
    }

    /// The projection, from the stored checkpoint plus the ledger after it when there is an
    /// intact one, else rebuilt from the members table and every setting event; both read in
    /// one transaction, so the state is exactly the ledger's at one sequence. When the ledger
    /// has moved far enough past the checkpoint (`checkpointAfter`), a new one is written
    /// (best effort: a store that cannot write still loads, just more slowly next time).
    public func loadState() async throws(StoreError) -> ConsentState {
        let loaded: LoadedState
        do {
            loaded = try await pool.read { db in try Self.readState(db) }
        } catch {
            throw Self.map(error)
        }
        if StateCheckpoint.shouldRenew(replayed: loaded.replayed, members: loaded.state.memberCount, minimum: checkpointAfter),
           let head = loaded.head {
            try? await saveCheckpoint(loaded.state, hash: head.hash)
        }
        return loaded.state
    }

    /// What one read of the projection found.
    struct LoadedState {
        var state: ConsentState
        /// Ledger events read after the checkpoint (all of them without one).
        var replayed: Int
        var head: (seq: Int64, hash: Data)?
        var fromCheckpoint: Bool
    }

    /// One read of the projection as `loadState` makes it, without renewing the checkpoint:
    /// whether it started from one, and how many ledger events it replayed (tests).
    func readState() async throws -> (fromCheckpoint: Bool, replayed: Int, state: ConsentState) {
        let l = try await pool.read { db in try Self.readState(db) }
        return (l.fromCheckpoint, l.replayed, l.state)
    }

    public func rebuildState() async throws(StoreError) -> ConsentState {
        do {
            return try await pool.read { db in try Self.readState(db, fromCheckpoint: false) }.state
        } catch {
            throw Self.map(error)
        }
    }

    public func dropCheckpoint() async throws(StoreError) {
        do {
            try await pool.write { db in try db.execute(sql: "DELETE FROM state_checkpoint") }
        } catch {
            throw Self.map(error)
        }
    }

    static func readState(_ db: Database, fromCheckpoint useCheckpoint: Bool = true) throws -> LoadedState {
        let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").map { (seq: $0[0] as Int64, hash: $0[1] as Data) }
        var state: ConsentState
        var from: Int64 = 0
        if useCheckpoint, let restored = try checkpoint(db) {
            state = restored
            from = restored.ledgerSeq
            // Members registered or changed since: their rows now, like a full load reads them.
            // Not DISTINCT in SQL: that makes SQLite walk the whole by-member index instead of
            // the sequence range after the checkpoint.
            let changed = try db.makeStatement(sql: """
                SELECT member_id FROM ledger
                WHERE seq > ? AND kind IN ('member-registered', 'member-changed') AND member_id IS NOT NULL
                """)
            try changed.setArguments([from])
            var ids: [String] = []
            var seen: Set<String> = []
            try step(changed, db) { s in
                let id = String(decoding: text(s, 0), as: UTF8.self)
                if seen.insert(id).inserted { ids.append(id) }
            }
            let row = try db.makeStatement(sql: "SELECT id, country, birth_date, suspected_minor, closed_at FROM members WHERE id = ?")
            for id in ids {
                try row.setArguments([id])
                var found = false
                try step(row, db) { s in
                    found = true
                    try memberRow(s) { id, region, birth, minor, closed in
                        state.upsert(id: String(decoding: id, as: UTF8.self), region: region, birthDay: birth,
                                     suspectedMinor: minor, closedAt: closed)
                    }
                }
                guard found else { throw StoreError.corrupt("member \(id) has ledger events but no row") }
            }
        } else {
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM members") ?? 0
            state = ConsentState(capacity: count)
            // Read through SQLite's own API: values are taken from the row as bytes, so a
            // million members make no `String`, `Row` or `Member` each.
            let members = try db.makeStatement(sql: "SELECT id, country, birth_date, suspected_minor, closed_at FROM members")
            try step(members, db) { s in
                // The primary key makes ids unique: append now, index once at the end.
                try memberRow(s) { id, region, birth, minor, closed in
                    state.appendLoaded(id: id, region: region, birthDay: birth, suspectedMinor: minor, closedAt: closed)
                }
            }
            state.finishLoading()
        }
        let choices = try db.makeStatement(sql: """
            SELECT seq, member_id, setting, value, effective_at, channel FROM ledger
            WHERE kind = 'setting-changed' AND seq > ? ORDER BY seq
            """)
        try choices.setArguments([from])
        try step(choices, db) { s in
            let seq = sqlite3_column_int64(s, 0)
            let i = state.memberIndex(text(s, 1))
            guard i >= 0, let setting = SettingID(code: String(decoding: text(s, 2), as: UTF8.self)),
                  let channel = Channel(code: String(decoding: text(s, 5), as: UTF8.self)) else {
                throw StoreError.corrupt("setting event \(seq) cannot be read")
            }
            state.apply(Choice(effectiveAt: sqlite3_column_int64(s, 4), seq: seq, setting: setting, on: sqlite3_column_int64(s, 3) != 0,
                               channel: channel), member: i)
        }
        state.ledgerSeq = head?.seq ?? 0
        // Sequences are dense (each append takes the next), so this is the number of events read.
        return LoadedState(state: state, replayed: Int(state.ledgerSeq - from), head: head, fromCheckpoint: from > 0)
    }

    /// The stored checkpoint, if there is one that is intact and of this ledger: its sequence
    /// must still carry the hash it was taken at (a restored or replaced database's does not).
    /// Read in pieces through SQLite's blob API, straight into the projection's arrays.
    static func checkpoint(_ db: Database) throws -> ConsentState? {
        guard let seq = try Int64.fetchOne(db, sql: """
            SELECT c.ledger_seq FROM state_checkpoint c JOIN ledger l ON l.seq = c.ledger_seq
            WHERE c.id = 1 AND l.hash = c.ledger_hash
            """) else { return nil }
        var blob: OpaquePointer?
        guard sqlite3_blob_open(db.sqliteConnection, "main", "state_checkpoint", "state", 1, 0, &blob) == SQLITE_OK, let blob else {
            sqlite3_blob_close(blob)
            return nil
        }
        defer { sqlite3_blob_close(blob) }
        let state = ConsentState(checkpointSize: Int(sqlite3_blob_bytes(blob))) { into, offset in
            guard let base = into.baseAddress, into.count <= Int(Int32.max), offset <= Int(Int32.max) else { return into.isEmpty }
            return sqlite3_blob_read(blob, base, Int32(into.count), Int32(offset)) == SQLITE_OK
        }
        return state?.ledgerSeq == seq ? state : nil
    }

    /// Stores `state` as the checkpoint, unless the one stored is as recent. `hash` is the
    /// ledger's hash at `state.ledgerSeq`, read with the state. Streamed into a blob of the
    /// right size, so the projection is not copied whole; one transaction, all or nothing.
    func saveCheckpoint(_ state: ConsentState, hash: Data) async throws {
        let size = state.checkpointSize
        try await pool.write { db in
            // A cache is not worth waiting for: if another process holds the write lock (an
            // import, say), give up at once rather than after the usual 30 s.
            sqlite3_busy_timeout(db.sqliteConnection, 0)
            defer { sqlite3_busy_timeout(db.sqliteConnection, Self.busyMilliseconds) }
            try db.execute(sql: """
                INSERT INTO state_checkpoint (id, ledger_seq, ledger_hash, state) VALUES (1, ?, ?, zeroblob(?))
                ON CONFLICT(id) DO UPDATE SET ledger_seq = excluded.ledger_seq, ledger_hash = excluded.ledger_hash,
                    state = excluded.state
                WHERE excluded.ledger_seq > state_checkpoint.ledger_seq
                """, arguments: [state.ledgerSeq, hash, size])
            guard db.changesCount > 0 else { return }  // the stored one is as recent
            var blob: OpaquePointer?
            guard sqlite3_blob_open(db.sqliteConnection, "main", "state_checkpoint", "state", 1, 1, &blob) == SQLITE_OK, let blob else {
                sqlite3_blob_close(blob)
                throw StoreError.unavailable("cannot open the checkpoint for writing")
            }
            defer { sqlite3_blob_close(blob) }
            var offset = 0
            let written = state.writeCheckpoint { piece in
                guard let base = piece.baseAddress, offset + piece.count <= size else { return piece.isEmpty }
                guard sqlite3_blob_write(blob, base, Int32(piece.count), Int32(offset)) == SQLITE_OK else { return false }
                offset += piece.count
                return true
            }
            guard written, offset == size else { throw StoreError.unavailable("writing the checkpoint failed") }
        }
    }

    /// Decodes a `members` row (id, country, birth_date, suspected_minor, closed_at) from
    /// SQLite's statement, handing the id's bytes to `body` while they are valid.
    static func memberRow(_ s: OpaquePointer,
                          _ body: (UnsafeRawBufferPointer, RegionGroup, Int, Bool, Micros?) throws -> Void) throws {
        let id = text(s, 0)
        guard let birth = Time.parseDate(text(s, 2)) else {
            throw StoreError.corrupt("member \(String(decoding: id, as: UTF8.self)) has an unreadable birth_date")
        }
        try body(id, RegionGroup(countryCode: text(s, 1)) ?? .row, birth, sqlite3_column_int64(s, 3) != 0,
                 sqlite3_column_type(s, 4) == SQLITE_NULL ? nil : sqlite3_column_int64(s, 4))
    }

    /// Runs a statement to the end, calling `row` with SQLite's statement on each row.
    static func step(_ statement: Statement, _ db: Database, _ row: (OpaquePointer) throws -> Void) throws {
        let s = statement.sqliteStatement
        defer { sqlite3_reset(s) }
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw StoreError.unavailable("reading the projection failed: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
            try row(s)
        }
    }

    /// A text column's bytes, valid until the statement moves on (empty for NULL).
    static func text(_ s: OpaquePointer, _ column: Int32) -> UnsafeRawBufferPointer {
        guard let p = sqlite3_column_text(s, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(s, column)))
    }

    static let snapshotColumns = """
        id, name, purpose, as_of, created_at, policy_version, ledger_seq, input_sha256, output_sha256,
        records_read, eligible, excluded, malformed, member_count, manifest
        """

    static func snapshot(from row: Row) -> Snapshot {
        Snapshot(id: row[0], name: row[1], purpose: row[2], asOf: row[3], createdAt: row[4], policyVersion: row[5],
                 ledgerSeq: row[6], inputSHA256: row[7], outputSHA256: row[8], read: row[9], eligible: row[10],
                 excluded: row[11], malformed: row[12], memberCount: row[13], manifest: row[14])
    }

    static func counts(_ text: String, snapshot: String) throws -> [CategoryCount] {
        guard let c = CategoryCount.parse(text) else { throw StoreError.corrupt("snapshot \(snapshot) has unreadable counts") }
        return c
    }

    /// One transaction for the snapshot and its whole member set, written as pages.
    public func registerSnapshot(_ s: Snapshot, members: SnapshotMemberSet) async throws(StoreError) {
        let pageCount = members.pageCount
        let pages = members.pages
        do {
            try await pool.write { db in
                if try Int.fetchOne(db, sql: "SELECT 1 FROM gate_snapshots WHERE id = ?", arguments: [s.id]) != nil {
                    throw StoreError.conflict("snapshot \(s.id) is already registered")
                }
                try db.execute(sql: """
                    INSERT INTO gate_snapshots (\(Self.snapshotColumns), page_count)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [s.id, s.name, s.purpose, s.asOf, s.createdAt, s.policyVersion, s.ledgerSeq,
                                     s.inputSHA256, s.outputSHA256, s.read, s.eligible, s.excluded, s.malformed,
                                     s.memberCount, s.manifest, pageCount])
                let seq = db.lastInsertedRowID
                let insert = try db.cachedStatement(sql: "INSERT INTO gate_snapshot_pages (snapshot_seq, page, members) VALUES (?, ?, ?)")
                for p in pages { try insert.execute(arguments: [seq, p.page, p.text]) }
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func snapshots() async throws(StoreError) -> [Snapshot] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT \(Self.snapshotColumns) FROM gate_snapshots ORDER BY seq DESC")
                    .map(Self.snapshot(from:))
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func snapshot(id: String) async throws(StoreError) -> Snapshot? {
        do {
            return try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT \(Self.snapshotColumns) FROM gate_snapshots WHERE id = ?", arguments: [id])
                    .map(Self.snapshot(from:))
            }
        } catch {
            throw Self.map(error)
        }
    }

    static func decodePage(_ text: String, snapshot: String) throws -> [SnapshotMember] {
        guard let members = SnapshotPages.decode(text) else { throw StoreError.corrupt("snapshot \(snapshot) has an unreadable member page") }
        return members
    }

    public func snapshotMembers(id: String, page: Int) async throws(StoreError) -> [SnapshotMember]? {
        do {
            return try await pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT seq, page_count FROM gate_snapshots WHERE id = ?", arguments: [id]),
                      page >= 0, page < row[1] as Int else { return nil }
                let text = try String.fetchOne(db, sql: "SELECT members FROM gate_snapshot_pages WHERE snapshot_seq = ? AND page = ?",
                                               arguments: [row[0] as Int64, page])
                return try text.map { try Self.decodePage($0, snapshot: id) } ?? []
            }
        } catch {
            throw Self.map(error)
        }
    }

    /// One page read per snapshot: the page the member's id hashes to.
    public func snapshotUses(member: String) async throws(StoreError) -> [SnapshotUse] {
        do {
            return try await pool.read { db in
                let rows = try Row.fetchAll(db, sql: "SELECT \(Self.snapshotColumns), seq, page_count FROM gate_snapshots ORDER BY seq DESC")
                let page = try db.cachedStatement(sql: "SELECT members FROM gate_snapshot_pages WHERE snapshot_seq = ? AND page = ?")
                var uses: [SnapshotUse] = []
                for row in rows {
                    let s = Self.snapshot(from: row)
                    let k = SnapshotPages.page(of: member, pageCount: row[16])
                    guard let text = try String.fetchOne(page, arguments: [row[15] as Int64, k]) else { continue }
                    if let m = try Self.decodePage(text, snapshot: s.id).first(where: { $0.memberID == member }) {
                        uses.append(SnapshotUse(snapshot: s, counts: m.counts))
                    }
                }
                return uses
            }
        } catch {
            throw Self.map(error)
        }
    }

    /// The version row and its ledger event in one transaction.
    public func publishPolicy(_ policy: Policy, publishedAt: Micros, actor: String, notices: [NoticeDelivery]) async throws(StoreError) -> PublishedPolicy {
        do {
            return try await pool.write { db in
                if try Int.fetchOne(db, sql: "SELECT 1 FROM policy_versions WHERE version = ?", arguments: [policy.version]) != nil {
                    throw StoreError.conflict("policy version \(policy.version) is already published")
                }
                let draft = EventDraft(kind: .policyPublished, actor: actor, policyVersion: policy.version,
                                       payload: policyPublicationPayload(policy))
                let r = try Self.append(WriteBatch(events: [draft], actor: actor, recordedAt: publishedAt), in: db)
                try db.execute(sql: """
                    INSERT INTO policy_versions (version, digest, text, effective_from, published_at, seq) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [policy.version, policy.digest, policy.source, policy.effectiveFrom.map(Time.formatDate(dayNumber:)),
                                     publishedAt, r.lastSeq])
                let notice = try db.cachedStatement(sql: """
                    INSERT INTO notices (member_id, policy_version, purpose, region, changes, effective_day, delivered_at, asks_confirmation)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let email = try db.cachedStatement(sql: """
                    INSERT INTO email_outbox (member_id, notice_id, subject, body, created_at) VALUES (?, ?, ?, ?, ?)
                    """)
                for d in notices {
                    let n = d.notice
                    try notice.execute(arguments: [n.memberID, n.policyVersion, n.purpose.code, n.region.code, n.changes.joined(separator: " "),
                                                   n.effectiveDay, n.deliveredAt, n.asksConfirmation ? 1 : 0])
                    try email.execute(arguments: [n.memberID, db.lastInsertedRowID, d.subject, d.body, publishedAt])
                }
                return PublishedPolicy(version: policy.version, digest: policy.digest, text: policy.source,
                                       effectiveFrom: policy.effectiveFrom, publishedAt: publishedAt, seq: r.lastSeq)
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func publishedPolicies() async throws(StoreError) -> [PublishedPolicy] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT version, digest, text, effective_from, published_at, seq FROM policy_versions ORDER BY seq")
                    .map { row in
                        let day: String? = row[3]
                        return PublishedPolicy(version: row[0], digest: row[1], text: row[2], effectiveFrom: day.flatMap(Time.parseDate),
                                               publishedAt: row[4], seq: row[5])
                    }
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func addPosts(_ posts: [Post]) async throws(StoreError) {
        do {
            try await pool.write { db in
                let exists = try db.cachedStatement(sql: "SELECT 1 FROM members WHERE id = ?")
                let insert = try db.cachedStatement(sql: "INSERT INTO member_posts (id, member_id, text, visibility, created_at) VALUES (?, ?, ?, ?, ?)")
                for p in posts {
                    guard try Int.fetchOne(exists, arguments: [p.memberID]) != nil else { throw StoreError.unknownMember(p.memberID) }
                    try insert.execute(arguments: [p.id, p.memberID, p.text, p.visibility.code, p.createdAt])
                }
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func posts(member: String) async throws(StoreError) -> [Post] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, member_id, text, visibility, created_at FROM member_posts WHERE member_id = ? ORDER BY created_at DESC, id DESC
                    """, arguments: [member]).map(Self.post)
            }
        } catch {
            throw Self.map(error)
        }
    }

    /// A post from a row of (id, member_id, text, visibility, created_at).
    static func post(_ row: Row) -> Post {
        Post(id: row[0], memberID: row[1], text: row[2], visibility: Visibility(code: row[3]), createdAt: row[4])
    }

    public func handles() async throws(StoreError) -> [(id: String, handle: String)] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, handle FROM members WHERE handle IS NOT NULL ORDER BY handle").map { ($0[0], $0[1]) }
            }
        } catch {
            throw Self.map(error)
        }
    }

    static func notice(from row: Row) throws -> Notice {
        guard let purpose = Purpose(code: row[3]), let region = RegionGroup(code: row[4]) else {
            throw StoreError.corrupt("notice \(row[0] as Int64) cannot be read")
        }
        let changes: String = row[5]
        return Notice(id: row[0], memberID: row[1], policyVersion: row[2], purpose: purpose, region: region,
                      changes: changes.split(separator: " ").map(String.init), effectiveDay: row[6], deliveredAt: row[7],
                      asksConfirmation: (row[8] as Int) != 0, readAt: row[9], confirmedAt: row[10])
    }

    public func notices(member: String) async throws(StoreError) -> [Notice] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, member_id, policy_version, purpose, region, changes, effective_day, delivered_at, asks_confirmation,
                           read_at, confirmed_at FROM notices WHERE member_id = ? ORDER BY id DESC
                    """, arguments: [member]).map(Self.notice(from:))
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func markNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int {
        do {
            return try await pool.write { db in
                try db.execute(sql: "UPDATE notices SET read_at = ? WHERE member_id = ? AND read_at IS NULL", arguments: [at, member])
                return db.changesCount
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func unreadNotices(member: String) async throws(StoreError) -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM notices WHERE member_id = ? AND read_at IS NULL", arguments: [member]) ?? 0
        }
    }

    public func confirmNotice(member: String, id: Int64, at: Micros) async throws(StoreError) -> Bool {
        do {
            return try await pool.write { db in
                guard try Int.fetchOne(db, sql: "SELECT 1 FROM notices WHERE id = ? AND member_id = ? AND asks_confirmation = 1",
                                       arguments: [id, member]) != nil else { return false }
                try db.execute(sql: "UPDATE notices SET confirmed_at = coalesce(confirmed_at, ?) WHERE id = ?", arguments: [at, id])
                return true
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func pendingEmails(limit: Int) async throws(StoreError) -> [OutboxEmail] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, member_id, notice_id, subject, body, created_at, sent_at FROM email_outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?
                    """, arguments: [limit]).map { row in
                    OutboxEmail(id: row[0], memberID: row[1], noticeID: row[2], subject: row[3], body: row[4], createdAt: row[5], sentAt: row[6])
                }
            }
        } catch {
            throw Self.map(error)
        }
    }

    public func markEmailSent(id: Int64, at: Micros) async throws(StoreError) {
        do {
            try await pool.write { db in try db.execute(sql: "UPDATE email_outbox SET sent_at = ? WHERE id = ?", arguments: [at, id]) }
        } catch {
            throw Self.map(error)
        }
    }

    /// Grouped in SQL: a publication can notify millions.
    public func noticeReport() async throws(StoreError) -> [NoticeReportRow] {
        do {
            return try await pool.read { db in
                NoticeReportRow.ordered(try Row.fetchAll(db, sql: """
                    SELECT policy_version, region, purpose, count(*), min((effective_day * 86400000000 - delivered_at) / 86400000000),
                           count(read_at), sum(asks_confirmation), count(confirmed_at)
                    FROM notices GROUP BY policy_version, region, purpose
                    """).compactMap { row -> NoticeReportRow? in
                    guard let region = RegionGroup(code: row[1]), let purpose = Purpose(code: row[2]) else { return nil }
                    return NoticeReportRow(policyVersion: row[0], region: region, purpose: purpose, notified: row[3], leadDays: row[4],
                                           read: row[5], confirmationsAsked: row[6], confirmed: row[7])
                })
            }
        } catch {
            throw Self.map(error)
        }
    }
}
