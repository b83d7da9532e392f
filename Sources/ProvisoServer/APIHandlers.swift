import ProvisoAPI
import ProvisoCore
import ProvisoStore

/// The JSON API: implements the protocol generated from `openapi.yaml`. OpenAPI types stay
/// here; `APIMapping` turns them into domain types and back in one place.
struct APIHandlers: APIProtocol {
    let service: ConsentService
    let metrics: ServerMetrics
    let now: @Sendable () -> Micros

    func decide(_ input: Operations.Decide.Input) async throws -> Operations.Decide.Output {
        _ = try CurrentPrincipal.require(.decisionsRead)
        guard case let .json(body) = input.body else { throw APIError.badRequest("expected application/json") }
        let request = try APIMapping.request(body)
        let decision = service.decide(request, now: now())
        metrics.decided(Purpose(code: request.purpose), allowed: decision.allowed)
        return .ok(.init(body: .json(APIMapping.decision(decision))))
    }

    func decideBatch(_ input: Operations.DecideBatch.Input) async throws -> Operations.DecideBatch.Output {
        _ = try CurrentPrincipal.require(.decisionsRead)
        guard case let .json(body) = input.body else { throw APIError.badRequest("expected application/json") }
        guard body.requests.count <= 10_000 else {
            throw APIError(.contentTooLarge, "a batch holds at most 10,000 requests; this one has \(body.requests.count)")
        }
        var requests: [DecisionRequest] = []
        requests.reserveCapacity(body.requests.count)
        for (i, r) in body.requests.enumerated() {
            do { requests.append(try APIMapping.request(r)) } catch {
                throw APIError.badRequest("requests[\(i)]: \(error.detail)")
            }
        }
        let decisions = service.decide(requests, now: now())
        for (r, d) in zip(requests, decisions) { metrics.decided(Purpose(code: r.purpose), allowed: d.allowed) }
        return .ok(.init(body: .json(.init(decisions: decisions.map(APIMapping.decision)))))
    }

    func listPolicies(_ input: Operations.ListPolicies.Input) async throws -> Operations.ListPolicies.Output {
        _ = try CurrentPrincipal.requireAny()
        let t = now()
        let active = service.engine.policy(at: t)
        let scheduled = service.engine.policies.filter { p in p.effectiveFrom.map { Time.micros(dayNumber: $0) > t } ?? false }
        return .ok(.init(body: .json(.init(active: APIMapping.version(active, inForce: true),
                                           scheduled: scheduled.map { APIMapping.version($0, inForce: false) }))))
    }

    func jwks(_ input: Operations.Jwks.Input) async throws -> Operations.Jwks.Output {
        let keys: [ReceiptKey]
        do {
            _ = try await service.store.currentReceiptKey(now: now())
            keys = try await service.store.receiptKeys()
        } catch {
            throw APIError(.serviceUnavailable, "the receipt keys cannot be read right now")
        }
        return .ok(.init(body: .applicationJwkSetJson(.init(keys: keys.map { k in
            .init(kty: "OKP", crv: "Ed25519", x: Base64URL.encode(k.publicKey), kid: k.kid, use: "sig", alg: "EdDSA")
        }))))
    }

    func metrics(_ input: Operations.Metrics.Input) async throws -> Operations.Metrics.Output {
        .ok(.init(body: .plainText(.init(metrics.exposition()))))
    }

    func health(_ input: Operations.Health.Input) async throws -> Operations.Health.Output {
        .ok(.init(body: .json(.init(status: "ok"))))
    }

    func ready(_ input: Operations.Ready.Input) async throws -> Operations.Ready.Output {
        do {
            _ = try await service.store.head()
        } catch {
            throw APIError(.serviceUnavailable, "the store is not reachable")
        }
        return .ok(.init(body: .json(.init(status: "ready", ledgerSeq: service.ledgerSeq))))
    }
}

/// OpenAPI types ↔ domain types, in one place.
enum APIMapping {
    static func request(_ r: Components.Schemas.DecisionRequest) throws(APIError) -> DecisionRequest {
        func time(_ s: String?, _ name: String) throws(APIError) -> Micros? {
            guard let s else { return nil }
            guard let t = Time.parseRFC3339(s) else { throw .badRequest("\(name) \"\(s)\" is not an RFC 3339 time") }
            return t
        }
        let visibility: Visibility? = switch r.visibility {
        case ._public?: .public
        case .connections?: .connections
        case ._private?: .private
        case nil: nil
        }
        return DecisionRequest(member: r.member, purpose: r.purpose, category: r.category, at: try time(r.at, "at"),
                               createdAt: try time(r.createdAt, "created_at"), visibility: visibility,
                               sensitive: r.sensitive ?? false, gpc: r.gpc ?? false)
    }

    static func decision(_ d: Decision) -> Components.Schemas.Decision {
        .init(allowed: d.allowed, reasons: d.reasons.codes, policyVersion: d.policyVersion, ledgerSeq: d.ledgerSeq)
    }

    static func version(_ p: Policy, inForce: Bool) -> Components.Schemas.PolicyVersion {
        .init(version: p.version, digest: p.digest, effectiveFrom: p.effectiveFrom.map { Time.formatDate(dayNumber: $0) }, inForce: inForce)
    }
}
