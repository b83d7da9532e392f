import ProvisoCore
import ProvisoStore
import Logging
import PostgresNIO

/// Bulk appends through COPY: an import of a million members is a handful of statements and
/// two streams of rows instead of three round trips per member. Same result as the row path —
/// same events, sequences and hashes, same refusals — in the same transaction under the same lock.
extension PostgresStore {
    /// From this many members + events in one batch, appends go through COPY.
    static var bulkThreshold: Int { 500 }

    /// A value in COPY's text format: backslash escapes for the four characters that matter.
    static func copyText(_ s: String, into out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x09: out += [0x5C, 0x74]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            default: out.append(b)
            }
        }
    }

    static func copyField(_ s: String?, into out: inout [UInt8]) {
        if let s { copyText(s, into: &out) } else { out += [0x5C, 0x4E] }
    }

    static func copyBytea(_ bytes: [UInt8], into out: inout [UInt8]) {
        out += Array(#"\\x"#.utf8)
        out += Array(LedgerHash.hex(bytes).utf8)
    }

    /// Streams rows (already encoded, one per line) to `COPY table (columns) FROM STDIN` in
    /// chunks of about 1 MiB.
    static func copy(_ rows: [[UInt8]], into table: String, columns: [String], on c: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        try await c.copyFrom(table: table, columns: columns, logger: pgLogger) { writer in
            var chunk = ByteBuffer()
            chunk.reserveCapacity(1 << 20)
            for r in rows {
                chunk.writeBytes(r)
                if chunk.readableBytes >= 1 << 20 {
                    try await writer.write(chunk)
                    chunk.clear()
                }
            }
            if chunk.readableBytes > 0 { try await writer.write(chunk) }
        }
    }

    static func memberRow(_ m: Member, seq: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96)
        copyText(m.id, into: &out); out.append(0x09)
        copyText(m.country, into: &out); out.append(0x09)
        copyText(Time.formatDate(dayNumber: m.birthDay), into: &out); out.append(0x09)
        out.append(m.suspectedMinor ? 0x74 : 0x66); out.append(0x09)
        copyField(m.closedAt.map { String($0) }, into: &out); out.append(0x09)
        copyField(m.handle, into: &out); out.append(0x09)
        copyField(m.name, into: &out); out.append(0x09)
        copyField(m.headline, into: &out); out.append(0x09)
        out += Array(String(seq).utf8)
        out.append(0x0A)
        return out
    }

    static func ledgerRow(_ e: LedgerEvent) -> [UInt8] {
        let d = e.draft
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out += Array(String(e.seq).utf8); out.append(0x09)
        copyText(d.kind.rawValue, into: &out); out.append(0x09)
        copyField(d.memberID, into: &out); out.append(0x09)
        copyField(d.setting?.code, into: &out); out.append(0x09)
        copyField(d.value.map { $0 ? "t" : "f" }, into: &out); out.append(0x09)
        copyField(d.effectiveAt.map { String($0) }, into: &out); out.append(0x09)
        out += Array(String(e.recordedAt).utf8); out.append(0x09)
        copyField(d.channel?.code, into: &out); out.append(0x09)
        copyText(d.actor, into: &out); out.append(0x09)
        copyField(d.policyVersion, into: &out); out.append(0x09)
        copyField(d.payload, into: &out); out.append(0x09)
        copyBytea(e.prevHash, into: &out); out.append(0x09)
        copyBytea(e.hash, into: &out)
        out.append(0x0A)
        return out
    }

    static let ledgerCopyColumns = ["seq", "kind", "member_id", "setting", "value", "effective_at", "recorded_at", "channel", "actor",
                                    "policy_version", "payload", "prev_hash", "hash"]
    static let memberCopyColumns = ["id", "country", "birth_date", "suspected_minor", "closed_at", "handle", "name", "headline", "updated_seq"]

    static func appendBulk(_ batch: WriteBatch, on c: PostgresConnection, seq start: Int64, prev start0: [UInt8],
                           lastActivation: String?) async throws -> AppendResult {
        var result = AppendResult()
        var seq = start
        var prev = start0
        var ledger: [[UInt8]] = []
        ledger.reserveCapacity(batch.members.count + batch.events.count + 1)
        func seal(_ d: EventDraft) {
            seq += 1
            let e = LedgerEvent(sealing: d, seq: seq, recordedAt: batch.recordedAt, prevHash: prev)
            prev = e.hash
            ledger.append(ledgerRow(e))
            result.written += 1
            if batch.returnEvents { result.events.append(e) }
        }
        if let p = batch.policy, lastActivation != policyActivationPayload(p) { seal(policyActivationDraft(p, actor: batch.actor)) }

        // The batch's members go to a temporary table first: the stored ones they replace are read
        // back with one join, and the upsert is one statement.
        var existing: [String: Member] = [:]
        var memberRows: [[UInt8]] = []
        if !batch.members.isEmpty {
            try await c.query("""
                CREATE TEMPORARY TABLE import_members (id TEXT NOT NULL, country TEXT NOT NULL, birth_date TEXT NOT NULL,
                    suspected_minor BOOLEAN NOT NULL, closed_at BIGINT, handle TEXT, name TEXT, headline TEXT, updated_seq BIGINT NOT NULL)
                ON COMMIT DROP
                """, logger: pgLogger)
            try await copy(batch.members.map { memberRow($0, seq: 0) }, into: "import_members", columns: memberCopyColumns, on: c)
            for try await row in try await c.query("""
                SELECT \(unescaped: memberColumns.split(separator: ",").map { "m." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
                FROM members m JOIN import_members i ON i.id = m.id
                """, logger: pgLogger) {
                let m = try member(row)
                existing[m.id] = m
            }
            try await c.query("TRUNCATE import_members", logger: pgLogger)
            var seen: [String: Member] = existing
            for m in batch.members {
                let old = seen[m.id]
                if old == m { result.unchanged += 1; continue }
                seal(EventDraft(kind: old == nil ? .memberRegistered : .memberChanged, memberID: m.id, actor: batch.actor,
                                policyVersion: batch.policy?.version, payload: m.payload))
                if old == nil { result.registered += 1 } else { result.changed += 1 }
                seen[m.id] = m
                memberRows.append(memberRow(m, seq: seq))
            }
        }

        // Every member a choice names must exist: in this batch, or already stored.
        let batchIDs = Set(batch.members.map(\.id))
        var named: [String] = []
        var seenNamed: Set<String> = []
        for d in batch.events { if let id = d.memberID, !batchIDs.contains(id), seenNamed.insert(id).inserted { named.append(id) } }
        if !named.isEmpty {
            try await c.query("CREATE TEMPORARY TABLE import_ids (id TEXT PRIMARY KEY) ON COMMIT DROP", logger: pgLogger)
            try await copy(named.map { id in var r: [UInt8] = []; copyText(id, into: &r); r.append(0x0A); return r }, into: "import_ids", columns: ["id"], on: c)
            var missing: [String] = []
            for try await id in try await c.query("SELECT i.id FROM import_ids i LEFT JOIN members m ON m.id = i.id WHERE m.id IS NULL", logger: pgLogger)
                .decode(String.self) { missing.append(id) }
            // The first unknown in batch order is the one reported, as on the row path.
            if let first = named.first(where: { Set(missing).contains($0) }) { throw StoreError.unknownMember(first) }
        }
        for d in batch.events { seal(d) }

        try await copy(ledger, into: "ledger", columns: ledgerCopyColumns, on: c)
        if !memberRows.isEmpty {
            try await copy(memberRows, into: "import_members", columns: memberCopyColumns, on: c)
            // A member changed twice in one batch keeps the last version (DISTINCT ON by the highest seq).
            try await c.query("""
                INSERT INTO members (id, country, birth_date, suspected_minor, closed_at, handle, name, headline, updated_seq)
                SELECT DISTINCT ON (id) id, country, birth_date, suspected_minor, closed_at, handle, name, headline, updated_seq
                FROM import_members ORDER BY id, updated_seq DESC
                ON CONFLICT (id) DO UPDATE SET country = excluded.country, birth_date = excluded.birth_date,
                    suspected_minor = excluded.suspected_minor, closed_at = excluded.closed_at, handle = excluded.handle,
                    name = excluded.name, headline = excluded.headline, updated_seq = excluded.updated_seq
                """, logger: pgLogger)
        }
        result.lastSeq = seq
        return result
    }
}
