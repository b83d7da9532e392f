/// One recorded choice in a member's history, compact for the projection.
public struct Choice: Sendable, Equatable {
    public var effectiveAt: Micros
    /// Ledger sequence: breaks ties between equal effective times (later recorded wins).
    public var seq: Int64
    public var setting: SettingID
    public var on: Bool
    public var channel: Channel

    public init(effectiveAt: Micros, seq: Int64, setting: SettingID, on: Bool, channel: Channel) {
        self.effectiveAt = effectiveAt
        self.seq = seq
        self.setting = setting
        self.on = on
        self.channel = channel
    }

    @inlinable func precedes(_ o: Choice) -> Bool {
        effectiveAt != o.effectiveAt ? effectiveAt < o.effectiveAt : seq < o.seq
    }
}

/// The in-memory projection of the ledger that decisions read: a dense index per member and
/// struct-of-arrays attributes; histories exist only for members who made choices. The
/// ledger stays the source of truth; this is rebuilt or tailed from it.
public struct ConsentState: Sendable {
    public internal(set) var index: MemberIndex
    @usableFromInline var regions: [UInt8] = []
    /// bit 0: suspected minor; bit 1: has a closing time (see `closedAt`).
    @usableFromInline var flags: [UInt8] = []
    @usableFromInline var adultDays: [Int32] = []
    @usableFromInline var historyRefs: [Int32] = []
    @usableFromInline var histories: [[Choice]] = []
    @usableFromInline var closedAt: [Int32: Micros] = [:]
    /// The last ledger sequence applied.
    public var ledgerSeq: Int64 = 0
    /// False when the owner cannot confirm this view is current; decisions then deny with
    /// `state-unavailable` (fail closed).
    public var isCurrent = true

    public init(capacity: Int = 16) {
        index = MemberIndex(capacity: capacity)
        regions.reserveCapacity(capacity)
        flags.reserveCapacity(capacity)
        adultDays.reserveCapacity(capacity)
        historyRefs.reserveCapacity(capacity)
    }

    /// Number of members known.
    @inlinable public var memberCount: Int { regions.count }

    /// The dense index of a member id, or -1.
    public func memberIndex(_ id: String) -> Int32 { index.find(id) }

    /// The same for an id's bytes.
    public func memberIndex(_ id: UnsafeRawBufferPointer) -> Int32 { index.find(id) }

    /// Adds or replaces a member's attributes.
    public mutating func upsert(_ m: Member) {
        upsert(id: m.id, region: m.region, birthDay: m.birthDay, suspectedMinor: m.suspectedMinor, closedAt: m.closedAt)
    }

    /// The same from a store's row, already decoded (replaying members after a checkpoint).
    public mutating func upsert(id: String, region: RegionGroup, birthDay: Int, suspectedMinor: Bool, closedAt closed: Micros?) {
        let (i, inserted) = index.insert(id)
        let flag: UInt8 = (suspectedMinor ? 1 : 0) | (closed != nil ? 2 : 0)
        let region = region.rawValue
        let adult = Int32(clamping: Time.anniversary(of: birthDay, years: 18))
        if inserted {
            regions.append(region)
            flags.append(flag)
            adultDays.append(adult)
            historyRefs.append(-1)
        } else {
            regions[Int(i)] = region
            flags[Int(i)] = flag
            adultDays[Int(i)] = adult
        }
        if closed != nil || !inserted { closedAt[i] = closed }
    }

    /// Adds a member known to be new, for bulk loads from a store whose primary key makes ids
    /// unique. Lookups are wrong until `finishLoading()` has indexed the ids.
    public mutating func appendLoaded(_ m: Member) {
        var id = m.id
        id.withUTF8 { appendLoaded(id: UnsafeRawBufferPointer($0), region: m.region, birthDay: m.birthDay,
                                   suspectedMinor: m.suspectedMinor, closedAt: m.closedAt) }
    }

    /// The same from a store's raw row: the id's bytes and the fields already decoded, so that
    /// loading millions of members makes no `String` or `Member` per row.
    public mutating func appendLoaded(id: UnsafeRawBufferPointer, region: RegionGroup, birthDay: Int, suspectedMinor: Bool, closedAt closed: Micros?) {
        let i = index.appendUnindexed(id)
        regions.append(region.rawValue)
        flags.append((suspectedMinor ? 1 : 0) | (closed != nil ? 2 : 0))
        adultDays.append(Int32(clamping: Time.anniversary(of: birthDay, years: 18)))
        historyRefs.append(-1)
        if let closed { closedAt[i] = closed }
    }

    /// Indexes the members added with `appendLoaded`.
    public mutating func finishLoading() { index.rebuild() }

    /// Records a choice in the member's history, keeping it ordered by (effective time, seq).
    public mutating func apply(_ c: Choice, member i: Int32) {
        var ref = historyRefs[Int(i)]
        if ref < 0 {
            ref = Int32(histories.count)
            histories.append([])
            historyRefs[Int(i)] = ref
        }
        // The same event can arrive twice (written here, then seen again tailing the ledger):
        // applying it once is the rule, so the projection never depends on delivery order.
        if histories[Int(ref)].contains(where: { $0.seq == c.seq }) { return }
        var h = histories[Int(ref)]
        histories[Int(ref)] = []  // keep the array uniquely referenced while we edit it
        var pos = h.count
        while pos > 0, c.precedes(h[pos - 1]) { pos -= 1 }
        h.insert(c, at: pos)
        histories[Int(ref)] = h
    }

    /// Applies one ledger event (used when tailing the ledger). Unknown members in a setting
    /// event are ignored: the store refuses such events, so they cannot be in a valid ledger.
    public mutating func apply(_ e: LedgerEvent) {
        switch e.kind {
        case .memberRegistered, .memberChanged:
            if let payload = e.draft.payload, let json = try? JSON.parse(payload),
               let m = try? Member.from(json: json, now: .max) {
                upsert(m)
            }
        case .settingChanged:
            if let id = e.memberID, let s = e.draft.setting, let v = e.draft.value, let at = e.draft.effectiveAt {
                let i = index.find(id)
                if i >= 0 { apply(Choice(effectiveAt: at, seq: e.seq, setting: s, on: v, channel: e.draft.channel ?? .api), member: i) }
            }
        case .policyActivated, .policyPublished:
            break
        }
        ledgerSeq = max(ledgerSeq, e.seq)
    }

    /// The member's latest choice for a setting effective at or before `t`.
    @inlinable
    public func latestChoice(member i: Int32, setting: SettingID, at t: Micros) -> Choice? {
        let ref = historyRefs[Int(i)]
        guard ref >= 0 else { return nil }
        return histories[Int(ref)].withUnsafeBufferPointer { h in
            var k = h.count - 1
            while k >= 0 {
                let c = h[k]
                if c.setting == setting, c.effectiveAt <= t { return c }
                k -= 1
            }
            return nil
        }
    }

    /// All choices of a member, in effective order.
    public func history(member i: Int32) -> [Choice] {
        let ref = historyRefs[Int(i)]
        return ref < 0 ? [] : histories[Int(ref)]
    }

    @inlinable public func region(of i: Int32) -> RegionGroup { RegionGroup(rawValue: regions[Int(i)]) ?? .row }
    @inlinable public func isSuspectedMinor(_ i: Int32) -> Bool { flags[Int(i)] & 1 != 0 }
    @inlinable public func adultAt(_ i: Int32) -> Micros { Int64(adultDays[Int(i)]) * Time.microsPerDay }
    @inlinable public func closingTime(of i: Int32) -> Micros? { flags[Int(i)] & 2 == 0 ? nil : closedAt[i] }

    /// Members that have at least one recorded choice.
    public var membersWithHistory: Int { histories.count }

    /// Approximate bytes held, for the per-member memory figure in benchmarks.
    public var byteCount: Int {
        var total = index.byteCount + regions.capacity + flags.capacity + adultDays.capacity * 4 + historyRefs.capacity * 4
        total += histories.capacity * 8
        for h in histories { total += 32 + h.capacity * MemoryLayout<Choice>.stride }
        total += closedAt.capacity * 16
        return total
    }

    /// Reserves room for `n` more members (bulk loads).
    public mutating func reserve(additional n: Int) {
        index.reserve(additional: n)
        regions.reserveCapacity(regions.count + n)
        flags.reserveCapacity(flags.count + n)
        adultDays.reserveCapacity(adultDays.count + n)
        historyRefs.reserveCapacity(historyRefs.count + n)
    }
}
