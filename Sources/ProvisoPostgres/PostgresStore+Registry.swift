public import ProvisoCore
public import ProvisoStore
import Logging
import PostgresNIO

extension PostgresStore {
    // MARK: gate snapshots

    static let snapshotColumns = """
        id, name, purpose, as_of, created_at, policy_version, ledger_seq, input_sha256, output_sha256,
        records_read, eligible, excluded, malformed, member_count, manifest
        """

    static func snapshot(_ row: PostgresRow) throws -> Snapshot {
        let (id, name, purpose, asOf, created, version, seq, input, output, read, eligible, excluded, malformed, members, manifest) =
            try row.decode((String, String?, String, Int64, Int64, String, Int64, String, String, Int64, Int64, Int64, Int64, Int64, String).self)
        return Snapshot(id: id, name: name, purpose: purpose, asOf: asOf, createdAt: created, policyVersion: version, ledgerSeq: seq,
                        inputSHA256: input, outputSHA256: output, read: Int(read), eligible: Int(eligible), excluded: Int(excluded),
                        malformed: Int(malformed), memberCount: Int(members), manifest: manifest)
    }

    public func registerSnapshot(_ s: Snapshot, members: SnapshotMemberSet) async throws(StoreError) {
        let pageCount = members.pageCount
        let pages = members.pages
        let numbers = pages.map { Int64($0.page) }, texts = pages.map(\.text)
        // All pages in one statement (arrays unnested), and a deadline that grows with the
        // member set: a page per round trip took 2.3 s for 766k members, so ten million would
        // have outlasted the fixed 5 s and never registered.
        try await transaction(deadline: Self.deadline + Double(members.count) * 2e-6) { c in
            for try await _ in try await c.query("SELECT 1 FROM gate_snapshots WHERE id = \(s.id)", logger: pgLogger) {
                throw StoreError.conflict("snapshot \(s.id) is already registered")
            }
            var seq: Int64 = 0
            for try await v in try await c.query("""
                INSERT INTO gate_snapshots (\(unescaped: Self.snapshotColumns), page_count)
                VALUES (\(s.id), \(s.name), \(s.purpose), \(s.asOf), \(s.createdAt), \(s.policyVersion), \(s.ledgerSeq), \(s.inputSHA256),
                        \(s.outputSHA256), \(Int64(s.read)), \(Int64(s.eligible)), \(Int64(s.excluded)), \(Int64(s.malformed)),
                        \(Int64(s.memberCount)), \(s.manifest), \(Int64(pageCount)))
                RETURNING seq
                """, logger: pgLogger).decode(Int64.self) { seq = v }
            try await c.query("""
                INSERT INTO gate_snapshot_pages (snapshot_seq, page, members)
                SELECT \(seq), p, m FROM unnest(\(numbers)::bigint[], \(texts)::text[]) AS t(p, m)
                """, logger: pgLogger)
        }
    }

    func snapshots(_ query: PostgresQuery) async throws(StoreError) -> [Snapshot] {
        try await run {
            var out: [Snapshot] = []
            for try await row in try await self.client.query(query, logger: pgLogger) { out.append(try Self.snapshot(row)) }
            return out
        }
    }

    public func snapshots() async throws(StoreError) -> [Snapshot] {
        try await snapshots("SELECT \(unescaped: Self.snapshotColumns) FROM gate_snapshots ORDER BY seq DESC")
    }

    public func snapshot(id: String) async throws(StoreError) -> Snapshot? {
        try await snapshots("SELECT \(unescaped: Self.snapshotColumns) FROM gate_snapshots WHERE id = \(id)").first
    }

    public func snapshotMembers(id: String, page: Int) async throws(StoreError) -> [SnapshotMember]? {
        try await run {
            var found: (Int64, Int64)?
            for try await v in try await self.client.query("SELECT seq, page_count FROM gate_snapshots WHERE id = \(id)", logger: pgLogger)
                .decode((Int64, Int64).self) { found = v }
            guard let (seq, count) = found, page >= 0, Int64(page) < count else { return nil }
            for try await text in try await self.client.query("""
                SELECT members FROM gate_snapshot_pages WHERE snapshot_seq = \(seq) AND page = \(Int64(page))
                """, logger: pgLogger).decode(String.self) {
                guard let members = SnapshotPages.decode(text) else { throw StoreError.corrupt("snapshot \(id) has an unreadable member page") }
                return members
            }
            return []
        }
    }

    public func snapshotUses(member: String) async throws(StoreError) -> [SnapshotUse] {
        try await run {
            var all: [(Snapshot, Int64, Int64)] = []
            for try await row in try await self.client.query("""
                SELECT \(unescaped: Self.snapshotColumns), seq, page_count FROM gate_snapshots ORDER BY seq DESC
                """, logger: pgLogger) {
                let s = try Self.snapshot(row)
                let tail = try row.decode((String, String?, String, Int64, Int64, String, Int64, String, String, Int64, Int64, Int64, Int64, Int64, String, Int64, Int64).self)
                all.append((s, tail.15, tail.16))
            }
            var uses: [SnapshotUse] = []
            for (s, seq, count) in all {
                let page = Int64(SnapshotPages.page(of: member, pageCount: Int(count)))
                for try await text in try await self.client.query("""
                    SELECT members FROM gate_snapshot_pages WHERE snapshot_seq = \(seq) AND page = \(page)
                    """, logger: pgLogger).decode(String.self) {
                    guard let members = SnapshotPages.decode(text) else { throw StoreError.corrupt("snapshot \(s.id) has an unreadable member page") }
                    if let m = members.first(where: { $0.memberID == member }) { uses.append(SnapshotUse(snapshot: s, counts: m.counts)) }
                }
            }
            return uses
        }
    }

    // MARK: policies

    public func publishPolicy(_ policy: Policy, publishedAt: Micros, actor: String, notices: [NoticeDelivery]) async throws(StoreError) -> PublishedPolicy {
        // A widening can notify every member of a region group: the notices and their emails go
        // in batches of statements (not two round trips each), under a deadline that grows with
        // them, so that publishing to millions of members does not outlast the fixed 5 s.
        try await transaction(deadline: Self.deadline + Double(notices.count) * 200e-6) { c in
            for try await _ in try await c.query("SELECT 1 FROM policy_versions WHERE version = \(policy.version)", logger: pgLogger) {
                throw StoreError.conflict("policy version \(policy.version) is already published")
            }
            let draft = EventDraft(kind: .policyPublished, actor: actor, policyVersion: policy.version, payload: policyPublicationPayload(policy))
            let r = try await Self.append(WriteBatch(events: [draft], actor: actor, recordedAt: publishedAt), on: c, logger: pgLogger)
            try await c.query("""
                INSERT INTO policy_versions (version, digest, text, effective_from, published_at, seq)
                VALUES (\(policy.version), \(policy.digest), \(policy.source), \(policy.effectiveFrom.map(Time.formatDate(dayNumber:))),
                        \(publishedAt), \(r.lastSeq))
                """, logger: pgLogger)
            var start = 0
            while start < notices.count {
                let batch = notices[start..<min(start + Self.noticeBatch, notices.count)]
                try await Self.insertNotices(batch, createdAt: publishedAt, on: c)
                start += batch.count
            }
            return PublishedPolicy(version: policy.version, digest: policy.digest, text: policy.source, effectiveFrom: policy.effectiveFrom,
                                   publishedAt: publishedAt, seq: r.lastSeq)
        }
    }

    /// Notices (and their emails) written per statement.
    static let noticeBatch = 5_000

    /// One statement for a batch of notices and their emails: the notices are inserted in the
    /// batch's order, and each email is paired with its notice by its position in the batch.
    static func insertNotices(_ batch: ArraySlice<NoticeDelivery>, createdAt: Micros, on c: PostgresConnection) async throws {
        let n = batch.map(\.notice)
        let members = n.map(\.memberID), versions = n.map(\.policyVersion), purposes = n.map(\.purpose.code)
        let regions = n.map(\.region.code), changes = n.map { $0.changes.joined(separator: " ") }
        let days = n.map { Int64($0.effectiveDay) }, delivered = n.map(\.deliveredAt), asks = n.map(\.asksConfirmation)
        let subjects = batch.map(\.subject), bodies = batch.map(\.body)
        try await c.query("""
            WITH input AS (
                SELECT * FROM unnest(\(members)::text[], \(versions)::text[], \(purposes)::text[], \(regions)::text[], \(changes)::text[],
                                     \(days)::bigint[], \(delivered)::bigint[], \(asks)::boolean[], \(subjects)::text[], \(bodies)::text[])
                    WITH ORDINALITY AS t(member_id, policy_version, purpose, region, changes, effective_day, delivered_at, asks, subject, body, ord)
            ), numbered AS (
                SELECT input.*, nextval(pg_get_serial_sequence('notices', 'id')) AS notice_id FROM input ORDER BY ord
            ), inserted AS (
                INSERT INTO notices (id, member_id, policy_version, purpose, region, changes, effective_day, delivered_at, asks_confirmation)
                SELECT notice_id, member_id, policy_version, purpose, region, changes, effective_day, delivered_at, asks FROM numbered ORDER BY ord
                RETURNING id
            )
            INSERT INTO email_outbox (member_id, notice_id, subject, body, created_at)
            SELECT numbered.member_id, numbered.notice_id, numbered.subject, numbered.body, \(createdAt)
            FROM numbered WHERE numbered.notice_id IN (SELECT id FROM inserted) ORDER BY numbered.ord
            """, logger: pgLogger)
    }

    public func publishedPolicies() async throws(StoreError) -> [PublishedPolicy] {
        try await run {
            var out: [PublishedPolicy] = []
            for try await (version, digest, text, from, at, seq) in try await self.client.query("""
                SELECT version, digest, text, effective_from, published_at, seq FROM policy_versions ORDER BY seq
                """, logger: pgLogger).decode((String, String, String, String?, Int64, Int64).self) {
                out.append(PublishedPolicy(version: version, digest: digest, text: text, effectiveFrom: from.flatMap(Time.parseDate),
                                           publishedAt: at, seq: seq))
            }
            return out
        }
    }

    // MARK: posts

    public func addPosts(_ posts: [Post]) async throws(StoreError) {
        try await transaction { c in
            for p in posts {
                var exists = false
                for try await _ in try await c.query("SELECT 1 FROM members WHERE id = \(p.memberID)", logger: pgLogger) { exists = true }
                guard exists else { throw StoreError.unknownMember(p.memberID) }
                try await c.query("""
                    INSERT INTO member_posts (id, member_id, text, visibility, created_at)
                    VALUES (\(p.id), \(p.memberID), \(p.text), \(p.visibility.code), \(p.createdAt))
                    """, logger: pgLogger)
            }
        }
    }

    public func posts(member: String) async throws(StoreError) -> [Post] {
        try await rows("""
            SELECT id, member_id, text, visibility, created_at FROM member_posts WHERE member_id = \(member)
            ORDER BY created_at DESC, id COLLATE "C" DESC
            """, Self.post)
    }

    /// A post from a row of (id, member_id, text, visibility, created_at).
    @Sendable static func post(_ row: PostgresRow) throws -> Post {
        let (id, m, text, vis, at) = try row.decode((String, String, String, String, Int64).self)
        return Post(id: id, memberID: m, text: text, visibility: Visibility(code: vis), createdAt: at)
    }

    public func handles() async throws(StoreError) -> [(id: String, handle: String)] {
        try await run {
            var out: [(id: String, handle: String)] = []
            for try await (id, handle) in try await self.client.query("""
                SELECT id, handle FROM members WHERE handle IS NOT NULL ORDER BY handle COLLATE "C"
                """, logger: pgLogger).decode((String, String).self) { out.append((id, handle)) }
            return out
        }
    }

    // MARK: notices

    public func notices(member: String) async throws(StoreError) -> [Notice] {
        try await run {
            var out: [Notice] = []
            for try await row in try await self.client.query("""
                SELECT id, member_id, policy_version, purpose, region, changes, effective_day, delivered_at, asks_confirmation, read_at, confirmed_at
                FROM notices WHERE member_id = \(member) ORDER BY id DESC
                """, logger: pgLogger) {
                let (id, m, version, purpose, region, changes, day, delivered, asks, read, confirmed) =
                    try row.decode((Int64, String, String, String, String, String, Int64, Int64, Bool, Int64?, Int64?).self)
                guard let p = Purpose(code: purpose), let r = RegionGroup(code: region) else { throw StoreError.corrupt("notice \(id) cannot be read") }
                out.append(Notice(id: id, memberID: m, policyVersion: version, purpose: p, region: r,
                                  changes: changes.split(separator: " ").map(String.init), effectiveDay: Int(day), deliveredAt: delivered,
                                  asksConfirmation: asks, readAt: read, confirmedAt: confirmed))
            }
            return out
        }
    }

    public func markNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int {
        try await run {
            var n = 0
            for try await _ in try await self.client.query("""
                UPDATE notices SET read_at = \(at) WHERE member_id = \(member) AND read_at IS NULL RETURNING id
                """, logger: pgLogger) { n += 1 }
            return n
        }
    }

    public func unreadNotices(member: String) async throws(StoreError) -> Int {
        Int(try await scalar("SELECT count(*) FROM notices WHERE member_id = \(member) AND read_at IS NULL", Int64.self) ?? 0)
    }

    public func confirmNotice(member: String, id: Int64, at: Micros) async throws(StoreError) -> Bool {
        try await scalar("""
            UPDATE notices SET confirmed_at = coalesce(confirmed_at, \(at))
            WHERE id = \(id) AND member_id = \(member) AND asks_confirmation RETURNING 1
            """, Int32.self) != nil
    }

    public func pendingEmails(limit: Int) async throws(StoreError) -> [OutboxEmail] {
        try await run {
            var out: [OutboxEmail] = []
            for try await (id, m, notice, subject, body, created, sent) in try await self.client.query("""
                SELECT id, member_id, notice_id, subject, body, created_at, sent_at FROM email_outbox WHERE sent_at IS NULL ORDER BY id LIMIT \(limit)
                """, logger: pgLogger).decode((Int64, String, Int64, String, String, Int64, Int64?).self) {
                out.append(OutboxEmail(id: id, memberID: m, noticeID: notice, subject: subject, body: body, createdAt: created, sentAt: sent))
            }
            return out
        }
    }

    public func markEmailSent(id: Int64, at: Micros) async throws(StoreError) {
        _ = try await run { try await self.client.query("UPDATE email_outbox SET sent_at = \(at) WHERE id = \(id)", logger: pgLogger) }
    }

    public func noticeReport() async throws(StoreError) -> [NoticeReportRow] {
        try await run {
            var out: [NoticeReportRow] = []
            for try await (version, region, purpose, notified, lead, read, asked, confirmed) in try await self.client.query("""
                SELECT policy_version, region, purpose, count(*), min((effective_day * 86400000000 - delivered_at) / 86400000000),
                       count(read_at), count(*) FILTER (WHERE asks_confirmation), count(confirmed_at)
                FROM notices GROUP BY policy_version, region, purpose
                """, logger: pgLogger).decode((String, String, String, Int64, Int64, Int64, Int64, Int64).self) {
                guard let r = RegionGroup(code: region), let p = Purpose(code: purpose) else { continue }
                out.append(NoticeReportRow(policyVersion: version, region: r, purpose: p, notified: Int(notified), leadDays: Int(lead),
                                           read: Int(read), confirmationsAsked: Int(asked), confirmed: Int(confirmed)))
            }
            return NoticeReportRow.ordered(out)
        }
    }
}
