public import ProvisoCore
public import ProvisoStore
import ProvisoGate

/// The compliance figures per region group and purpose, computed from the projection of the
/// ledger (never from a cache of its own), so the dashboard, the CSV and the JSON agree with
/// the ledger and with each other. Aggregates only: no member id appears anywhere in it.
public struct ComplianceReport: Sendable, Equatable {
    /// One region group × purpose.
    public struct Scope: Sendable, Equatable {
        public var region: RegionGroup
        public var purpose: Purpose
        /// Members of the region, account open at T, whose region is in scope for the purpose at T.
        public var inScope: Int
        /// Of those, whose gating setting is effectively on / off at T.
        public var on: Int
        public var off: Int
        /// Where the effective values come from: `default-on`, `default-off`, `member-choice-on`,
        /// `member-choice-off`, `gpc`, `dependency` → members.
        public var sources: [String: Int]
        /// In-scope members excluded as minors whatever their setting (the purpose excludes minors).
        public var minorsExcluded: Int
        /// Choices recorded for the gating setting up to T by members of the region, by channel code.
        public var choicesByChannel: [String: Int]

        public var offShare: Double { inScope == 0 ? 0 : Double(off) / Double(inScope) }
    }

    /// A snapshot and how many of its members must now be removed from it.
    public struct SnapshotFigure: Sendable, Equatable {
        public var id: String
        public var name: String?
        public var purpose: String
        public var asOf: Micros
        public var members: Int
        public var openRetractions: Int
    }

    /// Opt-out share of one region × purpose at each point in `points`.
    public struct Series: Sendable, Equatable {
        public var region: RegionGroup
        public var purpose: Purpose
        /// Share in 0…1 at each point; nil where nobody of the region was in scope.
        public var offShare: [Double?]
    }

    /// The hash chain recomputed from the first event to the head, when the report was made.
    public struct LedgerCheck: Sendable, Equatable {
        public var events: Int64
        public var intact: Bool
        /// Where and why the chain breaks, when it does.
        public var firstBreak: String?
        public var headHash: String
    }

    public var asOf: Micros
    public var policyVersion: String
    public var ledgerSeq: Int64
    public var scopes: [Scope]
    public var notices: [NoticeReportRow]
    public var snapshots: [SnapshotFigure]
    /// The times the series are sampled at, oldest first, the last being `asOf`.
    public var points: [Micros]
    public var series: [Series]
    public var ledger: LedgerCheck

    /// Monthly points: the first day of each of the `months` months before `t`, then `t`.
    public static func monthlyPoints(endingAt t: Micros, months: Int) -> [Micros] {
        let (y, m, _) = Time.civil(dayNumber: Int(t / Time.microsPerDay))
        var out: [Micros] = []
        for k in stride(from: months - 1, through: 0, by: -1) {
            var mm = m - k, yy = y
            while mm < 1 { mm += 12; yy -= 1 }
            let p = Time.micros(dayNumber: Time.dayNumber(year: yy, month: mm, day: 1))
            if p < t { out.append(p) }
        }
        out.append(t)
        return out
    }

    /// Computes every figure as of `t` (the policy in force at `t`; the state as loaded or tailed).
    /// `months` sets how far back the opt-out series go.
    public static func build(engine: DecisionEngine, state: ConsentState, store: some ConsentStore, at t: Micros,
                             months: Int = 12) async throws(StoreError) -> ComplianceReport {
        let policy = engine.policy(at: t)
        var scopes: [Scope] = []
        var index: [Int] = []  // (region, purpose) -> position in scopes, -1 when the pair is not reported
        index = [Int](repeating: -1, count: RegionGroup.allCases.count * policy.purposes.count)
        for (pi, p) in policy.purposes.enumerated() {
            for r in RegionGroup.allCases where policy.rule(p.id, r) != nil {
                index[Int(r.rawValue) * policy.purposes.count + pi] = scopes.count
                scopes.append(Scope(region: r, purpose: p.id, inScope: 0, on: 0, off: 0, sources: [:], minorsExcluded: 0, choicesByChannel: [:]))
            }
        }
        // Per region group, the report rows that concern it, so each member is visited once per
        // point; counts go into flat arrays (no hashing, no copies of policy values per member).
        var byRegion = [[ReportRow]](repeating: [], count: RegionGroup.allCases.count)
        for (k, row) in scopes.enumerated() {
            guard let def = policy.purpose(row.purpose), let rule = policy.rule(row.purpose, row.region) else { continue }
            byRegion[Int(row.region.rawValue)].append(ReportRow(index: k, gate: def.gatedBy, excludeMinors: def.excludeMinors,
                                                          from: Time.micros(dayNumber: rule.inScopeFrom)))
        }
        let sourceKinds = EffectiveSource.allCases
        var sources = [Int](repeating: 0, count: scopes.count * sourceKinds.count)
        var channels = [Int](repeating: 0, count: scopes.count * Channel.allCases.count)
        for i in 0..<Int32(state.memberCount) {
            if let closed = state.closingTime(of: i), closed <= t { continue }
            let rows = byRegion[Int(state.region(of: i).rawValue)]
            guard !rows.isEmpty else { continue }
            let history = state.history(member: i)
            let minor = state.isSuspectedMinor(i) || t < state.adultAt(i)
            for r in rows {
                for c in history where c.setting == r.gate && c.effectiveAt <= t {
                    channels[r.index * Channel.allCases.count + Int(c.channel.rawValue)] += 1
                }
                guard r.from <= t else { continue }
                let e = engine.effective(member: i, setting: r.gate, at: t, in: state, policy: policy)
                scopes[r.index].inScope += 1
                if e.on { scopes[r.index].on += 1 } else { scopes[r.index].off += 1 }
                sources[r.index * sourceKinds.count + sourceKinds.firstIndex(of: e.source)!] += 1
                if r.excludeMinors, minor { scopes[r.index].minorsExcluded += 1 }
            }
        }
        for k in scopes.indices {
            for (j, kind) in sourceKinds.enumerated() where sources[k * sourceKinds.count + j] > 0 {
                scopes[k].sources[kind.code] = sources[k * sourceKinds.count + j]
            }
            for (j, channel) in Channel.allCases.enumerated() where channels[k * Channel.allCases.count + j] > 0 {
                scopes[k].choicesByChannel[channel.code] = channels[k * Channel.allCases.count + j]
            }
        }
        let points = monthlyPoints(endingAt: t, months: months)
        var series: [Series] = scopes.map { Series(region: $0.region, purpose: $0.purpose, offShare: []) }
        for point in points {
            let pp = engine.policy(at: point)
            var rowsAt = [[(row: Int, gate: SettingID)]](repeating: [], count: RegionGroup.allCases.count)
            for (k, row) in scopes.enumerated() {
                guard let def = pp.purpose(row.purpose), let rule = pp.rule(row.purpose, row.region),
                      Time.micros(dayNumber: rule.inScopeFrom) <= point else { continue }
                rowsAt[Int(row.region.rawValue)].append((k, def.gatedBy))
            }
            var inScope = [Int](repeating: 0, count: scopes.count), off = inScope
            for i in 0..<Int32(state.memberCount) {
                if let closed = state.closingTime(of: i), closed <= point { continue }
                for (k, gate) in rowsAt[Int(state.region(of: i).rawValue)] {
                    inScope[k] += 1
                    if !engine.isOn(member: i, setting: gate, at: point, in: state, policy: pp) { off[k] += 1 }
                }
            }
            for k in series.indices { series[k].offShare.append(inScope[k] == 0 ? nil : Double(off[k]) / Double(inScope[k])) }
        }
        var snapshots: [SnapshotFigure] = []
        for s in try await store.snapshots() {
            let open = try await RetractionCheck(engine: engine, state: state, snapshot: s, at: t).all(in: store, snapshot: s.id).count
            snapshots.append(SnapshotFigure(id: s.id, name: s.name, purpose: s.purpose, asOf: s.asOf, members: s.memberCount, openRetractions: open))
        }
        let chain = try await store.verify()
        let ledger = LedgerCheck(events: chain.checked, intact: chain.failure == nil, firstBreak: chain.failure?.description,
                                 headHash: LedgerHash.hex(chain.head))
        return ComplianceReport(asOf: t, policyVersion: policy.version, ledgerSeq: state.ledgerSeq, scopes: scopes,
                                notices: try await store.noticeReport(), snapshots: snapshots, points: points, series: series, ledger: ledger)
    }
}

/// One report row as the member pass needs it: where to count, which setting, whether minors
/// are excluded, and since when the region is in scope.
struct ReportRow {
    var index: Int
    var gate: SettingID
    var excludeMinors: Bool
    var from: Micros
}
