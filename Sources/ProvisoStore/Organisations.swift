public import ProvisoCore

/// An employer on the platform. Its admins publish a social-media policy and send reminders;
/// they never see or change a member's settings.
public struct Organisation: Sendable, Equatable {
    /// A short stable id (`northwind`), used in addresses.
    public var id: String
    public var name: String
    public var createdAt: Micros

    public init(id: String, name: String, createdAt: Micros) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }

    /// Ids are 2–64 of `a-z 0-9 -`, starting with a letter: safe in URLs and file names.
    public static func isValidID(_ id: String) -> Bool {
        let b = Array(id.utf8)
        guard (2...64).contains(b.count), (0x61...0x7A).contains(b[0]) else { return false }
        return b.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }
}

/// One version of an organisation's social-media policy (Markdown, rendered safely).
public struct OrgPolicy: Sendable, Equatable {
    public var orgID: String
    /// 1, 2, 3… per organisation.
    public var version: Int
    public var markdown: String
    public var publishedAt: Micros
    /// The admin who published it (`member:<id>`).
    public var publishedBy: String

    public init(orgID: String, version: Int, markdown: String, publishedAt: Micros, publishedBy: String) {
        self.orgID = orgID
        self.version = version
        self.markdown = markdown
        self.publishedAt = publishedAt
        self.publishedBy = publishedBy
    }
}

/// A reminder campaign with how far it got: counts only, never who.
public struct Campaign: Sendable, Equatable {
    public var id: Int64
    public var orgID: String
    public var message: String
    public var sentAt: Micros
    public var sentBy: String
    public var reached: Int
    public var read: Int
    public var acknowledged: Int

    public init(id: Int64, orgID: String, message: String, sentAt: Micros, sentBy: String, reached: Int, read: Int, acknowledged: Int) {
        self.id = id
        self.orgID = orgID
        self.message = message
        self.sentAt = sentAt
        self.sentBy = sentBy
        self.reached = reached
        self.read = read
        self.acknowledged = acknowledged
    }
}

/// A campaign reminder in one member's inbox.
public struct CampaignNotice: Sendable, Equatable {
    public var id: Int64
    public var campaignID: Int64
    public var orgID: String
    public var orgName: String
    public var message: String
    public var deliveredAt: Micros
    public var readAt: Micros?
    public var acknowledgedAt: Micros?

    public init(id: Int64, campaignID: Int64, orgID: String, orgName: String, message: String, deliveredAt: Micros,
                readAt: Micros? = nil, acknowledgedAt: Micros? = nil) {
        self.id = id
        self.campaignID = campaignID
        self.orgID = orgID
        self.orgName = orgName
        self.message = message
        self.deliveredAt = deliveredAt
        self.readAt = readAt
        self.acknowledgedAt = acknowledgedAt
    }
}

/// Platform roles a member can hold beside being a member.
public enum MemberRole: String, CaseIterable, Sendable, Hashable {
    /// Sees the compliance dashboard and reports (aggregates), as a `reports:read` token does.
    case compliance
}

/// Organisations, their admins, members' affiliations, policies, campaigns, and roles.
/// Deliberately offers no way to read a member's settings by organisation: the dashboards
/// compute aggregates from the projection and show them only for groups of at least k.
public protocol OrganisationStore: Sendable {
    /// `.conflict` if the id is taken.
    func createOrganisation(_ org: Organisation) async throws(StoreError)
    /// Every organisation, by id.
    func organisations() async throws(StoreError) -> [Organisation]
    /// One organisation, by its id (a platform has millions: never list them to find one).
    func organisation(id: String) async throws(StoreError) -> Organisation?
    /// At most `limit` organisations whose id starts with, or whose name contains, `query`
    /// (case-insensitive; an empty query matches all), by name: what a member picks from.
    func organisations(matching query: String, limit: Int) async throws(StoreError) -> [Organisation]
    /// Makes a member an admin of an organisation (idempotent); `.unknownMember` or
    /// `.unknownOrganisation` when either is missing.
    func addOrgAdmin(org: String, member: String, at: Micros) async throws(StoreError)
    /// The organisations a member administers, by id.
    func administeredOrgs(member: String) async throws(StoreError) -> [String]
    /// The member's confirmed current employer; nil clears it.
    func setAffiliation(member: String, org: String?, at: Micros) async throws(StoreError)
    func affiliation(member: String) async throws(StoreError) -> String?
    /// Members affiliated with an organisation, in id order: for aggregates, never shown.
    func affiliatedMembers(org: String) async throws(StoreError) -> [String]
    /// Publishes the next version of the organisation's policy.
    func publishOrgPolicy(org: String, markdown: String, at: Micros, by: String) async throws(StoreError) -> OrgPolicy
    /// Every version, newest first.
    func orgPolicies(org: String) async throws(StoreError) -> [OrgPolicy]
    /// Records a campaign and delivers it to every member affiliated at that moment, in one step.
    func sendCampaign(org: String, message: String, at: Micros, by: String) async throws(StoreError) -> Campaign
    /// The organisation's campaigns with their counts, newest first.
    func campaigns(org: String) async throws(StoreError) -> [Campaign]
    /// A member's campaign reminders, newest first.
    func campaignNotices(member: String) async throws(StoreError) -> [CampaignNotice]
    func markCampaignNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int
    /// How many of the member's reminders are unread.
    func unreadReminders(member: String) async throws(StoreError) -> Int
    /// False if the member has no such reminder. Acknowledging twice keeps the first time.
    func acknowledgeCampaign(member: String, notice: Int64, at: Micros) async throws(StoreError) -> Bool
    /// Grants a role (idempotent); `.unknownMember` if there is no such member.
    func grantRole(_ role: MemberRole, member: String, at: Micros) async throws(StoreError)
    func roles(member: String) async throws(StoreError) -> Set<MemberRole>
}

/// The profile fields the exposure checkup reviews, and their visibility.
public protocol ExposureStore: Sendable {
    /// A member's fields, in `ProfileFieldKind` order.
    func profileFields(member: String) async throws(StoreError) -> [ProfileField]
    /// Sets (or replaces) one field; `.unknownMember` if there is no such member.
    func setProfileField(member: String, _ field: ProfileField, at: Micros) async throws(StoreError)
    /// Changes who sees a field; false if the member has no such field.
    func setFieldVisibility(member: String, kind: ProfileFieldKind, visibility: Visibility, at: Micros) async throws(StoreError) -> Bool
    /// Changes who sees one of the member's posts; false if it is not theirs.
    func setPostVisibility(member: String, post: String, visibility: Visibility) async throws(StoreError) -> Bool
    /// The fields and posts of every member affiliated with `org`, by member id (a member with
    /// neither may be absent), in the orders of `profileFields` and `posts`: an organisation's
    /// exposure aggregate from two reads however many members it has, not two per member.
    func affiliatedProfiles(org: String) async throws(StoreError) -> [String: MemberProfile]
}

/// What the exposure checkup reads of one member.
public struct MemberProfile: Sendable, Equatable {
    public var fields: [ProfileField]
    public var posts: [Post]

    public init(fields: [ProfileField] = [], posts: [Post] = []) {
        self.fields = fields
        self.posts = posts
    }
}

extension ExposureStore where Self: OrganisationStore & ProfileStore {
    /// Member by member: for stores where a read costs no round trip (the in-memory one).
    public func affiliatedProfiles(org: String) async throws(StoreError) -> [String: MemberProfile] {
        var out: [String: MemberProfile] = [:]
        for m in try await affiliatedMembers(org: org) {
            out[m] = MemberProfile(fields: try await profileFields(member: m), posts: try await posts(member: m))
        }
        return out
    }
}

extension ProfileFieldKind {
    /// Position in the kind's declaration order, for stable listings.
    public var order: Int { Self.allCases.firstIndex(of: self)! }
}

extension ProfileField {
    /// A field as a store keeps it, by codes; nil for a kind this version does not know.
    public init?(kindCode: String, value: String, visibilityCode: String) {
        guard let kind = ProfileFieldKind(code: kindCode) else { return nil }
        self.init(kind: kind, value: value, visibility: Visibility(code: visibilityCode))
    }

    /// The order a member's fields are listed in by every store: `ProfileFieldKind` order.
    public static func inKindOrder(_ a: ProfileField, _ b: ProfileField) -> Bool { a.kind.order < b.kind.order }
}
