public import ProvisoCore
public import ProvisoStore
import Synchronization

/// The consent core as the server holds it: the store (source of truth), the engine, and the
/// in-memory projection that decisions read. A write updates the ledger first, then the
/// projection, so a client reads its own writes on this instance.
public final class ConsentService: Sendable {
    public let store: any ConsentStore
    let engineBox: Mutex<DecisionEngine>
    /// The policy versions in force; replaced whole when a version is published.
    public var engine: DecisionEngine { engineBox.withLock { $0 } }
    /// The built-in (or given) policy in force before any published version.
    public let baseline: Policy
    let state: Mutex<ConsentState>
    let signingKey = Mutex<ReceiptKey?>(nil)
    let gpcInFlight = Mutex<Set<String>>([])
    /// Tailing: the ledger sequence up to which every event has been applied (contiguous),
    /// and when the store last confirmed nothing newer existed. Decisions deny with
    /// `state-unavailable` once that confirmation is older than `stalenessBound`.
    let tail = Mutex<(seq: Int64, confirmedAt: Micros?)>((0, nil))
    /// How old the last confirmation may be before decisions fail closed; nil: not tailing.
    let stalenessBound = Mutex<Micros?>(nil)
    /// The `iss` of receipts.
    public let issuer: String
    /// The ledger sequence at the last checkpoint renewal this instance asked for (its load,
    /// to begin with), and whether one is running.
    let renewal: Mutex<(seq: Int64, running: Bool)>

    public init(store: any ConsentStore, engine: DecisionEngine, state: ConsentState, issuer: String = "proviso", baseline: Policy? = nil) {
        self.store = store
        tail.withLock { $0.seq = state.ledgerSeq }
        engineBox = Mutex(engine)
        self.baseline = baseline ?? engine.policies[0]
        self.state = Mutex(state)
        self.issuer = issuer
        renewal = Mutex((state.ledgerSeq, false))
    }

    /// Builds the service by loading the projection and the published policy versions from
    /// the store; `policy` is the baseline in force before any published version.
    public static func load(store: any ConsentStore, policy: Policy, issuer: String = "proviso") async throws(StoreError) -> ConsentService {
        let state = try await store.loadState()
        let versions = try await store.policyVersions(baseline: policy)
        return ConsentService(store: store, engine: DecisionEngine(policies: versions), state: state, issuer: issuer, baseline: policy)
    }

    /// Publishes a version (notice enforced) and puts it in the engine at once.
    public func publish(_ policy: Policy, at: Micros, actor: String) async throws(PublishError) -> Publication {
        let publication = try await PolicyPublisher(store: store, baseline: baseline).publish(policy, at: at, actor: actor, state: snapshot())
        do {
            let versions = try await store.policyVersions(baseline: baseline)
            engineBox.withLock { $0 = DecisionEngine(policies: versions) }
        } catch {
            // Published and durable; this instance picks it up when it can read it again.
            throw .store(error)
        }
        return publication
    }

    /// One decision, read under the lock (a decision takes nanoseconds).
    public func decide(_ request: DecisionRequest, now: Micros) -> Decision {
        let engine = self.engine
        let current = isCurrent(now: now)
        return state.withLock { s in
            if current { return engine.decide(request.query(in: s, now: now), in: s) }
            var stale = s
            stale.isCurrent = false
            return engine.decide(request.query(in: stale, now: now), in: stale)
        }
    }

    /// Whether this instance can vouch that its view of the ledger is current: always when it
    /// is not tailing (it is then the only writer), else when the store confirmed it recently.
    public func isCurrent(now: Micros) -> Bool {
        guard let bound = stalenessBound.withLock({ $0 }) else { return true }
        guard let confirmed = tail.withLock({ $0.confirmedAt }) else { return false }
        return now - confirmed <= bound
    }

    /// From now on, decisions deny with `state-unavailable` whenever the last successful
    /// `catchUp` is older than `bound`.
    public func failClosed(after bound: Micros) {
        stalenessBound.withLock { $0 = bound }
    }

    /// Applies every ledger event written since the last call (by any instance or process),
    /// then records that the view was confirmed current at `now`. Idempotent.
    @discardableResult
    public func catchUp(now: Micros, pageSize: Int = 10_000) async throws(StoreError) -> Int {
        var applied = 0
        while true {
            let after = tail.withLock { $0.seq }
            let page = try await store.events(after: after, limit: pageSize)
            guard let last = page.last else { break }
            // A published version changes what decides: rebuild the engine from the store.
            if page.contains(where: { $0.kind == .policyPublished }) {
                let versions = try await store.policyVersions(baseline: baseline)
                engineBox.withLock { $0 = DecisionEngine(policies: versions) }
            }
            state.withLock { s in for e in page { s.apply(e) } }
            tail.withLock { $0.seq = last.seq }
            applied += page.count
            if page.count < pageSize { break }
        }
        tail.withLock { $0.confirmedAt = now }
        return applied
    }

    /// Tails the ledger until cancelled: at once whenever the store signals an append by
    /// another writer (PostgreSQL LISTEN/NOTIFY), and every `interval` seconds whatever happens,
    /// since only a successful read proves the view current. Decisions fail closed once the
    /// last successful read is older than `bound` seconds (a lost store connection).
    public func followLedger(interval: Double = 0.25, bound: Double = 5, listen: Bool = true,
                             now: @escaping @Sendable () -> Micros = { Time.now() }) async {
        failClosed(after: Micros(bound * 1_000_000))
        // The projection was just loaded from the store: that read vouches for it until the next.
        tail.withLock { if $0.confirmedAt == nil { $0.confirmedAt = now() } }
        // Timer ticks and notifications merge into one stream; a burst collapses into one catch-up.
        let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let timer = Task {
            while !Task.isCancelled {
                tick.yield()
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
        }
        let wakeups = listen ? store.ledgerWakeups() : nil
        let relay = Task {
            guard let wakeups else { return }
            for await _ in wakeups { tick.yield() }
        }
        defer {
            timer.cancel()
            relay.cancel()
            tick.finish()
        }
        for await _ in ticks {
            if Task.isCancelled { break }
            _ = try? await catchUp(now: now())
            renewCheckpointIfDue()
        }
    }

    /// Once the tail has moved far enough past the last renewal (`StateCheckpoint.shouldRenew`),
    /// has the store load the projection once in the background, which renews its checkpoint:
    /// otherwise only command-line loads would, and a restart after a long uptime would replay
    /// everything since. Costs a second projection in memory while it runs (~40 bytes per
    /// member). Returns the task, or nil when none is due or one is running.
    @discardableResult
    public func renewCheckpointIfDue(minimum: Int = StateCheckpoint.defaultMinimum) -> Task<Void, Never>? {
        let seq = tail.withLock { $0.seq }
        let members = state.withLock { $0.memberCount }
        let due = renewal.withLock { r -> Bool in
            guard !r.running, StateCheckpoint.shouldRenew(replayed: Int(seq - r.seq), members: members, minimum: minimum) else { return false }
            r = (seq, true)
            return true
        }
        guard due else { return nil }
        return Task.detached(priority: .background) {
            _ = try? await self.store.loadState()
            self.renewal.withLock { $0.running = false }
        }
    }

    /// Many decisions against one consistent view: the projection is copied out (a few
    /// reference counts) so a large batch never holds the lock while it runs.
    public func decide(_ requests: [DecisionRequest], now: Micros) -> [Decision] {
        let snapshot = snapshot(at: now)
        let engine = self.engine
        return requests.map { engine.decide($0.query(in: snapshot, now: now), in: snapshot) }
    }

    /// Records a member's choice: ledger first (durable when this returns), then the
    /// projection, then the signed receipt of the recorded event.
    public func change(member: String, setting: SettingID, on: Bool, channel: Channel, actor: String,
                       now: Micros) async throws(StoreError) -> (event: LedgerEvent, receipt: String) {
        let policy = engine.policy(at: now)
        let result = try await store.append(WriteBatch(
            events: [.choice(member: member, setting: setting, on: on, at: now, channel: channel, actor: actor, policyVersion: policy.version)],
            policy: policy, actor: actor, recordedAt: now))
        state.withLock { s in for e in result.events { s.apply(e) } }
        guard let event = result.events.last, let receipt = Receipt(event: event, issuer: issuer) else {
            throw .unavailable("the store did not return the recorded event")
        }
        let key = try await receiptKey(now: now)
        return (event, receipt.sign(with: key))
    }

    /// Honours a Global Privacy Control signal from a signed-in member: where the policy in
    /// force applies GPC in the member's region, each setting gating such a purpose is turned
    /// off with channel `gpc` — once per setting, ever. Afterwards the member's explicit
    /// choices govern: a later request without the signal is not an opt-in, and a signal after
    /// the member turned a setting back on does not overrule them. Returns the events recorded.
    public func honourGPC(member: String, now: Micros) async throws(StoreError) -> [LedgerEvent] {
        let policy = engine.policy(at: now)
        let due: [SettingID] = state.withLock { s in
            let m = s.memberIndex(member)
            guard m >= 0 else { return [] }
            let region = s.region(of: m)
            let history = s.history(member: m)
            var settings: [SettingID] = []
            for p in policy.purposes where p.rules.contains(where: { $0.gpc && $0.regions.contains(region) }) {
                if !settings.contains(p.gatedBy), !history.contains(where: { $0.setting == p.gatedBy && $0.channel == .gpc }) {
                    settings.append(p.gatedBy)
                }
            }
            return settings
        }
        guard !due.isEmpty else { return [] }
        // Two requests of one member racing here must not record the signal twice.
        guard gpcInFlight.withLock({ $0.insert(member).inserted }) else { return [] }
        defer { _ = gpcInFlight.withLock { $0.remove(member) } }
        let actor = "member:\(member)"
        let result = try await store.append(WriteBatch(
            events: due.sorted().map { .choice(member: member, setting: $0, on: false, at: now, channel: .gpc, actor: actor, policyVersion: policy.version) },
            policy: policy, actor: actor, recordedAt: now))
        state.withLock { s in for e in result.events { s.apply(e) } }
        return result.events.filter { $0.kind == .settingChanged }
    }

    /// Whether the platform may not use this member's public content to train generative AI
    /// now — opted out, default off, a minor, a closed account, out of scope, unknown (fail
    /// closed) — which is what their public pages then reserve against every crawler too.
    public func reservesAITraining(member: String, now: Micros) -> Bool {
        let engine = self.engine
        return state.withLock { s in
            let q = DecisionQuery(member: s.memberIndex(member), purpose: .genaiTraining, category: .post, at: now,
                                  createdAt: now, visibility: .public)
            return !engine.decide(q, in: s).allowed
        }
    }

    /// The receipt signing key, read once from the store and kept.
    func receiptKey(now: Micros) async throws(StoreError) -> ReceiptKey {
        if let key = signingKey.withLock({ $0 }) { return key }
        let key = try await store.currentReceiptKey(now: now)
        signingKey.withLock { $0 = key }
        return key
    }

    /// A member's effective settings at `t`, explained; `nil` for an unknown member.
    public func settings(member: String, at t: Micros) -> (region: RegionGroup, statuses: [SettingStatus], ledgerSeq: Int64)? {
        state.withLock { s in
            let m = s.memberIndex(member)
            guard m >= 0 else { return nil }
            return (s.region(of: m), engine.settings(member: m, at: t, in: s), s.ledgerSeq)
        }
    }

    /// Whether the projection knows this member.
    public func knows(member: String) -> Bool { state.withLock { $0.memberIndex(member) >= 0 } }

    /// The projection as decisions at `now` must see it: marked not current (every decision
    /// then denies with `state-unavailable`) when this instance cannot vouch for it.
    public func snapshot(at now: Micros) -> ConsentState {
        var s = snapshot()
        if !isCurrent(now: now) { s.isCurrent = false }
        return s
    }

    /// A consistent copy of the projection (a few reference counts), for work that must not
    /// hold the lock.
    public func snapshot() -> ConsentState { state.withLock { $0 } }

    /// The ledger sequence the projection reflects.
    public var ledgerSeq: Int64 { state.withLock { $0.ledgerSeq } }
}

extension Optional where Wrapped: Sendable {
    /// `flatMap` with an async transform.
    func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
