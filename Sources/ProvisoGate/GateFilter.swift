public import ProvisoCore
import ProvisoStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// The region slot of lines without a known member.
    public static let unknownRegion = RegionGroup.allCases.count
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
    /// Each member's verdict and region, found by id in one read.
    let members: GateMemberTable
    let unknownVerdict: MemberVerdict
    var scanner = RecordScanner()
    public private(set) var tally = GateTally()
    /// Eligible records per member and per category slot (categories the purpose may use).
    var counts: [UInt32]
    /// Where step 3 of `classify` puts what it read, so that the reads are not optimised away.
    var touchSink: UInt32 = 0
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
        members = GateMemberTable(state: state, threads: GateStream.defaultWorkers) { m in
            engine.memberVerdict(member: m, purpose: purpose, at: at, in: state, policy: p)
        }
        unknownVerdict = engine.memberVerdict(member: -1, purpose: purpose, at: at, in: state, policy: p)
        let usable = p.purpose(purpose)?.categories.filter { !$0.isNeverEligible } ?? []
        let slots = Category.allCases.filter { usable.contains($0) }
        slotCategories = slots
        slotOfCategory = Category.allCases.map { c in slots.firstIndex(of: c) ?? -1 }
        counts = Array(repeating: 0, count: state.memberCount * slots.count)
        HugePages.advise(counts)
    }

    /// Lines decided together: enough to overlap the index's memory reads, few enough that
    /// their scratch fits in cache.
    public static let batch = 32

    // Per-batch scratch, allocated once and reused: no allocation per line.
    var batchFields = [RecordFields](repeating: RecordFields(), count: GateFilter.batch)
    var batchKeys = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: GateFilter.batch)
    /// Each key's home slot in the member table, its read started as the line was scanned.
    var batchSlots = [Int](repeating: 0, count: GateFilter.batch)
    var batchEntries = [GateMemberTable.Entry](repeating: GateMemberTable.Entry(), count: GateFilter.batch)
    var batchFound = [Bool](repeating: false, count: GateFilter.batch)
    var batchProblems = [LineProblem?](repeating: nil, count: GateFilter.batch)
    /// 0: scanned, member to look up; 1: member already resolved (escaped id); 2: not a record.
    var batchKinds = [UInt8](repeating: 0, count: GateFilter.batch)

    /// Decides one line (without its newline) and counts it.
    public mutating func classify(_ line: UnsafeRawBufferPointer) -> LineVerdict {
        var result = LineVerdict(reasons: ReasonSet(), problem: nil, member: -1, category: nil)
        withUnsafePointer(to: line) { p in
            withUnsafeMutablePointer(to: &result) { r in
                classify(lines: UnsafeBufferPointer(start: p, count: 1), into: UnsafeMutableBufferPointer(start: r, count: 1))
            }
        }
        return result
    }

    /// Decides up to `batch` lines (each without its newline), in order, and counts them. The
    /// lines' bytes must stay valid for the call: member ids are looked up in place.
    public mutating func classify(lines: UnsafeBufferPointer<UnsafeRawBufferPointer>, into out: UnsafeMutableBufferPointer<LineVerdict>) {
        let n = lines.count
        precondition(n <= Self.batch && out.count >= n)
        // 1. Scan every line; ids that needed unescaping live in the scanner's scratch, so they
        //    are resolved at once (rare), the others are looked up together below.
        let table = members
        for k in 0..<n {
            let line = lines[k]
            do {
                // unowned(unsafe): the filter holds the table for the whole call; a strong
                // capture cost an atomic retain and release per line.
                let (fields, key, entry) = try scanner.scan(line) { [unowned(unsafe) table] id, f -> (RecordFields, UnsafeRawBufferPointer?, GateMemberTable.Entry?) in
                    let base = line.baseAddress!
                    if let p = id.baseAddress, base <= p, p <= base + line.count { return (f, id, nil) }
                    return (f, nil, table.find(id))
                }
                batchFields[k] = fields
                if let key {
                    batchKeys[k] = key
                    batchSlots[k] = table.prefetchSlot(key)
                    batchKinds[k] = 0
                } else {
                    batchFound[k] = entry != nil
                    if let entry { batchEntries[k] = entry }
                    batchKinds[k] = 1
                }
            } catch {
                batchKinds[k] = 2
                batchProblems[k] = error
            }
        }
        // 2. Look the ids up together, overlapping their cache misses.
        batchKeys.withUnsafeBufferPointer { keys in
            batchSlots.withUnsafeBufferPointer { slots in
                batchEntries.withUnsafeMutableBufferPointer { entries in
                    batchFound.withUnsafeMutableBufferPointer { found in
                        var k = 0
                        while k < n {
                            // Runs of lines to look up; resolved and malformed lines are skipped.
                            guard batchKinds[k] == 0 else { k += 1; continue }
                            var e = k
                            while e < n, batchKinds[e] == 0 { e += 1 }
                            table.find(all: UnsafeBufferPointer(rebasing: keys[k..<e]), slots: UnsafeBufferPointer(rebasing: slots[k..<e]),
                                       into: UnsafeMutableBufferPointer(rebasing: entries[k..<e]),
                                       found: UnsafeMutableBufferPointer(rebasing: found[k..<e]))
                            k = e
                        }
                    }
                }
            }
        }
        // 3. Touch the found members' counts together, so that the increments below hit the
        //    cache instead of waiting on one miss per line (the counts are far bigger than it).
        let width = slotCategories.count
        if width > 0 {
            var touched: UInt32 = 0
            counts.withUnsafeBufferPointer { c in
                for k in 0..<n where batchFound[k] { touched &+= c[Int(batchEntries[k].member) * width] }
            }
            touchSink &+= touched
        }
        // 4. Join each line's reasons with its member's verdict, and count.
        for k in 0..<n {
            var v: LineVerdict
            var region = GateTally.unknownRegion
            if batchKinds[k] == 2 {
                v = LineVerdict(reasons: ReasonSet(), problem: batchProblems[k], member: -1, category: nil)
            } else {
                let f = batchFields[k]
                var m: Int32 = -1
                var mv = unknownVerdict
                if batchFound[k] {
                    let e = batchEntries[k]
                    m = e.member
                    region = Int(e.region)
                    mv = table.memberVerdict(e)
                }
                var r = mv.reasons
                r.formUnion(engine.recordReasons(category: f.category, visibility: f.visibility, sensitive: f.sensitive,
                                                 createdAt: f.createdAt, purpose: purpose, verdict: mv, policy: policy))
                v = LineVerdict(reasons: r, problem: nil, member: m, category: f.category)
            }
            tally.read += 1
            count(v, region: region)
            out[k] = v
        }
    }

    /// A filter for another thread: the same read-only tables (shared, not copied), its own
    /// scanner, scratch, tally and counts. Fold it back with `absorb` when the pass ends.
    public func worker() -> GateFilter {
        var w = self
        w.scanner = RecordScanner()
        w.tally = GateTally()
        w.counts = Array(repeating: 0, count: counts.count)
        w.batchFields = batchFields.map { _ in RecordFields() }
        w.batchKeys = batchKeys.map { _ in UnsafeRawBufferPointer(start: nil, count: 0) }
        w.batchSlots = batchSlots.map { _ in 0 }
        w.batchEntries = batchEntries.map { _ in GateMemberTable.Entry() }
        w.batchFound = batchFound.map { _ in false }
        w.batchProblems = batchProblems.map { _ in nil }
        w.batchKinds = batchKinds.map { _ in 0 }
        return w
    }

    /// Adds a worker's tally and counts to this filter's.
    public mutating func absorb(_ w: GateFilter) {
        tally.read += w.tally.read
        tally.eligible += w.tally.eligible
        tally.excluded += w.tally.excluded
        tally.malformed += w.tally.malformed
        func add(_ a: inout [Int], _ b: [Int]) { for i in a.indices { a[i] += b[i] } }
        add(&tally.byReason, w.tally.byReason)
        add(&tally.byPrimaryReason, w.tally.byPrimaryReason)
        add(&tally.excludedByRegion, w.tally.excludedByRegion)
        add(&tally.excludedByCategory, w.tally.excludedByCategory)
        add(&tally.eligibleByRegion, w.tally.eligibleByRegion)
        add(&tally.eligibleByCategory, w.tally.eligibleByCategory)
        counts.withUnsafeMutableBufferPointer { c in
            w.counts.withUnsafeBufferPointer { d in for i in 0..<c.count { c[i] &+= d[i] } }
        }
    }

    /// Decides every line of a segment (complete lines, the last one possibly unterminated),
    /// copying the eligible ones, terminators included, to `eligible` and noting the excluded
    /// ones by their index in the segment. Returns the number of lines.
    mutating func run(segment: UnsafeRawBufferPointer, maxLine: Int, eligible: inout [UInt8],
                      excluded: inout [(index: Int, verdict: LineVerdict)]) -> Int {
        guard let base = segment.baseAddress else { return 0 }
        var full = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: Self.batch)
        var trimmed = full
        var verdicts = [LineVerdict](repeating: LineVerdict(reasons: ReasonSet(), problem: nil, member: -1, category: nil), count: Self.batch)
        var lines = 0
        var pending = 0
        func flush() {
            trimmed.withUnsafeBufferPointer { t in
                verdicts.withUnsafeMutableBufferPointer { v in classify(lines: UnsafeBufferPointer(rebasing: t[0..<pending]), into: v) }
            }
            for k in 0..<pending {
                if verdicts[k].eligible { eligible.append(contentsOf: full[k]) } else { excluded.append((lines + k, verdicts[k])) }
            }
            lines += pending
            pending = 0
        }
        // Newlines are found a batch at a time (one vector compare per 64 bytes).
        var newlines = [Int](repeating: 0, count: Self.batch)
        var found = 0, next = 0
        var start = 0
        while start < segment.count {
            if next == found {
                found = newlines.withUnsafeMutableBufferPointer { LineSplitter.newlines(in: segment, from: start, into: $0) }
                next = 0
            }
            let stop: Int, cut: Int
            if next < found {
                stop = newlines[next] + 1
                next += 1
                cut = 1
            } else {
                stop = segment.count
                cut = 0
            }
            if stop - start - cut > maxLine {
                // Too long to be a record this gate will hold: excluded whatever it contains,
                // so the answer never depends on where a read happened to split the input.
                if pending > 0 { flush() }
                let v = LineVerdict(reasons: ReasonSet(), problem: Self.tooLong(maxLine), member: -1, category: nil)
                tally.read += 1
                count(v)
                excluded.append((lines, v))
                lines += 1
                start = stop
                continue
            }
            full[pending] = UnsafeRawBufferPointer(start: base + start, count: stop - start)
            trimmed[pending] = UnsafeRawBufferPointer(start: base + start, count: stop - start - cut)
            pending += 1
            if pending == Self.batch { flush() }
            start = stop
        }
        if pending > 0 { flush() }
        return lines
    }

    /// Counts a line the stream excluded without scanning it (longer than it will buffer).
    mutating func countOversized(_ v: LineVerdict) {
        tally.read += 1
        count(v)
    }

    static func tooLong(_ maxLine: Int) -> LineProblem {
        LineProblem(kind: .malformed, message: "line longer than the gate's line limit (16 MiB)", offset: maxLine)
    }

    /// Adds the counts of over-long lines kept apart from the lanes' tallies.
    mutating func addOversized(_ t: GateTally) {
        tally.read += t.read
        tally.excluded += t.excluded
        tally.malformed += t.malformed
        for i in tally.byReason.indices {
            tally.byReason[i] += t.byReason[i]
            tally.byPrimaryReason[i] += t.byPrimaryReason[i]
        }
        for i in tally.excludedByRegion.indices { tally.excludedByRegion[i] += t.excludedByRegion[i] }
        for i in tally.excludedByCategory.indices { tally.excludedByCategory[i] += t.excludedByCategory[i] }
    }

    /// Counts a line; `region` is its member's region group slot (`GateTally.unknownRegion` for none).
    mutating func count(_ v: LineVerdict, region: Int = GateTally.unknownRegion) {
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

    /// Eligible record counts of one member, per category with records, in the registry's
    /// stored form (`{"post":3,"comment":1}`), appended as bytes.
    public func appendCounts(member m: Int32, to out: inout [UInt8]) {
        let base = Int(m) * slotCategories.count
        out.append(0x7B)
        var first = true
        for k in 0..<slotCategories.count where counts[base + k] > 0 {
            if !first { out.append(0x2C) }
            first = false
            CategoryCount.appendField(slotCategories[k], Int(counts[base + k]), to: &out)
        }
        out.append(0x7D)
    }

    /// How many of the member's records were eligible (all categories).
    public func recordCount(member m: Int32) -> Int {
        let base = Int(m) * slotCategories.count
        var n = 0
        for k in 0..<slotCategories.count { n += Int(counts[base + k]) }
        return n
    }

    /// Members with at least one eligible record, in ascending order of their id's bytes
    /// (the order a sorted CSV and the registry's index want). Found on two threads for big
    /// sets (one half of the members each); the halves are put together in order.
    public func includedMembers() -> [Int32] {
        let k = slotCategories.count
        let n = state.memberCount
        let parts = n >= 1 << 16 ? 2 : 1
        let found = (0..<parts).map { _ in Handoff<(members: [Int32], sorted: Bool)>(([], true)) }
        let me = UnsafeSendable(self)
        Workers.perform(parts, "gate.included") { p in
            let filter = me.value
            var list: [Int32] = []
            var sorted = true
            var previous: Int32 = -1
            for m in (n * p / parts)..<(n * (p + 1) / parts) {
                var any = false
                for s in 0..<k where filter.counts[m * k + s] != 0 { any = true; break }
                guard any else { continue }
                if previous >= 0, sorted, !filter.state.index.idLess(previous, Int32(m)) { sorted = false }
                list.append(Int32(m))
                previous = Int32(m)
            }
            found[p].value = (list, sorted)
        }
        var included = found[0].value.members
        var sorted = found[0].value.sorted
        for part in found.dropFirst() {
            if sorted, let last = included.last, let first = part.value.members.first, !state.index.idLess(last, first) { sorted = false }
            sorted = sorted && part.value.sorted
            included += part.value.members
        }
        // Stores load members in id order (SQLite's checkpoint puts members registered after
        // it last, in ledger order), so this is sorted or nearly: the sort keeps sorted runs.
        if !sorted { included.sort { state.index.idLess($0, $1) } }
        return included
    }
}
