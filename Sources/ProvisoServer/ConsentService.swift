public import ProvisoCore
public import ProvisoStore
import Synchronization

/// The consent core as the server holds it: the store (source of truth), the engine, and the
/// in-memory projection that decisions read. A write updates the ledger first, then the
/// projection, so a client reads its own writes on this instance.
public final class ConsentService: Sendable {
    public let store: any ConsentStore
    public let engine: DecisionEngine
    let state: Mutex<ConsentState>

    public init(store: any ConsentStore, engine: DecisionEngine, state: ConsentState) {
        self.store = store
        self.engine = engine
        self.state = Mutex(state)
    }

    /// Builds the service by loading the projection from the store.
    public static func load(store: any ConsentStore, policy: Policy) async throws(StoreError) -> ConsentService {
        let state = try await store.loadState()
        return ConsentService(store: store, engine: DecisionEngine(policy: policy), state: state)
    }

    /// One decision, read under the lock (a decision takes nanoseconds).
    public func decide(_ request: DecisionRequest, now: Micros) -> Decision {
        state.withLock { s in engine.decide(request.query(in: s, now: now), in: s) }
    }

    /// Many decisions against one consistent view: the projection is copied out (a few
    /// reference counts) so a large batch never holds the lock while it runs.
    public func decide(_ requests: [DecisionRequest], now: Micros) -> [Decision] {
        let snapshot = state.withLock { $0 }
        return requests.map { engine.decide($0.query(in: snapshot, now: now), in: snapshot) }
    }

    /// The ledger sequence the projection reflects.
    public var ledgerSeq: Int64 { state.withLock { $0.ledgerSeq } }
}
