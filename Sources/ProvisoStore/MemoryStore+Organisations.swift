public import ProvisoCore
import Synchronization

/// The memory twin's organisations, roles and profile fields: the same contract as the SQL
/// stores, kept beside the consent contents so tests can hold one store.
final class OrganisationContents: Sendable {
    struct Delivery {
        var id: Int64
        var campaignID: Int64
        var memberID: String
        var deliveredAt: Micros
        var readAt: Micros?
        var acknowledgedAt: Micros?
    }

    struct State {
        var orgs: [String: Organisation] = [:]
        var admins: [String: Set<String>] = [:]
        var affiliations: [String: String] = [:]
        var policies: [OrgPolicy] = []
        var campaigns: [(id: Int64, org: String, message: String, at: Micros, by: String)] = []
        var deliveries: [Delivery] = []
        var roles: [String: Set<MemberRole>] = [:]
        var fields: [String: [ProfileFieldKind: ProfileField]] = [:]
    }

    let state = Mutex(State())
}

extension MemoryStore {
    func memberExists(_ id: String) -> Bool { contents.withLock { $0.members[id] != nil } }

    func requireOrg(_ id: String, in s: OrganisationContents.State) throws(StoreError) {
        guard s.orgs[id] != nil else { throw .unknownOrganisation(id) }
    }

    public func createOrganisation(_ org: Organisation) async throws(StoreError) {
        try orgs.state.withLock { s throws(StoreError) in
            guard s.orgs[org.id] == nil else { throw .conflict("organisation \(org.id) already exists") }
            s.orgs[org.id] = org
        }
    }

    public func organisations() async throws(StoreError) -> [Organisation] {
        orgs.state.withLock { $0.orgs.values.sorted { $0.id < $1.id } }
    }

    public func organisation(id: String) async throws(StoreError) -> Organisation? {
        orgs.state.withLock { $0.orgs[id] }
    }

    public func organisations(matching query: String, limit: Int) async throws(StoreError) -> [Organisation] {
        let q = query.lowercased()
        return orgs.state.withLock { s in
            Array(s.orgs.values.filter { q.isEmpty || $0.id.hasPrefix(q) || $0.name.lowercased().contains(q) }
                .sorted { ($0.name, $0.id) < ($1.name, $1.id) }.prefix(limit))
        }
    }

    public func addOrgAdmin(org: String, member: String, at: Micros) async throws(StoreError) {
        guard memberExists(member) else { throw .unknownMember(member) }
        try orgs.state.withLock { s throws(StoreError) in
            try requireOrg(org, in: s)
            s.admins[org, default: []].insert(member)
        }
    }

    public func administeredOrgs(member: String) async throws(StoreError) -> [String] {
        orgs.state.withLock { s in s.admins.filter { $0.value.contains(member) }.keys.sorted() }
    }

    public func setAffiliation(member: String, org: String?, at: Micros) async throws(StoreError) {
        guard memberExists(member) else { throw .unknownMember(member) }
        try orgs.state.withLock { s throws(StoreError) in
            if let org { try requireOrg(org, in: s) }
            s.affiliations[member] = org
        }
    }

    public func affiliation(member: String) async throws(StoreError) -> String? {
        orgs.state.withLock { $0.affiliations[member] }
    }

    public func affiliatedMembers(org: String) async throws(StoreError) -> [String] {
        orgs.state.withLock { s in s.affiliations.filter { $0.value == org }.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
    }

    public func publishOrgPolicy(org: String, markdown: String, at: Micros, by: String) async throws(StoreError) -> OrgPolicy {
        try orgs.state.withLock { s throws(StoreError) in
            try requireOrg(org, in: s)
            let p = OrgPolicy(orgID: org, version: s.policies.filter { $0.orgID == org }.count + 1, markdown: markdown, publishedAt: at, publishedBy: by)
            s.policies.append(p)
            return p
        }
    }

    public func orgPolicies(org: String) async throws(StoreError) -> [OrgPolicy] {
        orgs.state.withLock { s in s.policies.filter { $0.orgID == org }.reversed() }
    }

    public func sendCampaign(org: String, message: String, at: Micros, by: String) async throws(StoreError) -> Campaign {
        try orgs.state.withLock { s throws(StoreError) in
            try requireOrg(org, in: s)
            let id = Int64(s.campaigns.count + 1)
            s.campaigns.append((id, org, message, at, by))
            let members = s.affiliations.filter { $0.value == org }.keys.sorted()
            for m in members {
                s.deliveries.append(.init(id: Int64(s.deliveries.count + 1), campaignID: id, memberID: m, deliveredAt: at))
            }
            return Campaign(id: id, orgID: org, message: message, sentAt: at, sentBy: by, reached: members.count, read: 0, acknowledged: 0)
        }
    }

    public func campaigns(org: String) async throws(StoreError) -> [Campaign] {
        orgs.state.withLock { s in
            s.campaigns.filter { $0.org == org }.reversed().map { c in
                let d = s.deliveries.filter { $0.campaignID == c.id }
                return Campaign(id: c.id, orgID: c.org, message: c.message, sentAt: c.at, sentBy: c.by, reached: d.count,
                                read: d.filter { $0.readAt != nil }.count, acknowledged: d.filter { $0.acknowledgedAt != nil }.count)
            }
        }
    }

    public func campaignNotices(member: String) async throws(StoreError) -> [CampaignNotice] {
        orgs.state.withLock { s in
            s.deliveries.filter { $0.memberID == member }.reversed().compactMap { d in
                guard let c = s.campaigns.first(where: { $0.id == d.campaignID }) else { return nil }
                return CampaignNotice(id: d.id, campaignID: c.id, orgID: c.org, orgName: s.orgs[c.org]?.name ?? c.org, message: c.message,
                                      deliveredAt: d.deliveredAt, readAt: d.readAt, acknowledgedAt: d.acknowledgedAt)
            }
        }
    }

    public func markCampaignNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int {
        orgs.state.withLock { s in
            var n = 0
            for i in s.deliveries.indices where s.deliveries[i].memberID == member && s.deliveries[i].readAt == nil {
                s.deliveries[i].readAt = at
                n += 1
            }
            return n
        }
    }

    public func unreadReminders(member: String) async throws(StoreError) -> Int {
        orgs.state.withLock { s in s.deliveries.filter { $0.memberID == member && $0.readAt == nil }.count }
    }

    public func acknowledgeCampaign(member: String, notice: Int64, at: Micros) async throws(StoreError) -> Bool {
        orgs.state.withLock { s in
            guard let i = s.deliveries.firstIndex(where: { $0.id == notice && $0.memberID == member }) else { return false }
            if s.deliveries[i].acknowledgedAt == nil { s.deliveries[i].acknowledgedAt = at }
            if s.deliveries[i].readAt == nil { s.deliveries[i].readAt = at }
            return true
        }
    }

    public func grantRole(_ role: MemberRole, member: String, at: Micros) async throws(StoreError) {
        guard memberExists(member) else { throw .unknownMember(member) }
        orgs.state.withLock { _ = $0.roles[member, default: []].insert(role) }
    }

    public func roles(member: String) async throws(StoreError) -> Set<MemberRole> {
        orgs.state.withLock { $0.roles[member] ?? [] }
    }

    public func profileFields(member: String) async throws(StoreError) -> [ProfileField] {
        orgs.state.withLock { s in (s.fields[member] ?? [:]).values.sorted(by: ProfileField.inKindOrder) }
    }

    public func setProfileField(member: String, _ field: ProfileField, at: Micros) async throws(StoreError) {
        guard memberExists(member) else { throw .unknownMember(member) }
        orgs.state.withLock { $0.fields[member, default: [:]][field.kind] = field }
    }

    public func setFieldVisibility(member: String, kind: ProfileFieldKind, visibility: Visibility, at: Micros) async throws(StoreError) -> Bool {
        orgs.state.withLock { s in
            guard s.fields[member]?[kind] != nil else { return false }
            s.fields[member]![kind]!.visibility = visibility
            return true
        }
    }

    public func setPostVisibility(member: String, post: String, visibility: Visibility) async throws(StoreError) -> Bool {
        contents.withLock { c in
            guard let i = c.posts.firstIndex(where: { $0.id == post && $0.memberID == member }) else { return false }
            c.posts[i].visibility = visibility
            return true
        }
    }
}
