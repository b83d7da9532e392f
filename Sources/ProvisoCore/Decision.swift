/// A reason code of the decision contract. The declaration order is PRODUCT.md's order, and
/// so the order in which reasons are reported (the first deny reason is the primary one).
public enum Reason: Sendable, Hashable, CustomStringConvertible {
    case stateUnavailable, unknownMember, unknownPurpose, unknownCategory, accountClosed
    case categoryNeverEligible, categoryNotForPurpose, notPublic, sensitive, minor
    case regionNotInScope, contentBeforeScope, optedOut, defaultOff, gpc
    case dependsOn(SettingID)
    case memberChoice, defaultOn

    /// The wire code, e.g. `depends-on:ads-off-platform`.
    public var code: String {
        switch self {
        case .stateUnavailable: "state-unavailable"
        case .unknownMember: "unknown-member"
        case .unknownPurpose: "unknown-purpose"
        case .unknownCategory: "unknown-category"
        case .accountClosed: "account-closed"
        case .categoryNeverEligible: "category-never-eligible"
        case .categoryNotForPurpose: "category-not-for-purpose"
        case .notPublic: "not-public"
        case .sensitive: "sensitive"
        case .minor: "minor"
        case .regionNotInScope: "region-not-in-scope"
        case .contentBeforeScope: "content-before-scope"
        case .optedOut: "opted-out"
        case .defaultOff: "default-off"
        case .gpc: "gpc"
        case let .dependsOn(s): "depends-on:\(s.code)"
        case .memberChoice: "member-choice"
        case .defaultOn: "default-on"
        }
    }

    public var description: String { code }

    /// Every reason, in contract order.
    public static let all: [Reason] = [
        .stateUnavailable, .unknownMember, .unknownPurpose, .unknownCategory, .accountClosed,
        .categoryNeverEligible, .categoryNotForPurpose, .notPublic, .sensitive, .minor,
        .regionNotInScope, .contentBeforeScope, .optedOut, .defaultOff, .gpc,
    ] + SettingID.allCases.map { .dependsOn($0) } + [.memberChoice, .defaultOn]

    /// Bit position in `ReasonSet`, equal to the position in `all`.
    @inlinable var bit: UInt32 {
        switch self {
        case .stateUnavailable: 0
        case .unknownMember: 1
        case .unknownPurpose: 2
        case .unknownCategory: 3
        case .accountClosed: 4
        case .categoryNeverEligible: 5
        case .categoryNotForPurpose: 6
        case .notPublic: 7
        case .sensitive: 8
        case .minor: 9
        case .regionNotInScope: 10
        case .contentBeforeScope: 11
        case .optedOut: 12
        case .defaultOff: 13
        case .gpc: 14
        case let .dependsOn(s): 15 + UInt32(s.rawValue)
        case .memberChoice: 20
        case .defaultOn: 21
        }
    }
}

/// An ordered set of reasons packed in one word: decisions allocate nothing, and iterating
/// the bits from low to high yields the contract order for free.
public struct ReasonSet: Sendable, Hashable, Sequence {
    public var bits: UInt32

    @inlinable public init() { bits = 0 }

    @inlinable public mutating func insert(_ r: Reason) { bits |= 1 << r.bit }
    @inlinable public func contains(_ r: Reason) -> Bool { bits & (1 << r.bit) != 0 }
    @inlinable public mutating func formUnion(_ other: ReasonSet) { bits |= other.bits }
    @inlinable public var isEmpty: Bool { bits == 0 }
    public var count: Int { bits.nonzeroBitCount }

    public func makeIterator() -> AnyIterator<Reason> {
        var remaining = bits
        return AnyIterator {
            guard remaining != 0 else { return nil }
            let b = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            return Reason.all[b]
        }
    }

    /// The wire codes, in order.
    public var codes: [String] { map(\.code) }
}

/// The answer to "may this data be used for this purpose at this time?".
public struct Decision: Sendable, Equatable {
    public var allowed: Bool
    public var reasons: ReasonSet
    public var policyVersion: String
    public var ledgerSeq: Int64

    /// The contract's JSON object: `{"allowed":…,"reasons":[…],"policy_version":…,"ledger_seq":…}`.
    public var json: String {
        var out = "{\"allowed\":" + (allowed ? "true" : "false") + ",\"reasons\":["
        var first = true
        for r in reasons {
            if !first { out += "," }
            first = false
            out += "\"" + r.code + "\""
        }
        out += "],\"policy_version\":"
        JSON.appendQuoted(policyVersion, to: &out)
        out += ",\"ledger_seq\":" + String(ledgerSeq) + "}"
        return out
    }
}

/// What a decision is asked about. Purpose and category are `nil` when the caller sent a
/// code outside the vocabulary: the engine then denies with `unknown-purpose`/`-category`.
public struct DecisionQuery: Sendable, Equatable {
    public var member: Int32
    public var purpose: Purpose?
    public var category: Category?
    public var at: Micros
    public var createdAt: Micros?
    public var visibility: Visibility?
    public var sensitive: Bool
    public var gpc: Bool

    public init(member: Int32, purpose: Purpose?, category: Category?, at: Micros, createdAt: Micros? = nil,
                visibility: Visibility? = nil, sensitive: Bool = false, gpc: Bool = false) {
        self.member = member
        self.purpose = purpose
        self.category = category
        self.at = at
        self.createdAt = createdAt
        self.visibility = visibility
        self.sensitive = sensitive
        self.gpc = gpc
    }
}
