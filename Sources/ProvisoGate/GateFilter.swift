public import ProvisoCore

/// What the gate concluded about one line.
public struct LineVerdict: Sendable, Equatable {
    /// Engine deny reasons (empty for an eligible record, and for a line that is not a record).
    public var reasons: ReasonSet
    /// Set when the line is not a usable record; it is then excluded whatever `reasons` says.
    public var problem: LineProblem?
    /// The member's dense index, -1 when unknown or when the line is not a record.
    public var member: Int32
    public var category: Category?

    public var eligible: Bool { problem == nil && reasons.isEmpty }
}

/// Counts a gate pass keeps for its manifest. Arrays are indexed by reason bit (then the two
/// gate-only codes), by region group (then "unknown") and by category (then "unknown").
public struct GateTally: Sendable, Equatable {
    public var read = 0
    public var eligible = 0
    public var excluded = 0
    /// Lines that are not valid records (invalid JSON, wrong types): a subset of `excluded`.
    public var malformed = 0
    /// Every reason of every excluded line (a line may count under several).
    public var byReason: [Int]
    /// The first reason of every excluded line: these sum to `excluded`.
    public var byPrimaryReason: [Int]
    public var excludedByRegion: [Int]
    public var excludedByCategory: [Int]
    public var eligibleByRegion: [Int]
    public var eligibleByCategory: [Int]

    /// Codes of the `byReason` slots: the engine's deny reasons, then `malformed` and `missing-field`.
    public static let reasonCodes: [String] = Reason.all.map(\.code) + ["malformed", "missing-field"]
    public static let malformedSlot = Reason.all.count
    public static let missingFieldSlot = Reason.all.count + 1
    /// Codes of the region slots, "unknown" last.
    public static let regionCodes: [String] = RegionGroup.allCases.map(\.code) + ["unknown"]
    /// Codes of the category slots, "unknown" last (also for a missing or unreadable category).
    public static let categoryCodes: [String] = Category.allCases.map(\.code) + ["unknown"]

    public init() {
        byReason = Array(repeating: 0, count: Self.reasonCodes.count)
        byPrimaryReason = byReason
        excludedByRegion = Array(repeating: 0, count: Self.regionCodes.count)
        eligibleByRegion = excludedByRegion
        excludedByCategory = Array(repeating: 0, count: Self.categoryCodes.count)
        eligibleByCategory = excludedByCategory
    }

    /// Codes of an excluded line's reasons, in contract order (gate-only codes for non-records).
    public static func codes(of v: LineVerdict) -> [String] {
        if let p = v.problem { return [p.kind == .malformed ? "malformed" : "missing-field"] }
        return v.reasons.codes
    }
}

/// The decisions of one gate pass. Following ARCHITECTURE.md, the member half of every
/// decision (`DecisionEngine.memberVerdict`) is computed once per member for the pass's
/// purpose and time; each line then costs a field scan, one index lookup and the record half.
/// Both halves are the engine's own functions, so the gate answers exactly what `decide` does.
public struct GateFilter {
    public let purpose: Purpose
    public let at: Micros
    public let policy: Policy
    let engine: DecisionEngine
    public let state: ConsentState
    var verdicts: [MemberVerdict]
    let unknownVerdict: MemberVerdict
    var scanner = RecordScanner()
    public private(set) var tally = GateTally()
    /// Eligible records per member and per category slot (categories the purpose may use).
    var counts: [UInt32]
    /// Category raw value → slot in `counts`, -1 for categories the purpose never uses.
    let slotOfCategory: [Int]
    public let slotCategories: [Category]

    public init(engine: DecisionEngine, state: ConsentState, purpose: Purpose, at: Micros) {
        self.engine = engine
        self.state = state
        self.purpose = purpose
        self.at = at
        let p = engine.policy(at: at)
        policy = p
        var verdicts = [MemberVerdict]()
        verdicts.reserveCapacity(state.memberCount)
        for m in 0..<state.memberCount {
            verdicts.append(engine.memberVerdict(member: Int32(m), purpose: purpose, at: at, in: state, policy: p))
        }
        self.verdicts = verdicts
        unknownVerdict = engine.memberVerdict(member: -1, purpose: purpose, at: at, in: state, policy: p)
        let usable = p.purpose(purpose)?.categories.filter { !$0.isNeverEligible } ?? []
        let slots = Category.allCases.filter { usable.contains($0) }
        slotCategories = slots
        slotOfCategory = Category.allCases.map { c in slots.firstIndex(of: c) ?? -1 }
        counts = Array(repeating: 0, count: state.memberCount * slots.count)
        state.index.withTables(HugePages.advise)
        HugePages.advise(self.verdicts)
        HugePages.advise(counts)
    }

    /// Decides one line (without its newline) and counts it.
    public mutating func classify(_ line: UnsafeRawBufferPointer) -> LineVerdict {
        tally.read += 1
        var v: LineVerdict
        do {
            v = try scanner.scan(line) { id, f in
                let m = state.index.find(id)
                let mv = m >= 0 ? verdicts[Int(m)] : unknownVerdict
                var r = mv.reasons
                r.formUnion(engine.recordReasons(category: f.category, visibility: f.visibility, sensitive: f.sensitive,
                                                 createdAt: f.createdAt, purpose: purpose, verdict: mv, policy: policy))
                return LineVerdict(reasons: r, problem: nil, member: m, category: f.category)
            }
        } catch {
            v = LineVerdict(reasons: ReasonSet(), problem: error, member: -1, category: nil)
        }
        count(v)
        return v
    }

    /// Counts a line the stream excluded without scanning it (longer than it will buffer).
    mutating func countOversized(_ v: LineVerdict) {
        tally.read += 1
        count(v)
    }

    mutating func count(_ v: LineVerdict) {
        let region = v.member >= 0 ? Int(state.region(of: v.member).rawValue) : RegionGroup.allCases.count
        let category = v.category.map { Int($0.rawValue) } ?? Category.allCases.count
        if v.eligible {
            tally.eligible += 1
            tally.eligibleByRegion[region] += 1
            tally.eligibleByCategory[category] += 1
            counts[Int(v.member) * slotCategories.count + slotOfCategory[category]] += 1
            return
        }
        tally.excluded += 1
        tally.excludedByRegion[region] += 1
        tally.excludedByCategory[category] += 1
        if let p = v.problem {
            let slot = p.kind == .malformed ? GateTally.malformedSlot : GateTally.missingFieldSlot
            if p.kind == .malformed { tally.malformed += 1 }
            tally.byReason[slot] += 1
            tally.byPrimaryReason[slot] += 1
            return
        }
        var bits = v.reasons.bits
        tally.byPrimaryReason[bits.trailingZeroBitCount] += 1
        while bits != 0 {
            tally.byReason[bits.trailingZeroBitCount] += 1
            bits &= bits - 1
        }
    }

    /// Eligible record counts of one member, per category (only categories with records).
    public func categoryCounts(member m: Int32) -> [(category: Category, count: Int)] {
        let base = Int(m) * slotCategories.count
        var out: [(Category, Int)] = []
        for (k, c) in slotCategories.enumerated() where counts[base + k] > 0 { out.append((c, Int(counts[base + k]))) }
        return out
    }

    /// Members with at least one eligible record, in ascending order of their id's bytes
    /// (the order a sorted CSV and the registry's index want).
    public func includedMembers() -> [Int32] {
        let k = slotCategories.count
        var included: [Int32] = []
        var sorted = true
        var previous: Int32 = -1
        for m in 0..<state.memberCount {
            var any = false
            for s in 0..<k where counts[m * k + s] != 0 { any = true; break }
            guard any else { continue }
            if previous >= 0, sorted, !state.index.idLess(previous, Int32(m)) { sorted = false }
            included.append(Int32(m))
            previous = Int32(m)
        }
        // The SQLite store loads members in id order, so this is usually already sorted.
        if !sorted { included.sort { state.index.idLess($0, $1) } }
        return included
    }
}
