import ProvisoCore
import ProvisoReports
import ProvisoStore

/// Who may do what with organisations and reports, in one place for the API and the pages.
/// Admins act only on their own organisation, and only through aggregate views and reminders:
/// nothing here reads or writes a member's settings.
struct OrgAccess: Sendable {
    let service: ConsentService
    let k: KAnonymity
    let now: @Sendable () -> Micros

    static let maxMessage = 2000
    static let maxMarkdown = 100_000
    /// Members hear from their employer at most once a day: reminders are not a mailing list.
    static let campaignInterval: Micros = 24 * 3600 * Time.microsPerSecond

    /// The organisation, if `principal` is a signed-in admin of it: 404 for an unknown
    /// organisation, 403 for anyone else (services included: admins are people).
    func requireAdmin(_ principal: Principal, org id: String) async throws(APIError) -> Organisation {
        guard case let .member(member) = principal else {
            throw .forbidden("organisation pages and actions are for the organisation's admins, signed in as members")
        }
        let org: Organisation?
        let administered: [String]
        do {
            org = try await service.store.organisation(id: id)
            administered = try await service.store.administeredOrgs(member: member)
        } catch {
            throw APIError(.serviceUnavailable, "organisations cannot be read right now")
        }
        guard let org else { throw APIError(.notFound, "there is no organisation \"\(id)\"") }
        guard administered.contains(id) else { throw .forbidden("only admins of \(org.name) can do this") }
        return org
    }

    /// Compliance reports: a token with `reports:read`, or a member with the role `compliance`.
    func requireReports(_ principal: Principal) async throws(APIError) {
        switch principal {
        case let .service(name, scopes):
            guard scopes.contains(.reportsRead) else { throw .forbidden("token \"\(name)\" lacks the scope reports:read") }
        case let .member(id):
            let roles: Set<MemberRole>
            do { roles = try await service.store.roles(member: id) } catch {
                throw APIError(.serviceUnavailable, "roles cannot be read right now")
            }
            guard roles.contains(.compliance) else { throw .forbidden("compliance reports need the compliance role") }
        }
    }

    func dashboard(_ org: Organisation) async throws(APIError) -> OrgDashboard {
        let t = now()
        do {
            return try await OrgDashboard.build(org: org, store: service.store, engine: service.engine, state: service.snapshot(at: t), k: k, at: t)
        } catch {
            throw APIError(.serviceUnavailable, "the dashboard cannot be computed right now")
        }
    }

    func report(at t: Micros, months: Int) async throws(APIError) -> ComplianceReport {
        do {
            return try await ComplianceReport.build(engine: service.engine, state: service.snapshot(at: now()), store: service.store, at: t, months: months)
        } catch {
            throw APIError(.serviceUnavailable, "the report cannot be computed right now")
        }
    }

    func sendCampaign(_ org: Organisation, message: String, by member: String) async throws(APIError) -> Campaign {
        let text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= Self.maxMessage else {
            throw .badRequest("the message must be 1–\(Self.maxMessage) characters")
        }
        let t = now()
        let last: Campaign?
        do { last = try await service.store.campaigns(org: org.id).first } catch {
            throw APIError(.serviceUnavailable, "the reminder could not be sent, and nobody received it")
        }
        if let last, t - last.sentAt < Self.campaignInterval {
            let next = Time.formatRFC3339(last.sentAt + Self.campaignInterval)
            throw APIError(.tooManyRequests, "\(org.name) sent a reminder less than 24 hours ago; the next one can go at \(next)")
        }
        do { return try await service.store.sendCampaign(org: org.id, message: text, at: t, by: "member:\(member)") } catch {
            throw APIError(.serviceUnavailable, "the reminder could not be sent, and nobody received it")
        }
    }

    func publishPolicy(_ org: Organisation, markdown: String, by member: String) async throws(APIError) -> OrgPolicy {
        guard !markdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, markdown.utf8.count <= Self.maxMarkdown else {
            throw .badRequest("the policy must be 1–\(Self.maxMarkdown) bytes of Markdown")
        }
        do { return try await service.store.publishOrgPolicy(org: org.id, markdown: markdown, at: now(), by: "member:\(member)") } catch {
            throw APIError(.serviceUnavailable, "the policy could not be published")
        }
    }

    /// A member's exposure findings now.
    func exposure(member: String) async throws(APIError) -> [ExposureFinding] {
        do {
            guard try await service.store.member(member) != nil else { throw APIError(.notFound, "unknown member \"\(member)\"") }
            return try await ExposureRules.review(member: member, in: service.store, today: Int(now() / Time.microsPerDay))
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError(.serviceUnavailable, "the checkup cannot be run right now")
        }
    }
}
