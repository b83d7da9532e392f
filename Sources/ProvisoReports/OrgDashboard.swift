public import ProvisoCore
public import ProvisoStore

/// What an organisation's admins may see: their campaigns' counts, their policy versions, and
/// aggregates over the members affiliated with them, each shown only when at least k members
/// are in the group. It holds no member id and no per-member value by construction, so no
/// page or API built on it can leak one.
public struct OrgDashboard: Sendable, Equatable {
    /// Share of the affiliated members with one setting effectively off, among those to whom
    /// the setting applies (a member outside its regions has nothing to switch); nil when fewer
    /// than k of them are left.
    public struct SettingShare: Sendable, Equatable {
        public var setting: SettingID
        public var label: String
        public var offShare: Double?
    }

    /// Share of the affiliated members whose profile has one exposure finding.
    public struct FindingShare: Sendable, Equatable {
        public var rule: String
        public var share: Double
    }

    public var org: Organisation
    public var k: Int
    /// Members affiliated (accounts open): a count, which is what the group size is.
    public var affiliated: Int
    public var campaigns: [Campaign]
    public var policies: [OrgPolicy]
    public var settings: GroupFigure<[SettingShare]>
    public var exposure: GroupFigure<[FindingShare]>

    /// Computes the dashboard at `t`. Nothing about the members is read unless the group has
    /// at least `k.k` members.
    public static func build(org: Organisation, store: some ConsentStore, engine: DecisionEngine, state: ConsentState,
                             k: KAnonymity, at t: Micros) async throws(StoreError) -> OrgDashboard {
        let affiliated = try await store.affiliatedMembers(org: org.id).compactMap { id -> (id: String, index: Int32)? in
            let i = state.memberIndex(id)
            guard i >= 0 else { return nil }
            if let closed = state.closingTime(of: i), closed <= t { return nil }
            return (id, i)
        }
        let members = affiliated.map(\.index)
        let policy = engine.policy(at: t)
        let settings = k.figure(groupSize: members.count) {
            policy.settings.map { s in
                var applies = 0, off = 0
                for m in members {
                    let st = engine.status(member: m, setting: s.id, at: t, in: state, policy: policy)
                    if case .notInScope = st.source { continue }
                    applies += 1
                    if !st.on { off += 1 }
                }
                return SettingShare(setting: s.id, label: s.label, offShare: k.figure(groupSize: applies) { Double(off) / Double(applies) }.value)
            }
        }
        var exposure: GroupFigure<[FindingShare]> = .tooFewToShow
        if members.count >= k.k {
            var counts: [String: Int] = [:]
            let today = Int(t / Time.microsPerDay)
            let profiles = try await store.affiliatedProfiles(org: org.id)
            for (id, _) in affiliated {
                let profile = profiles[id] ?? MemberProfile()
                let findings = ExposureRules.review(fields: profile.fields, posts: profile.posts, today: today)
                for rule in Set(findings.map(\.rule)) { counts[rule, default: 0] += 1 }
            }
            exposure = .shown(ExposureRules.rules.map { FindingShare(rule: $0.code, share: Double(counts[$0.code] ?? 0) / Double(members.count)) })
        }
        return OrgDashboard(org: org, k: k.k, affiliated: members.count, campaigns: try await store.campaigns(org: org.id),
                            policies: try await store.orgPolicies(org: org.id), settings: settings, exposure: exposure)
    }
}
