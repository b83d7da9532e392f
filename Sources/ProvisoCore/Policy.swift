internal import Crypto

/// Why a purpose may lawfully use data in a region; `consent` forbids a default of on.
public enum LegalBasis: String, CaseIterable, Sendable, Hashable {
    case consent
    case legitimateInterest = "legitimate-interest"
    case optOut = "opt-out"
    case contract
}

/// A switch as the platform presents it, and which other switches it needs.
public struct SettingDefinition: Sendable, Equatable {
    public var id: SettingID
    public var label: String
    /// The sentence beside the switch, e.g. "Use my data for training content creation AI models".
    public var switchLabel: String?
    public var section: String
    public var description: String?
    /// Settings that must be on for this one to take effect (`depends-on:<setting>`).
    public var dependsOn: [SettingID]
}

/// What a purpose may do in a set of region groups.
public struct RegionRule: Sendable, Equatable {
    public var regions: [RegionGroup]
    /// Day number (UTC midnight) from which the purpose applies in these regions.
    public var inScopeFrom: Int
    /// Day number before which content may not be used, if any.
    public var contentFrom: Int?
    public var defaultOn: Bool
    public var legalBasis: LegalBasis
    /// Whether a Global Privacy Control signal opts the member out of this purpose here.
    public var gpc: Bool
}

/// A purpose: which setting gates it, which categories it may use, and its regional rules.
public struct PurposeDefinition: Sendable, Equatable {
    public var id: Purpose
    public var gatedBy: SettingID
    public var categories: [Category]
    /// Only content whose visibility is public may be used.
    public var publicOnly: Bool
    public var excludeMinors: Bool
    /// Days of notice a widening of this purpose must give before it takes effect.
    public var noticePeriodDays: Int
    public var rules: [RegionRule]
}

/// One validated, versioned policy. Built only through `Policy.parse`, so every `Policy`
/// value in the program has passed validation.
public final class Policy: Sendable, Equatable {
    public let version: String
    /// Day number from which this version is in force; `nil` means from the beginning.
    public let effectiveFrom: Int?
    public let platform: String?
    public let description: String?
    public let settings: [SettingDefinition]
    public let purposes: [PurposeDefinition]
    /// SHA-256 (hex) of the file as read: recorded in the ledger when the policy is activated.
    public let digest: String
    /// The file as read, for `policy show --json` and exports.
    public let source: String

    // Compiled tables for the decision engine: fixed-size, indexed by raw values.
    @usableFromInline let purposeSlots: [Int8]
    @usableFromInline let rules: [RuleSlot]
    @usableFromInline let categoryMasks: [UInt16]
    @usableFromInline let dependencyMasks: [UInt8]
    /// Per purpose: bit 0 defined, bit 1 public only, bit 2 excludes minors; and its gate.
    @usableFromInline let purposeFlags: [UInt8]
    @usableFromInline let purposeGates: [UInt8]
    /// Per setting × region: the earliest in-scope time and default of the purposes it gates.
    @usableFromInline let settingDefaults: [RuleSlot]

    @usableFromInline
    struct RuleSlot: Sendable, Equatable {
        var present = false
        var inScopeFrom: Micros = .max
        var contentFrom: Micros = .min
        var defaultOn = false
        var gpc = false
    }

    /// The definition of a purpose, `nil` when this policy does not define it.
    public func purpose(_ p: Purpose) -> PurposeDefinition? {
        let slot = purposeSlots[Int(p.rawValue)]
        return slot < 0 ? nil : purposes[Int(slot)]
    }

    /// The definition of a setting, `nil` when this policy does not define it.
    public func setting(_ s: SettingID) -> SettingDefinition? { settings.first { $0.id == s } }

    /// The rule for a purpose in a region group, `nil` when the purpose never applies there.
    public func rule(_ p: Purpose, _ r: RegionGroup) -> RegionRule? {
        purpose(p)?.rules.first { $0.regions.contains(r) }
    }

    /// The purposes a setting gates.
    public func purposes(gatedBy s: SettingID) -> [PurposeDefinition] { purposes.filter { $0.gatedBy == s } }

    /// Label of a setting, falling back to its code.
    public func label(of s: SettingID) -> String { setting(s)?.label ?? s.code }

    init(version: String, effectiveFrom: Int?, platform: String?, description: String?,
         settings: [SettingDefinition], purposes: [PurposeDefinition], source: String) {
        self.version = version
        self.effectiveFrom = effectiveFrom
        self.platform = platform
        self.description = description
        self.settings = settings
        self.purposes = purposes
        self.source = source
        self.digest = SHA256.hash(data: Array(source.utf8)).map { String($0, radix: 16).leftPadded(2) }.joined()
        var slots = [Int8](repeating: -1, count: Purpose.allCases.count)
        var rules = [RuleSlot](repeating: RuleSlot(), count: Purpose.allCases.count * RegionGroup.allCases.count)
        var masks = [UInt16](repeating: 0, count: Purpose.allCases.count)
        for (i, p) in purposes.enumerated() {
            slots[Int(p.id.rawValue)] = Int8(i)
            for c in p.categories where !c.isNeverEligible { masks[Int(p.id.rawValue)] |= 1 << c.rawValue }
            for rule in p.rules {
                for r in rule.regions {
                    rules[Int(p.id.rawValue) * RegionGroup.allCases.count + Int(r.rawValue)] = RuleSlot(
                        present: true, inScopeFrom: Time.micros(dayNumber: rule.inScopeFrom),
                        contentFrom: rule.contentFrom.map { Time.micros(dayNumber: $0) } ?? .min,
                        defaultOn: rule.defaultOn, gpc: rule.gpc)
                }
            }
        }
        var deps = [UInt8](repeating: 0, count: SettingID.allCases.count)
        for s in settings {
            for d in s.dependsOn { deps[Int(s.id.rawValue)] |= 1 << d.rawValue }
        }
        var defaults = [RuleSlot](repeating: RuleSlot(), count: SettingID.allCases.count * RegionGroup.allCases.count)
        for p in purposes {
            for r in RegionGroup.allCases {
                let slot = rules[Int(p.id.rawValue) * RegionGroup.allCases.count + Int(r.rawValue)]
                let k = Int(p.gatedBy.rawValue) * RegionGroup.allCases.count + Int(r.rawValue)
                if slot.present, !defaults[k].present || slot.inScopeFrom < defaults[k].inScopeFrom { defaults[k] = slot }
            }
        }
        settingDefaults = defaults
        var flags = [UInt8](repeating: 0, count: Purpose.allCases.count)
        var gates = [UInt8](repeating: 0, count: Purpose.allCases.count)
        for p in purposes {
            flags[Int(p.id.rawValue)] = 1 | (p.publicOnly ? 2 : 0) | (p.excludeMinors ? 4 : 0)
            gates[Int(p.id.rawValue)] = p.gatedBy.rawValue
        }
        purposeFlags = flags
        purposeGates = gates
        purposeSlots = slots
        self.rules = rules
        categoryMasks = masks
        dependencyMasks = deps
    }

    public static func == (a: Policy, b: Policy) -> Bool { a.digest == b.digest && a.version == b.version }
}

/// One problem found in a policy file, naming the field (`purposes[0].rules[1].regions[2]`).
public struct PolicyProblem: Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var description: String { "\(field): \(message)" }
}

/// A policy file that was refused, with every problem found.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [PolicyProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
