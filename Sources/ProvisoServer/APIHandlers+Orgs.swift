import Foundation
import ProvisoAPI
import ProvisoCore
import ProvisoReports
import ProvisoStore

extension APIHandlers {
    var orgs: OrgAccess { OrgAccess(service: service, k: configuration.kAnonymity, now: now) }

    func getMemberExposure(_ input: Operations.GetMemberExposure.Input) async throws -> Operations.GetMemberExposure.Output {
        _ = try CurrentPrincipal.requireAccess(toMember: input.path.member)
        let findings = try await orgs.exposure(member: input.path.member)
        return .ok(.init(body: .json(.init(member: input.path.member, findings: findings.map { f in
            var field: String?, post: String?
            switch f.subject {
            case let .field(k): field = k.code
            case let .post(id): post = id
            }
            return .init(rule: f.rule, field: field, post: post, score: f.score,
                         visibility: f.visibility == .public ? ._public : .connections, why: f.why)
        }))))
    }

    static func campaign(_ c: Campaign) -> Components.Schemas.Campaign {
        .init(id: c.id, message: c.message, sentAt: Time.formatRFC3339(c.sentAt), reached: c.reached, read: c.read, acknowledged: c.acknowledged)
    }

    func getOrgDashboard(_ input: Operations.GetOrgDashboard.Input) async throws -> Operations.GetOrgDashboard.Output {
        let org = try await orgs.requireAdmin(try CurrentPrincipal.requireAny(), org: input.path.org)
        let d = try await orgs.dashboard(org)
        return .ok(.init(body: .json(.init(
            organisation: org.id, name: org.name, k: d.k, affiliated: d.affiliated, campaigns: d.campaigns.map(Self.campaign),
            latestPolicyVersion: d.policies.first?.version,
            settingsStatus: d.settings.value == nil ? .tooFewToShow : .shown,
            settingsOff: d.settings.value?.map { .init(key: $0.setting.code, label: $0.label, share: $0.offShare) },
            exposureStatus: d.exposure.value == nil ? .tooFewToShow : .shown,
            exposure: d.exposure.value?.map { .init(key: $0.rule, share: $0.share) }))))
    }

    func sendOrgCampaign(_ input: Operations.SendOrgCampaign.Input) async throws -> Operations.SendOrgCampaign.Output {
        let principal = try CurrentPrincipal.requireAny()
        let org = try await orgs.requireAdmin(principal, org: input.path.org)
        guard case let .json(body) = input.body, case let .member(id) = principal else { throw APIError.badRequest("expected application/json") }
        return .created(.init(body: .json(Self.campaign(try await orgs.sendCampaign(org, message: body.message, by: id)))))
    }

    func publishOrgPolicy(_ input: Operations.PublishOrgPolicy.Input) async throws -> Operations.PublishOrgPolicy.Output {
        let principal = try CurrentPrincipal.requireAny()
        let org = try await orgs.requireAdmin(principal, org: input.path.org)
        guard case let .json(body) = input.body, case let .member(id) = principal else { throw APIError.badRequest("expected application/json") }
        let p = try await orgs.publishPolicy(org, markdown: body.markdown, by: id)
        return .created(.init(body: .json(.init(organisation: p.orgID, version: p.version, markdown: p.markdown,
                                                publishedAt: Time.formatRFC3339(p.publishedAt)))))
    }

    func addOrgAdmin(_ input: Operations.AddOrgAdmin.Input) async throws -> Operations.AddOrgAdmin.Output {
        _ = try CurrentPrincipal.require(.membersAdmin)
        guard case let .json(body) = input.body else { throw APIError.badRequest("expected application/json") }
        do { try await service.store.addOrgAdmin(org: input.path.org, member: body.member, at: now()) } catch {
            switch error {
            case .unknownOrganisation: throw APIError(.notFound, "there is no organisation \"\(input.path.org)\"")
            case .unknownMember: throw APIError(.notFound, "unknown member \"\(body.member)\"")
            default: throw APIError(.serviceUnavailable, "the admin could not be added")
            }
        }
        return .noContent(.init())
    }

    func getComplianceReport(_ input: Operations.GetComplianceReport.Input) async throws -> Operations.GetComplianceReport.Output {
        try await orgs.requireReports(try CurrentPrincipal.requireAny())
        var t = now()
        if let at = input.query.at {
            guard let parsed = Time.parseRFC3339(at) else { throw APIError.badRequest("at \"\(at)\" is not an RFC 3339 time") }
            t = parsed
        }
        let months = input.query.months ?? 12
        guard (1...120).contains(months) else { throw APIError.badRequest("months must be 1–120") }
        let r = try await orgs.report(at: t, months: months)
        func counts(_ d: [String: Int]) -> Components.Schemas.Counts { .init(additionalProperties: d) }
        func share(_ x: Double) -> Double { Double(ComplianceReport.share(x))! }
        return .ok(.init(body: .json(.init(
            asOf: Time.formatRFC3339(r.asOf),
            ledger: .init(eventsVerified: r.ledger.events, intact: r.ledger.intact, firstBreak: r.ledger.firstBreak, headHash: r.ledger.headHash),
            policyVersion: r.policyVersion, ledgerSeq: r.ledgerSeq,
            scopes: r.scopes.map { s in
                .init(regionGroup: s.region.code, purpose: s.purpose.code, membersInScope: s.inScope, on: s.on, off: s.off, offShare: share(s.offShare),
                      minorsExcluded: s.minorsExcluded, sources: counts(s.sources), choicesByChannel: counts(s.choicesByChannel))
            },
            notices: r.notices.map { .init(policyVersion: $0.policyVersion, regionGroup: $0.region.code, purpose: $0.purpose.code, notified: $0.notified,
                                           leadDays: $0.leadDays, read: $0.read) },
            snapshots: r.snapshots.map { .init(id: $0.id, name: $0.name, purpose: $0.purpose, asOf: Time.formatRFC3339($0.asOf), members: $0.members,
                                               openRetractions: $0.openRetractions) },
            points: r.points.map(Time.formatRFC3339),
            series: r.series.map { s in .init(regionGroup: s.region.code, purpose: s.purpose.code, offShare: s.offShare.map { $0.map(share) }) }))))
    }
}
