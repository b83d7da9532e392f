public import ProvisoCore
public import ProvisoStore

/// A member whose data a snapshot holds but who is no longer eligible: downstream teams drop
/// their records before the next training run.
public struct Retraction: Sendable, Equatable {
    public var memberID: String
    /// Why, in contract order (the union over the member's categories in the snapshot).
    public var reasons: ReasonSet
    /// The categories of the snapshot's records of this member that are no longer eligible.
    public var categories: [Category]

    public init(memberID: String, reasons: ReasonSet, categories: [Category]) {
        self.memberID = memberID
        self.reasons = reasons
        self.categories = categories
    }
}

/// Re-decides a snapshot's members at a later time. What can change after a snapshot is
/// about the member (a choice, a closed account, a minor flag, a region's scope) or the
/// policy (a category dropped from the purpose); the records' own audience, sensitivity and
/// dates were checked when they went through and are not stored, so they are taken as they
/// were then. A member the store no longer knows, or a purpose the policy no longer defines,
/// is retracted (fail closed).
public struct RetractionCheck: Sendable {
    let engine: DecisionEngine
    let state: ConsentState
    let purpose: Purpose?
    let at: Micros

    public init(engine: DecisionEngine, state: ConsentState, snapshot: Snapshot, at: Micros) {
        self.engine = engine
        self.state = state
        purpose = Purpose(code: snapshot.purpose)
        self.at = at
    }

    /// The retraction for one member of the snapshot, nil if all their records still qualify.
    public func check(_ member: SnapshotMember) -> Retraction? {
        let p = engine.policy(at: at)
        let m = state.memberIndex(member.memberID)
        let v = engine.memberVerdict(member: m, purpose: purpose, at: at, in: state, policy: p)
        var reasons = ReasonSet()
        var categories: [Category] = []
        for c in member.counts {
            var r = v.reasons
            // The record passed its own checks when it went through: public, not sensitive, in date.
            r.formUnion(engine.recordReasons(category: c.category, visibility: .public, sensitive: false,
                                             createdAt: .max, purpose: purpose, verdict: v, policy: p))
            if !r.isEmpty {
                reasons.formUnion(r)
                categories.append(c.category)
            }
        }
        if member.counts.isEmpty { reasons.formUnion(v.reasons) }
        return reasons.isEmpty ? nil : Retraction(memberID: member.memberID, reasons: reasons, categories: categories)
    }

    /// Walks a snapshot's member set page by page from the store, so any snapshot size fits;
    /// the answer is in member id order.
    public func all(in store: some SnapshotStore, snapshot: String) async throws(StoreError) -> [Retraction] {
        var out: [Retraction] = []
        var page = 0
        while let members = try await store.snapshotMembers(id: snapshot, page: page) {
            for m in members { if let r = check(m) { out.append(r) } }
            page += 1
        }
        out.sort { $0.memberID.utf8.lexicographicallyPrecedes($1.memberID.utf8) }
        return out
    }
}
