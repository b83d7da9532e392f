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
    public func decide(_ q: DecisionQuery, in s: ConsentState) -> Decision {
        let p = policy(at: q.at)
        var r = ReasonSet()
        if !s.isCurrent { r.insert(.stateUnavailable) }
        let m = q.member
        let known = m >= 0 && Int(m) < s.memberCount
        if !known { r.insert(.unknownMember) }
        var flags: UInt8 = 0
        var pr = 0
        if let purpose = q.purpose {
            pr = Int(purpose.rawValue)
            flags = p.purposeFlags[pr]
        }
        let purposeKnown = flags & 1 != 0
        if !purposeKnown { r.insert(.unknownPurpose) }
        if q.category == nil { r.insert(.unknownCategory) }
        if known, let closed = s.closingTime(of: m), closed <= q.at { r.insert(.accountClosed) }
        if let c = q.category {
            if c.isNeverEligible {
                r.insert(.categoryNeverEligible)
            } else if purposeKnown, p.categoryMasks[pr] & (1 << c.rawValue) == 0 {
                r.insert(.categoryNotForPurpose)
            }
        }
        if flags & 2 != 0 {
            if let v = q.visibility {
                if v != .public { r.insert(.notPublic) }
            } else if q.category?.requiresVisibility ?? false {
                r.insert(.notPublic)
            }
        }
        if q.sensitive { r.insert(.sensitive) }
        var choseOn = false
        if known, purposeKnown {
            if flags & 4 != 0, q.at < s.adultAt(m) || s.isSuspectedMinor(m) { r.insert(.minor) }
            let rule = p.rules[pr &* RegionGroup.allCases.count &+ Int(s.regions[Int(m)])]
            let inScope = rule.present && q.at >= rule.inScopeFrom
            if !inScope { r.insert(.regionNotInScope) }
            // Content dates are checked only where the rule sets one; a record without a
            // creation date cannot be shown to be in scope, so it is denied (fail closed).
            if rule.present, rule.contentFrom != .min, (q.createdAt ?? .min) < rule.contentFrom {
                r.insert(.contentBeforeScope)
            }
            let gate = SettingID(rawValue: p.purposeGates[pr])!
            if let c = s.latestChoice(member: m, setting: gate, at: q.at) {
                if c.on { choseOn = true } else { r.insert(c.channel == .gpc ? .gpc : .optedOut) }
            } else if inScope, !rule.defaultOn {
                r.insert(.defaultOff)
            }
            if q.gpc, rule.gpc { r.insert(.gpc) }
            var deps = p.dependencyMasks[Int(gate.rawValue)]
            while deps != 0 {
                let d = SettingID(rawValue: UInt8(deps.trailingZeroBitCount))!
                deps &= deps - 1
                if !isOn(member: m, setting: d, at: q.at, in: s, policy: p, depth: 0) { r.insert(.dependsOn(d)) }
            }
        }
        let allowed = r.isEmpty
        if allowed { r.insert(choseOn ? .memberChoice : .defaultOn) }
        return Decision(allowed: allowed, reasons: r, policyVersion: p.version, ledgerSeq: s.ledgerSeq)
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
