/// One way a new policy version widens what may be done with members' data.
public enum WideningKind: Sendable, Hashable, CustomStringConvertible {
    /// The purpose now applies in a region group where it did not.
    case newlyInScope
    /// The purpose's start date in the region moved earlier.
    case scopeStartsEarlier
    /// The default turned from off to on.
    case defaultTurnedOn
    /// Content from further back may be used (the start date moved earlier or was removed).
    case contentStartsEarlier
    /// The purpose may use a category it could not.
    case categoryAdded(Category)
    /// Non-public content is no longer excluded.
    case publicOnlyDropped
    /// Minors are no longer excluded.
    case minorsNoLongerExcluded
    /// A Global Privacy Control signal no longer opts members out here.
    case gpcNoLongerHonoured
    /// The switch gating the purpose no longer needs another switch on.
    case dependencyDropped(SettingID)
    /// The purpose is gated by a different switch: earlier choices would no longer apply.
    case gateChanged

    /// A stable code for reports and API answers.
    public var code: String {
        switch self {
        case .newlyInScope: "newly-in-scope"
        case .scopeStartsEarlier: "scope-starts-earlier"
        case .defaultTurnedOn: "default-turned-on"
        case .contentStartsEarlier: "content-starts-earlier"
        case let .categoryAdded(c): "category-added:\(c.code)"
        case .publicOnlyDropped: "public-only-dropped"
        case .minorsNoLongerExcluded: "minors-no-longer-excluded"
        case .gpcNoLongerHonoured: "gpc-no-longer-honoured"
        case let .dependencyDropped(s): "dependency-dropped:\(s.code)"
        case .gateChanged: "gate-changed"
        }
    }

    public var description: String { code }

    /// What the change means for a member, in plain words.
    public var sentence: String {
        switch self {
        case .newlyInScope: "starts to apply in your region"
        case .scopeStartsEarlier: "applies in your region from an earlier date"
        case .defaultTurnedOn: "will be on by default unless you turn it off"
        case .contentStartsEarlier: "may use older content of yours"
        case let .categoryAdded(c): "may also use your \(c.code) data"
        case .publicOnlyDropped: "may also use content that is not public"
        case .minorsNoLongerExcluded: "no longer excludes members under 18"
        case .gpcNoLongerHonoured: "no longer treats a Global Privacy Control signal as an opt-out"
        case let .dependencyDropped(s): "no longer needs \(s.code) to be on"
        case .gateChanged: "is now controlled by a different switch"
        }
    }

    /// Reads a code back (as stored with notices).
    public init?(code: String) {
        let parts = code.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts[0] {
        case "newly-in-scope": self = .newlyInScope
        case "scope-starts-earlier": self = .scopeStartsEarlier
        case "default-turned-on": self = .defaultTurnedOn
        case "content-starts-earlier": self = .contentStartsEarlier
        case "category-added": guard parts.count == 2, let c = Category(code: parts[1]) else { return nil }; self = .categoryAdded(c)
        case "public-only-dropped": self = .publicOnlyDropped
        case "minors-no-longer-excluded": self = .minorsNoLongerExcluded
        case "gpc-no-longer-honoured": self = .gpcNoLongerHonoured
        case "dependency-dropped": guard parts.count == 2, let st = SettingID(code: parts[1]) else { return nil }; self = .dependencyDropped(st)
        case "gate-changed": self = .gateChanged
        default: return nil
        }
    }
}

/// A widening for one purpose in one region group, and the notice it requires.
public struct Widening: Sendable, Hashable {
    public var purpose: Purpose
    public var region: RegionGroup
    public var kind: WideningKind
    /// Days of notice required: the longer of the old and new periods, so a version cannot
    /// shorten its own notice.
    public var noticeDays: Int

    public init(purpose: Purpose, region: RegionGroup, kind: WideningKind, noticeDays: Int) {
        self.purpose = purpose
        self.region = region
        self.kind = kind
        self.noticeDays = noticeDays
    }
}

/// A widening whose effective date does not leave the required notice.
public struct NoticeShortfall: Sendable, Hashable, CustomStringConvertible {
    public var widening: Widening
    /// The earliest effective date (day number) that would give enough notice.
    public var earliestDay: Int

    public var description: String {
        "\(widening.purpose.code) in \(widening.region.code): \(widening.kind.code) needs \(widening.noticeDays) days' notice; "
            + "the earliest effective date is \(Time.formatDate(dayNumber: earliestDay))"
    }
}

/// Compares policy versions: what a new version widens, and whether its effective date gives
/// members the notice each widening requires. Narrowings need no notice.
public enum PolicyChange {
    /// Every widening from `old` to `new`, by purpose and region group, in vocabulary order.
    public static func widenings(from old: Policy, to new: Policy) -> [Widening] {
        var out: [Widening] = []
        for purpose in Purpose.allCases {
            guard let n = new.purpose(purpose) else { continue }
            let o = old.purpose(purpose)
            let notice = max(n.noticePeriodDays, o?.noticePeriodDays ?? 0)
            for region in RegionGroup.allCases {
                guard let nr = n.rules.first(where: { $0.regions.contains(region) }) else { continue }
                func add(_ k: WideningKind) { out.append(Widening(purpose: purpose, region: region, kind: k, noticeDays: notice)) }
                guard let o, let or = o.rules.first(where: { $0.regions.contains(region) }) else {
                    add(.newlyInScope)
                    continue
                }
                if nr.inScopeFrom < or.inScopeFrom { add(.scopeStartsEarlier) }
                if nr.defaultOn, !or.defaultOn { add(.defaultTurnedOn) }
                if let oldContent = or.contentFrom, nr.contentFrom.map({ $0 < oldContent }) ?? true { add(.contentStartsEarlier) }
                for c in n.categories where !o.categories.contains(c) { add(.categoryAdded(c)) }
                if o.publicOnly, !n.publicOnly { add(.publicOnlyDropped) }
                if o.excludeMinors, !n.excludeMinors { add(.minorsNoLongerExcluded) }
                if or.gpc, !nr.gpc { add(.gpcNoLongerHonoured) }
                if o.gatedBy != n.gatedBy {
                    add(.gateChanged)
                } else {
                    let oldDeps = old.setting(o.gatedBy)?.dependsOn ?? []
                    let newDeps = new.setting(n.gatedBy)?.dependsOn ?? []
                    for d in oldDeps where !newDeps.contains(d) { add(.dependencyDropped(d)) }
                }
            }
        }
        return out
    }

    /// The widenings whose notice is too short if `new` is published at `publishedAt`. The
    /// effective moment is 00:00 UTC of the version's `effective_from` (publication itself
    /// when it has none); it must be at least the notice period after publication.
    public static func shortfalls(publishing new: Policy, over old: Policy, at publishedAt: Micros) -> [NoticeShortfall] {
        let effective = new.effectiveFrom.map { Time.micros(dayNumber: $0) } ?? publishedAt
        return widenings(from: old, to: new).compactMap { w in
            let required = publishedAt + Int64(w.noticeDays) * Time.microsPerDay
            guard effective < required else { return nil }
            let day = required / Time.microsPerDay + (required % Time.microsPerDay == 0 ? 0 : 1)
            return NoticeShortfall(widening: w, earliestDay: Int(day))
        }
    }
}
