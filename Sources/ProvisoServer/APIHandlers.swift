import Foundation
import ProvisoAPI
import ProvisoCore
import ProvisoGate
import ProvisoStore

/// The JSON API: implements the protocol generated from `openapi.yaml`. OpenAPI types stay
/// here; `APIMapping` turns them into domain types and back in one place.
struct APIHandlers: APIProtocol {
    let service: ConsentService
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    let throttle: LoginThrottle
    let now: @Sendable () -> Micros

    // MARK: sessions

    func logIn(_ input: Operations.LogIn.Input) async throws -> Operations.LogIn.Output {
        guard case let .json(body) = input.body else { throw APIError.badRequest("expected application/json") }
        let signIn = SignIn(store: service.store, sessionSeconds: configuration.sessionSeconds, throttle: throttle)
        let (cookie, session) = try await signIn.signIn(member: body.member, password: body.password, now: now())
        CurrentRequest.setCookie(SignIn.cookie(cookie, maxAge: configuration.sessionSeconds, secure: configuration.secureCookies))
        return .ok(.init(body: .json(.init(member: session.memberID, csrfToken: session.csrfToken,
                                           expiresAt: Time.formatRFC3339(session.expiresAt)))))
    }

    func logOut(_ input: Operations.LogOut.Input) async throws -> Operations.LogOut.Output {
        _ = try CurrentPrincipal.requireAny()
        if let cookie = CurrentRequest.cookie {
            try? await service.store.deleteSession(idHash: TokenSecret.hash(cookie))
        }
        CurrentRequest.setCookie(SignIn.cookie("", maxAge: 0, secure: configuration.secureCookies))
        return .noContent(.init())
    }

    // MARK: members

    func getMemberSettings(_ input: Operations.GetMemberSettings.Input) async throws -> Operations.GetMemberSettings.Output {
        let member = input.path.member
        _ = try CurrentPrincipal.requireAccess(toMember: member)
        var t = now()
        if let at = input.query.at {
            guard let parsed = Time.parseRFC3339(at) else { throw APIError.badRequest("at \"\(at)\" is not an RFC 3339 time") }
            t = parsed
        }
        guard let view = service.settings(member: member, at: t) else { throw APIError(.notFound, "unknown member \"\(member)\"") }
        let policy = service.engine.policy(at: t)
        return .ok(.init(body: .json(.init(member: member, region: view.region.code, at: Time.formatRFC3339(t), policyVersion: policy.version,
                                           ledgerSeq: view.ledgerSeq, settings: view.statuses.map { APIMapping.status($0, policy) }))))
    }

    func changeMemberSetting(_ input: Operations.ChangeMemberSetting.Input) async throws -> Operations.ChangeMemberSetting.Output {
        let member = input.path.member
        let principal = try CurrentPrincipal.requireAccess(toMember: member)
        guard case let .json(body) = input.body else { throw APIError.badRequest("expected application/json") }
        guard let setting = SettingID(code: input.path.setting) else {
            throw APIError(.unprocessableContent, "unknown setting \"\(input.path.setting)\" (known: \(SettingID.allCases.map(\.code).joined(separator: ", ")))")
        }
        guard service.knows(member: member) else { throw APIError(.notFound, "unknown member \"\(member)\"") }
        let t = now()
        let channel: Channel = if case .member = principal { .web } else { .api }
        let recorded: (event: LedgerEvent, receipt: String)
        do {
            recorded = try await service.change(member: member, setting: setting, on: body.value == .on, channel: channel,
                                                actor: CurrentPrincipal.actor(principal), now: t)
        } catch StoreError.unknownMember {
            throw APIError(.notFound, "unknown member \"\(member)\"")
        } catch {
            throw APIError(.serviceUnavailable, "the change could not be recorded; nothing was changed")
        }
        let policy = service.engine.policy(at: t)
        guard let status = service.settings(member: member, at: t)?.statuses.first(where: { $0.setting == setting }) else {
            throw APIError(.serviceUnavailable, "the change was recorded but cannot be shown")
        }
        return .ok(.init(body: .json(.init(setting: APIMapping.status(status, policy), ledgerSeq: recorded.event.seq,
                                           eventHash: recorded.event.hashHex, receipt: recorded.receipt))))
    }

    func getMemberHistory(_ input: Operations.GetMemberHistory.Input) async throws -> Operations.GetMemberHistory.Output {
        let member = input.path.member
        _ = try CurrentPrincipal.requireAccess(toMember: member)
        guard service.knows(member: member) else { throw APIError(.notFound, "unknown member \"\(member)\"") }
        let events: [LedgerEvent]
        do { events = try await service.store.events(member: member) } catch {
            throw APIError(.serviceUnavailable, "the history cannot be read right now")
        }
        return .ok(.init(body: .json(.init(member: member, events: events.map(APIMapping.history)))))
    }

    // MARK: dataset gate

    func getMemberSnapshots(_ input: Operations.GetMemberSnapshots.Input) async throws -> Operations.GetMemberSnapshots.Output {
        let member = input.path.member
        _ = try CurrentPrincipal.requireAccess(toMember: member)
        guard service.knows(member: member) else { throw APIError(.notFound, "unknown member \"\(member)\"") }
        let uses: [SnapshotUse]
        do { uses = try await service.store.snapshotUses(member: member) } catch {
            throw APIError(.serviceUnavailable, "the snapshot registry cannot be read right now")
        }
        return .ok(.init(body: .json(.init(member: member, snapshots: uses.map(APIMapping.use)))))
    }

    func listSnapshots(_ input: Operations.ListSnapshots.Input) async throws -> Operations.ListSnapshots.Output {
        _ = try CurrentPrincipal.require(.gateRun)
        let all: [Snapshot]
        do { all = try await service.store.snapshots() } catch {
            throw APIError(.serviceUnavailable, "the snapshot registry cannot be read right now")
        }
        return .ok(.init(body: .json(.init(snapshots: all.map(APIMapping.snapshot)))))
    }

    func getSnapshotRetractions(_ input: Operations.GetSnapshotRetractions.Input) async throws -> Operations.GetSnapshotRetractions.Output {
        _ = try CurrentPrincipal.require(.gateRun)
        var t = now()
        if let at = input.query.at {
            guard let parsed = Time.parseRFC3339(at) else { throw APIError.badRequest("at \"\(at)\" is not an RFC 3339 time") }
            t = parsed
        }
        let found: [Retraction]
        let snapshot: Snapshot
        do {
            guard let s = try await service.store.snapshot(id: input.path.snapshot) else {
                throw APIError(.notFound, "unknown snapshot \"\(input.path.snapshot)\"")
            }
            snapshot = s
            let check = RetractionCheck(engine: service.engine, state: service.snapshot(at: now()), snapshot: s, at: t)
            found = try await check.all(in: service.store, snapshot: s.id)
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError(.serviceUnavailable, "the snapshot registry cannot be read right now")
        }
        return .ok(.init(body: .json(.init(snapshotId: snapshot.id, at: Time.formatRFC3339(t),
                                           retractions: found.map(APIMapping.retraction)))))
    }

    // The two decision operations are normally answered by `FastDecisionsMiddleware`; these
    // generated-path versions are the reference it is tested against (fastDecisions: false).

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
        try APIError.checkBatch(body.requests.count)
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

    /// Normally answered by `PolicyPublishMiddleware` from the raw bytes; this path re-encodes
    /// the decoded document (keys sorted), so its digest is of that encoding.
    func publishPolicy(_ input: Operations.PublishPolicy.Input) async throws -> Operations.PublishPolicy.Output {
        let principal = try CurrentPrincipal.require(.policyAdmin)
        guard case let .json(document) = input.body else { throw APIError.badRequest("expected application/json") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(document), as: UTF8.self)
        let (p, widenings) = try await PolicyAdmin.publish(text: text, service: service, now: now(), actor: CurrentPrincipal.actor(principal))
        return .created(.init(body: .json(.init(
            version: p.version, digest: p.digest,
            effectiveFrom: p.effectiveFrom.map(Time.formatDate(dayNumber:)) ?? Time.formatRFC3339(p.publishedAt),
            publishedAt: Time.formatRFC3339(p.publishedAt), ledgerSeq: p.seq,
            widenings: widenings.map { .init(purpose: $0.purpose.code, region: $0.region.code, change: $0.kind.code, noticeDays: $0.noticeDays) }))))
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
    static func snapshot(_ s: Snapshot) -> Components.Schemas.Snapshot {
        .init(snapshotId: s.id, name: s.name, purpose: s.purpose, asOf: Time.formatRFC3339(s.asOf),
              createdAt: Time.formatRFC3339(s.createdAt), policyVersion: s.policyVersion, ledgerSeq: s.ledgerSeq,
              inputSha256: s.inputSHA256, outputSha256: s.outputSHA256,
              counts: .init(read: s.read, eligible: s.eligible, excluded: s.excluded, malformed: s.malformed),
              membersCount: s.memberCount)
    }

    static func use(_ u: SnapshotUse) -> Components.Schemas.SnapshotUse {
        .init(snapshotId: u.snapshot.id, name: u.snapshot.name, purpose: u.snapshot.purpose, asOf: Time.formatRFC3339(u.snapshot.asOf),
              createdAt: Time.formatRFC3339(u.snapshot.createdAt), policyVersion: u.snapshot.policyVersion,
              records: u.counts.reduce(0) { $0 + $1.count },
              counts: .init(additionalProperties: Dictionary(u.counts.map { ($0.category.code, $0.count) }, uniquingKeysWith: +)))
    }

    static func retraction(_ r: Retraction) -> Components.Schemas.Retraction {
        .init(memberId: r.memberID, reasons: r.reasons.codes, categories: r.categories.map(\.code))
    }

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

    static func status(_ st: SettingStatus, _ policy: Policy) -> Components.Schemas.SettingStatus {
        let definition = policy.setting(st.setting)
        var dependsOn: String?
        if case let .dependency(d) = st.source { dependsOn = d.code }
        return .init(setting: st.setting.code, label: definition?.label ?? st.setting.code, section: definition?.section ?? "",
                     value: st.on ? .on : .off, source: st.source.code, since: st.since.map(Time.formatRFC3339),
                     explanation: st.explanation, dependsOn: dependsOn)
    }

    static func history(_ e: LedgerEvent) -> Components.Schemas.HistoryEvent {
        .init(seq: e.seq, kind: e.kind.rawValue, recordedAt: Time.formatRFC3339(e.recordedAt), setting: e.draft.setting?.code,
              value: e.draft.value.map { $0 ? "on" : "off" }, effectiveAt: e.draft.effectiveAt.map(Time.formatRFC3339),
              channel: e.draft.channel?.code, actor: e.draft.actor, policyVersion: e.draft.policyVersion, hash: e.hashHex,
              prevHash: LedgerHash.hex(e.prevHash))
    }

    static func decision(_ d: Decision) -> Components.Schemas.Decision {
        .init(allowed: d.allowed, reasons: d.reasons.codes, policyVersion: d.policyVersion, ledgerSeq: d.ledgerSeq)
    }

    static func version(_ p: Policy, inForce: Bool) -> Components.Schemas.PolicyVersion {
        .init(version: p.version, digest: p.digest, effectiveFrom: p.effectiveFrom.map { Time.formatDate(dayNumber: $0) }, inForce: inForce)
    }
}
