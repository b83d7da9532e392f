public import ProvisoCore
public import ProvisoStore
import GRDB

extension SQLiteStore {
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await pool.write(body) } catch { throw Self.map(error) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await pool.read(body) } catch { throw Self.map(error) }
    }

    static func requireMember(_ id: String, _ db: Database) throws {
        guard try Int.fetchOne(db, sql: "SELECT 1 FROM members WHERE id = ?", arguments: [id]) != nil else { throw StoreError.unknownMember(id) }
    }

    static func requireOrg(_ id: String, _ db: Database) throws {
        guard try Int.fetchOne(db, sql: "SELECT 1 FROM organisations WHERE id = ?", arguments: [id]) != nil else {
            throw StoreError.unknownOrganisation(id)
        }
    }

    public func createOrganisation(_ org: Organisation) async throws(StoreError) {
        try await write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM organisations WHERE id = ?", arguments: [org.id]) == nil else {
                throw StoreError.conflict("organisation \(org.id) already exists")
            }
            try db.execute(sql: "INSERT INTO organisations (id, name, created_at) VALUES (?, ?, ?)", arguments: [org.id, org.name, org.createdAt])
        }
    }

    public func organisations() async throws(StoreError) -> [Organisation] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, created_at FROM organisations ORDER BY id").map {
                Organisation(id: $0[0], name: $0[1], createdAt: $0[2])
            }
        }
    }

    public func organisation(id: String) async throws(StoreError) -> Organisation? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT id, name, created_at FROM organisations WHERE id = ?", arguments: [id]).map {
                Organisation(id: $0[0], name: $0[1], createdAt: $0[2])
            }
        }
    }

    public func organisations(matching query: String, limit: Int) async throws(StoreError) -> [Organisation] {
        // LIKE is case-insensitive for ASCII in SQLite; the query's own % and _ are escaped.
        let escaped = query.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, name, created_at FROM organisations
                WHERE id LIKE ? || '%' ESCAPE '\\' OR name LIKE '%' || ? || '%' ESCAPE '\\'
                ORDER BY name, id LIMIT ?
                """, arguments: [escaped, escaped, limit]).map { Organisation(id: $0[0], name: $0[1], createdAt: $0[2]) }
        }
    }

    public func addOrgAdmin(org: String, member: String, at: Micros) async throws(StoreError) {
        try await write { db in
            try Self.requireMember(member, db)
            try Self.requireOrg(org, db)
            try db.execute(sql: "INSERT OR IGNORE INTO org_admins (org_id, member_id, granted_at) VALUES (?, ?, ?)", arguments: [org, member, at])
        }
    }

    public func administeredOrgs(member: String) async throws(StoreError) -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT org_id FROM org_admins WHERE member_id = ? ORDER BY org_id", arguments: [member]) }
    }

    public func setAffiliation(member: String, org: String?, at: Micros) async throws(StoreError) {
        try await write { db in
            try Self.requireMember(member, db)
            if let org {
                try Self.requireOrg(org, db)
                try db.execute(sql: """
                    INSERT INTO org_affiliations (member_id, org_id, confirmed_at) VALUES (?, ?, ?)
                    ON CONFLICT (member_id) DO UPDATE SET org_id = excluded.org_id, confirmed_at = excluded.confirmed_at
                    """, arguments: [member, org, at])
            } else {
                try db.execute(sql: "DELETE FROM org_affiliations WHERE member_id = ?", arguments: [member])
            }
        }
    }

    public func affiliation(member: String) async throws(StoreError) -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT org_id FROM org_affiliations WHERE member_id = ?", arguments: [member]) }
    }

    public func affiliatedMembers(org: String) async throws(StoreError) -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT member_id FROM org_affiliations WHERE org_id = ? ORDER BY member_id", arguments: [org])
        }
    }

    public func publishOrgPolicy(org: String, markdown: String, at: Micros, by: String) async throws(StoreError) -> OrgPolicy {
        try await write { db in
            try Self.requireOrg(org, db)
            let version = (try Int.fetchOne(db, sql: "SELECT max(version) FROM org_policies WHERE org_id = ?", arguments: [org]) ?? 0) + 1
            try db.execute(sql: "INSERT INTO org_policies (org_id, version, markdown, published_at, published_by) VALUES (?, ?, ?, ?, ?)",
                           arguments: [org, version, markdown, at, by])
            return OrgPolicy(orgID: org, version: version, markdown: markdown, publishedAt: at, publishedBy: by)
        }
    }

    public func orgPolicies(org: String) async throws(StoreError) -> [OrgPolicy] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT org_id, version, markdown, published_at, published_by FROM org_policies WHERE org_id = ? ORDER BY version DESC
                """, arguments: [org]).map { OrgPolicy(orgID: $0[0], version: $0[1], markdown: $0[2], publishedAt: $0[3], publishedBy: $0[4]) }
        }
    }

    public func sendCampaign(org: String, message: String, at: Micros, by: String) async throws(StoreError) -> Campaign {
        try await write { db in
            try Self.requireOrg(org, db)
            try db.execute(sql: "INSERT INTO org_campaigns (org_id, message, sent_at, sent_by) VALUES (?, ?, ?, ?)", arguments: [org, message, at, by])
            let id = db.lastInsertedRowID
            try db.execute(sql: """
                INSERT INTO campaign_notices (campaign_id, member_id, delivered_at)
                SELECT ?, member_id, ? FROM org_affiliations WHERE org_id = ? ORDER BY member_id
                """, arguments: [id, at, org])
            return Campaign(id: id, orgID: org, message: message, sentAt: at, sentBy: by, reached: db.changesCount, read: 0, acknowledged: 0)
        }
    }

    public func campaigns(org: String) async throws(StoreError) -> [Campaign] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.id, c.org_id, c.message, c.sent_at, c.sent_by, count(n.id), count(n.read_at), count(n.acknowledged_at)
                FROM org_campaigns c LEFT JOIN campaign_notices n ON n.campaign_id = c.id
                WHERE c.org_id = ? GROUP BY c.id ORDER BY c.id DESC
                """, arguments: [org]).map {
                Campaign(id: $0[0], orgID: $0[1], message: $0[2], sentAt: $0[3], sentBy: $0[4], reached: $0[5], read: $0[6], acknowledged: $0[7])
            }
        }
    }

    public func campaignNotices(member: String) async throws(StoreError) -> [CampaignNotice] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT n.id, c.id, c.org_id, o.name, c.message, n.delivered_at, n.read_at, n.acknowledged_at
                FROM campaign_notices n JOIN org_campaigns c ON c.id = n.campaign_id JOIN organisations o ON o.id = c.org_id
                WHERE n.member_id = ? ORDER BY n.id DESC
                """, arguments: [member]).map {
                CampaignNotice(id: $0[0], campaignID: $0[1], orgID: $0[2], orgName: $0[3], message: $0[4], deliveredAt: $0[5],
                               readAt: $0[6], acknowledgedAt: $0[7])
            }
        }
    }

    public func markCampaignNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int {
        try await write { db in
            try db.execute(sql: "UPDATE campaign_notices SET read_at = ? WHERE member_id = ? AND read_at IS NULL", arguments: [at, member])
            return db.changesCount
        }
    }

    public func unreadReminders(member: String) async throws(StoreError) -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM campaign_notices WHERE member_id = ? AND read_at IS NULL", arguments: [member]) ?? 0
        }
    }

    public func acknowledgeCampaign(member: String, notice: Int64, at: Micros) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE campaign_notices SET acknowledged_at = coalesce(acknowledged_at, ?), read_at = coalesce(read_at, ?)
                WHERE id = ? AND member_id = ?
                """, arguments: [at, at, notice, member])
            return db.changesCount == 1
        }
    }

    public func grantRole(_ role: MemberRole, member: String, at: Micros) async throws(StoreError) {
        try await write { db in
            try Self.requireMember(member, db)
            try db.execute(sql: "INSERT OR IGNORE INTO member_roles (member_id, role, granted_at) VALUES (?, ?, ?)", arguments: [member, role.rawValue, at])
        }
    }

    public func roles(member: String) async throws(StoreError) -> Set<MemberRole> {
        try await read { db in
            Set(try String.fetchAll(db, sql: "SELECT role FROM member_roles WHERE member_id = ?", arguments: [member]).compactMap(MemberRole.init(rawValue:)))
        }
    }

    public func profileFields(member: String) async throws(StoreError) -> [ProfileField] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT field, value, visibility FROM member_profile_fields WHERE member_id = ?", arguments: [member])
                .compactMap { ProfileField(kindCode: $0[0], value: $0[1], visibilityCode: $0[2]) }
                .sorted(by: ProfileField.inKindOrder)
        }
    }

    public func affiliatedProfiles(org: String) async throws(StoreError) -> [String: MemberProfile] {
        try await read { db in
            var out: [String: MemberProfile] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT f.member_id, f.field, f.value, f.visibility FROM org_affiliations a
                JOIN member_profile_fields f ON f.member_id = a.member_id WHERE a.org_id = ?
                """, arguments: [org]) {
                guard let field = ProfileField(kindCode: row[1], value: row[2], visibilityCode: row[3]) else { continue }
                out[row[0], default: MemberProfile()].fields.append(field)
            }
            for m in out.keys { out[m]!.fields.sort(by: ProfileField.inKindOrder) }
            for row in try Row.fetchAll(db, sql: """
                SELECT p.id, p.member_id, p.text, p.visibility, p.created_at FROM org_affiliations a
                JOIN member_posts p ON p.member_id = a.member_id WHERE a.org_id = ?
                ORDER BY p.member_id, p.created_at DESC, p.id DESC
                """, arguments: [org]) {
                let post = Self.post(row)
                out[post.memberID, default: MemberProfile()].posts.append(post)
            }
            return out
        }
    }

    public func setProfileField(member: String, _ field: ProfileField, at: Micros) async throws(StoreError) {
        try await write { db in
            try Self.requireMember(member, db)
            try db.execute(sql: """
                INSERT INTO member_profile_fields (member_id, field, value, visibility, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (member_id, field) DO UPDATE SET value = excluded.value, visibility = excluded.visibility, updated_at = excluded.updated_at
                """, arguments: [member, field.kind.code, field.value, field.visibility.code, at])
        }
    }

    public func setFieldVisibility(member: String, kind: ProfileFieldKind, visibility: Visibility, at: Micros) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE member_profile_fields SET visibility = ?, updated_at = ? WHERE member_id = ? AND field = ?",
                           arguments: [visibility.code, at, member, kind.code])
            return db.changesCount == 1
        }
    }

    public func setPostVisibility(member: String, post: String, visibility: Visibility) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE member_posts SET visibility = ? WHERE id = ? AND member_id = ?", arguments: [visibility.code, post, member])
            return db.changesCount == 1
        }
    }
}
