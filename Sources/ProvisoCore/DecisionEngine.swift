/// Answers `may member M's data of category C be used for purpose P at time T?` exactly as
/// PRODUCT.md's decision semantics say, against an in-memory `ConsentState`. Pure and
/// allocation-free: the same engine serves the CLI, the server and the dataset gate.
public struct DecisionEngine: Sendable {
    /// Policy versions ordered by the time they come into force.
    public let policies: [Policy]

    public init(policy: Policy) { policies = [policy] }

    /// Several versions: "as of T" uses the version in force at T.
    public init(policies: [Policy]) {
        precondition(!policies.isEmpty, "an engine needs at least one policy")
        self.policies = policies.sorted { ($0.effectiveFrom ?? .min) < ($1.effectiveFrom ?? .min) }
    }

    /// The version in force at `t`: the latest whose effective date is at or before `t`.
    /// Before the first version's date the first version applies, since it is the oldest
    /// statement of the rules the system has.
    @inlinable
    public func policy(at t: Micros) -> Policy {
        if policies.count == 1 { return policies[0] }
        var chosen = policies[0]
        for p in policies.dropFirst() {
            if let from = p.effectiveFrom, Time.micros(dayNumber: from) <= t { chosen = p } else { break }
        }
        return chosen
    }

    /// Decides one query. Every applicable deny reason is reported, in contract order.
    /// Reads only flat tables of the policy and the projection: no copies, no allocation.
    /// It is the member's verdict joined with the record's own reasons, the same two halves
    /// the dataset gate uses, so the gate cannot drift from the engine.
    public func decide(_ q: DecisionQuery, in s: ConsentState) -> Decision {
        let p = policy(at: q.at)
        let v = memberVerdict(member: q.member, purpose: q.purpose, at: q.at, gpc: q.gpc, in: s, policy: p)
        var r = v.reasons
        r.formUnion(recordReasons(category: q.category, visibility: q.visibility, sensitive: q.sensitive,
                                  createdAt: q.createdAt, purpose: q.purpose, verdict: v, policy: p))
        let allowed = r.isEmpty
        if allowed { r.insert(v.choseOn ? .memberChoice : .defaultOn) }
        return Decision(allowed: allowed, reasons: r, policyVersion: p.version, ledgerSeq: s.ledgerSeq)
    }

    /// The reasons that depend only on who the member is, the purpose and the time (state,
    /// account, age, region scope, choices, GPC, dependencies): computed once per member by the
    /// gate, then joined with each record's reasons.
    public func memberVerdict(member m: Int32, purpose: Purpose?, at t: Micros, gpc: Bool = false,
                              in s: ConsentState, policy p: Policy) -> MemberVerdict {
        var v = MemberVerdict()
        if !s.isCurrent { v.reasons.insert(.stateUnavailable) }
        let known = m >= 0 && Int(m) < s.memberCount
        if !known { v.reasons.insert(.unknownMember) }
        var flags: UInt8 = 0
        var pr = 0
        if let purpose {
            pr = Int(purpose.rawValue)
            flags = p.purposeFlags[pr]
        }
        let purposeKnown = flags & 1 != 0
        if !purposeKnown { v.reasons.insert(.unknownPurpose) }
        if known, let closed = s.closingTime(of: m), closed <= t { v.reasons.insert(.accountClosed) }
        guard known, purposeKnown else { return v }
        if flags & 4 != 0, t < s.adultAt(m) || s.isSuspectedMinor(m) { v.reasons.insert(.minor) }
        let rule = p.rules[pr &* RegionGroup.allCases.count &+ Int(s.regions[Int(m)])]
        let inScope = rule.present && t >= rule.inScopeFrom
        if !inScope { v.reasons.insert(.regionNotInScope) }
        // Content dates are checked only where the rule sets one; the record half applies it.
        if rule.present { v.contentFrom = rule.contentFrom }
        let gate = SettingID(rawValue: p.purposeGates[pr])!
        if let c = s.latestChoice(member: m, setting: gate, at: t) {
            if c.on { v.choseOn = true } else { v.reasons.insert(c.channel == .gpc ? .gpc : .optedOut) }
        } else if inScope, !rule.defaultOn {
            v.reasons.insert(.defaultOff)
        }
        if gpc, rule.gpc { v.reasons.insert(.gpc) }
        var deps = p.dependencyMasks[Int(gate.rawValue)]
        while deps != 0 {
            let d = SettingID(rawValue: UInt8(deps.trailingZeroBitCount))!
            deps &= deps - 1
            if !isOn(member: m, setting: d, at: t, in: s, policy: p, depth: 0) { v.reasons.insert(.dependsOn(d)) }
        }
        return v
    }

    /// The reasons that depend on the record itself: its category, audience, sensitivity and
    /// creation date (against the content start date found in the member's verdict).
    @inlinable
    public func recordReasons(category: Category?, visibility: Visibility?, sensitive: Bool, createdAt: Micros?,
                              purpose: Purpose?, verdict v: MemberVerdict, policy p: Policy) -> ReasonSet {
        var r = ReasonSet()
        let pr = purpose.map { Int($0.rawValue) } ?? -1
        let flags: UInt8 = pr >= 0 ? p.purposeFlags[pr] : 0
        let purposeKnown = flags & 1 != 0
        if let c = category {
            if c.isNeverEligible {
                r.insert(.categoryNeverEligible)
            } else if purposeKnown, p.categoryMasks[pr] & (1 << c.rawValue) == 0 {
                r.insert(.categoryNotForPurpose)
            }
        } else {
            r.insert(.unknownCategory)
        }
        if flags & 2 != 0 {
            if let vis = visibility {
                if vis != .public { r.insert(.notPublic) }
            } else if category?.requiresVisibility ?? false {
                r.insert(.notPublic)
            }
        }
        if sensitive { r.insert(.sensitive) }
        // A record without a creation date cannot be shown to be in scope: denied (fail closed).
        if v.contentFrom != .min, (createdAt ?? .min) < v.contentFrom { r.insert(.contentBeforeScope) }
        return r
    }

    /// Whether a setting is effectively on for a member at `t`: their latest choice, else the
    /// regional default while in scope, and only if every setting it depends on is on too.
    /// A setting whose purposes are not in scope counts as off, so a dependency on it never
    /// allows anything (fail closed).
    public func isOn(member m: Int32, setting: SettingID, at t: Micros, in s: ConsentState, policy p: Policy,
                     depth: Int = 0) -> Bool {
        if let c = s.latestChoice(member: m, setting: setting, at: t) {
            if !c.on { return false }
        } else {
            let d = p.settingDefaults[Int(setting.rawValue) * RegionGroup.allCases.count + Int(s.region(of: m).rawValue)]
            if !(d.present && t >= d.inScopeFrom && d.defaultOn) { return false }
        }
        guard depth < SettingID.allCases.count else { return false }
        var deps = p.dependencyMasks[Int(setting.rawValue)]
        while deps != 0 {
            let d = SettingID(rawValue: UInt8(deps.trailingZeroBitCount))!
            deps &= deps - 1
            if !isOn(member: m, setting: d, at: t, in: s, policy: p, depth: depth + 1) { return false }
        }
        return true
    }
}

/// The member half of a decision for one purpose at one time (see `DecisionEngine.memberVerdict`).
public struct MemberVerdict: Sendable, Equatable {
    /// Deny reasons that hold for every record of this member.
    public var reasons = ReasonSet()
    /// Whether the member chose "on" (the allow reason is then `member-choice`).
    public var choseOn = false
    /// Records created before this are `content-before-scope`; `.min` when no date applies.
    public var contentFrom: Micros = .min

    @inlinable public init() {}
}
