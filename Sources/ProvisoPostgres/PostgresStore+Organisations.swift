public import ProvisoCore
public import ProvisoStore
import PostgresNIO

extension PostgresStore {
    static func exists(_ q: PostgresQuery, on c: PostgresConnection) async throws -> Bool {
        for try await _ in try await c.query(q, logger: pgLogger) { return true }
        return false
    }

    static func requireMember(_ id: String, on c: PostgresConnection) async throws {
        guard try await exists("SELECT 1 FROM members WHERE id = \(id)", on: c) else { throw StoreError.unknownMember(id) }
    }

    static func requireOrg(_ id: String, on c: PostgresConnection) async throws {
        guard try await exists("SELECT 1 FROM organisations WHERE id = \(id)", on: c) else { throw StoreError.unknownOrganisation(id) }
    }

    /// Every row of a query, decoded by `body`.
    func rows<T: Sendable>(_ q: PostgresQuery, _ body: @escaping @Sendable (PostgresRow) throws -> T) async throws(StoreError) -> [T] {
        try await run {
            var out: [T] = []
            for try await row in try await self.client.query(q, logger: pgLogger) { out.append(try body(row)) }
            return out
        }
    }

    public func createOrganisation(_ org: Organisation) async throws(StoreError) {
        try await transaction { c in
            guard try await !Self.exists("SELECT 1 FROM organisations WHERE id = \(org.id)", on: c) else {
                throw StoreError.conflict("organisation \(org.id) already exists")
            }
            try await c.query("INSERT INTO organisations (id, name, created_at) VALUES (\(org.id), \(org.name), \(org.createdAt))", logger: pgLogger)
        }
    }

    public func organisations() async throws(StoreError) -> [Organisation] {
        try await rows("SELECT id, name, created_at FROM organisations ORDER BY id COLLATE \"C\"") { row in
            let (id, name, at) = try row.decode((String, String, Int64).self)
            return Organisation(id: id, name: name, createdAt: at)
        }
    }

    public func organisation(id: String) async throws(StoreError) -> Organisation? {
        try await rows("SELECT id, name, created_at FROM organisations WHERE id = \(id)") { row in
            let (id, name, at) = try row.decode((String, String, Int64).self)
            return Organisation(id: id, name: name, createdAt: at)
        }.first
    }

    public func organisations(matching query: String, limit: Int) async throws(StoreError) -> [Organisation] {
        let escaped = query.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return try await rows("""
            SELECT id, name, created_at FROM organisations
            WHERE id LIKE \(escaped) || '%' OR name ILIKE '%' || \(escaped) || '%'
            ORDER BY name COLLATE "C", id COLLATE "C" LIMIT \(limit)
            """) { row in
            let (id, name, at) = try row.decode((String, String, Int64).self)
            return Organisation(id: id, name: name, createdAt: at)
        }
    }

    public func addOrgAdmin(org: String, member: String, at: Micros) async throws(StoreError) {
        try await transaction { c in
            try await Self.requireMember(member, on: c)
            try await Self.requireOrg(org, on: c)
            try await c.query("""
                INSERT INTO org_admins (org_id, member_id, granted_at) VALUES (\(org), \(member), \(at)) ON CONFLICT DO NOTHING
                """, logger: pgLogger)
        }
    }

    public func administeredOrgs(member: String) async throws(StoreError) -> [String] {
        try await rows("SELECT org_id FROM org_admins WHERE member_id = \(member) ORDER BY org_id COLLATE \"C\"") { try $0.decode(String.self) }
    }

    public func setAffiliation(member: String, org: String?, at: Micros) async throws(StoreError) {
        try await transaction { c in
            try await Self.requireMember(member, on: c)
            if let org {
                try await Self.requireOrg(org, on: c)
                try await c.query("""
                    INSERT INTO org_affiliations (member_id, org_id, confirmed_at) VALUES (\(member), \(org), \(at))
                    ON CONFLICT (member_id) DO UPDATE SET org_id = EXCLUDED.org_id, confirmed_at = EXCLUDED.confirmed_at
                    """, logger: pgLogger)
            } else {
                try await c.query("DELETE FROM org_affiliations WHERE member_id = \(member)", logger: pgLogger)
            }
        }
    }

    public func affiliation(member: String) async throws(StoreError) -> String? {
        try await scalar("SELECT org_id FROM org_affiliations WHERE member_id = \(member)", String.self)
    }

    public func affiliatedMembers(org: String) async throws(StoreError) -> [String] {
        try await rows("SELECT member_id FROM org_affiliations WHERE org_id = \(org) ORDER BY member_id COLLATE \"C\"") { try $0.decode(String.self) }
    }

    public func publishOrgPolicy(org: String, markdown: String, at: Micros, by: String) async throws(StoreError) -> OrgPolicy {
        try await transaction { c in
            try await Self.requireOrg(org, on: c)
            // Serialise publications of one organisation: two admins publishing at once get 1 and 2.
            try await c.query("SELECT 1 FROM organisations WHERE id = \(org) FOR UPDATE", logger: pgLogger)
            var version: Int64 = 1
            for try await v in try await c.query("SELECT coalesce(max(version), 0) + 1 FROM org_policies WHERE org_id = \(org)", logger: pgLogger)
                .decode(Int64.self) { version = v }
            try await c.query("""
                INSERT INTO org_policies (org_id, version, markdown, published_at, published_by) VALUES (\(org), \(version), \(markdown), \(at), \(by))
                """, logger: pgLogger)
            return OrgPolicy(orgID: org, version: Int(version), markdown: markdown, publishedAt: at, publishedBy: by)
        }
    }

    public func orgPolicies(org: String) async throws(StoreError) -> [OrgPolicy] {
        try await rows("""
            SELECT org_id, version, markdown, published_at, published_by FROM org_policies WHERE org_id = \(org) ORDER BY version DESC
            """) { row in
            let (o, v, md, at, by) = try row.decode((String, Int64, String, Int64, String).self)
            return OrgPolicy(orgID: o, version: Int(v), markdown: md, publishedAt: at, publishedBy: by)
        }
    }

    public func sendCampaign(org: String, message: String, at: Micros, by: String) async throws(StoreError) -> Campaign {
        try await transaction { c in
            try await Self.requireOrg(org, on: c)
            var id: Int64 = 0
            for try await v in try await c.query("""
                INSERT INTO org_campaigns (org_id, message, sent_at, sent_by) VALUES (\(org), \(message), \(at), \(by)) RETURNING id
                """, logger: pgLogger).decode(Int64.self) { id = v }
            var reached = 0
            for try await _ in try await c.query("""
                INSERT INTO campaign_notices (campaign_id, member_id, delivered_at)
                SELECT \(id), member_id, \(at) FROM org_affiliations WHERE org_id = \(org) ORDER BY member_id COLLATE "C" RETURNING id
                """, logger: pgLogger) { reached += 1 }
            return Campaign(id: id, orgID: org, message: message, sentAt: at, sentBy: by, reached: reached, read: 0, acknowledged: 0)
        }
    }

    public func campaigns(org: String) async throws(StoreError) -> [Campaign] {
        try await rows("""
            SELECT c.id, c.org_id, c.message, c.sent_at, c.sent_by, count(n.id), count(n.read_at), count(n.acknowledged_at)
            FROM org_campaigns c LEFT JOIN campaign_notices n ON n.campaign_id = c.id
            WHERE c.org_id = \(org) GROUP BY c.id, c.org_id, c.message, c.sent_at, c.sent_by ORDER BY c.id DESC
            """) { row in
            let (id, o, msg, at, by, reached, read, ack) = try row.decode((Int64, String, String, Int64, String, Int64, Int64, Int64).self)
            return Campaign(id: id, orgID: o, message: msg, sentAt: at, sentBy: by, reached: Int(reached), read: Int(read), acknowledged: Int(ack))
        }
    }

    public func campaignNotices(member: String) async throws(StoreError) -> [CampaignNotice] {
        try await rows("""
            SELECT n.id, c.id, c.org_id, o.name, c.message, n.delivered_at, n.read_at, n.acknowledged_at
            FROM campaign_notices n JOIN org_campaigns c ON c.id = n.campaign_id JOIN organisations o ON o.id = c.org_id
            WHERE n.member_id = \(member) ORDER BY n.id DESC
            """) { row in
            let (id, cid, o, name, msg, at, read, ack) = try row.decode((Int64, Int64, String, String, String, Int64, Int64?, Int64?).self)
            return CampaignNotice(id: id, campaignID: cid, orgID: o, orgName: name, message: msg, deliveredAt: at, readAt: read, acknowledgedAt: ack)
        }
    }

    public func markCampaignNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int {
        try await rows("UPDATE campaign_notices SET read_at = \(at) WHERE member_id = \(member) AND read_at IS NULL RETURNING id") { _ in 1 }.count
    }

    public func unreadReminders(member: String) async throws(StoreError) -> Int {
        Int(try await scalar("SELECT count(*) FROM campaign_notices WHERE member_id = \(member) AND read_at IS NULL", Int64.self) ?? 0)
    }

    public func acknowledgeCampaign(member: String, notice: Int64, at: Micros) async throws(StoreError) -> Bool {
        try await scalar("""
            UPDATE campaign_notices SET acknowledged_at = coalesce(acknowledged_at, \(at)), read_at = coalesce(read_at, \(at))
            WHERE id = \(notice) AND member_id = \(member) RETURNING 1
            """, Int32.self) != nil
    }

    public func grantRole(_ role: MemberRole, member: String, at: Micros) async throws(StoreError) {
        try await transaction { c in
            try await Self.requireMember(member, on: c)
            try await c.query("""
                INSERT INTO member_roles (member_id, role, granted_at) VALUES (\(member), \(role.rawValue), \(at)) ON CONFLICT DO NOTHING
                """, logger: pgLogger)
        }
    }

    public func roles(member: String) async throws(StoreError) -> Set<MemberRole> {
        Set(try await rows("SELECT role FROM member_roles WHERE member_id = \(member)") { MemberRole(rawValue: try $0.decode(String.self)) }.compactMap { $0 })
    }

    public func profileFields(member: String) async throws(StoreError) -> [ProfileField] {
        try await rows("SELECT field, value, visibility FROM member_profile_fields WHERE member_id = \(member)") { row -> ProfileField? in
            let (field, value, vis) = try row.decode((String, String, String).self)
            return ProfileField(kindCode: field, value: value, visibilityCode: vis)
        }.compactMap { $0 }.sorted(by: ProfileField.inKindOrder)
    }

    public func affiliatedProfiles(org: String) async throws(StoreError) -> [String: MemberProfile] {
        var out: [String: MemberProfile] = [:]
        let fields = try await rows("""
            SELECT f.member_id, f.field, f.value, f.visibility FROM org_affiliations a
            JOIN member_profile_fields f ON f.member_id = a.member_id WHERE a.org_id = \(org)
            """) { row -> (String, ProfileField)? in
            let (member, field, value, vis) = try row.decode((String, String, String, String).self)
            return ProfileField(kindCode: field, value: value, visibilityCode: vis).map { (member, $0) }
        }
        for case let (member, field)? in fields { out[member, default: MemberProfile()].fields.append(field) }
        for m in out.keys { out[m]!.fields.sort(by: ProfileField.inKindOrder) }
        let posts = try await rows("""
            SELECT p.id, p.member_id, p.text, p.visibility, p.created_at FROM org_affiliations a
            JOIN member_posts p ON p.member_id = a.member_id WHERE a.org_id = \(org)
            ORDER BY p.member_id, p.created_at DESC, p.id COLLATE "C" DESC
            """, Self.post)
        for post in posts { out[post.memberID, default: MemberProfile()].posts.append(post) }
        return out
    }

    public func setProfileField(member: String, _ field: ProfileField, at: Micros) async throws(StoreError) {
        try await transaction { c in
            try await Self.requireMember(member, on: c)
            try await c.query("""
                INSERT INTO member_profile_fields (member_id, field, value, visibility, updated_at)
                VALUES (\(member), \(field.kind.code), \(field.value), \(field.visibility.code), \(at))
                ON CONFLICT (member_id, field) DO UPDATE SET value = EXCLUDED.value, visibility = EXCLUDED.visibility, updated_at = EXCLUDED.updated_at
                """, logger: pgLogger)
        }
    }

    public func setFieldVisibility(member: String, kind: ProfileFieldKind, visibility: Visibility, at: Micros) async throws(StoreError) -> Bool {
        try await scalar("""
            UPDATE member_profile_fields SET visibility = \(visibility.code), updated_at = \(at)
            WHERE member_id = \(member) AND field = \(kind.code) RETURNING 1
            """, Int32.self) != nil
    }

    public func setPostVisibility(member: String, post: String, visibility: Visibility) async throws(StoreError) -> Bool {
        try await scalar("UPDATE member_posts SET visibility = \(visibility.code) WHERE id = \(post) AND member_id = \(member) RETURNING 1",
                         Int32.self) != nil
    }
}
