public import ProvisoCore

extension PolicyStore {
    /// The versions decisions use: the baseline (the built-in or given policy, in force until
    /// the first publication takes effect) and every published version. A stored version that
    /// no longer parses is reported as corruption, never skipped (fail closed).
    public func policyVersions(baseline: Policy) async throws(StoreError) -> [Policy] {
        var versions = [baseline]
        for p in try await publishedPolicies() {
            do {
                let parsed = try Policy.parse(p.text)
                if parsed.version == baseline.version { versions.removeAll { $0.version == baseline.version } }
                versions.append(parsed)
            } catch {
                throw .corrupt("published policy \(p.version) no longer validates: \(error)")
            }
        }
        return versions
    }
}

/// An accepted publication: the stored version, what it widens, and how many notices went out.
public struct Publication: Sendable {
    public var published: PublishedPolicy
    public var widenings: [Widening]
    public var notified: Int
}

/// Why a publication was refused. Nothing is stored in any of these cases.
public enum PublishError: Error, Sendable, CustomStringConvertible {
    /// The version widens use without the notice its purposes require.
    case insufficientNotice([NoticeShortfall])
    /// The version has no `effective_from`, or one before its publication.
    case effectiveDate(String)
    /// The version string is already published.
    case duplicate(String)
    case store(StoreError)

    public var description: String {
        switch self {
        case let .insufficientNotice(s):
            "refused: not enough notice for \(s.count) widening\(s.count == 1 ? "" : "s"), nothing was published:\n"
                + s.map { "  \($0)" }.joined(separator: "\n")
        case let .effectiveDate(why): "refused: \(why)"
        case let .duplicate(v): "refused: policy version \(v) is already published (versions are immutable; publish a new version)"
        case let .store(e): "\(e)"
        }
    }
}

/// Publishes policy versions with the notice rule enforced: a version that widens use for a
/// purpose in a region group must take effect at least that purpose's notice period after
/// publication. It is compared with the version it replaces at its effective date.
public struct PolicyPublisher: Sendable {
    let store: any ConsentStore
    let baseline: Policy
    /// Base address for links in notice emails (e.g. `https://proviso.example`); "" for relative links.
    let siteURL: String

    public init(store: any ConsentStore, baseline: Policy, siteURL: String = "") {
        self.store = store
        self.baseline = baseline
        self.siteURL = siteURL
    }

    /// What publishing `new` at `at` would widen, and the notice shortfalls (empty when it may go ahead).
    public func review(_ new: Policy, at: Micros) async throws(PublishError) -> (replaces: Policy, widenings: [Widening], shortfalls: [NoticeShortfall]) {
        guard let day = new.effectiveFrom else {
            throw .effectiveDate("a published policy needs effective_from: the day (00:00 UTC) it takes effect")
        }
        guard Time.micros(dayNumber: day) >= at - at % Time.microsPerDay else {
            throw .effectiveDate("effective_from \(Time.formatDate(dayNumber: day)) is before the publication date; decisions already made cannot be changed")
        }
        let versions: [Policy]
        do { versions = try await store.policyVersions(baseline: baseline) } catch { throw .store(error) }
        if versions.contains(where: { $0.version == new.version }) { throw .duplicate(new.version) }
        let replaced = DecisionEngine(policies: versions).policy(at: Time.micros(dayNumber: day))
        var shortfalls = PolicyChange.shortfalls(publishing: new, over: replaced, at: at)
        // A version scheduled after this one will then replace this one instead: it must
        // still have given its notice measured against this one.
        let published: [PublishedPolicy]
        do { published = try await store.publishedPolicies() } catch { throw .store(error) }
        if let next = published.filter({ ($0.effectiveFrom ?? .min) > day }).min(by: { ($0.effectiveFrom ?? 0) < ($1.effectiveFrom ?? 0) }),
           let successor = versions.first(where: { $0.version == next.version }) {
            shortfalls += PolicyChange.shortfalls(publishing: successor, over: new, at: next.publishedAt)
        }
        return (replaced, PolicyChange.widenings(from: replaced, to: new), shortfalls)
    }

    /// Publishes `new` at `at` if every widening has its notice; otherwise refuses, naming each.
    /// The notices to every affected member in `state` are delivered in the same step.
    public func publish(_ new: Policy, at: Micros, actor: String, state: ConsentState) async throws(PublishError) -> Publication {
        let review = try await review(new, at: at)
        guard review.shortfalls.isEmpty else { throw .insufficientNotice(review.shortfalls) }
        let notices = Self.deliveries(new, widenings: review.widenings, state: state, at: at, siteURL: siteURL)
        do {
            let published = try await store.publishPolicy(new, publishedAt: at, actor: actor, notices: notices)
            return Publication(published: published, widenings: review.widenings, notified: notices.count)
        } catch StoreError.conflict {
            throw .duplicate(new.version)
        } catch {
            throw .store(error)
        }
    }
}

extension PolicyPublisher {
    /// One notice per affected member and widened purpose: every member whose region group
    /// the version widens, except closed accounts. A member whose latest choice for the
    /// purpose's switch is "on" is asked to confirm it.
    static func deliveries(_ new: Policy, widenings: [Widening], state: ConsentState, at: Micros, siteURL: String) -> [NoticeDelivery] {
        guard !widenings.isEmpty, let day = new.effectiveFrom else { return [] }
        // (region, purpose) → change codes, in the order found.
        var byRegion: [[(Purpose, [String])]] = Array(repeating: [], count: RegionGroup.allCases.count)
        for w in widenings {
            let r = Int(w.region.rawValue)
            if let i = byRegion[r].firstIndex(where: { $0.0 == w.purpose }) { byRegion[r][i].1.append(w.kind.code) }
            else { byRegion[r].append((w.purpose, [w.kind.code])) }
        }
        let date = Time.formatHuman(Time.micros(dayNumber: day))
        var out: [NoticeDelivery] = []
        for m in 0..<Int32(state.memberCount) {
            if let closed = state.closingTime(of: m), closed <= at { continue }
            let region = state.region(of: m)
            for (purpose, changes) in byRegion[Int(region.rawValue)] {
                guard let gate = new.purpose(purpose)?.gatedBy else { continue }
                let asks = state.latestChoice(member: m, setting: gate, at: at)?.on == true
                let notice = Notice(memberID: state.index.id(at: m), policyVersion: new.version, purpose: purpose, region: region,
                                    changes: changes, effectiveDay: day, deliveredAt: at, asksConfirmation: asks)
                let label = new.label(of: gate)
                var body = "From \(date), \(label) changes for members in your region (policy \(new.version)):\n"
                for c in changes { body += "  - it \(WideningKind(code: c)?.sentence ?? c)\n" }
                if asks { body += "\nYou turned this on earlier. Please confirm it is still what you want; it stays on until you change it.\n" }
                body += "\nReview or change it: \(siteURL)/settings#\(gate.code)\n"
                out.append(NoticeDelivery(notice: notice, subject: "From \(date): a change to \(label)", body: body))
            }
        }
        return out
    }
}
