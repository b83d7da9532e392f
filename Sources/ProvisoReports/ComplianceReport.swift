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

    public var asOf: Micros
    public var policyVersion: String
    public var ledgerSeq: Int64
    public var scopes: [Scope]
    public var notices: [NoticeReportRow]
    public var snapshots: [SnapshotFigure]
    /// The times the series are sampled at, oldest first, the last being `asOf`.
    public var points: [Micros]
    public var series: [Series]

    /// Source code of an effective setting, as the report counts it.
    static func sourceCode(_ s: SettingStatus) -> String {
        switch s.source {
        case .memberChoice: s.on ? "member-choice-on" : "member-choice-off"
        case .gpc: "gpc"
        case let .regionalDefault(on, _): on ? "default-on" : "default-off"
        case .notInScope: "not-in-scope"
        case .dependency: "dependency"
        }
    }

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
        for i in 0..<Int32(state.memberCount) {
            if let closed = state.closingTime(of: i), closed <= t { continue }
            let region = state.region(of: i)
            let history = state.history(member: i)
            for (pi, p) in policy.purposes.enumerated() {
                let k = index[Int(region.rawValue) * policy.purposes.count + pi]
                guard k >= 0, let rule = policy.rule(p.id, region) else { continue }
                for c in history where c.setting == p.gatedBy && c.effectiveAt <= t {
                    scopes[k].choicesByChannel[c.channel.code, default: 0] += 1
                }
                guard Time.micros(dayNumber: rule.inScopeFrom) <= t else { continue }
                let st = engine.status(member: i, setting: p.gatedBy, at: t, in: state, policy: policy)
                scopes[k].inScope += 1
                if st.on { scopes[k].on += 1 } else { scopes[k].off += 1 }
                scopes[k].sources[sourceCode(st), default: 0] += 1
                if p.excludeMinors, state.isSuspectedMinor(i) || t < state.adultAt(i) { scopes[k].minorsExcluded += 1 }
            }
        }
        let points = monthlyPoints(endingAt: t, months: months)
        var series: [Series] = scopes.map { Series(region: $0.region, purpose: $0.purpose, offShare: []) }
        for point in points {
            let pp = engine.policy(at: point)
            var inScope = [Int](repeating: 0, count: scopes.count), off = inScope
            for i in 0..<Int32(state.memberCount) {
                if let closed = state.closingTime(of: i), closed <= point { continue }
                let region = state.region(of: i)
                for (k, s) in scopes.enumerated() where s.region == region {
                    guard let def = pp.purpose(s.purpose), let rule = pp.rule(s.purpose, region),
                          Time.micros(dayNumber: rule.inScopeFrom) <= point else { continue }
                    inScope[k] += 1
                    if !engine.status(member: i, setting: def.gatedBy, at: point, in: state, policy: pp).on { off[k] += 1 }
                }
            }
            for k in series.indices { series[k].offShare.append(inScope[k] == 0 ? nil : Double(off[k]) / Double(inScope[k])) }
        }
        var snapshots: [SnapshotFigure] = []
        for s in try await store.snapshots() {
            let open = try await RetractionCheck(engine: engine, state: state, snapshot: s, at: t).all(in: store, snapshot: s.id).count
            snapshots.append(SnapshotFigure(id: s.id, name: s.name, purpose: s.purpose, asOf: s.asOf, members: s.memberCount, openRetractions: open))
        }
        return ComplianceReport(asOf: t, policyVersion: policy.version, ledgerSeq: state.ledgerSeq, scopes: scopes,
                                notices: try await store.noticeReport(), snapshots: snapshots, points: points, series: series)
    }
}
