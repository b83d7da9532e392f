/// Where a setting's effective value comes from.
public enum SettingSource: Sendable, Equatable {
    /// The member switched it (`channel` says how).
    case memberChoice(Choice)
    /// An opt-out preference signal (GPC) switched it off.
    case gpc(Choice)
    /// No choice made: the regional default of the policy applies.
    case regionalDefault(on: Bool, since: Micros)
    /// The purposes this setting gates do not apply in the member's region at that time.
    case notInScope(from: Micros?)
    /// The member's own value is on, but a setting it needs is off.
    case dependency(SettingID)

    /// A short machine code: `member-choice`, `gpc`, `default`, `not-in-scope`, `dependency`.
    public var code: String {
        switch self {
        case .memberChoice: "member-choice"
        case .gpc: "gpc"
        case .regionalDefault: "default"
        case .notInScope: "not-in-scope"
        case .dependency: "dependency"
        }
    }
}

/// A setting's effective state for one member at one time, with the words that explain it.
public struct SettingStatus: Sendable, Equatable {
    public var setting: SettingID
    public var on: Bool
    public var source: SettingSource
    /// Since when the value holds, when known.
    public var since: Micros?
    /// "On by default in your region since 3 Nov 2025", "Off because Ads off LinkedIn is off".
    public var explanation: String
}

extension DecisionEngine {
    /// The effective status of every setting the policy in force at `t` defines.
    public func settings(member m: Int32, at t: Micros, in s: ConsentState) -> [SettingStatus] {
        let p = policy(at: t)
        return p.settings.map { status(member: m, setting: $0.id, at: t, in: s, policy: p) }
    }

    /// The effective status of one setting, explained in the words the member pages use.
    public func status(member m: Int32, setting: SettingID, at t: Micros, in s: ConsentState, policy p: Policy) -> SettingStatus {
        let region = s.region(of: m)
        var own: SettingStatus
        if let c = s.latestChoice(member: m, setting: setting, at: t) {
            if !c.on, c.channel == .gpc {
                own = SettingStatus(setting: setting, on: false, source: .gpc(c), since: c.effectiveAt,
                                    explanation: "Off since \(Time.formatHuman(c.effectiveAt)): opt-out preference signal (GPC) honored")
            } else {
                let verb = c.on ? "On since you turned it on" : "Off since you turned it off"
                own = SettingStatus(setting: setting, on: c.on, source: .memberChoice(c), since: c.effectiveAt,
                                    explanation: "\(verb) on \(Time.formatHuman(c.effectiveAt))")
            }
        } else {
            let d = p.settingDefaults[Int(setting.rawValue) * RegionGroup.allCases.count + Int(region.rawValue)]
            if d.present, t >= d.inScopeFrom {
                own = SettingStatus(setting: setting, on: d.defaultOn, source: .regionalDefault(on: d.defaultOn, since: d.inScopeFrom),
                                    since: d.inScopeFrom,
                                    explanation: "\(d.defaultOn ? "On" : "Off") by default in your region since \(Time.formatHuman(d.inScopeFrom))")
            } else if d.present {
                own = SettingStatus(setting: setting, on: false, source: .notInScope(from: d.inScopeFrom), since: nil,
                                    explanation: "Not used in your region before \(Time.formatHuman(d.inScopeFrom)); \(d.defaultOn ? "on" : "off") by default from then")
            } else {
                own = SettingStatus(setting: setting, on: false, source: .notInScope(from: nil), since: nil,
                                    explanation: "Not used in your region")
            }
        }
        guard own.on else { return own }
        for dep in p.setting(setting)?.dependsOn ?? [] where !isOn(member: m, setting: dep, at: t, in: s, policy: p) {
            let since = s.latestChoice(member: m, setting: dep, at: t).map(\.effectiveAt)
            return SettingStatus(setting: setting, on: false, source: .dependency(dep), since: since,
                                 explanation: "Off because \(p.label(of: dep)) is off")
        }
        return own
    }
}

/// Where an effective value comes from, without the words: what reports count, per member,
/// millions of times, so it builds no strings.
public enum EffectiveSource: String, Sendable, CaseIterable {
    case memberChoiceOn = "member-choice-on"
    case memberChoiceOff = "member-choice-off"
    case gpc
    case defaultOn = "default-on"
    case defaultOff = "default-off"
    case notInScope = "not-in-scope"
    case dependency

    public var code: String { rawValue }
}

extension DecisionEngine {
    /// The same answer as `status(member:setting:at:in:policy:)` — value and kind of source —
    /// without formatting the explanation.
    public func effective(member m: Int32, setting: SettingID, at t: Micros, in s: ConsentState, policy p: Policy) -> (on: Bool, source: EffectiveSource) {
        let own: (on: Bool, source: EffectiveSource)
        if let c = s.latestChoice(member: m, setting: setting, at: t) {
            own = !c.on && c.channel == .gpc ? (false, .gpc) : (c.on, c.on ? .memberChoiceOn : .memberChoiceOff)
        } else {
            let d = p.settingDefaults[Int(setting.rawValue) * RegionGroup.allCases.count + Int(s.region(of: m).rawValue)]
            own = d.present && t >= d.inScopeFrom ? (d.defaultOn, d.defaultOn ? .defaultOn : .defaultOff) : (false, .notInScope)
        }
        guard own.on else { return own }
        var deps = p.dependencyMasks[Int(setting.rawValue)]
        while deps != 0 {
            let d = SettingID(rawValue: UInt8(deps.trailingZeroBitCount))!
            deps &= deps - 1
            if !isOn(member: m, setting: d, at: t, in: s, policy: p) { return (false, .dependency) }
        }
        return own
    }
}
